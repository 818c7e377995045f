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

        // One image's full forward pass (the head included), median of 3, in wall time
        // and in this process' CPU time (steadier on a shared machine); measured before
        // and after the curves, so that a change of load shows.
        let single = || -> Result<(f64, f64)> {
            let (mut wall, mut cpu) = (Vec::new(), Vec::new());
            for _ in 0..3 {
                let (start, cpu0) = (Instant::now(), super::cpu_ms());
                Forward::new(&graph, &x)?;
                wall.push(start.elapsed().as_secs_f64() * 1e3);
                cpu.push(super::cpu_ms() - cpu0);
            }
            Ok((super::median(wall), super::median(cpu)))
        };
        let before = single()?;
        let saliency = build("saliency", &graph, &Options::default())?;
        let map = faithfulness::metric_map(&saliency.attribute(&fwd, class)?, (224, 224))?;
        let (start, cpu0) = (Instant::now(), super::cpu_ms());
        let curves = faithfulness::curves(&fwd, &map, class, &Metric::ALL, step)?;
        let (wall, cpu) = (start.elapsed().as_secs_f64() * 1e3, super::cpu_ms() - cpu0);
        let after = single()?;
        let n = passes as f64;
        println!(
            "{arch}: deletion + insertion of one map ({passes} images, step {step}): \
             {wall:.0} ms wall, {cpu:.0} ms CPU; one forward pass before / after: \
             {:.1} / {:.1} ms wall, {:.1} / {:.1} ms CPU; ratio to {passes} passes: \
             {:.2} wall, {:.2} CPU; saliency's areas: deletion {:.4}, insertion {:.4}",
            before.0,
            after.0,
            before.1,
            after.1,
            wall / (n * before.0.min(after.0)),
            cpu / (n * before.1.min(after.1)),
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
