//! Subcommands about attributions: `explain` (one method's map as numbers and as a
//! picture), `methods` (the catalogue) and one per check of a method's maps (`sanity`,
//! Adebayo et al.'s cascading randomisation). Methods, checks and their options come from
//! the catalogue (catalogue_args.rs).

use crate::args::{check_optional_output, load, read_input, to_json, InputArgs, ModelArgs};
use crate::batch::{self, BatchArgs, Written};
use crate::catalogue_args::{described, CheckCommand, MethodArgs, PROGRESS_HELP};
use candle_core::{Device, Tensor};
use clap::Subcommand;
use convscope::methods::catalogue::{self, CheckRun};
use convscope::methods::{Attribution, Choice, Forward, Target, View};
use convscope::model::Graph;
use convscope::model::ModelCard;
use convscope::progress::{Progress, Unwatched};
use convscope::render::explanation::{self, Look, Shown};
use convscope::render::overlay::DEFAULT_ALPHA;
use convscope::render::{encode, Colormap, Rgba};
use convscope::{image, npy, Error, Result};
use std::path::{Path, PathBuf};

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
        /// heatmap) or `mask` (windows whose probability falls below --mask-threshold;
        /// the view a --mask-threshold alone asks for) [default: drop]
        #[arg(long)]
        view: Option<String>,
        /// where to write the map (float32 .npy)
        #[arg(long, required_unless_present = "images")]
        out: Option<PathBuf>,
        #[command(flatten)]
        batch: BatchArgs,
        /// also write the heatmap over the picture the model saw, with a colour bar
        /// (pictures under 224 px are enlarged by a whole factor, nearest neighbour)
        #[arg(long)]
        png: Option<PathBuf>,
        /// jet, turbo, viridis, inferno, magma or gray
        #[arg(long, default_value = Colormap::default().name())]
        colormap: String,
        /// heatmap weight in the overlay
        #[arg(long, default_value_t = DEFAULT_ALPHA)]
        alpha: f32,
        /// draw each pixel of the picture as a ZOOM x ZOOM block [default: enough to make
        /// the picture at least 224 px]
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
        zoom: Option<u16>,
        #[arg(long, help = PROGRESS_HELP)]
        progress: bool,
    },
    /// The method catalogue: every method and check with its options, defaults and
    /// ranges (what `explain` and the page offer)
    Methods {
        /// print it as JSON (the page's copy of it)
        #[arg(long)]
        json: bool,
    },
    #[command(flatten)]
    Check(CheckCommand),
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
                out,
                batch,
                png,
                colormap,
                alpha,
                zoom,
                progress,
            } => {
                check_optional_output(&out, "--out")?;
                check_optional_output(&png, "--png")?;
                let cmap = Colormap::parse(&colormap)?;
                if !(0.0..=1.0).contains(&alpha) {
                    return Err(Error::Input(format!(
                        "--alpha must be in [0, 1], got {alpha}"
                    )));
                }
                // The options are checked before the model is loaded.
                let job = Job {
                    choice: method.choose()?,
                    view: occlusion_view(&method, view.as_deref())?,
                    target: method.target(),
                    full,
                    look: Look {
                        cmap,
                        alpha,
                        zoom: zoom.map(usize::from),
                    },
                    progress,
                };
                let (graph, card) = load(&model)?;
                if let Some(batch) = batch.get() {
                    let title = format!("{} of {}", job.choice.spec.title, card.name);
                    return batch::run(
                        batch,
                        &title,
                        &card,
                        &["npy", "png"],
                        |picture, x, stem| {
                            let done = job.run(&graph, &card, x, Some(picture), true)?;
                            let (npy_path, png_path) =
                                (stem.with_extension("npy"), stem.with_extension("png"));
                            npy::write(&npy_path, &done.map)?;
                            let drawn = done
                                .picture
                                .as_ref()
                                .ok_or_else(|| Error::Input("no picture drawn".into()))?;
                            std::fs::write(&png_path, encode::png(drawn)?)
                                .map_err(|e| Error::io(&png_path, e))?;
                            let name = |p: &Path| {
                                p.file_name()
                                    .map(|n| n.to_string_lossy().into_owned())
                                    .unwrap_or_default()
                            };
                            Ok(Written {
                                png: name(&png_path),
                                files: vec![name(&npy_path), name(&png_path)],
                                caption: format!(
                                    "{} of class {} ({})",
                                    job.choice.spec.title, done.class, done.label
                                ),
                                data: serde_json::json!({ "class": done.class, "label": done.label, "shape": done.map.dims() }),
                            })
                        },
                    );
                }
                let Some(out) = out else {
                    return Err(Error::Input(
                        "say where to write the map: --out FILE.npy".into(),
                    ));
                };
                let x = read_input(&input, &card)?;
                let done = job.run(&graph, &card, &x, input.image.as_deref(), png.is_some())?;
                npy::write(&out, &done.map)?;
                eprintln!(
                    "{} of class {} ({}): wrote {:?} to {}",
                    method.method,
                    done.class,
                    done.label,
                    done.map.dims(),
                    out.display()
                );
                if let (Some(path), Some(drawn)) = (png, &done.picture) {
                    std::fs::write(&path, encode::png(drawn)?).map_err(|e| Error::io(&path, e))?;
                    eprintln!("wrote {}", path.display());
                }
            }
            ExplainCommand::Methods { json } => match json {
                true => println!("{}", to_json(&catalogue::to_json())?),
                false => print!("{}", catalogue_text()),
            },
            ExplainCommand::Check(check) => run_check(check)?,
        }
        Ok(())
    }
}

