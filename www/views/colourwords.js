// What the colours of each view's maps mean, in words: the caption of its colour bar
// (the numbers at the bar's ends say how far; these say of what).

// Per attribution method of the catalogue; a method not named here gets its kind's words.
const METHODS = {
  saliency: "|gradient|: how strongly the pixel moves the class score (0 = not at all, right end = most)",
  "guided-backprop": "|guided gradient|: how strongly the pixel raises the class score through the network's positive paths",
  smoothgrad: "|gradient| averaged over noisy copies: how strongly the pixel moves the class score",
  "integrated-gradients": "|attribution|: the pixel's share of the class score's change from the black baseline",
  "grad-cam": "how much this region raises the class score (0 = none, max = most)",
  "grad-cam++": "how much this region raises the class score, weighted by where it does (0 = none, max = most)",
  "score-cam": "how much showing this region alone raises the class score (0 = none, max = most)",
  "guided-grad-cam": "Grad-CAM times the guided gradient: the pixels that raise the class score inside the regions that do",
};

const KINDS = {
  input: "how strongly the pixel moves the class score",
  layer: "how much this region raises the class score (0 = none, max = most)",
};

/** The words of the colour bar of method `name`'s map (an answer of `kind`). */
export function methodMeaning(name, kind) {
  return METHODS[name] ?? KINDS[kind] ?? "how much this part matters for the class (0 = none, right end = most)";
}

/** Occlusion's three pictures share one bar from 0 to 1. */
export function occlusionMeaning(score = "logit") {
  const unit = score === "prob" ? "probability" : "logit";
  return `drop in class score when covered (${unit}), 0 = none, 1 = the largest drop; in the grid, the probability left with the window covered (1 = unchanged)`;
}

export const FEATURES_MEANING = "activation of this channel: low to high";
export const FILTERS_MEANING = "weight: negative to positive (the ends are the lowest and the highest weight)";
export const COMPARE_MEANING = "how much each region matters to the method for the class (0 = none, max = most)";
