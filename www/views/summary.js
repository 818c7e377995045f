// The model summary: Keras' model.summary() as a table, one row per layer.
import { el, scrollBox } from "./dom.js";

export default {
  id: "summary",
  title: "Model summary",
  group: "model",
  needs: [],
  async run({ model, panel }) {
    const s = model.summary;
    const rows = s.layers.map((l) =>
      el("tr", { dataset: { layer: l.name } }, [
        el("td", {}, l.name),
        el("td", {}, l.type),
        el("td", {}, l.keras_name ?? ""),
        el("td", { className: "num" }, `(${l.output_shape.join(", ")})`),
        el("td", { className: "num" }, l.params.toLocaleString("en-US")),
      ]),
    );
    const table = el("table", { className: "summary", dataset: { testid: "summary-table" } }, [
      el("thead", {}, el("tr", {}, ["Layer", "Type", "Keras name", "Output shape", "Param #"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows),
    ]);
    const totals = el("dl", { className: "totals" }, [
      el("dt", {}, "Architecture"), el("dd", {}, s.arch),
      el("dt", {}, "Input shape"), el("dd", {}, `(${s.input_shape.join(", ")})`),
      el("dt", {}, "Total params"), el("dd", {}, s.total_params.toLocaleString("en-US")),
      el("dt", {}, "Trainable params"), el("dd", {}, s.trainable_params.toLocaleString("en-US")),
      el("dt", {}, "Non-trainable params"), el("dd", {}, "0"),
    ]);
    panel.replaceChildren(el("h2", {}, `Model: ${model.name}`), totals, scrollBox(table, `Layers of ${model.name}`));
  },
};
