// <convscope-view model="fashion" image="fashion-00019" view="grad-cam">
// for docs sites: an iframe of this page in embedded mode (no side bar) showing one view.
// The element mirrors the page's state in its own data-state attribute (loading, ready,
// busy, done, error) and fires a "statechange" event, so a host page can wait for it.
// Load once with <script type="module" src="…/embed.js"></script>.

const PAGE = new URL("./index.html", import.meta.url);
const ATTRIBUTES = ["model", "weights", "image", "view", "target", "layer", "colormap", "opacity"];

class ConvscopeView extends HTMLElement {
  static observedAttributes = [...ATTRIBUTES, "width", "height"];

  constructor() {
    super();
    this.frame = document.createElement("iframe");
    this.frame.title = "convscope";
    this.frame.loading = "lazy";
    this.frame.style.border = "0";
    this.frame.style.display = "block";
    this.attachShadow({ mode: "open" }).append(this.frame);
    this.onMessage = (event) => {
      if (event.source !== this.frame.contentWindow || event.data?.source !== "convscope") return;
      this.dataset.state = event.data.state;
      this.dispatchEvent(new CustomEvent("statechange", { detail: { state: event.data.state, error: event.data.error } }));
    };
  }

  connectedCallback() {
    window.addEventListener("message", this.onMessage);
    this.update();
  }

  disconnectedCallback() {
    window.removeEventListener("message", this.onMessage);
  }

  attributeChangedCallback() {
    if (this.isConnected) this.update();
  }

  /** The address of the embedded page for the current attributes. */
  get src() {
    const url = new URL(PAGE);
    for (const name of ATTRIBUTES) {
      const v = this.getAttribute(name);
      if (v !== null && v !== "") url.searchParams.set(name, v);
    }
    url.searchParams.set("embed", "1");
    return url.href;
  }

  update() {
    this.frame.width = this.getAttribute("width") ?? "720";
    this.frame.height = this.getAttribute("height") ?? "560";
    if (this.frame.src !== this.src) {
      this.dataset.state = "loading";
      this.frame.src = this.src;
    }
  }
}

if (!customElements.get("convscope-view")) customElements.define("convscope-view", ConvscopeView);