/// One `explain` request, checked, for one picture or a folder of them.
struct Job {
    choice: Choice,
    view: Option<View>,
    target: Target,
    full: bool,
    look: Look,
    progress: bool,
}

/// What `explain` makes of one input: the numbers written to .npy and the picture.
struct Explained {
    map: Tensor,
    /// Drawn only when asked for.
    picture: Option<Rgba>,
    class: usize,
    label: String,
}

impl Job {
    fn run(
        &self,
        graph: &Graph,
        card: &ModelCard,
        x: &Tensor,
        image: Option<&Path>,
        draw: bool,
    ) -> Result<Explained> {
        let name = self.choice.spec.name;
        let explainer = self.choice.build_for(graph, x)?;
        let fwd = Forward::for_method(graph, x, explainer.as_ref())?;
        let fwd = match self.progress {
            true => fwd.with_progress(on_stderr(name)),
            false => fwd,
        };
        let class = fwd.class(self.target)?;
        let attribution = explainer.attribute(&fwd, class)?;
        let size = fwd.size();
        let map = match (&attribution, self.view) {
            (Attribution::Occlusion(g), Some(v)) if v != View::Drop => {
                let grid = g.view(v);
                if self.full {
                    Tensor::from_vec(g.to_pixels(&grid), size, &Device::Cpu)?
                } else {
                    g.tensor(grid)?
                }
            }
            _ if self.full => attribution.full(size)?,
            _ => attribution.raw()?,
        };
        let picture = match draw {
            true => Some(picture(
                &attribution,
                self.view,
                image,
                (card, graph.arch().in_channels),
                size,
                self.look,
            )?),
            false => None,
        };
        Ok(Explained {
            map,
            picture,
            class,
            label: card.labels().get(class).cloned().unwrap_or_default(),
        })
    }
}

