// The side bar (model, image, view list) on a narrow screen: folded away behind the
// "Model, image and views" button so that the view comes first, unfolded on demand, and
// folded again once a view is picked (the visitor wants to see it). Wide, the button is
// not displayed (style.css) and the side bar is always there; whether the screen is
// narrow is read from the button itself, so the breakpoint lives in the stylesheet only.
// Also the "Skip to the view" link, the first thing Tab reaches: focus goes to the view
// without a #main in the address (whose history entry Back would have to undo).

const toggle = document.getElementById("sidebar-toggle");
const sidebar = document.getElementById("controls");

function setOpen(open) {
  sidebar.classList.toggle("open", open);
  toggle.setAttribute("aria-expanded", String(open));
}

const folding = () => toggle.getClientRects().length > 0;

const skip = document.querySelector("a.skip-link");
skip?.addEventListener("click", (event) => {
  event.preventDefault();
  document.getElementById("main")?.focus();
});

if (toggle && sidebar) {
  toggle.addEventListener("click", () => setOpen(!sidebar.classList.contains("open")));
  // The view list is filled later (app.js): listen on the side bar.
  sidebar.addEventListener("click", (event) => {
    if (!folding() || !event.target.closest("#view-list button[data-view]")) return;
    setOpen(false);
    // The focused button is now hidden: focus goes back to the one that unfolds the list.
    toggle.focus();
  });
}
