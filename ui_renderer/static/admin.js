// Administration forms: a characteristic form shows only the inputs its chosen type uses.
// Without scripts every input shows, each labelled with the types it applies to; the server
// reads only those of the submitted type, so hiding the others changes nothing it receives.
(function () {
  "use strict";
  var form = document.getElementById("characteristic-form");
  var type = document.getElementById("f-type");
  if (!form || !type) {
    return;
  }
  function showForType() {
    var chosen = type.value;
    form.querySelectorAll("[data-types]").forEach(function (element) {
      element.hidden = element.getAttribute("data-types").split(" ").indexOf(chosen) < 0;
    });
  }
  type.addEventListener("change", showForType);
  showForType();
})();
