// The issue editor's live preview: as a variant's Markdown is typed, the server renders and sanitises it
// (POST /newsletters/issues/preview, the same nh3 cleaning as the sent mail) and the preview shows it.
// Without scripts the form's Preview button does the same by reloading the page.
"use strict";

(function () {
  const DELAY_MS = 400;

  function csrfToken(form) {
    const input = form && [...form.querySelectorAll("input[type=hidden]")].find((el) => el.name.endsWith("csrf_token"));
    return input ? input.value : "";
  }

  function attach(textarea) {
    const target = document.getElementById(textarea.dataset.previewTarget);
    const url = textarea.dataset.previewUrl;
    if (!target || !url) return;
    let timer = null;
    let controller = null;

    async function render() {
      if (controller) controller.abort();
      controller = new AbortController();
      const body = new FormData();
      body.set("body", textarea.value);
      const token = csrfToken(textarea.form);
      body.set("csrf_token", token);
      try {
        const response = await fetch(url, {
          method: "POST", body, credentials: "same-origin", signal: controller.signal,
          headers: { "X-CSRFToken": token, "Accept": "application/json" },
        });
        if (!response.ok) return;
        const data = await response.json();
        // Sanitised by the server (nh3): the same HTML a reader's mail would carry.
        target.innerHTML = data.html;
      } catch (error) {
        if (error.name !== "AbortError") throw error;
      }
    }

    textarea.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(render, DELAY_MS);
    });
  }

  document.querySelectorAll("textarea[data-preview-target]").forEach(attach);
})();
