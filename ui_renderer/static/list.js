// List pages: conveniences on top of forms that work without JavaScript.
// - shift-click selects a range of rows; header boxes toggle their table's rows;
// - "select all on this page" / "all matching" tick every row box;
// - group and page-size selects submit the filters form when changed;
// - typing a mass update value ticks that characteristic's "change" box.
(function () {
  "use strict";

  function rowBoxes(scope) {
    return Array.prototype.slice.call((scope || document).querySelectorAll('input[type="checkbox"][name="id"]'));
  }

  function setAll(boxes, checked) {
    boxes.forEach(function (box) { box.checked = checked; });
  }

  var lastClicked = null;
  document.addEventListener("click", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || box.name !== "id") return;
    var boxes = rowBoxes();
    if (event.shiftKey && lastClicked && lastClicked !== box) {
      var from = boxes.indexOf(lastClicked), to = boxes.indexOf(box);
      if (from >= 0 && to >= 0) {
        setAll(boxes.slice(Math.min(from, to), Math.max(from, to) + 1), box.checked);
      }
    }
    lastClicked = box;
    if (!box.checked) {
      // Unticking one row means "not all of them": the wider selections no longer hold.
      document.querySelectorAll("[data-select-page], [data-select-all]").forEach(function (wide) { wide.checked = false; });
    }
  });

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLElement)) return;
    if (input.hasAttribute("data-toggle-rows")) {
      setAll(rowBoxes(input.closest("table")), input.checked);
    } else if (input.hasAttribute("data-select-page") || input.hasAttribute("data-select-all")) {
      setAll(rowBoxes(), input.checked);
      document.querySelectorAll("[data-toggle-rows]").forEach(function (toggle) { toggle.checked = input.checked; });
    } else if (input.hasAttribute("data-autosubmit") && input.form) {
      input.form.requestSubmit ? input.form.requestSubmit() : input.form.submit();
    } else if (input.hasAttribute("data-sets")) {
      var set = document.getElementById("set-" + input.getAttribute("data-sets"));
      if (set) set.checked = true;
    }
  });

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input instanceof HTMLElement && input.hasAttribute("data-sets")) {
      var set = document.getElementById("set-" + input.getAttribute("data-sets"));
      if (set) set.checked = true;
    }
  });
})();
