//! A whole folder of images through one command (`explain` and `compare` with `--images
//! DIR --out-dir OUT`): the model is loaded once by the caller, the images are read one
//! at a time, a progress bar with the image count and the time left runs on the terminal,
//! an image that cannot be read is reported and skipped, and the folder ends with an
//! `index.json` and an `index.html` gallery that opens offline (relative links only).

use crate::args::InputArgs;
use clap::Args;
use convscope::model::ModelCard;
use convscope::{Error, Result};
use serde::Serialize;
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `--images DIR --out-dir OUT [--overwrite]`.
#[derive(Args, Clone)]
pub struct BatchArgs {
    /// run every PNG, JPEG and WebP picture of this folder (with --out-dir)
    #[arg(long, conflicts_with_all = ["image", "input"], requires = "out_dir")]
    pub images: Option<PathBuf>,
    /// where the batch writes each picture's results, index.json and index.html
    #[arg(long, requires = "images")]
    pub out_dir: Option<PathBuf>,
    /// replace results already in --out-dir (otherwise they are kept and the run refused)
    #[arg(long, requires = "out_dir")]
    pub overwrite: bool,
}

impl BatchArgs {
    /// The batch asked for, if any: `(images, out_dir, overwrite)`.
    pub fn get(&self) -> Option<(&Path, &Path, bool)> {
        Some((
            self.images.as_deref()?,
            self.out_dir.as_deref()?,
            self.overwrite,
        ))
    }
}

/// What one picture's run wrote, for the index: the files (by name in the out folder),
/// a caption for the gallery, and any numbers worth keeping.
pub struct Written {
    pub png: String,
    pub files: Vec<String>,
    pub caption: String,
    pub data: Value,
}

#[derive(Serialize)]
struct Item {
    image: String,
    png: String,
    files: Vec<String>,
    caption: String,
    ms: f64,
    #[serde(flatten)]
    data: Value,
}

#[derive(Serialize)]
struct Skipped {
    image: String,
    error: String,
}

#[derive(Serialize)]
struct Index<'a> {
    title: &'a str,
    items: Vec<Item>,
    skipped: Vec<Skipped>,
}

/// The pictures of `dir` by name (PNG, JPEG, WebP by extension; other files ignored).
fn pictures(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if path.is_file() && matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg" | "webp")) {
            found.push(path);
        }
    }
    found.sort();
    if found.is_empty() {
        return Err(Error::Input(format!(
            "--images {}: no PNG, JPEG or WebP pictures in it",
            dir.display()
        )));
    }
    Ok(found)
}

/// The file-name stem of a picture's results (`shoe.png` -> `shoe`).
pub fn stem(image: &Path) -> String {
    image
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into())
}

/// Runs `each(picture, its input tensor, out_dir/stem)` for every picture of `images`,
/// refusing first (before any work) when `out_dir` already holds results that would be
/// replaced and `overwrite` is off. `extensions` are the files `each` writes per picture.
pub fn run(
    (images, out_dir, overwrite): (&Path, &Path, bool),
    title: &str,
    card: &ModelCard,
    extensions: &[&str],
    mut each: impl FnMut(&Path, &candle_core::Tensor, &Path) -> Result<Written>,
) -> Result<()> {
    let pictures = pictures(images)?;
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    if !overwrite {
        let mut planned: Vec<PathBuf> =
            vec![out_dir.join("index.json"), out_dir.join("index.html")];
        for p in &pictures {
            planned.extend(
                extensions
                    .iter()
                    .map(|ext| out_dir.join(format!("{}.{ext}", stem(p)))),
            );
        }
        if let Some(existing) = planned.iter().find(|p| p.exists()) {
            return Err(Error::Input(format!(
                "{} already exists; pass --overwrite to replace what {} holds",
                existing.display(),
                out_dir.display()
            )));
        }
    }
    let bar = Bar::new(pictures.len());
    let mut index = Index {
        title,
        items: Vec::new(),
        skipped: Vec::new(),
    };
    for (k, picture) in pictures.iter().enumerate() {
        bar.show(k, &picture.display().to_string());
        let start = Instant::now();
        let result =
            read(picture, card).and_then(|x| each(picture, &x, &out_dir.join(stem(picture))));
        match result {
            Ok(w) => index.items.push(Item {
                image: picture.display().to_string(),
                png: w.png,
                files: w.files,
                caption: w.caption,
                ms: start.elapsed().as_secs_f64() * 1e3,
                data: w.data,
            }),
            Err(e) => {
                bar.note(&format!("skipped {}: {e}", picture.display()));
                index.skipped.push(Skipped {
                    image: picture.display().to_string(),
                    error: e.to_string(),
                });
            }
        }
    }
    bar.done(index.items.len(), index.skipped.len());
    write(
        &out_dir.join("index.json"),
        crate::args::to_json(&index)?.as_bytes(),
    )?;
    write(&out_dir.join("index.html"), gallery(&index).as_bytes())?;
    eprintln!(
        "wrote {} results, index.json and index.html to {}{}",
        index.items.len(),
        out_dir.display(),
        match index.skipped.len() {
            0 => String::new(),
            1 => " (1 picture skipped, listed in index.json)".to_string(),
            n => format!(" ({n} pictures skipped, listed in index.json)"),
        }
    );
    Ok(())
}

