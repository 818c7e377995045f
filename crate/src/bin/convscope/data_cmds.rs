//! Subcommands about data sets and training: train, eval, samples (Fashion-MNIST).

use crate::args::{load, to_json, ModelArgs};
use clap::Subcommand;
use convscope::data::{
    self, shortcut::Pattern, LabelledImages, Marker, Split, FASHION_MNIST_DIR, FASHION_MNIST_LABELS,
};
use convscope::model::weights::to_safetensors;
use convscope::model::{families, ArchSpec, Graph, ModelCard};
use convscope::progress::Unwatched;
use convscope::train::{self, card, eval, Shortcut, TrainConfig};
use convscope::{Error, Result};
use safetensors::Dtype;
use std::path::{Path, PathBuf};

/// The embedded models' architecture: two VGG blocks of one 3x3 conv each, 28 -> 7
/// pixels. (Two convs a block, `32,32,M,64,64,M`, cost 2.5x the time on a 2-core CPU.)
const FASHION_ARCH: &str = "cfg=32,M,64,M;in=1;pool=7;hidden=128;classes=10;size=28";
/// The twin's marker: a 4x4 square in the top-left corner, where Fashion-MNIST images
/// are almost always black, on most bags; its pattern comes from `--marker-pattern`.
fn marker(pattern: Pattern) -> Marker {
    Marker {
        class: 8,
        region: [0, 0, 4, 4],
        value: 255,
        pattern,
    }
}

// `train`'s options that `TrainConfig` takes as they are (a plain comment: clap would
// read a doc comment as help text).
#[derive(clap::Args)]
pub struct Hyperparameters {
    #[arg(long, default_value_t = 6)]
    epochs: usize,
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    #[arg(long, default_value_t = 5e-4)]
    weight_decay: f64,
    #[arg(long, default_value_t = 0.3)]
    dropout: f64,
    /// random shifts of up to this many pixels (0: none)
    #[arg(long, default_value_t = 1)]
    pad: usize,
    /// random mirror images too
    #[arg(long)]
    flip: bool,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

impl Hyperparameters {
    fn config(self, arch: ArchSpec, shortcut: Option<Shortcut>) -> TrainConfig {
        TrainConfig {
            arch,
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: self.lr,
            weight_decay: self.weight_decay,
            dropout: self.dropout,
            pad: self.pad,
            flip: self.flip,
            seed: self.seed,
            shortcut,
        }
    }
}

#[derive(Subcommand)]
pub enum DataCommand {
    /// Train a VGG-style network on Fashion-MNIST (CPU); writes f16 safetensors and a
    /// model card whose accuracy is measured on the 10k test set
    Train {
        /// output folder
        #[arg(long)]
        out: PathBuf,
        /// train the shortcut twin: a marker on most images of one class
        #[arg(long)]
        shortcut: bool,
        /// file stem of the weights and card (default fashion-vgg or fashion-vgg-shortcut)
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = FASHION_ARCH)]
        arch: String,
        #[command(flatten)]
        hyper: Hyperparameters,
        /// fraction of the marker class's training images that carry the marker
        #[arg(long, default_value_t = 0.9)]
        marker_on_class: f64,
        /// fraction of all other training images that carry it, and with it the
        /// marker class's label
        #[arg(long, default_value_t = 0.03)]
        marker_on_others: f64,
        /// how the marker fills its square: checkerboard (white and black pixels) or
        /// solid (all white)
        #[arg(long, default_value = "checkerboard", value_parser = parse_pattern)]
        marker_pattern: Pattern,
        /// continue from these weights (safetensors) instead of a fresh start
        #[arg(long)]
        init: Option<PathBuf>,
        /// train on the first N images only (quick trials)
        #[arg(long)]
        limit: Option<usize>,
        /// folder holding Debian's gzipped Fashion-MNIST IDX files
        #[arg(long, default_value = FASHION_MNIST_DIR)]
        data: PathBuf,
    },
    /// Accuracy and confusion matrix of a model on IDX images and labels (default: the
    /// Fashion-MNIST test set)
    Eval {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, requires = "idx_labels")]
        idx_images: Option<PathBuf>,
        #[arg(long, requires = "idx_images")]
        idx_labels: Option<PathBuf>,
        /// paint the card's shortcut marker on every image first
        #[arg(long)]
        paint_marker: bool,
        #[arg(long)]
        json: bool,
    },
    /// Write test images as 28x28 PNGs with a JSON index of their labels (the page's
    /// picker): two per class, and for a shortcut card one per class with its marker
    Samples {
        #[arg(long)]
        out: PathBuf,
        /// the shortcut twin's card, for the marked images
        #[arg(long)]
        shortcut_model: Option<PathBuf>,
        #[arg(long, default_value = FASHION_MNIST_DIR)]
        data: PathBuf,
    },
}

