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
  var bindLookup = function (input) {
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
  };
  document.querySelectorAll("input[data-lookup]").forEach(bindLookup);

  // Multi-record pickers (`links`): chips of the members (a ticked checkbox each, posted as
  // <name>=<id>), removed by their ×; a search input whose matches (the lookup endpoint) are
  // added as chips. Without JavaScript the checkboxes and the "Add" button do the same.
  var bindPicker = function (picker) {
    if (picker.dataset.live) return;
    picker.dataset.live = "1";
    picker.classList.add("is-live");
    var name = picker.dataset.picker;
    var input = picker.querySelector(".picker-search input");
    var matches = picker.querySelector(".picker-matches");
    var chips = picker.querySelector(".picked");
    var max = parseInt(picker.dataset.max, 10);
    var placeholder = input.placeholder;
    var timer = null;
    var found = [];
    var active = -1;
    chips.querySelectorAll(".chip-remove").forEach(function (button) { button.hidden = false; });
    var chosen = function () {
      return Array.prototype.map.call(chips.querySelectorAll("input[type=checkbox]:checked"), function (box) { return box.value; });
    };
    var update = function () {
      var full = chosen().length >= max;
      input.disabled = full;
      input.placeholder = full ? picker.dataset.full : placeholder;
    };
    var close = function () {
      matches.hidden = true;
      matches.replaceChildren();
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      found = [];
      active = -1;
    };
    var mark = function (index) {
      active = index;
      matches.querySelectorAll("li").forEach(function (li, i) { li.setAttribute("aria-selected", i === index ? "true" : "false"); });
      if (index >= 0 && matches.children[index]) input.setAttribute("aria-activedescendant", matches.children[index].id);
    };
    var add = function (item) {
      if (chosen().indexOf(String(item.id)) === -1 && chosen().length < max) {
        var chip = document.createElement("li");
        chip.className = "chip picked-chip";
        var label = document.createElement("label");
        var box = document.createElement("input");
        box.type = "checkbox";
        box.name = name;
        box.value = String(item.id);
        box.checked = true;
        var title = document.createElement("span");
        title.textContent = item.label || item.title;
        label.append(box, " ", title);
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "chip-remove";
        remove.textContent = "×";
        remove.setAttribute("aria-label", picker.dataset.remove.replace("{title}", item.title));
        chip.append(label, remove);
        chips.append(chip);
      }
      input.value = "";
      close();
      update();
      if (!input.disabled) input.focus();
    };
    var show = function (items) {
      var taken = chosen();
      found = items.filter(function (item) { return taken.indexOf(String(item.id)) === -1; });
      matches.replaceChildren.apply(matches, found.map(function (item, index) {
        var li = document.createElement("li");
        li.id = "match-" + name + "-" + index;
        li.setAttribute("role", "option");
        li.dataset.id = item.id;
        li.textContent = item.label || item.title;  // "Title #12" when two matches share a title
        li.addEventListener("mousedown", function (event) { event.preventDefault(); add(item); });
        return li;
      }));
      if (!found.length) {
        var none = document.createElement("li");
        none.className = "picker-none";
        none.textContent = picker.dataset.noMatch;
        matches.append(none);
      }
      matches.hidden = false;
      input.setAttribute("aria-expanded", "true");
      mark(found.length ? 0 : -1);
    };
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var text = input.value.trim();
      if (!text) { close(); return; }
      timer = setTimeout(function () {
        fetch(picker.dataset.lookup + "?q=" + encodeURIComponent(text), { headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(function (items) { if (input.value.trim() === text) show(items); })
          .catch(function () { /* the words typed are still resolved when the form is saved */ });
      }, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" && found.length) { event.preventDefault(); mark((active + 1) % found.length); }
      else if (event.key === "ArrowUp" && found.length) { event.preventDefault(); mark((active - 1 + found.length) % found.length); }
      else if (event.key === "Enter" && !matches.hidden) {
        event.preventDefault();  // pick, do not submit the form
        if (active >= 0) add(found[active]);
      } else if (event.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
    chips.addEventListener("click", function (event) {
      var button = event.target.closest(".chip-remove");
      if (!button) return;
      button.closest("li").remove();
      update();
      input.focus();
    });
    update();
  };
  document.querySelectorAll(".links-picker[data-picker]").forEach(bindPicker);

  // Lines editors: rows added from the <template>, moved (arrows, or dragged by their handle) and
  // removed in the page; the order posted is the rows' order. Without JavaScript the same buttons
  // post the form, which the server shows again with the change.
  document.querySelectorAll(".lines-editor[data-lines]").forEach(function (editor) {
    var name = editor.dataset.lines;
    var body = editor.querySelector("tbody");
    var template = editor.querySelector("template.line-template");
    var max = parseInt(editor.dataset.max, 10);
    var rows = function () { return Array.prototype.slice.call(body.querySelectorAll(":scope > tr.line-row")); };
    var refresh = function () {
      var all = rows();
      editor.querySelector(".line-add").disabled = all.length >= max;
      editor.querySelector(".lines-empty").hidden = all.length > 0;
      all.forEach(function (row, index) {
        row.querySelector(".line-up").disabled = index === 0;
        row.querySelector(".line-down").disabled = index === all.length - 1;
      });
    };
    var fresh = function () {
      var taken = rows().map(function (row) { return row.dataset.row; });
      var number = taken.length + 1;
      while (taken.indexOf("n" + number) !== -1) number += 1;
      return "n" + number;
    };
    var addRow = function () {
      if (rows().length >= max) return;
      body.insertAdjacentHTML("beforeend", template.innerHTML.split("__row__").join(fresh()));
      var row = body.lastElementChild;
      row.querySelectorAll("input[data-lookup]").forEach(bindLookup);
      row.querySelectorAll(".links-picker[data-picker]").forEach(bindPicker);
      refresh();
      var first = row.querySelector(".line-cell input:not([type=hidden]), .line-cell select, .line-cell textarea");
      if (first) first.focus();
    };
    editor.addEventListener("click", function (event) {
      var button = event.target.closest("button[name=_action]");
      if (!button || !button.value.startsWith("line:" + name + ":")) return;
      event.preventDefault();
      var verb = button.value.split(":")[2];
      if (verb === "add") { addRow(); return; }
      var row = button.closest("tr.line-row");
      if (verb === "remove") {
        var next = row.nextElementSibling || row.previousElementSibling;
        row.remove();
        var focus = next ? next.querySelector(".line-remove") : editor.querySelector(".line-add");
        if (focus) focus.focus();
      } else if (verb === "up" && row.previousElementSibling) {
        body.insertBefore(row, row.previousElementSibling);
      } else if (verb === "down" && row.nextElementSibling) {
        body.insertBefore(row.nextElementSibling, row);
      }
      refresh();
      if (verb !== "remove" && !button.disabled) button.focus();
    });
    // Drag and drop: a row is draggable while its handle is held.
    var dragged = null;
    body.addEventListener("pointerdown", function (event) {
      var handle = event.target.closest(".drag-handle");
      if (handle) handle.closest("tr").draggable = true;
    });
    body.addEventListener("dragstart", function (event) {
      dragged = event.target.closest("tr.line-row");
      if (!dragged) return;
      dragged.classList.add("is-dragged");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.dataset.row);
    });
    body.addEventListener("dragover", function (event) {
      if (!dragged) return;
      event.preventDefault();
      var over = event.target.closest("tr.line-row");
      if (!over || over === dragged) return;
      var box = over.getBoundingClientRect();
      body.insertBefore(dragged, event.clientY < box.top + box.height / 2 ? over : over.nextElementSibling);
    });
    body.addEventListener("drop", function (event) { if (dragged) event.preventDefault(); });
    body.addEventListener("dragend", function () {
      if (!dragged) return;
      dragged.classList.remove("is-dragged");
      dragged.draggable = false;
      dragged = null;
      refresh();
    });
    refresh();
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
