//! Subcommands of feature visualization: filters, features, maximize.

use crate::args::{check_optional_output, check_output, load, read_input, to_json};
use crate::args::{LayerArgs, ModelArgs};
use clap::{Args, Subcommand, ValueEnum};
use convscope::image::Preprocessing;
use convscope::probes::feature_maps::{self, FeatureMapOptions, Order};
use convscope::probes::filters::{filters, first_conv, FilterOptions};
use convscope::probes::maximize::{maximize, InputSpace, MaximizeOptions, Objective};
use convscope::probes::{Scaling, TileGrid};
use convscope::progress::Unwatched;
use convscope::render::grid::{grayscale, png, Layout};
use convscope::{npy, Error, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Clone, Copy, ValueEnum)]
pub enum TileScale {
    /// each tile its own min..max
    Tile,
    /// one min..max for all tiles
    Shared,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ChannelScale {
    /// each channel its own min..max
    Channel,
    /// one min..max for all channels
    Shared,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SortBy {
    /// largest mean activation first
    Mean,
    /// channel order
    Index,
}

#[derive(Subcommand)]
pub enum ProbeCommand {
    /// A conv layer's kernels as a grid, one tile per output channel
    Filters {
        #[command(flatten)]
        model: ModelArgs,
        /// a Conv2d layer, e.g. features.0 or layer1.0.conv1 (default: the first
        /// convolution with a kernel wider than 1x1)
        #[arg(long)]
        layer: Option<String>,
        /// show this input channel (default: RGB for a 3-channel first layer, else 0)
        #[arg(long)]
        channel: Option<usize>,
        #[arg(long, value_enum, default_value = "tile")]
        scale: TileScale,
        #[command(flatten)]
        picture: PictureArgs,
    },
    /// A layer's output for an input as a grid of channels
    Features {
        #[command(flatten)]
        at: LayerArgs,
        #[arg(long, value_enum, default_value = "mean")]
        sort: SortBy,
        #[arg(long, value_enum, default_value = "channel")]
        scale: ChannelScale,
        /// show at most this many channels
        #[arg(long)]
        max: Option<usize>,
        #[command(flatten)]
        picture: PictureArgs,
        /// also write the layer's output as a [C,h,w] float32 .npy
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Activation maximization: the picture that most raises a class or channels
    Maximize {
        #[command(flatten)]
        model: ModelArgs,
        /// class logit(s) to maximise, e.g. 385 or 1,7
        #[arg(
            long,
            value_delimiter = ',',
            conflicts_with = "layer",
            required_unless_present = "layer",
            value_parser = crate::args::class_index,
            allow_negative_numbers = true
        )]
        class: Vec<usize>,
        /// layer whose channel means to maximise (with --channel)
        #[arg(long, requires = "channel")]
        layer: Option<String>,
        /// channel(s) of --layer, e.g. 3 or 0,5,9 (one picture each, one batch)
        #[arg(long, value_delimiter = ',', requires = "layer")]
        channel: Vec<usize>,
        /// picture side in pixels (default: the model's size, at most 128)
        #[arg(long)]
        size: Option<usize>,
        #[arg(long, default_value_t = 128, value_parser = crate::args::at_least_one)]
        steps: usize,
        #[arg(long, default_value_t = 0.05)]
        lr: f32,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// random shift per step, in pixels (default: size / 16)
        #[arg(long)]
        jitter: Option<usize>,
        /// total-variation penalty weight
        #[arg(long, default_value_t = 0.0)]
        tv: f32,
        /// L2 penalty weight
        #[arg(long, default_value_t = 0.0)]
        l2: f32,
        /// blur every N steps (0: never)
        #[arg(long, default_value_t = 0)]
        blur_every: usize,
        /// blur standard deviation in pixels
        #[arg(long, default_value_t = 0.5)]
        blur_sigma: f32,
        /// optimise lucid's decorrelated Fourier parameterisation
        #[arg(long)]
        fourier: bool,
        #[command(flatten)]
        picture: PictureArgs,
    },
}

/// Where and how a probe's picture is written.
#[derive(Args)]
pub struct PictureArgs {
    /// draw each value as an N x N block (default: tiles at least 64 px)
    #[arg(long)]
    zoom: Option<usize>,
    #[arg(long)]
    png: PathBuf,
    /// print what was drawn as JSON (for grids: the caption, each tile's scaling and the layout)
    #[arg(long)]
    json: bool,
}

/// The grid's automatic layout, with `--zoom` if given.
fn layout(grid: &TileGrid, zoom: Option<usize>) -> Result<Layout> {
    let mut layout = grid.layout();
    match zoom {
        Some(0) => return Err(Error::Input("--zoom must be at least 1".into())),
        Some(z) => layout.zoom = z,
        None => {}
    }
    Ok(layout)
}

fn write_png(grid: &TileGrid, layout: &Layout, path: &Path) -> Result<()> {
    let bytes = png(&grid.render_with(layout, grayscale)?)?;
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// Writes the picture; with `json`, prints its caption, per-tile scaling and layout
/// (what a reader needs to find a tile and undo its scaling).
fn report(grid: &TileGrid, picture: &PictureArgs) -> Result<()> {
    let (path, layout) = (&picture.png, layout(grid, picture.zoom)?);
    write_png(grid, &layout, path)?;
    if picture.json {
        let caption = grid.caption();
        println!(
            "{}",
            to_json(&serde_json::json!({ "caption": caption, "grid": grid, "layout": layout }))?
        );
    }
    eprintln!("wrote {}: {}", path.display(), grid.caption());
    Ok(())
}

impl ProbeCommand {
    pub fn run(self) -> Result<()> {
        match self {
            ProbeCommand::Filters {
                model,
                layer,
                channel,
                scale,
                picture,
            } => {
                check_output(&picture.png, "--png")?;
                let (vgg, card) = load(&model)?;
                let opts = FilterOptions {
                    channel,
                    scaling: match scale {
                        TileScale::Tile => Scaling::PerTile,
                        TileScale::Shared => Scaling::Shared,
                    },
                    bgr: matches!(card.preprocessing(), Preprocessing::Caffe { .. }),
                };
                let layer = match layer {
                    Some(l) => l,
                    None => first_conv(&vgg)
                        .ok_or_else(|| {
                            convscope::Error::Input(format!("{} has no convolution", vgg.arch()))
                        })?
                        .to_string(),
                };
                report(&filters(&vgg, &layer, &opts)?, &picture)
            }
            ProbeCommand::Features {
                at,
                sort,
                scale,
                max,
                picture,
                out,
            } => {
                check_output(&picture.png, "--png")?;
                check_optional_output(&out, "--out")?;
                let (vgg, card) = load(&at.model)?;
                let x = read_input(&at.input, &card)?;
                let layer = at.layer;
                let a = feature_maps::activation(&vgg, &x, &layer)?;
                if let Some(path) = &out {
                    npy::write(path, &a)?;
                }
                let opts = FeatureMapOptions {
                    order: match sort {
                        SortBy::Mean => Order::Mean,
                        SortBy::Index => Order::Index,
                    },
                    scaling: match scale {
                        ChannelScale::Channel => Scaling::PerTile,
                        ChannelScale::Shared => Scaling::Shared,
                    },
                    max,
                };
                report(&feature_maps::feature_maps(&a, &layer, &opts)?, &picture)
            }
            ProbeCommand::Maximize {
                model,
                class,
                layer,
                channel,
                size,
                steps,
                lr,
                seed,
                jitter,
                tv,
                l2,
                blur_every,
                blur_sigma,
                fourier,
                picture: PictureArgs { zoom, png, json },
            } => {
                check_output(&png, "--png")?;
                let (vgg, card) = load(&model)?;
                let objective = match layer {
                    Some(layer) => Objective::channels(&layer, channel),
                    None => Objective::classes(&vgg, class),
                };
                let mut opts = MaximizeOptions::for_model(&vgg);
                if let Some(size) = size {
                    opts.size = size;
                    opts.jitter = size / 16;
                }
                opts.jitter = jitter.unwrap_or(opts.jitter);
                (opts.steps, opts.lr, opts.seed, opts.tv, opts.l2) = (steps, lr, seed, tv, l2);
                (opts.blur_every, opts.blur_sigma, opts.fourier) =
                    (blur_every, blur_sigma, fourier);
                let space =
                    InputSpace::from_preprocessing(&card.preprocessing(), vgg.arch().in_channels)?;
                let every = (steps / 10).max(1);
                let start = Instant::now();
                let result = maximize(&vgg, &objective, &space, &opts, &Unwatched, |p| {
                    if p.step % every == 0 || p.step == p.steps {
                        let mean = p.objective.iter().sum::<f32>() / p.objective.len() as f32;
                        eprintln!("step {:>4}/{}  objective {mean:.4}", p.step, p.steps);
                    }
                })?;
                let ms = start.elapsed().as_secs_f64() * 1e3;
                let grid = result.grid()?;
                write_png(&grid, &layout(&grid, zoom)?, &png)?;
                let mean = |v: &[f32]| v.iter().map(|x| *x as f64).sum::<f64>() / v.len() as f64;
                let (before, after) = (mean(&result.objective_start), mean(&result.objective_end));
                if json {
                    println!(
                        "{}",
                        to_json(&serde_json::json!({
                            "objective_start": before,
                            "objective_end": after,
                            "steps": result.steps,
                            "ms": ms,
                            "layer": result.layer,
                            "units": result.units,
                            "size": result.size,
                            "per_unit_start": result.objective_start,
                            "per_unit_end": result.objective_end,
                            "options": opts,
                        }))?
                    );
                }
                eprintln!(
                    "wrote {}: {} {:?}, objective {before:.4} -> {after:.4} in {} steps, {ms:.0} ms",
                    png.display(),
                    result.layer,
                    result.units,
                    result.steps
                );
                Ok(())
            }
        }
    }
}
