/* Record pages, a little nicer with JavaScript; every flow works without it. */
(function () {
  "use strict";

  // Confirm before moving a record to the trash.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // "Add a characteristic": reveal the field at once instead of reloading the page.
  var adder = document.getElementById("add-field");
  if (adder) {
    adder.addEventListener("change", function () {
      var name = adder.value;
      var row = document.getElementById("row-" + name);
      if (!row) return;
      row.hidden = false;
      row.querySelectorAll("[disabled]").forEach(function (el) { el.disabled = false; });
      adder.querySelector('option[value="' + CSS.escape(name) + '"]').remove();
      adder.value = "";
      if (adder.options.length <= 1) adder.closest(".add-characteristic").hidden = true;
      var tabPanel = row.closest(".tab-panel");
      if (tabPanel) window.location.hash = tabPanel.id;
      var control = row.querySelector("input:not([type=hidden]), select, textarea");
      if (control) control.focus();
    });
  }

  // Link pickers of large tables: suggestions from /<entity>/lookup?q=.
  document.querySelectorAll("input[data-lookup]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null;
    var asked = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var text = input.value.trim();
      if (text.length < 2 || /#\d+$/.test(text) || text === asked) return;
      timer = setTimeout(function () {
        asked = text;
        fetch(input.dataset.lookup + "?q=" + encodeURIComponent(text), { headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(function (found) {
            list.replaceChildren.apply(list, found.map(function (item) {
              var option = document.createElement("option");
              option.value = item.title + " #" + item.id;
              return option;
            }));
          })
          .catch(function () { /* suggestions are a convenience: typing still works */ });
      }, 200);
    });
  });

  // Tabs: mark the shown tab for assistive technology and styling.
  var tabset = document.querySelector(".tabset");
  if (tabset) {
    var links = tabset.querySelectorAll(".tab-nav a");
    var mark = function () {
      var target = window.location.hash ? document.getElementById(decodeURIComponent(window.location.hash.slice(1))) : null;
      var shown = target && target.classList.contains("tab-panel");
      links.forEach(function (link, index) {
        var selected = shown ? link.getAttribute("href") === window.location.hash : index === 0;
        link.setAttribute("aria-selected", selected ? "true" : "false");
      });
    };
    window.addEventListener("hashchange", mark);
    mark();
  }

  // Workflow prompts: a field that the prompt's answers can make mandatory (its mandatory_when)
  // shows, and is required, only under the answers the server listed in data-mandatory-when
  // ({"deps": [names], "when": [[answer per dep], ...]}). Hidden, its inputs are disabled and not
  // sent. The server checks the rule again when the change is saved.
  var conditional = document.querySelectorAll("[data-mandatory-when]");
  if (conditional.length) {
    var promptForm = conditional[0].closest("form");
    var answerOf = function (name) {
      var controls = promptForm.querySelectorAll('[name="' + CSS.escape(name) + '"]');
      if (!controls.length) return null;
      var first = controls[0];
      if (first.type === "checkbox") return first.checked ? "true" : "false";
      if (first.type === "radio") {
        var checked = promptForm.querySelector('[name="' + CSS.escape(name) + '"]:checked');
        return checked ? checked.value : "";
      }
      return first.value;
    };
    var rules = Array.prototype.map.call(conditional, function (row) {
      var rule = JSON.parse(row.dataset.mandatoryWhen);
      return { row: row, deps: rule.deps, when: rule.when.map(function (answers) { return JSON.stringify(answers); }) };
    });
    var update = function () {
      rules.forEach(function (rule) {
        var shown = rule.when.indexOf(JSON.stringify(rule.deps.map(answerOf))) !== -1;
        rule.row.hidden = !shown;
        rule.row.querySelectorAll("input, select, textarea").forEach(function (control) {
          control.disabled = !shown;
          if (control.type !== "checkbox" && control.type !== "radio" && control.type !== "hidden") {
            control.required = shown;
          }
        });
      });
    };
    promptForm.addEventListener("change", update);
    promptForm.addEventListener("input", update);
    update();
  }

  // Conversion: choosing an existing account reloads its contacts.
  document.querySelectorAll("select[data-reload]").forEach(function (select) {
    select.addEventListener("change", function () {
      var reload = select.form.querySelector('button[name="_reload"]');
      if (reload && select.value) reload.click();
    });
  });
})();
