// Live progress of an issue being sent: polls GET /newsletters/issues/<id>/progress every 2 s and updates the
// numbers, the <progress> bar and the status line (aria-live, announced only when it changes). Without
// scripts the page shows the numbers of its load and a link to refresh them.
"use strict";

(function () {
  const INTERVAL_MS = 2000;
  const section = document.getElementById("progress");
  if (!section || section.dataset.live !== "yes") return;
  const bar = document.getElementById("progress-bar");
  const summary = document.getElementById("progress-summary");
  let last = summary ? summary.textContent : "";

  function words(data) {
    const done = data.sent + data.failed + data.cancelled;
    return section.dataset.summary
      .replace("{done}", String(done)).replace("{total}", String(data.total))
      .replace("{sent}", String(data.sent)).replace("{failed}", String(data.failed))
      .replace("{pending}", String(data.pending)).replace("{cancelled}", String(data.cancelled));
  }

  async function poll() {
    let data;
    try {
      const response = await fetch(section.dataset.progressUrl, { credentials: "same-origin",
                                                                 headers: { "Accept": "application/json" } });
      if (!response.ok) return schedule();
      data = await response.json();
    } catch (error) {
      return schedule();
    }
    for (const key of ["sent", "failed", "pending", "cancelled"]) {
      const cell = section.querySelector(`[data-count="${key}"]`);
      if (cell) cell.textContent = String(data[key]);
    }
    if (bar) {
      bar.max = Math.max(data.total, 1);
      bar.value = data.sent + data.failed + data.cancelled;
      bar.textContent = `${bar.value} / ${data.total}`;
    }
    const finished = data.pending === 0 && (data.status === "sent" || data.status === "cancelled");
    let text = words(data);
    if (finished) text += " " + section.dataset.finished;
    if (summary && text !== last) {
      summary.textContent = text;
      last = text;
    }
    if (!finished) schedule();
  }

  function schedule() {
    setTimeout(poll, INTERVAL_MS);
  }

  schedule();
})();
