//! `graph_bench faithfulness ARCH...`: what the deletion and insertion scores cost next to
//! the forward passes they are made of (METHODS.md: `n + 1` passes a curve, batched, the
//! classifier head shared), and what Faster Score-CAM's `max-n` saves and what it costs
//! in those scores. One run each (a VGG16 curve pair is 450 passes); the load of the
//! machine is printed with the numbers.

use convscope::faithfulness::{self, Metric};
use convscope::methods::{build, Forward, Options, Target};
use convscope::Result;
use std::time::Instant;

pub fn run(archs: &[String]) -> Result<()> {
    println!("load average at start: {}", load_average());
    for arch in archs {
        let graph = super::model(arch, false)?.graph;
        let x = super::input(224).to_tensor()?;
        let fwd = Forward::new(&graph, &x)?;
        let class = fwd.class(Target::Top)?;
        let step = faithfulness::default_step((224, 224));
        let passes = 2 * (224 * 224usize).div_ceil(step) + 2;

        // One image's full forward pass (the head included), median of 3.
        let mut times = Vec::new();
        for _ in 0..3 {
            let start = Instant::now();
            Forward::new(&graph, &x)?;
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
        let single = super::median(times);
        let saliency = build("saliency", &graph, &Options::default())?;
        let map = faithfulness::metric_map(&saliency.attribute(&fwd, class)?, (224, 224))?;
        let start = Instant::now();
        let curves = faithfulness::curves(&fwd, &map, class, &Metric::ALL, step)?;
        let both = start.elapsed().as_secs_f64() * 1e3;
        println!(
            "{arch}: deletion + insertion of one map ({passes} images, step {step}): {both:.0} ms; \
             {passes} single forward passes: {:.0} ms ({single:.1} ms each); ratio {:.2}; \
             saliency's areas: deletion {:.4}, insertion {:.4}",
            single * passes as f64,
            both / (single * passes as f64),
            curves[0].auc(),
            curves[1].auc()
        );

        let layer = graph.name(graph.spec().cam_layer).to_string();
        for n in ["32", "64", "all"] {
            let mut options = Options::default().with("layer", layer.as_str());
            if n != "all" {
                options = options.with("max-n", n.parse::<u64>().unwrap_or(0));
            }
            let method = build("score-cam", &graph, &options)?;
            let start = Instant::now();
            let attribution = method.attribute(&fwd, class)?;
            let ms = start.elapsed().as_secs_f64() * 1e3;
            let map = faithfulness::metric_map(&attribution, (224, 224))?;
            let curves = faithfulness::curves(&fwd, &map, class, &Metric::ALL, step)?;
            println!(
                "{arch}: score-cam at {layer}, max-n {n}: {ms:.0} ms; deletion {:.4}, insertion {:.4}",
                curves[0].auc(),
                curves[1].auc()
            );
        }
    }
    println!("load average at end: {}", load_average());
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
