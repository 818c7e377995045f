//! Subcommands that tell which map to trust (docs/METHODS.md, "Which map to trust"):
//! `evaluate` scores methods' maps by deletion and insertion, one row per method, and can
//! draw the curves; `compare` shows every method's map of one image in one grid with the
//! same scores under each (and, on request, its sanity score).

use crate::args::{check_output, load, read_input, to_json, InputArgs, ModelArgs};
use crate::batch::{self, BatchArgs, Written};
use crate::catalogue_args::{MethodListArgs, PROGRESS_HELP};
use crate::explain_cmds::seen_picture;
use candle_core::{Device, Tensor};
use clap::{Args, Subcommand};
use convscope::faithfulness::score::Scores;
use convscope::faithfulness::Metric;
use convscope::methods::sanity;
use convscope::methods::{Choice, Forward, Target};
use convscope::render::captioned::{self, Captioned};
use convscope::render::chart::{self, Panel, Series};
use convscope::render::explanation::{self, Look, Shown};
use convscope::render::overlay::DEFAULT_ALPHA;
use convscope::render::{encode, Colormap};
use convscope::{npy, Error, Result};
use serde::Serialize;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Subcommand)]
pub enum EvaluateCommand {
    /// Score methods' maps by deletion and insertion (Petsiuk et al. 2018): how fast the
    /// class's probability falls as the map's top pixels are removed (lower is better) and
    /// rises as they are put back into a blurred copy (higher is better); one row per
    /// method
    Evaluate {
        #[command(flatten)]
        scores: ScoreArgs,
        /// also draw the curves, one panel per metric, one line per method
        #[arg(long)]
        png: Option<PathBuf>,
    },
    /// Every method's map of one image side by side, each with its deletion and insertion
    /// areas (and with --sanity its sanity score); one row per method, as `evaluate`
    Compare {
        #[command(flatten)]
        scores: ScoreArgs,
        /// also score each map's sanity: the Spearman rank correlation of its map with the
        /// map after re-initialising the top layer (near 1: the map ignores the model)
        #[arg(long)]
        sanity: bool,
        /// write the grid: each method's map over the picture, its scores below
        #[arg(long)]
        png: Option<PathBuf>,
        /// jet, turbo, viridis, inferno, magma or gray
        #[arg(long, default_value = Colormap::default().name())]
        colormap: String,
        /// maps per row of the grid
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=16))]
        columns: u16,
        #[command(flatten)]
        batch: BatchArgs,
    },
}

/// Which methods, model and image, what is measured and how it is reported, shared by
/// `evaluate` and `compare`.
#[derive(Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    methods: Box<MethodListArgs>,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    input: InputArgs,
    /// deletion, insertion, or both (comma-separated)
    #[arg(long, value_delimiter = ',', default_value = "deletion,insertion")]
    metric: Vec<String>,
    /// pixels changed per step [default: the input's width, one row's worth]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    step: Option<u64>,
    /// order the rows: method (the catalogue's order), deletion (best, i.e. lowest,
    /// first), insertion (highest first) or sanity (lowest first)
    #[arg(long, default_value = "method")]
    sort: String,
    /// print the rows as JSON: a list of objects with method, deletion_auc,
    /// insertion_auc, ms (the map's time) and the curves
    #[arg(long)]
    json: bool,
    #[arg(long, help = PROGRESS_HELP)]
    progress: bool,
}

/// One method's scores.
#[derive(Serialize)]
struct Row {
    method: &'static str,
    title: &'static str,
    class: usize,
    deletion_auc: Option<f64>,
    insertion_auc: Option<f64>,
    /// Spearman correlation after re-initialising the top layer (`compare --sanity`).
    sanity: Option<f64>,
    /// Milliseconds to compute the map.
    ms: f64,
    /// Milliseconds to compute its curves.
    score_ms: f64,
    step: usize,
    deletion: Option<Vec<f64>>,
    insertion: Option<Vec<f64>>,
    #[serde(skip)]
    display: Vec<f32>,
}

impl Row {
    fn area(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Deletion => self.deletion_auc,
            Metric::Insertion => self.insertion_auc,
        }
    }
}

