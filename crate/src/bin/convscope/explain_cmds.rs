//! Subcommands about attributions: `explain` (one method's map as numbers and as a
//! picture) and `sanity` (Adebayo et al.'s cascading randomisation check).

use crate::args::{load, read_input, to_json, InputArgs, ModelArgs};
use candle_core::{Device, Tensor};
use clap::{Args, Subcommand};
use convscope::methods::sanity::cascading;
use convscope::methods::{build, Attribution, Forward, Options, Score, Target, View};
use convscope::model::ModelCard;
use convscope::progress::Unwatched;
use convscope::render::{colorbar, encode, overlay, Colormap, Rgba};
use convscope::{image, npy, Error, Result};
use std::path::{Path, PathBuf};

/// The method and its options.
#[derive(Args, Clone)]
pub struct MethodArgs {
    /// saliency, guided-backprop, integrated-gradients, smoothgrad, grad-cam, grad-cam++,
    /// score-cam, guided-grad-cam or occlusion
    pub method: String,
    /// class to explain (default: the top prediction)
    #[arg(long)]
    pub target: Option<usize>,
    /// layer of the CAM methods (default: the last ReLU of `features`, features.29 for VGG16)
    #[arg(long)]
    pub layer: Option<String>,
    /// integrated gradients: points on the path [default: 16]
    #[arg(long)]
    pub steps: Option<usize>,
    /// SmoothGrad: noisy copies [default: 25]
    #[arg(long)]
    pub samples: Option<usize>,
    /// SmoothGrad: noise std as a fraction of the input's range [default: 0.15]
    #[arg(long)]
    pub noise: Option<f32>,
    /// SmoothGrad: random seed [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
    /// occlusion: window side in pixels [default: a 16th of the model's input size, at least 4]
    #[arg(long)]
    pub window: Option<usize>,
    /// occlusion: stride in pixels [default: the window]
    #[arg(long)]
    pub stride: Option<usize>,
    /// occlusion: value of the covered pixels, normalised (0 = mean colour) [default: 0]
    #[arg(long, allow_hyphen_values = true)]
    pub fill: Option<f32>,
    /// occlusion: drop of the `logit` or of the softmax `prob` [default: logit]
    #[arg(long)]
    pub score: Option<String>,
}

impl MethodArgs {
    fn options(&self) -> Result<Options> {
        Ok(Options {
            layer: self.layer.clone(),
            steps: self.steps,
            samples: self.samples,
            noise: self.noise,
            seed: self.seed,
            window: self.window,
            stride: self.stride,
            fill: self.fill,
            score: self.score.as_deref().map(Score::parse).transpose()?,
        })
    }

    fn target(&self) -> Target {
        self.target.map_or(Target::Top, Target::Class)
    }
}

#[derive(Subcommand)]
pub enum ExplainCommand {
    /// Attribute a class's score to the input's pixels or a layer's places; write the
    /// numbers (.npy) and optionally a heatmap over the picture (.png)
    Explain {
        #[command(flatten)]
        method: Box<MethodArgs>,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        input: InputArgs,
        /// write the input-sized map: pytorch-grad-cam's [H,W] map for CAMs, occlusion
        /// drops spread over the pixels (input maps are input-sized already)
        #[arg(long)]
        full: bool,
        /// occlusion: `drop` (score drops), `prob` (occluded probabilities, the tutorial's
        /// heatmap) or `mask` (windows whose probability falls below --mask-threshold)
        #[arg(long)]
        view: Option<String>,
        /// occlusion mask: keep windows whose occluded probability is below this share of
        /// the unoccluded one [default: 0.85]
        #[arg(long)]
        mask_threshold: Option<f32>,
        /// where to write the map (float32 .npy)
        #[arg(long)]
        out: PathBuf,
        /// also write the heatmap over the picture the model saw, with a colour bar
        /// (pictures under 224 px are enlarged by a whole factor, nearest neighbour)
        #[arg(long)]
        png: Option<PathBuf>,
        /// jet, turbo, viridis, inferno or gray
        #[arg(long, default_value = "jet")]
        colormap: String,
        /// heatmap weight in the overlay
        #[arg(long, default_value_t = 0.5)]
        alpha: f32,
        /// draw each pixel of the picture as a ZOOM x ZOOM block [default: enough to make
        /// the picture at least 224 px]
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
        zoom: Option<u16>,
    },
    /// Cascading model-randomisation check (Adebayo et al. 2018): the rank correlation of
    /// the method's map with the original as layers are re-initialised from the top
    Sanity {
        #[command(flatten)]
        method: Box<MethodArgs>,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        input: InputArgs,
        /// seed of the re-initialised weights
        #[arg(long, default_value_t = 0)]
        init_seed: u64,
        #[arg(long)]
        json: bool,
    },
}

