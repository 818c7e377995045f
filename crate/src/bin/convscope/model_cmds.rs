//! Subcommands about the model itself: summary, inspect, predict, activations, bench.

use crate::args::{
    check_optional_output, check_output, load, load_onnx, onnx_path, read_input, spec_and_card,
    to_json, InputArgs, LayerArgs, ModelArgs,
};
use clap::Subcommand;
use convscope::model::config::layer_config;
use convscope::model::graph::Val;
use convscope::model::summary::{render_table, summarize, summarize_graph};
use convscope::{bench, npy, predict, Result};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Keras-style model summary: layers, output shapes, parameters
    Summary {
        #[arg(long, conflicts_with = "model")]
        arch: Option<String>,
        #[arg(long)]
        model: Option<PathBuf>,
        /// input side in pixels (default: the model's own)
        #[arg(long)]
        size: Option<usize>,
        #[arg(long)]
        json: bool,
    },
    /// One layer's configuration (like Keras get_config) and weight statistics
    Inspect {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long)]
        layer: String,
    },
    /// Top-k predictions
    Predict {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        input: InputArgs,
        #[arg(long, default_value_t = 5, value_parser = crate::args::at_least_one)]
        top: usize,
        #[arg(long)]
        json: bool,
        /// also write the logits as a float32 .npy
        #[arg(long)]
        logits_out: Option<PathBuf>,
    },
    /// Write one layer's output for an input as a [C,h,w] float32 .npy
    Activations {
        #[command(flatten)]
        at: LayerArgs,
        #[arg(long)]
        out: PathBuf,
    },
    /// Time the forward and reverse passes (medians after a warm-up)
    Bench {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[arg(long)]
        json: bool,
        /// 3x3 convolution code: ours (fast), candle's (stock), or both alternating
        #[arg(long, value_enum, default_value_t = ConvArg::Fast)]
        conv: ConvArg,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ConvArg {
    Stock,
    Fast,
    Both,
}

impl ModelCommand {
    pub fn run(self) -> Result<()> {
        match self {
            ModelCommand::Summary {
                arch,
                model,
                size,
                json,
            } => {
                let s = match onnx_path(&model) {
                    // An imported graph comes with its file, not from a builder.
                    Some(path) => {
                        let (graph, _) = load_onnx(path)?;
                        summarize_graph(graph.arch(), graph.spec(), size.map(|s| (s, s)))?
                    }
                    None => {
                        let (card, _) = spec_and_card(&arch, &model)?;
                        summarize(&card.arch, size.map(|s| (s, s)))?
                    }
                };
                if json {
                    println!("{}", to_json(&s)?);
                } else {
                    print!("{}", render_table(&s));
                }
            }
            ModelCommand::Inspect { model, layer } => {
                let (config, stats) = match (&model.weights, model.synthetic, &model.model) {
                    (None, None, None) => {
                        let (card, _) = spec_and_card(&model.arch, &None)?;
                        (layer_config(&card.arch, &layer, None)?, None)
                    }
                    _ => load(&model)?.0.inspect(&layer, None)?,
                };
                println!(
                    "{}",
                    to_json(&serde_json::json!({ "config": config, "weights": stats }))?
                );
            }
            ModelCommand::Predict {
                model,
                input,
                top,
                json,
                logits_out,
            } => {
                check_optional_output(&logits_out, "--logits-out")?;
                let (vgg, card) = load(&model)?;
                let x = read_input(&input, &card)?;
                let logits = vgg.forward(&Val::from_tensor(&x)?)?.to_tensor()?;
                if let Some(path) = logits_out {
                    npy::write(&path, &logits.squeeze(0)?)?;
                }
                let row = logits.get(0)?.to_vec1::<f32>()?;
                let preds = predict::top_k(&row, &card.labels(), top);
                if json {
                    println!("{}", to_json(&serde_json::json!({ "top": preds }))?);
                } else {
                    for p in preds {
                        println!(
                            "{:>5}  {:>7.3}%  logit {:>9.4}  {}",
                            p.class,
                            p.prob * 100.0,
                            p.logit,
                            p.label
                        );
                    }
                }
            }
            ModelCommand::Activations { at, out } => {
                check_output(&out, "--out")?;
                let (vgg, card) = load(&at.model)?;
                let x = read_input(&at.input, &card)?;
                let layer = at.layer;
                let idx = vgg.node(&layer)?;
                let a = vgg
                    .forward_to(&Val::from_tensor(&x)?, idx)?
                    .to_tensor()?
                    .get(0)?;
                npy::write(&out, &a)?;
                eprintln!("wrote {} {:?} to {}", layer, a.dims(), out.display());
            }
            ModelCommand::Bench {
                model,
                runs,
                json,
                conv,
            } => {
                let (vgg, _) = load(&model)?;
                let choice = match conv {
                    ConvArg::Stock => bench::ConvChoice::Stock,
                    ConvArg::Fast => bench::ConvChoice::Fast,
                    ConvArg::Both => bench::ConvChoice::Both,
                };
                let r = bench::run(&vgg, runs, choice)?;
                if json {
                    println!("{}", to_json(&r)?);
                } else {
                    print!("{}", r.table());
                    if let Some(ab) = &r.conv_ab {
                        println!("  same run, alternating      ours     candle conv2d");
                        for (what, t) in [
                            ("forward wall", &ab.forward_ms),
                            ("forward CPU", &ab.forward_cpu_ms),
                            ("saliency wall", &ab.saliency_ms),
                            ("saliency CPU", &ab.saliency_cpu_ms),
                        ] {
                            println!(
                                "  {what:<14} {:>9.1} ms {:>9.1} ms  ({:.2}x)",
                                t.ours,
                                t.stock,
                                t.ours / t.stock
                            );
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