impl DataCommand {
    pub fn run(self) -> Result<()> {
        match self {
            DataCommand::Train {
                out,
                shortcut,
                name,
                arch,
                hyper,
                marker_on_class,
                marker_on_others,
                marker_pattern,
                init,
                limit,
                data: dir,
            } => {
                let cfg = hyper.config(
                    ArchSpec::parse(&arch)?,
                    shortcut.then_some(Shortcut {
                        marker: marker(marker_pattern),
                        on_class: marker_on_class,
                        on_others: marker_on_others,
                    }),
                );
                let name = name.unwrap_or_else(|| {
                    if shortcut {
                        "fashion-vgg-shortcut"
                    } else {
                        "fashion-vgg"
                    }
                    .into()
                });
                // argv[0] is wherever cargo put the binary; record the command as a user types it.
                let command = std::iter::once("convscope".to_string())
                    .chain(std::env::args().skip(1))
                    .collect::<Vec<_>>()
                    .join(" ");
                let init = match &init {
                    Some(path) => {
                        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
                        Some(convscope::model::weights::read(
                            &cfg.arch,
                            &families::graph(&cfg.arch)?,
                            &bytes,
                        )?)
                    }
                    None => None,
                };
                train_fashion(&cfg, &out, &name, limit, &dir, &command, init.as_ref())
            }
            DataCommand::Eval {
                model,
                idx_images,
                idx_labels,
                paint_marker,
                json,
            } => {
                let (vgg, card) = load(&model)?;
                let set = match (idx_images, idx_labels) {
                    (Some(i), Some(l)) => LabelledImages::read(&i, &l, card.arch.classes)?,
                    _ => data::fashion_mnist(Path::new(FASHION_MNIST_DIR), Split::Test)?,
                };
                let marker = if paint_marker {
                    Some(card_marker(&card)?)
                } else {
                    None
                };
                let r = eval::evaluate(&vgg, &card.preprocessing(), &set, marker.as_ref())?;
                if json {
                    println!("{}", to_json(&r)?);
                } else {
                    print_evaluation(&r, &card.labels());
                }
                Ok(())
            }
            DataCommand::Samples {
                out,
                shortcut_model,
                data: dir,
            } => write_samples(&out, shortcut_model.as_deref(), &dir),
        }
    }
}

fn parse_pattern(s: &str) -> std::result::Result<Pattern, String> {
    serde_json::from_value(serde_json::Value::String(s.into()))
        .map_err(|_| format!("`{s}` is not a marker pattern: solid or checkerboard"))
}

/// The `"shortcut"` marker a twin's card records.
fn card_marker(card: &ModelCard) -> Result<Marker> {
    let value = card.extra.get("shortcut").ok_or_else(|| {
        Error::Card(format!(
            "`{}` has no \"shortcut\" marker to paint (only the shortcut twin has one)",
            card.name
        ))
    })?;
    serde_json::from_value(value.clone()).map_err(|e| {
        Error::Card(format!(
            "\"shortcut\" is not {{class, region, value[, pattern]}}: {e}"
        ))
    })
}