impl ExplainCommand {
    pub fn run(self) -> Result<()> {
        match self {
            ExplainCommand::Explain {
                method,
                model,
                input,
                full,
                view,
                mask_threshold,
                out,
                png,
                colormap,
                alpha,
                zoom,
            } => {
                let cmap = Colormap::parse(&colormap)?;
                if !(0.0..=1.0).contains(&alpha) {
                    return Err(Error::Input(format!(
                        "--alpha must be in [0, 1], got {alpha}"
                    )));
                }
                let view = occlusion_view(&method.method, view.as_deref(), mask_threshold)?;
                let (vgg, card) = load(&model)?;
                let x = read_input(&input, &card)?;
                let explainer = build(&method.method, &vgg, &method.options()?)?;
                let fwd = Forward::new(&vgg, &x)?;
                let class = fwd.class(method.target())?;
                let attribution = explainer.attribute(&fwd, class)?;
                let size = fwd.size();
                let map = match (&attribution, view) {
                    (Attribution::Occlusion(g), Some(v)) if v != View::Drop => {
                        let grid = g.view(v);
                        if full {
                            Tensor::from_vec(g.to_pixels(&grid), size, &Device::Cpu)?
                        } else {
                            g.tensor(grid)?
                        }
                    }
                    _ if full => attribution.full(size)?,
                    _ => attribution.raw()?,
                };
                npy::write(&out, &map)?;
                eprintln!(
                    "{} of class {class} ({}): wrote {:?} to {}",
                    method.method,
                    card.labels().get(class).map_or("", String::as_str),
                    map.dims(),
                    out.display()
                );
                if let Some(path) = png {
                    let picture = picture(
                        &attribution,
                        view,
                        input.image.as_deref(),
                        &card,
                        size,
                        Look {
                            cmap,
                            alpha,
                            zoom: zoom.map(usize::from),
                        },
                    )?;
                    std::fs::write(&path, encode::png(&picture)?)
                        .map_err(|e| Error::io(&path, e))?;
                    eprintln!("wrote {}", path.display());
                }
            }
            ExplainCommand::Sanity {
                method,
                model,
                input,
                init_seed,
                json,
            } => {
                let (vgg, card) = load(&model)?;
                let x = read_input(&input, &card)?;
                let report = cascading(
                    &vgg,
                    &x,
                    &method.method,
                    &method.options()?,
                    method.target(),
                    init_seed,
                    &Unwatched,
                )?;
                if json {
                    println!("{}", to_json(&report)?);
                } else {
                    println!(
                        "{} of class {}: Spearman rank correlation with the original map\nre-initialised from the top through",
                        report.method, report.class
                    );
                    for step in &report.steps {
                        println!("  {:<14} {:>7.3}", step.layer, step.spearman);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The occlusion view asked for; `--view` and `--mask-threshold` only fit occlusion.
fn occlusion_view(
    method: &str,
    view: Option<&str>,
    threshold: Option<f32>,
) -> Result<Option<View>> {
    if method != "occlusion" {
        return match (view, threshold) {
            (None, None) => Ok(None),
            _ => Err(Error::Input(format!(
                "--view and --mask-threshold apply to occlusion, not {method}"
            ))),
        };
    }
    // A threshold alone asks for the mask; with another view it has nothing to do.
    let name = view.unwrap_or(if threshold.is_some() { "mask" } else { "drop" });
    if threshold.is_some() && name != "mask" {
        return Err(Error::Input(format!(
            "--mask-threshold applies to --view mask, not --view {name}"
        )));
    }
    let threshold = threshold.unwrap_or(0.85);
    if !threshold.is_finite() {
        return Err(Error::Input(format!(
            "--mask-threshold must be a number, got {threshold}"
        )));
    }
    View::parse(name, threshold).map(Some)
}

/// How the heatmap is drawn: `--colormap`, `--alpha`, `--zoom` (`None`: enlarge to
/// at least [`MIN_PICTURE_SIDE`]).
struct Look {
    cmap: Colormap,
    alpha: f32,
    zoom: Option<usize>,
}

/// The shorter side of a `--png` picture, at least (whole-pixel enlargement).
const MIN_PICTURE_SIDE: usize = 224;

/// The picture a person looks at: the map in colour over the picture the model saw (or
/// alone, for a tensor input), with a colour bar; the occlusion mask dims the rest.
fn picture(
    attribution: &Attribution,
    view: Option<View>,
    image_path: Option<&Path>,
    card: &ModelCard,
    (h, w): (usize, usize),
    look: Look,
) -> Result<Rgba> {
    let Look { cmap, alpha, zoom } = look;
    let display = match (attribution, view) {
        (Attribution::Occlusion(g), Some(v)) => g.display(v),
        _ => attribution.display((h, w))?,
    };
    let seen = match image_path {
        Some(path) => {
            let view = image::model_view(&image::decode_file(path)?, &card.preprocessing())?;
            Some(Rgba::from_rgb(
                view.width() as usize,
                view.height() as usize,
                view.as_raw(),
            ))
        }
        None => None,
    };
    // Small inputs (28-pixel Fashion-MNIST) are enlarged to a size a person can read,
    // unless --zoom says how much.
    let picture = match (seen, view) {
        (Some(seen), Some(View::Mask(_))) => overlay::mask(&seen, &display, 0.3)?,
        (Some(seen), _) => overlay::overlay(&seen, &display, cmap, alpha)?,
        (None, _) => overlay::heatmap(&display, w, h, cmap)?,
    };
    let picture = picture.zoom(zoom.unwrap_or_else(|| picture.factor_for(MIN_PICTURE_SIDE)));
    Ok(match view {
        Some(View::Mask(_)) => picture,
        _ => colorbar::with_colorbar(&picture, cmap),
    })
}
