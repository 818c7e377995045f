use convscope::methods::{cam, Forward};
use convscope::model::Vgg;
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let m = Vgg::synthetic(&convscope::model::ArchSpec::parse("vgg16")?, 1)?;
    for which in ["sample", "astronaut", "coffee"] {
        let x = if which == "sample" {
            convscope::bench::sample_input(&m)?
        } else {
            let bytes = std::fs::read(format!("crate/tests/fixtures/{which}.png"))?;
            let img = convscope::image::decode(&bytes)?;
            convscope::image::preprocess(&img, &convscope::image::Preprocessing::imagenet(), 3)?
        };
        let fwd = Forward::new(&m, &x)?;
        let layer = cam::default_layer(&m)?;
        let maps = cam::layer_maps(&fwd, layer, 0, false)?;
        let mut fr = vec![];
        let mut constant = 0;
        for k in 0..maps.channels {
            let a = maps.activation(k);
            let lo = a.iter().cloned().fold(f32::INFINITY, f32::min);
            let (mut y0, mut y1, mut x0, mut x1) = (99, 0, 99, 0);
            for i in 0..maps.h {
                for j in 0..maps.w {
                    if a[i * maps.w + j] > lo {
                        y0 = y0.min(i);
                        y1 = y1.max(i);
                        x0 = x0.min(j);
                        x1 = x1.max(j);
                    }
                }
            }
            if y0 == 99 {
                constant += 1;
                continue;
            }
            let h = (y1.min(maps.h - 2) + 1) - (y0.max(1) - 1);
            let w = (x1.min(maps.w - 2) + 1) - (x0.max(1) - 1);
            fr.push((h * w) as f32 / ((maps.h - 1) * (maps.w - 1)) as f32);
        }
        fr.sort_by(|a, b| a.total_cmp(b));
        let mean: f32 = fr.iter().sum::<f32>() / 512.0;
        println!(
            "{which}: constant {constant} mean bbox area (of all 512) {mean:.3} deciles {:?}",
            (0..=10)
                .map(|i| fr[(i * (fr.len() - 1)) / 10])
                .collect::<Vec<_>>()
        );
    }
    Ok(())
}