impl EvaluateCommand {
    pub fn run(self) -> Result<()> {
        match self {
            EvaluateCommand::Evaluate { scores, png } => {
                let plan = Plan::new(&scores, png.as_deref(), false)?;
                let (graph, card) = load(&scores.model)?;
                let x = read_input(&scores.input, &card)?;
                let rows = plan.rows(&graph, &x)?;
                report(&rows, &plan, scores.json)?;
                if let Some(path) = png {
                    let picture = chart::render(&panels(&rows, &plan.metrics));
                    write_png(&path, &encode::png(&picture)?)?;
                }
            }
            EvaluateCommand::Compare {
                scores,
                sanity,
                png,
                colormap,
                columns,
                batch,
            } => {
                let cmap = Colormap::parse(&colormap)?;
                let plan = Plan::new(&scores, png.as_deref(), sanity)?;
                let (graph, card) = load(&scores.model)?;
                let look = Look {
                    cmap,
                    alpha: DEFAULT_ALPHA,
                    zoom: None,
                };
                let grid_of = |rows: &[Row], x: &Tensor, image: Option<&Path>| {
                    grid(
                        rows,
                        &plan,
                        x,
                        seen_picture(image, &card, graph.arch().in_channels)?.as_ref(),
                        look,
                        columns,
                    )
                };
                if let Some(batch) = batch.get() {
                    let title = format!("Every method on {}", card.name);
                    let files = ["png", "npy", "json"];
                    return batch::run(batch, &title, &card, &files, |picture, x, stem| {
                        let rows = plan.rows(&graph, x)?;
                        let [png_path, npy_path, json_path] = files.map(|e| stem.with_extension(e));
                        write_png(&png_path, &encode::png(&grid_of(&rows, x, Some(picture))?)?)?;
                        let (_, _, h, w) = x.dims4()?;
                        let maps: Vec<f32> = rows
                            .iter()
                            .flat_map(|r| r.display.iter().copied())
                            .collect();
                        npy::write(
                            &npy_path,
                            &Tensor::from_vec(maps, (rows.len(), h, w), &Device::Cpu)?,
                        )?;
                        std::fs::write(&json_path, to_json(&rows)?)
                            .map_err(|e| Error::io(&json_path, e))?;
                        let class = rows.first().map_or(0, |r| r.class);
                        let label = card.labels().get(class).cloned().unwrap_or_default();
                        Ok(Written {
                            png: file_name(&png_path),
                            files: vec![
                                file_name(&png_path),
                                file_name(&npy_path),
                                file_name(&json_path),
                            ],
                            caption: format!("{} methods, class {class} ({label})", rows.len()),
                            data: serde_json::json!({ "methods": rows.iter().map(|r| r.method).collect::<Vec<_>>() }),
                        })
                    });
                }
                let x = read_input(&scores.input, &card)?;
                let rows = plan.rows(&graph, &x)?;
                report(&rows, &plan, scores.json)?;
                if let Some(path) = png {
                    let picture = grid_of(&rows, &x, scores.input.image.as_deref())?;
                    write_png(&path, &encode::png(&picture)?)?;
                }
            }
        }
        Ok(())
    }
}

/// Everything about a run that is checked before the model is loaded.
struct Plan {
    choices: Vec<Choice>,
    target: Target,
    metrics: Vec<Metric>,
    step: Option<usize>,
    sort: Sort,
    sanity: bool,
    progress: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Sort {
    Method,
    By(Metric),
    Sanity,
}

impl Plan {
    fn new(scores: &ScoreArgs, png: Option<&Path>, sanity: bool) -> Result<Plan> {
        let methods = &scores.methods;
        let mut metrics = Vec::new();
        for name in &scores.metric {
            let metric = Metric::parse(name.trim())?;
            if !metrics.contains(&metric) {
                metrics.push(metric);
            }
        }
        let sort = match scores.sort.as_str() {
            "method" => Sort::Method,
            "sanity" if sanity => Sort::Sanity,
            "sanity" => {
                return Err(Error::Input(
                    "--sort sanity needs the sanity scores: add --sanity (compare)".into(),
                ))
            }
            other => {
                let metric = Metric::parse(other).map_err(|_| {
                    Error::Input(format!(
                        "--sort {other}: sort by method, deletion, insertion or sanity"
                    ))
                })?;
                if !metrics.contains(&metric) {
                    return Err(Error::Input(format!(
                        "--sort {other}: that metric is not measured (--metric {})",
                        scores.metric.join(",")
                    )));
                }
                Sort::By(metric)
            }
        };
        if let Some(path) = png {
            check_output(path, "--png")?;
        }
        Ok(Plan {
            choices: methods.choose()?,
            target: methods.target(),
            metrics,
            step: scores.step.map(|s| s as usize),
            sort,
            sanity,
            progress: scores.progress,
        })
    }

