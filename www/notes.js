// Notes about what a link asked for and the page could not do (an unknown colormap, a
// layer the view does not have, weights without an architecture, a malformed option...):
// each says what was asked, why it was not used and what the page shows instead, so a
// visitor never gets a default without knowing it replaced their choice. Also weights
// this browser's cache would not keep (they download again next time). They stay until dismissed
// (the fallback is still in effect after the next click). The box is #notes in
// index.html: a list and a Dismiss button.

const box = () => document.getElementById("notes");

/** Adds one note (plain text); the same text is not repeated. */
export function addNote(text) {
  const notes = box();
  if (!notes) return;
  const list = notes.querySelector("ul");
  if ([...list.children].some((li) => li.textContent === text)) return;
  list.append(Object.assign(document.createElement("li"), { textContent: text }));
  notes.hidden = false;
}

export function clearNotes() {
  const notes = box();
  if (!notes) return;
  notes.querySelector("ul").replaceChildren();
  notes.hidden = true;
}

/** The Dismiss button, once at start. */
export function initNotes() {
  box()?.querySelector("button.dismiss")?.addEventListener("click", clearNotes);
}
