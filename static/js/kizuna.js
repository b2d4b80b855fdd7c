// Kizuna's small progressive enhancements; every page works without them.
"use strict";

// The language switcher submits as soon as a language is picked with the mouse. Arrow keys on a
// closed list fire `change` too (Chromium, Windows), and a keyboard user browsing the languages must
// not have the page reloaded under them (WCAG 3.2.2 On Input): with keys, the arrows only choose,
// and Enter or the button next to the list applies the choice.
const chosenByKeyboard = new WeakSet();
document.addEventListener("keydown", (event) => {
  const select = event.target.closest?.("select[data-autosubmit]");
  if (!select || event.key === "Tab" || event.key === "Shift") return;
  if (event.key === "Enter") {
    event.preventDefault();
    select.form.requestSubmit();
  } else {
    chosenByKeyboard.add(select);
  }
});
document.addEventListener("pointerdown", (event) => {
  const select = event.target.closest?.("select[data-autosubmit]");
  if (select) chosenByKeyboard.delete(select);
});
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select && !chosenByKeyboard.has(select)) select.form.requestSubmit();
});

// After a refused form, start at the summary of what to correct (its links lead to the fields), as
// GOV.UK's error summary does; role="alert" alone is announced but leaves focus at the top of the page.
const errorSummary = document.querySelector(".error-summary");
if (errorSummary) errorSummary.focus();

// City autocomplete: an ARIA 1.2 combobox over GET /api/v1/cities.
function cityAutocomplete(input) {
  const list = document.getElementById(input.getAttribute("aria-controls"));
  const status = document.getElementById("city-status");
  const country = document.getElementById(input.dataset.countryInput || "");
  let active = -1, timer = null, controller = null;

  // The status line is read out by screen readers: words from the page, in its language.
  function found(count) {
    if (!status) return "";
    const text = count === 0 ? status.dataset.none : count === 1 ? status.dataset.one : status.dataset.many;
    return (text || "").replace("{count}", String(count));
  }

  function close() {
    list.hidden = true; list.replaceChildren(); active = -1;
    input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant");
  }
  function highlight(index) {
    const items = list.querySelectorAll("li");
    items.forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    active = index;
    if (items[index]) input.setAttribute("aria-activedescendant", items[index].id);
  }
  // A search box submits its form with the chosen name; a form field (data-city-id-input) keeps the
  // chosen city's GeoNames id in a hidden input, so that a smaller namesake stays the one chosen.
  const idInput = document.getElementById(input.dataset.cityIdInput || "");
  function choose(li) {
    close();
    if (idInput) {
      input.value = li.dataset.spec;
      idInput.value = li.dataset.id;
    } else {
      input.value = li.dataset.name;
      input.form.requestSubmit();
    }
  }
  async function search() {
    const q = input.value.trim();
    if (!q) { close(); return; }
    if (controller) controller.abort();
    controller = new AbortController();
    const params = new URLSearchParams({ q, limit: "10" });
    if (country && country.value) params.set("country", country.value);
    try {
      const response = await fetch(`${input.dataset.cityAutocomplete}?${params}`,
                                   { signal: controller.signal, credentials: "same-origin" });
      if (!response.ok) return;
      const { items } = await response.json();
      list.replaceChildren(...items.map((city, i) => {
        const li = document.createElement("li");
        li.id = `city-option-${i}`; li.setAttribute("role", "option"); li.dataset.name = city.name;
        li.dataset.id = String(city.id); li.dataset.spec = `${city.name}, ${city.country}`;
        li.textContent = `${city.label} (${city.timezone})`;
        li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(li); });
        return li;
      }));
      list.hidden = items.length === 0;
      input.setAttribute("aria-expanded", String(items.length > 0));
      if (status) status.textContent = found(items.length);
      active = -1;
    } catch (err) {
      if (err.name !== "AbortError") throw err;
    }
  }
  input.addEventListener("input", () => {
    if (idInput) idInput.value = "";  // typed over: the text names the city again
    clearTimeout(timer); timer = setTimeout(search, 150);
  });
  input.addEventListener("keydown", (e) => {
    const count = list.querySelectorAll("li").length;
    if (e.key === "ArrowDown" && count) { e.preventDefault(); highlight((active + 1) % count); }
    else if (e.key === "ArrowUp" && count) { e.preventDefault(); highlight((active - 1 + count) % count); }
    else if (e.key === "Enter" && active >= 0) { e.preventDefault(); choose(list.querySelectorAll("li")[active]); }
    else if (e.key === "Escape") { close(); }
  });
  input.addEventListener("blur", () => setTimeout(close, 0));
}