/// A check (the sanity check, ...) of a method on one image: its report as text or JSON.
fn run_check(cmd: CheckCommand) -> Result<()> {
    let method = cmd.method.choose()?;
    let (check, values) = catalogue::choose_check(cmd.check, &cmd.options)?;
    let (vgg, card) = load(&cmd.model)?;
    let x = read_input(&cmd.input, &card)?;
    vgg.check_input(x.dims())?;
    let (_, _, h, w) = x.dims4()?;
    let progress: Box<dyn Progress> = match cmd.progress {
        true => Box::new(on_stderr(check.name)),
        false => Box::new(Unwatched),
    };
    let report = (check.run)(&CheckRun {
        model: &vgg,
        input: &x,
        method: &method,
        target: cmd.method.target(),
        args: values.args(&vgg, (h, w))?,
        progress: progress.as_ref(),
    })?;
    match cmd.json {
        true => println!("{}", to_json(&report.json)?),
        false => print!("{}", report.text),
    }
    Ok(())
}

/// Progress as lines on stderr: "occlusion: 3/64".
pub fn on_stderr(what: &str) -> impl Progress + '_ {
    move |done: usize, total: usize| {
        eprintln!("{what}: {done}/{total}");
        Ok(())
    }
}

/// `convscope methods`: the catalogue for a person.
fn catalogue_text() -> String {
    let mut out = String::new();
    let option_lines = |out: &mut String, options: &[catalogue::OptionSpec]| {
        for o in options {
            out.push_str(&format!("    --{}: {}\n", o.name, described(o)));
        }
    };
    out.push_str("Methods (convscope explain METHOD):\n");
    for m in catalogue::methods() {
        out.push_str(&format!("  {} ({}): {}\n", m.name, m.title, m.about));
        if m.layer {
            out.push_str(&format!(
                "    --layer: {} [default: {}]\n",
                catalogue::LAYER_HELP,
                catalogue::DEFAULT_LAYER
            ));
        }
        option_lines(&mut out, m.options);
    }
    out.push_str("Checks (convscope CHECK METHOD):\n");
    for c in catalogue::checks() {
        out.push_str(&format!("  {} ({}): {}\n", c.name, c.title, c.about));
        option_lines(&mut out, c.options);
    }
    out
}

/// The occlusion view asked for; `--view` (and the mask's threshold) only fit occlusion.
fn occlusion_view(method: &MethodArgs, view: Option<&str>) -> Result<Option<View>> {
    let threshold = method.options.get("mask-threshold").is_some();
    if method.method != "occlusion" {
        return match view {
            None => Ok(None),
            Some(_) => Err(Error::Input(format!(
                "--view and --mask-threshold apply to occlusion, not {}",
                method.method
            ))),
        };
    }
    // A threshold alone asks for the mask; with another view it has nothing to do.
    let name = view.unwrap_or(if threshold { "mask" } else { "drop" });
    if threshold && name != "mask" {
        return Err(Error::Input(format!(
            "--mask-threshold applies to --view mask, not --view {name}"
        )));
    }
    View::parse(name).map(Some)
}

/// The picture a person looks at (`render::explanation::picture`, which the page's Save
/// PNG uses too): the map over the picture the model saw, or alone for a tensor input.
fn picture(
    attribution: &Attribution,
    view: Option<View>,
    image_path: Option<&Path>,
    (card, channels): (&ModelCard, usize),
    size: (usize, usize),
    look: Look,
) -> Result<Rgba> {
    let display = match (attribution, view) {
        (Attribution::Occlusion(g), Some(v)) => g.display(v),
        _ => attribution.display(size)?,
    };
    let seen = seen_picture(image_path, card, channels)?;
    let shown = match view {
        Some(View::Mask) => Shown::Mask(&display),
        _ => Shown::Heat(&display),
    };
    explanation::picture(seen.as_ref(), shown, size, look)
}

/// The picture the model saw (resized and cropped as its card says, grey for a model of
/// one input channel), for an input that came from a picture file.
pub fn seen_picture(
    image_path: Option<&Path>,
    card: &ModelCard,
    channels: usize,
) -> Result<Option<Rgba>> {
    let Some(path) = image_path else {
        return Ok(None);
    };
    let view = image::model_view(&image::decode_file(path)?, &card.preprocessing(), channels)?;
    Ok(Some(Rgba::from_rgb(
        view.width() as usize,
        view.height() as usize,
        view.as_raw(),
    )))
}
