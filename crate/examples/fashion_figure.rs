//! Renders docs/images/fashion-gradcam-*.png: Grad-CAM of the clean Fashion-MNIST model
//! and of its shortcut twin on the same test images with the marker painted on.
//!
//!     cargo run -p convscope --example fashion_figure
//!
//! A stop-gap: Grad-CAM comes from `tests/support/grad_cam.rs` and the heatmap is drawn
//! here, until `convscope::methods::grad_cam` and the shared renderer land.

#[path = "../tests/support/grad_cam.rs"]
mod grad_cam;

use convscope::data::{self, Marker, Split, FASHION_MNIST_DIR, FASHION_MNIST_LABELS};
use convscope::model::{ModelCard, Vgg};
use convscope::train::batches::batch_tensor;
use image::{Rgb, RgbImage};
use std::path::Path;

/// Upscaling factor of the 28x28 pictures.
const SCALE: u32 = 8;

fn main() -> convscope::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = root.join("docs/images");
    std::fs::create_dir_all(&out).map_err(|e| convscope::Error::io(&out, e))?;
    let set = data::fashion_mnist(Path::new(FASHION_MNIST_DIR), Split::Test)?;
    let load = |name: &str| -> convscope::Result<(Vgg, ModelCard)> {
        let (card, weights) = ModelCard::load(&root.join("www/models").join(name))?;
        Ok((Vgg::from_safetensors_file(&card.arch, &weights)?, card))
    };
    let (clean, clean_card) = load("fashion-vgg.json")?;
    let (twin, twin_card) = load("fashion-vgg-shortcut.json")?;
    let marker: Marker = serde_json::from_value(twin_card.extra["shortcut"].clone())
        .map_err(|e| convscope::Error::Card(e.to_string()))?;
    // The first test image of three classes other than the marker's.
    for class in [0usize, 1, 7] {
        let Some(i) = (0..set.count).find(|i| set.labels[*i] as usize == class) else {
            continue;
        };
        let mut pixels = set.image(i).to_vec();
        marker.paint(&mut pixels, set.cols);
        let name = FASHION_MNIST_LABELS[class]
            .to_lowercase()
            .replace(['/', ' '], "-");
        save(
            &grey(&pixels, set.cols),
            &out.join(format!("fashion-gradcam-{name}-input.png")),
        )?;
        for (tag, vgg, card) in [
            ("clean", &clean, &clean_card),
            ("shortcut", &twin, &twin_card),
        ] {
            let x = batch_tensor(&set, &[i], &card.preprocessing(), |_, mut p| {
                marker.paint(&mut p, set.cols);
                p
            })?;
            let layer = grad_cam::last_feature_relu(vgg);
            let (map, target) = grad_cam::grad_cam(vgg, &x, layer, None);
            println!(
                "{name} (test image {i}) with marker: {tag} model predicts {}",
                FASHION_MNIST_LABELS[target]
            );
            save(
                &overlay(&pixels, &map, set.cols),
                &out.join(format!("fashion-gradcam-{name}-{tag}.png")),
            )?;
        }
    }
    Ok(())
}

fn save(img: &RgbImage, path: &Path) -> convscope::Result<()> {
    img.save(path)
        .map_err(|e| convscope::Error::Image(format!("cannot write {}: {e}", path.display())))
}

fn grey(pixels: &[u8], cols: usize) -> RgbImage {
    RgbImage::from_fn(
        cols as u32 * SCALE,
        (pixels.len() / cols) as u32 * SCALE,
        |x, y| {
            let v = pixels[(y / SCALE) as usize * cols + (x / SCALE) as usize];
            Rgb([v, v, v])
        },
    )
}

/// The map in the jet colour scale, half over the darkened picture.
fn overlay(pixels: &[u8], map: &[f32], cols: usize) -> RgbImage {
    RgbImage::from_fn(
        cols as u32 * SCALE,
        (pixels.len() / cols) as u32 * SCALE,
        |x, y| {
            let i = (y / SCALE) as usize * cols + (x / SCALE) as usize;
            let heat = jet(map[i]);
            let v = pixels[i] as f32 * 0.5;
            Rgb(heat.map(|h| (0.55 * h + 0.45 * v).round().clamp(0.0, 255.0) as u8))
        },
    )
}

/// Matplotlib's jet: blue (0) -> cyan -> yellow -> red (1).
fn jet(t: f32) -> [f32; 3] {
    let t = t.clamp(0.0, 1.0);
    let ramp = |c: f32| (1.5 - (4.0 * t - c).abs()).clamp(0.0, 1.0) * 255.0;
    [ramp(3.0), ramp(2.0), ramp(1.0)]
}
