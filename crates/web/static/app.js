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

// An AI draft shown as it is written: "Suggest with AI" posts the form to
// its as-written address and reads the event stream, listing each sentence
// as the model finishes it; the last event is the page the request ends on
// (the suggestion, or the form again with why), which replaces this one.
// Without this file the button posts the form and the page comes whole.
(function () {
  if (!window.fetch || !window.TextDecoder || !window.DOMParser) return;

  function showPage(html) {
    const page = new DOMParser().parseFromString(html, "text/html");
    const main = page.querySelector("main");
    if (!main) return false;
    document.title = page.title;
    document.querySelector("main").replaceWith(main);
    const heading = main.querySelector("h1");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
    return true;
  }

  // One event of the stream; true when it ends the request.
  function handle(block, view) {
    let name = "message";
    const data = [];
    block.split("\n").forEach((line) => {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    });
    const text = data.join("\n");
    if (name === "sentence") {
      const sentence = JSON.parse(text);
      const item = document.createElement("li");
      const section = document.createElement("strong");
      section.textContent = sentence.section + ": ";
      item.append(section, sentence.text);
      view.lines.append(item);
      view.status.textContent = view.lines.children.length + " sentences so far…";
      return false;
    }
    if (name === "again") {
      view.lines.textContent = "";
      view.status.textContent = "That answer could not be used; the AI is asked once more…";
      return false;
    }
    if (name === "page") return showPage(text);
    if (name === "note") { window.location.assign(text); return true; }
    return false;
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches || !form.matches("form[data-as-written]")) return;
    if (!event.submitter || event.submitter.value !== "model") return;
    event.preventDefault();
    const view = {
      region: document.getElementById("draft-progress"),
      status: document.getElementById("draft-progress-status"),
      lines: document.getElementById("draft-progress-lines"),
    };
    const buttons = form.querySelectorAll("button");
    const body = new URLSearchParams(new FormData(form));
    body.set("action", "model");
    buttons.forEach((b) => { b.disabled = true; });
    view.lines.textContent = "";
    view.region.hidden = false;
    view.region.scrollIntoView({ block: "nearest" });
    view.status.textContent = "Asking the AI…";
    let finished = false;
    try {
      const response = await fetch(form.dataset.asWritten, {
        method: "POST", body, credentials: "same-origin", headers: { Accept: "text/event-stream" },
      });
      if (!response.ok || !response.body) throw new Error("answered " + response.status);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          finished = handle(buffer.slice(0, cut), view) || finished;
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch (e) {
      finished = false;
    }
    if (!finished) {
      view.status.textContent = "Something went wrong. Your shorthand is still here: try again.";
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
})();
