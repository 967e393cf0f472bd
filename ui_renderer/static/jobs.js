// Progress of background jobs, on the list, job and jobs pages.
// Every element with `data-job-progress="<url>"` and `data-active="1"` is refreshed from that
// URL (the job's progress as JSON) about every second while the job runs. When it is over:
// `data-reload-when-done` reloads the page (it then shows the result); otherwise the
// "show the updated list" link appears. Without JavaScript each bar links to its job page.
(function () {
  "use strict";

  var PERIOD_MS = 1000;
  var MAX_FAILURES = 10;

  function setText(box, selector, text) {
    var found = box.querySelector(selector);
    if (found) found.textContent = text;
  }

  function update(box, job) {
    var bar = box.querySelector("progress");
    if (bar) {
      if (job.total) {
        bar.max = job.total;
        bar.value = job.done;
      } else if (!job.active) {
        bar.max = 1;
        bar.value = 1;
      }
      bar.textContent = job.percent + " %";
    }
    setText(box, "[data-job-text]", job.text);
    setText(box, "[data-job-state]", job.state_label);
    setText(box, "[data-job-counts]", job.counts_text);
    box.className = box.className.replace(/\bstate-[a-z]+\b/, "state-" + job.state);
    box.setAttribute("data-active", job.active ? "1" : "0");
    box.setAttribute("data-state", job.state);
  }

  function finished(box) {
    if (box.hasAttribute("data-reload-when-done")) {
      window.location.reload();
      return;
    }
    var refresh = box.querySelector("[data-job-refresh]");
    if (refresh) refresh.hidden = false;
  }

  function poll(box, failures) {
    var url = box.getAttribute("data-job-progress");
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (job) {
        update(box, job);
        if (job.active) {
          window.setTimeout(function () { poll(box, 0); }, PERIOD_MS);
        } else {
          finished(box);
        }
      })
      .catch(function () {
        if (failures + 1 < MAX_FAILURES) {
          window.setTimeout(function () { poll(box, failures + 1); }, PERIOD_MS * 3);
        }
      });
  }

  document.querySelectorAll("[data-job-progress][data-active='1']").forEach(function (box) {
    window.setTimeout(function () { poll(box, 0); }, PERIOD_MS);
  });
})();
