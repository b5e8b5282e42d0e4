/* Live progress of a running import (imports/run_detail.html): polls the API, updates the figures, and reloads
   the page once the import has finished so that its report shows. Without JavaScript the page has a link to
   reload it by hand. */
(function () {
  "use strict";
  var box = document.querySelector("[data-import-progress]");
  if (!box || !window.fetch) {
    return;
  }
  var url = box.getAttribute("data-import-progress");
  var records = box.querySelector("[data-records]");
  var file = box.querySelector("[data-file]");
  var status = box.querySelector("[data-status]");
  var delay = 2000;

  function schedule() {
    window.setTimeout(poll, delay);
  }

  function poll() {
    window.fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (run) {
        if (!run.in_progress) {
          window.location.reload();
          return;
        }
        records.textContent = run.progress.records_done.toLocaleString("fr-FR");
        file.textContent = run.progress.current_file || "—";
        if (status.textContent !== run.status_label) {
          status.textContent = run.status_label;
        }
        delay = 2000;
        schedule();
      })
      .catch(function () {
        delay = Math.min(delay * 2, 30000);
        schedule();
      });
  }

  schedule();
})();
