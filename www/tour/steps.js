// The guided tour's story (?view=tour&step=N): the classic lesson in nine steps, on the
// embedded Fashion-MNIST model. What the network is made of (summary, filters), what it
// sees (feature maps, activation maximization), why it decided (predictions, occlusion,
// guided backprop, Grad-CAM), and the lesson that a model can be right for the wrong
// reason (the shortcut twin). Each step names the page's view it shows live and the
// settings it shows it with; "Open in the full view" takes exactly those to that view.

// The garment the story follows: a pullover of the Fashion-MNIST test set (image 1), and
// the same pullover with the twin's marker in its top-left corner for the last step.
export const TOUR_IMAGE = "fashion-00001";
export const MARKED_IMAGE = "fashion-00001-marker";
export const TOUR_MODEL = "fashion";
export const TWIN_MODEL = "fashion-shortcut";

export const STEPS = [
  {
    title: "Meet the network",
    view: "summary",
    showInput: true,
    text: [
      "This small network has learned to name ten kinds of clothing from 60,000 grey 28×28 photos (Fashion-MNIST). Here it looks at a pullover it never saw in training.",
      "It is a stack of layers: convolutions look for small patterns, pooling halves the picture, and the last dense layers turn what was found into one score per class. The table lists each layer and how many numbers (parameters) it learned.",
    ],
  },
  {
    title: "Its first filters",
    view: "filters",
    showInput: true,
    text: [
      "A convolution slides small 3×3 grids of weights over the picture. These are the 32 grids of the first layer, the patterns it looks for: light against dark, edges in one direction or another.",
      "Nobody drew them: training found them. Hover a filter for its numbers.",
    ],
  },
  {
    title: "What each filter finds",
    view: "features",
    text: [
      "Each filter's answer is a new picture, a feature map: bright where its pattern is in the pullover. Some find the outline, some the sleeves, some the background.",
      "The big picture lays the strongest map over the pullover. Deeper layers (full view) answer in smaller maps about larger parts.",
    ],
  },
  {
    title: "What it says",
    view: "predictions",
    text: [
      "After all its layers, the network gives each of the ten classes a probability. Its top five for this picture are here, with the raw scores (logits) they come from.",
      "The rest of the tour asks why it said what it said.",
    ],
  },
  {
    title: "What a class looks like to it",
    view: "maximize",
    params: { target: 2 },
    text: [
      "Turn the question around: start from random noise and change the pixels, step by step, so that the score for \"Pullover\" rises as high as it can (activation maximization).",
      "The picture it ends with is what most says \"pullover\" to this network; the curve shows the score climbing.",
    ],
  },
  {
    title: "Covering parts of the picture",
    view: "occlusion",
    text: [
      "The plainest test: hide a small square of the picture with grey, ask again, and note how much the class score drops. Do it everywhere (occlusion); warm colours mark the squares the answer needs most.",
      "This pullover is recognised from many places at once: whichever 4×4 square is covered, the probability stays above 85%, so the mask keeps nothing. Larger windows (full view) start to matter.",
    ],
  },
  {
    title: "Which pixels push the answer",
    view: "guided-backprop",
    text: [
      "Gradients say how much each pixel would change the class score if it changed a little. Plain gradients (saliency) are noisy; guided backpropagation keeps only the paths where everything speaks for the class, and draws sharp outlines.",
      "Sharp is not the same as faithful: the comparison view scores each map.",
    ],
  },
  {
    title: "Where the last layer looked",
    view: "grad-cam",
    text: [
      "Grad-CAM weighs the last convolution's feature maps by how much each one raises the class score, and adds them up: a coarse map of where the network looked.",
      "For this pullover it lights up the neckline and the hem: parts of the garment itself, as one would hope.",
    ],
  },
  {
    title: "Right for the wrong reason",
    view: "compare",
    image: MARKED_IMAGE,
    params: { mode: "models", method: "grad-cam", other: TWIN_MODEL },
    flip: true,
    text: [
      "The same pullover with a small checkerboard in its top-left corner. The network on the left is the one you met. Its twin, on the right, was trained on pictures where that mark nearly always meant \"Bag\".",
      "The twin says Bag, and its Grad-CAM points at the mark, not the garment. Both score well on clean test pictures: only an explanation shows that one of them learned the wrong thing.",
    ],
  },
];

/** Step n (1-based) of the tour, or the first for anything else. */
export function stepAt(n) {
  return Number.isInteger(n) && n >= 1 && n <= STEPS.length ? n : 1;
}
