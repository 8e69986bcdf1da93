// Progressive enhancement only: every page works without this file.
"use strict";
document.documentElement.classList.add("js");

// Autosave of session note drafts: a few seconds after typing stops, the
// draft form is sent as it is (the same form post as "Save draft", marked
// X-Autosave so the server answers 204 with the new version). If the
// connection is lost, the text stays on the page and saving is retried.
(function () {
  const form = document.querySelector("form[data-autosave]");
  if (!form) return;
  const status = document.getElementById("autosave-status");
  let timer = null;
  let saving = false;
  let dirty = false;
  const say = (text) => { if (status) status.textContent = text; };
  const versionInputs = () => document.querySelectorAll("input[name='version']");

  async function save() {
    if (saving) { dirty = true; return; }
    saving = true;
    dirty = false;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: { "X-Autosave": "1" },
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
      });
      if (response.status === 204) {
        const version = response.headers.get("X-Version");
        if (version) versionInputs().forEach((input) => { input.value = version; });
        say("Draft saved at " + new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + ".");
      } else if (response.status === 409) {
        say("Not saved: this draft was changed elsewhere. Copy your text, then reload.");
      } else if (response.status === 422) {
        say("Not saved yet: fix the marked fields, then press Save draft.");
      } else {
        say("Not saved (the server answered " + response.status + "). Your text is still here.");
      }
    } catch (e) {
      say("Not saved: no connection. Your text is still here; saving again shortly.");
      dirty = true;
    } finally {
      saving = false;
      if (dirty) schedule(10000);
    }
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(save, delay);
  }

  form.addEventListener("input", () => { say("Unsaved changes…"); schedule(3000); });
})();

// Confirmation before what cannot be undone (signing locks a record,
// revoking ends a sign-in): forms marked data-confirm ask first. Without
// this file the form still works; the server never depends on it.
document.addEventListener("submit", (event) => {
  const message = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});
