// Where a visit starts: the first visit of this browser to the page's bare address lands
// on the guided tour; later visits, and every link that names anything, go where they
// say (the page's default view when they name none). Remembered in this browser's
// localStorage only, like everything else the page keeps.
const KEY = "convscope.visited";

/** True for the first bare visit (no query string) in this browser; remembers this one. */
export function firstVisit(search) {
  if (search) return false;
  try {
    const seen = localStorage.getItem(KEY) !== null;
    localStorage.setItem(KEY, "1");
    return !seen;
  } catch {
    // Storage refused (private mode, a sandboxed frame): every bare visit is a first one.
    return true;
  }
}