document.querySelectorAll("input[data-city-autocomplete]").forEach(cityAutocomplete);

// Participant picker of the interaction log: the city combobox's ARIA 1.2 pattern (the same keys, status
// line and listbox) over GET /partners/log/participants. Choosing ticks the person's or the organisation's
// box in the form's lists, adding it when it is not there; without JavaScript the Search button does this.
function participantAutocomplete(input) {
  const list = document.getElementById(input.getAttribute("aria-controls"));
  const status = document.getElementById("participant-status");
  const lists = {
    contact: input.form.querySelector('[data-participants="contact_ids"]'),
    organisation: input.form.querySelector('[data-participants="organisation_ids"]'),
  };
  let active = -1, timer = null, controller = null;

  function say(key, values) {
    if (!status) return;
    let text = status.dataset[key] || "";
    for (const [name, value] of Object.entries(values)) text = text.replace(`{${name}}`, String(value));
    status.textContent = text;
  }
  function close() {
    list.hidden = true; list.replaceChildren(); active = -1;
    input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant");
  }
  function highlight(index) {
    const items = list.querySelectorAll("li");
    items.forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    active = index;
    if (items[index]) input.setAttribute("aria-activedescendant", items[index].id);
  }
  function choose(li) {
    const target = lists[li.dataset.type];
    if (target) {
      const name = target.dataset.participants;
      let box = target.querySelector(`input[value="${li.dataset.id}"]`);
      if (!box) {
        const item = document.createElement("li");
        box = document.createElement("input");
        box.type = "checkbox"; box.name = name; box.value = li.dataset.id; box.id = `${name}-picked-${li.dataset.id}`;
        const label = document.createElement("label");
        label.htmlFor = box.id; label.textContent = li.dataset.label;
        item.append(box, " ", label);
        target.append(item);
      }
      box.checked = true;
      say("added", { name: li.dataset.label });
    }
    input.value = "";
    close();
  }
  async function search() {
    const q = input.value.trim();
    if (!q) { close(); return; }
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const response = await fetch(`${input.dataset.participantAutocomplete}?${new URLSearchParams({ q })}`,
                                   { signal: controller.signal, credentials: "same-origin" });
      if (!response.ok) return;
      const { items } = await response.json();
      list.replaceChildren(...items.map((item, i) => {
        const li = document.createElement("li");
        li.id = `participant-option-${i}`; li.setAttribute("role", "option");
        li.dataset.type = item.type; li.dataset.id = String(item.id); li.dataset.label = item.label;
        li.textContent = item.label;
        li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(li); });
        return li;
      }));
      list.hidden = items.length === 0;
      input.setAttribute("aria-expanded", String(items.length > 0));
      say(items.length === 0 ? "none" : items.length === 1 ? "one" : "many", { count: items.length });
      active = -1;
    } catch (err) {
      if (err.name !== "AbortError") throw err;
    }
  }
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 150); });
  input.addEventListener("keydown", (e) => {
    const count = list.querySelectorAll("li").length;
    if (e.key === "ArrowDown" && count) { e.preventDefault(); highlight((active + 1) % count); }
    else if (e.key === "ArrowUp" && count) { e.preventDefault(); highlight((active - 1 + count) % count); }
    else if (e.key === "Enter" && active >= 0) { e.preventDefault(); choose(list.querySelectorAll("li")[active]); }
    else if (e.key === "Enter") { e.preventDefault(); search(); }  // Enter in the box searches, never saves
    else if (e.key === "Escape") { close(); }
  });
  input.addEventListener("blur", () => setTimeout(close, 0));
}

document.querySelectorAll("input[data-participant-autocomplete]").forEach(participantAutocomplete);

// The gift fields show only for the kinds that are gifts; without JavaScript they are always there, with a hint.
document.querySelectorAll("fieldset[data-gift-kinds]").forEach((gift) => {
  const kind = gift.form?.elements.kind || gift.closest("form")?.elements.kind;
  if (!kind) return;
  const kinds = gift.dataset.giftKinds.split(" ");
  // Hidden also means disabled, so that details typed before the kind changed are not sent; a refusal
  // shown inside keeps the fields in view.
  const update = () => {
    gift.hidden = gift.disabled = !kinds.includes(kind.value) && !gift.querySelector(".error");
  };
  kind.addEventListener("change", update);
  update();
});
