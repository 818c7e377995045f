//! One map's deletion and insertion scores, as `convscope evaluate` and `compare` report
//! them and the page's comparison view shows them: the map a score ranks
//! ([`metric_map`]), its curves ([`curves`]) at a step (default [`default_step`]) and
//! their areas by metric. The method itself runs before, on the same [`Forward`], so a
//! caller can tell the map's time (and progress) from its scores'.

use super::{curves, default_step, metric_map, Curve, Metric};
use crate::error::Result;
use crate::methods::{Attribution, Forward};

/// The curves of one map, one per metric asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    /// Pixels changed per step.
    pub step: usize,
    pub curves: Vec<Curve>,
}

impl Scores {
    /// Scores `attribution` (a map of `fwd`'s image) for `class` by `metrics`, `step`
    /// pixels a step (`None`: one row's worth). `fwd`'s progress hears the curves' images
    /// as [`curves`] reports them.
    pub fn of(
        fwd: &Forward,
        attribution: &Attribution,
        class: usize,
        metrics: &[Metric],
        step: Option<usize>,
    ) -> Result<Scores> {
        let size = fwd.size();
        let step = step.unwrap_or_else(|| default_step(size));
        let map = metric_map(attribution, size)?;
        let curves = curves(fwd, &map, class, metrics, step)?;
        Ok(Scores { step, curves })
    }

    /// The curve of `metric`, if it was measured.
    pub fn curve(&self, metric: Metric) -> Option<&Curve> {
        self.curves.iter().find(|c| c.metric == metric)
    }

    /// The area under the curve of `metric`, if it was measured.
    pub fn auc(&self, metric: Metric) -> Option<f64> {
        self.curve(metric).map(Curve::auc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ArchSpec, Graph};
    use candle_core::{Device, Tensor};

    #[test]
    fn scores_are_the_curves_of_the_metric_map_at_one_row_a_step() {
        let model = Graph::synthetic(&ArchSpec::parse("tiny").unwrap(), 1).unwrap();
        let values: Vec<f32> = (0..3 * 32 * 32).map(|i| (i % 7) as f32 / 7.0).collect();
        let x = Tensor::from_vec(values, (1, 3, 32, 32), &Device::Cpu).unwrap();
        let fwd = Forward::new(&model, &x).unwrap();
        // A 2x2 layer map: its full-size map orders the quadrants, top-right first.
        let map = Tensor::from_vec(vec![0.5f32, 2.0, -1.0, 0.0], (2, 2), &Device::Cpu).unwrap();
        let attribution = Attribution::Layer(map);
        let scores = Scores::of(&fwd, &attribution, 3, &Metric::ALL, None).unwrap();
        assert_eq!(scores.step, 32);
        let ranked = metric_map(&attribution, (32, 32)).unwrap();
        let direct = curves(&fwd, &ranked, 3, &Metric::ALL, 32).unwrap();
        assert_eq!(scores.curves, direct);
        for metric in Metric::ALL {
            assert_eq!(scores.auc(metric), scores.curve(metric).map(Curve::auc));
        }
        // A step asked for, and one metric: that curve alone.
        let one = Scores::of(&fwd, &attribution, 3, &[Metric::Insertion], Some(64)).unwrap();
        assert_eq!((one.step, one.curves.len()), (64, 1));
        assert_eq!(one.curve(Metric::Insertion).unwrap().steps(), 16);
        assert_eq!(one.auc(Metric::Deletion), None);
    }
}