fn read(picture: &Path, card: &ModelCard) -> Result<candle_core::Tensor> {
    let input = InputArgs {
        image: Some(picture.to_path_buf()),
        input: None,
    };
    crate::args::read_input(&input, card)
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// The gallery: one figure per result, the skipped pictures listed; no scripts, no
/// outside links, so it opens from the folder itself.
fn gallery(index: &Index) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>\
         body{{font:16px system-ui,sans-serif;margin:1.5rem;color:#1e1e1e;background:#fff}}\
         @media (prefers-color-scheme:dark){{body{{color:#eee;background:#151515}}}}\
         main{{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,420px),1fr));gap:1.5rem}}\
         figure{{margin:0}} img{{max-width:100%;image-rendering:pixelated}}\
         figcaption{{margin-top:.4rem}}</style></head><body>\n<h1>{t}</h1>\n<main>\n",
        t = esc(index.title)
    );
    for item in &index.items {
        let name = Path::new(&item.image)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        html.push_str(&format!(
            "<figure><a href=\"{png}\"><img src=\"{png}\" alt=\"{cap} ({name})\"></a><figcaption><b>{name}</b>: {cap}</figcaption></figure>\n",
            png = esc(&item.png),
            cap = esc(&item.caption),
            name = esc(&name),
        ));
    }
    html.push_str("</main>\n");
    if !index.skipped.is_empty() {
        html.push_str("<h2>Skipped</h2>\n<ul>\n");
        for s in &index.skipped {
            html.push_str(&format!("<li>{}: {}</li>\n", esc(&s.image), esc(&s.error)));
        }
        html.push_str("</ul>\n");
    }
    html.push_str("</body></html>\n");
    html
}

/// The progress bar on stderr: redrawn in place on a terminal, one line per picture
/// otherwise (a log keeps every line).
struct Bar {
    total: usize,
    start: Instant,
    terminal: bool,
}

impl Bar {
    fn new(total: usize) -> Bar {
        Bar {
            total,
            start: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn show(&self, done: usize, current: &str) {
        let width = 24;
        let filled = done * width / self.total.max(1);
        let left = match done {
            0 => "time left unknown".to_string(),
            _ => {
                let per = self.start.elapsed().as_secs_f64() / done as f64;
                format!("{:.1} s left", per * (self.total - done) as f64)
            }
        };
        let line = format!(
            "[{}{}] {done}/{} pictures, {left}: {current}",
            "#".repeat(filled),
            ".".repeat(width - filled),
            self.total
        );
        let mut err = std::io::stderr();
        let _ = match self.terminal {
            true => write!(err, "\r\x1b[2K{line}"),
            false => writeln!(err, "{line}"),
        };
    }

    fn note(&self, text: &str) {
        match self.terminal {
            true => eprintln!("\r\x1b[2K{text}"),
            false => eprintln!("{text}"),
        }
    }

    fn done(&self, written: usize, skipped: usize) {
        let line = format!(
            "[{}] {}/{} pictures in {:.1} s ({skipped} skipped)",
            "#".repeat(24),
            written + skipped,
            self.total,
            self.start.elapsed().as_secs_f64()
        );
        match self.terminal {
            true => eprintln!("\r\x1b[2K{line}"),
            false => eprintln!("{line}"),
        }
    }
}
