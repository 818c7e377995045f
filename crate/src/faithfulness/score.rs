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