    /// Every method's map of `x` on one shared forward pass, and its scores.
    fn rows(&self, model: &convscope::model::Graph, x: &Tensor) -> Result<Vec<Row>> {
        let label = RefCell::new(String::new());
        let watch = self.progress;
        let fwd = Forward::new(model, x)?.with_progress(|done: usize, total: usize| {
            if watch {
                eprintln!("{}: {done}/{total}", label.borrow());
            }
            Ok(())
        });
        let class = fwd.class(self.target)?;
        let size = fwd.size();
        let mut rows = Vec::new();
        for choice in &self.choices {
            let name = choice.spec.name;
            *label.borrow_mut() = name.to_string();
            let method = choice.build_for(model, x)?;
            let start = Instant::now();
            let attribution = method.attribute(&fwd, class)?;
            let ms = start.elapsed().as_secs_f64() * 1e3;
            let display = attribution.display(size)?;
            *label.borrow_mut() = format!("{name} scores");
            let start = Instant::now();
            let scores = Scores::of(&fwd, &attribution, class, &self.metrics, self.step)?;
            let score_ms = start.elapsed().as_secs_f64() * 1e3;
            let sanity = match self.sanity {
                true => {
                    // Against the map just made: only the randomised model runs again.
                    let on_stderr = |done: usize, total: usize| {
                        if watch {
                            eprintln!("{name} sanity: {done}/{total}");
                        }
                        Ok(())
                    };
                    Some(sanity::top_layer(
                        model, x, &*method, class, &display, 0, &on_stderr,
                    )?)
                }
                false => None,
            };
            let curve = |m: Metric| scores.curve(m).map(|c| c.scores.clone());
            rows.push(Row {
                method: name,
                title: choice.spec.title,
                class,
                deletion_auc: scores.auc(Metric::Deletion),
                insertion_auc: scores.auc(Metric::Insertion),
                sanity,
                ms,
                score_ms,
                step: scores.step,
                deletion: curve(Metric::Deletion),
                insertion: curve(Metric::Insertion),
                display,
            });
        }
        sort(&mut rows, self.sort);
        Ok(rows)
    }
}

/// Best first: lowest deletion, highest insertion, lowest sanity correlation; a stable
/// sort, so equal scores keep the catalogue's order.
fn sort(rows: &mut [Row], by: Sort) {
    let key = |r: &Row| -> f64 {
        match by {
            Sort::Method => 0.0,
            Sort::By(Metric::Deletion) => r.deletion_auc.unwrap_or(f64::INFINITY),
            Sort::By(Metric::Insertion) => -r.insertion_auc.unwrap_or(f64::NEG_INFINITY),
            Sort::Sanity => r.sanity.unwrap_or(f64::INFINITY),
        }
    };
    rows.sort_by(|a, b| key(a).total_cmp(&key(b)));
}

/// The rows as a table (or JSON) on stdout.
fn report(rows: &[Row], plan: &Plan, json: bool) -> Result<()> {
    if json {
        println!("{}", to_json(&rows)?);
        return Ok(());
    }
    let Some(first) = rows.first() else {
        return Ok(());
    };
    println!(
        "class {}, {} pixels a step{}",
        first.class,
        first.step,
        plan.metrics
            .iter()
            .map(|m| format!("; {}: {}", m.name(), m.better()))
            .collect::<String>()
    );
    let mut head = format!("{:<20}", "method");
    for m in &plan.metrics {
        head.push_str(&format!(" {:>10}", m.name()));
    }
    if plan.sanity {
        head.push_str(&format!(" {:>8}", "sanity"));
    }
    println!("{head} {:>10} {:>10}", "map ms", "score ms");
    for row in rows {
        let mut line = format!("{:<20}", row.method);
        for m in &plan.metrics {
            line.push_str(&format!(" {:>10.4}", row.area(*m).unwrap_or(f64::NAN)));
        }
        if let Some(s) = row.sanity {
            line.push_str(&format!(" {s:>8.3}"));
        }
        println!("{line} {:>10.1} {:>10.1}", row.ms, row.score_ms);
    }
    Ok(())
}

/// One panel per metric, one line per method labelled with its area.
fn panels<'a>(rows: &'a [Row], metrics: &[Metric]) -> Vec<Panel<'a>> {
    let pad = rows.iter().map(|r| r.method.len()).max().unwrap_or(0);
    metrics
        .iter()
        .map(|&m| Panel {
            title: format!("{} ({})", m.name(), m.better()),
            x_label: match m {
                Metric::Deletion => "share of pixels removed",
                Metric::Insertion => "share of pixels put back",
            },
            series: rows
                .iter()
                .filter_map(|r| {
                    let values = match m {
                        Metric::Deletion => r.deletion.as_deref()?,
                        Metric::Insertion => r.insertion.as_deref()?,
                    };
                    Some(Series {
                        label: format!("{:<pad$} {:.3}", r.method, r.area(m)?),
                        values,
                    })
                })
                .collect(),
        })
        .collect()
}

/// Every row's map over the picture the model saw, its title and scores below.
fn grid(
    rows: &[Row],
    plan: &Plan,
    x: &Tensor,
    seen: Option<&convscope::render::Rgba>,
    look: Look,
    columns: u16,
) -> Result<convscope::render::Rgba> {
    let (_, _, h, w) = x.dims4()?;
    let tiles = rows
        .iter()
        .map(|row| {
            Ok(Captioned {
                picture: explanation::picture(seen, Shown::Heat(&row.display), (h, w), look)?,
                lines: caption(row, &plan.metrics),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(captioned::grid(&tiles, columns as usize))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The lines under a method's map in the grid: its title and its scores.
fn caption(row: &Row, metrics: &[Metric]) -> Vec<String> {
    let mut lines = vec![row.title.to_string()];
    for &m in metrics {
        if let Some(area) = row.area(m) {
            lines.push(format!("{:<9} {area:.3}", m.name()));
        }
    }
    if let Some(s) = row.sanity {
        lines.push(format!("{:<9} {s:.3}", "sanity"));
    }
    lines
}

fn write_png(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