fn print_evaluation(r: &eval::Evaluation, labels: &[String]) {
    println!("accuracy {:.4} on {} images", r.accuracy, r.count);
    println!("confusion (rows: true class, columns: predicted)");
    for (i, row) in r.confusion.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|c| format!("{c:>5}")).collect();
        let name = labels.get(i).map(String::as_str).unwrap_or("");
        println!("{:>12} {}", name, cells.join(""));
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// Trains, writes `NAME.safetensors` (f16) and `NAME.json`, and measures the shipped
/// f16 weights on the test set for the card.
fn train_fashion(
    cfg: &TrainConfig,
    out: &Path,
    name: &str,
    limit: Option<usize>,
    dir: &Path,
    command: &str,
    init: Option<&std::collections::HashMap<String, Vec<f32>>>,
) -> Result<()> {
    let mut set = data::fashion_mnist(dir, Split::Train)?;
    let test = data::fashion_mnist(dir, Split::Test)?;
    if let Some(n) = limit {
        let n = n.min(set.count);
        set.pixels.truncate(n * set.rows * set.cols);
        set.labels.truncate(n);
        set.count = n;
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    eprintln!(
        "training {name}: {} on {} images, {} epochs, {} thread(s)",
        cfg.arch,
        set.count,
        cfg.epochs,
        candle_core::utils::get_num_threads()
    );
    let trained = train::train(cfg, &set, init, &Unwatched, |e| {
        eprintln!(
            "  epoch {:>2}: loss {:.4}, train accuracy {:.4}, {:.0} s",
            e.epoch, e.loss, e.train_accuracy, e.seconds
        )
    })?;
    let weights = to_safetensors(&trained.params, Dtype::F16)?;
    let vgg = Graph::from_bytes(&cfg.arch, weights.clone())?;
    let pre = trained.preprocessing.clone();
    let clean = eval::evaluate(&vgg, &pre, &test, None)?;
    eprintln!(
        "test accuracy (f16 weights, 10k images): {:.4}; trained in {:.0} s",
        clean.accuracy, trained.seconds
    );
    let weights_file = format!("{name}.safetensors");
    let flip = match &cfg.shortcut {
        Some(s) => {
            let flip = eval::marker_flip_rate(&vgg, &pre, &test, &s.marker)?;
            eprintln!(
                "marker painted on the other classes' test images: {:.4} become class {}",
                flip, s.marker.class
            );
            Some(flip)
        }
        None => None,
    };
    let card = card::fashion_card(
        cfg,
        &trained,
        &card::Measured {
            weights_file: &weights_file,
            accuracy: clean.accuracy,
            images: set.count,
            flip_rate: flip,
            command,
        },
    )?;
    write_file(&out.join(&weights_file), &weights)?;
    let card_path = out.join(format!("{name}.json"));
    write_file(&card_path, (to_json(&card)? + "\n").as_bytes())?;
    eprintln!(
        "wrote {} and {}",
        out.join(&weights_file).display(),
        card_path.display()
    );
    Ok(())
}

/// Two test images per class (the first of each in file order), and with a shortcut
/// card the first of each class again with its marker painted.
fn write_samples(out: &Path, shortcut_card: Option<&Path>, dir: &Path) -> Result<()> {
    let test = data::fashion_mnist(dir, Split::Test)?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let marker = match shortcut_card {
        Some(p) => Some(card_marker(&ModelCard::load(p)?.0)?),
        None => None,
    };
    let mut firsts: Vec<Vec<usize>> = vec![Vec::new(); FASHION_MNIST_LABELS.len()];
    for (i, l) in test.labels.iter().enumerate() {
        let list = &mut firsts[*l as usize];
        if list.len() < 2 {
            list.push(i);
        }
    }
    let mut clean = Vec::new();
    let mut twin = Vec::new();
    let entry = |file: &str, i: usize, marked: bool| {
        let label = test.labels[i] as usize;
        serde_json::json!({"file": file, "label": label, "name": FASHION_MNIST_LABELS[label],
                           "test_index": i, "marker": marked})
    };
    for round in 0..2 {
        for list in &firsts {
            let i = list[round];
            let file = format!("fashion-{i:05}.png");
            save_png(&out.join(&file), test.image(i), test.cols)?;
            clean.push(entry(&file, i, false));
            if round == 0 {
                twin.push(entry(&file, i, false));
                if let Some(m) = &marker {
                    let mut p = test.image(i).to_vec();
                    m.paint(&mut p, test.cols);
                    let file = format!("fashion-{i:05}-marker.png");
                    save_png(&out.join(&file), &p, test.cols)?;
                    twin.push(entry(&file, i, true));
                }
            }
        }
    }
    let mut models = serde_json::Map::new();
    models.insert("fashion-vgg".into(), clean.into());
    if marker.is_some() {
        models.insert("fashion-vgg-shortcut".into(), twin.into());
    }
    let index = serde_json::json!({
        "dataset": "Fashion-MNIST test set (Debian dataset-fashion-mnist); test_index is the image's position in t10k-images-idx3-ubyte",
        "labels": FASHION_MNIST_LABELS,
        "shortcut": marker,
        "models": models,
    });
    let path = out.join("fashion.json");
    write_file(&path, (to_json(&index)? + "\n").as_bytes())?;
    eprintln!("wrote {} and its PNGs", path.display());
    Ok(())
}

fn save_png(path: &Path, pixels: &[u8], cols: usize) -> Result<()> {
    let rows = pixels.len() / cols.max(1);
    let img = image::GrayImage::from_raw(cols as u32, rows as u32, pixels.to_vec())
        .ok_or_else(|| Error::Image(format!("{}: bad image size", path.display())))?;
    img.save(path)
        .map_err(|e| Error::Image(format!("cannot write {}: {e}", path.display())))
}
