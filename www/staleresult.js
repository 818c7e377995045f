// An earlier result under a failed request. When a run fails before its view drew
// anything, the panel still shows what an earlier request computed, under the settings
// of then, while the controls and the address already say the new ones: so the result is
// dimmed and labelled (the label is its description for screen readers) until a run
// succeeds. The label is #stale in index.html, the marking style.css's #panel[data-stale]
// (pictures dimmed, text left at full contrast, the panel outlined).

const panel = () => document.getElementById("panel");
const label = () => document.getElementById("stale");

/** Marks the panel's content as not updated by the request that failed. */
export function markStale() {
  if (!panel().childElementCount) return; // nothing earlier to mislead
  label().textContent = "Not updated: the last request failed (see the message above). What is shown below is the earlier result, for the settings of then.";
  label().hidden = false;
  panel().dataset.stale = "";
  panel().setAttribute("aria-describedby", "stale");
}

/** The panel holds a current result again. */
export function clearStale() {
  label().hidden = true;
  label().textContent = "";
  delete panel().dataset.stale;
  panel().removeAttribute("aria-describedby");
}
