//! Architecture specs of the VGG family: torchvision's four named models and any
//! model of the same shape from a spec string such as
//! `cfg=8,M,16,M,32,M;in=3;pool=2;hidden=32;classes=10`.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One entry of torchvision's `make_layers` config list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CfgItem {
    /// 3x3 convolution (padding 1) to this many channels, followed by a ReLU.
    Conv(usize),
    /// 2x2 max pool with stride 2.
    Pool,
}

/// Everything needed to build the layer list of a VGG-family network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ArchSpec {
    /// The named architecture this came from (`vgg16`), or `custom`.
    pub name: String,
    pub cfg: Vec<CfgItem>,
    pub in_channels: usize,
    /// Output size of the adaptive average pool (7 for ImageNet VGGs).
    pub pool: usize,
    pub hidden: usize,
    pub classes: usize,
    /// The input size the model was trained at (224 for ImageNet VGGs).
    pub size: usize,
}

const NAMED: &[(&str, &str)] = &[
    ("vgg11", "64,M,128,M,256,256,M,512,512,M,512,512,M"),
    ("vgg13", "64,64,M,128,128,M,256,256,M,512,512,M,512,512,M"),
    (
        "vgg16",
        "64,64,M,128,128,M,256,256,256,M,512,512,512,M,512,512,512,M",
    ),
    (
        "vgg19",
        "64,64,M,128,128,M,256,256,256,256,M,512,512,512,512,M,512,512,512,512,M",
    ),
    // The shared reference fixtures' tiny model: 3x32x32 in, 10 classes.
    ("tiny", "8,M,16,M,32,M"),
];

/// Largest channel count or width we accept from a spec string; far beyond any real
/// VGG, small enough that shape arithmetic cannot overflow.
const MAX_WIDTH: usize = 1 << 16;

impl ArchSpec {
    /// Names of the built-in architectures.
    pub fn named() -> impl Iterator<Item = &'static str> {
        NAMED.iter().map(|(n, _)| *n)
    }

    /// Parses `vgg16`, a spec string, or a named base with overrides
    /// (`vgg16;classes=2` for a fine-tuned VGG16 with two classes).
    pub fn parse(text: &str) -> Result<ArchSpec> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::Spec("empty architecture; use vgg11, vgg13, vgg16, vgg19 or a spec like `cfg=8,M,16,M;in=3;pool=2;hidden=32;classes=10`".into()));
        }
        let mut spec = ArchSpec {
            name: "custom".into(),
            cfg: Vec::new(),
            in_channels: 3,
            pool: 7,
            hidden: 4096,
            classes: 1000,
            size: 0,
        };
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                let cfg = NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(part)).ok_or_else(|| {
                    Error::Spec(format!(
                        "unknown architecture `{part}`; known: {}, or a spec like `cfg=8,M,16,M;in=3;pool=2;hidden=32;classes=10`",
                        Self::named().collect::<Vec<_>>().join(", ")
                    ))
                })?;
                spec.name = cfg.0.to_string();
                spec.cfg = parse_cfg(cfg.1)?;
                if spec.name == "tiny" {
                    (spec.pool, spec.hidden, spec.classes, spec.size) = (2, 32, 10, 32);
                } else {
                    spec.size = 224;
                }
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            match key {
                "cfg" => spec.cfg = parse_cfg(value)?,
                "in" => spec.in_channels = parse_number(key, value)?,
                "pool" => spec.pool = parse_number(key, value)?,
                "hidden" => spec.hidden = parse_number(key, value)?,
                "classes" => spec.classes = parse_number(key, value)?,
                "size" => spec.size = parse_number(key, value)?,
                _ => {
                    return Err(Error::Spec(format!(
                        "unknown key `{key}` in `{part}`; keys are cfg, in, pool, hidden, classes, size"
                    )))
                }
            }
        }
        if let Some((_, cfg)) = NAMED.iter().find(|(n, _)| *n == spec.name) {
            if parse_cfg(cfg)? != spec.cfg {
                spec.name = "custom".into(); // a named base whose convolutions were replaced
            }
        }
        if spec.cfg.is_empty() {
            return Err(Error::Spec(format!(
                "`{text}` has no `cfg=` list of convolutions"
            )));
        }
        if !spec.cfg.iter().any(|c| matches!(c, CfgItem::Conv(_))) {
            return Err(Error::Spec(format!(
                "`{text}`: cfg needs at least one convolution"
            )));
        }
        if spec.size == 0 {
            spec.size = spec.min_input_size().max(spec.pool << spec.pool_stages());
        }
        if spec.size < spec.min_input_size() {
            return Err(Error::Spec(format!(
                "size={} is too small for {} max-pool stages (needs at least {})",
                spec.size,
                spec.pool_stages(),
                spec.min_input_size()
            )));
        }
        Ok(spec)
    }

    /// Number of 2x2 max-pool stages.
    pub fn pool_stages(&self) -> usize {
        self.cfg.iter().filter(|c| **c == CfgItem::Pool).count()
    }

    /// Smallest input side for which every max pool still has an output.
    pub fn min_input_size(&self) -> usize {
        1usize << self.pool_stages()
    }

    /// Channels out of the last convolution.
    pub fn last_channels(&self) -> usize {
        self.cfg
            .iter()
            .rev()
            .find_map(|c| match c {
                CfgItem::Conv(n) => Some(*n),
                CfgItem::Pool => None,
            })
            .unwrap_or(self.in_channels)
    }

    /// The input shape `[C, H, W]` the model was trained at.
    pub fn input_shape(&self) -> [usize; 3] {
        [self.in_channels, self.size, self.size]
    }
}

fn parse_number(key: &str, value: &str) -> Result<usize> {
    let n: usize = value.parse().map_err(|_| {
        Error::Spec(format!(
            "`{key}={value}`: `{value}` is not a positive whole number"
        ))
    })?;
    if n == 0 || n > MAX_WIDTH {
        return Err(Error::Spec(format!(
            "`{key}={value}` must be between 1 and {MAX_WIDTH}"
        )));
    }
    Ok(n)
}

fn parse_cfg(value: &str) -> Result<Vec<CfgItem>> {
    value
        .split(',')
        .map(str::trim)
        .map(|item| match item {
            "M" | "m" => Ok(CfgItem::Pool),
            n => parse_number("cfg", n).map(CfgItem::Conv).map_err(|_| {
                Error::Spec(format!(
                    "cfg entry `{n}` is neither a channel count (1..={MAX_WIDTH}) nor M"
                ))
            }),
        })
        .collect()
}

impl fmt::Display for ArchSpec {
    /// The canonical spec string, which parses back to the same spec: the base name
    /// with the keys that differ from it (`vgg16;classes=2`), or the full spec.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base = NAMED
            .iter()
            .find(|(n, _)| *n == self.name)
            .and_then(|(n, _)| ArchSpec::parse(n).ok());
        let keys = [
            ("in", self.in_channels),
            ("pool", self.pool),
            ("hidden", self.hidden),
            ("classes", self.classes),
            ("size", self.size),
        ];
        match base {
            Some(base) if base.cfg == self.cfg => {
                write!(f, "{}", self.name)?;
                let base_keys = [
                    base.in_channels,
                    base.pool,
                    base.hidden,
                    base.classes,
                    base.size,
                ];
                for ((key, value), base_value) in keys.iter().zip(base_keys) {
                    if *value != base_value {
                        write!(f, ";{key}={value}")?;
                    }
                }
                Ok(())
            }
            _ => {
                let cfg: Vec<String> = self
                    .cfg
                    .iter()
                    .map(|c| match c {
                        CfgItem::Conv(n) => n.to_string(),
                        CfgItem::Pool => "M".into(),
                    })
                    .collect();
                write!(f, "cfg={}", cfg.join(","))?;
                for (key, value) in keys {
                    write!(f, ";{key}={value}")?;
                }
                Ok(())
            }
        }
    }
}

impl TryFrom<String> for ArchSpec {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        ArchSpec::parse(&s)
    }
}

impl From<ArchSpec> for String {
    fn from(s: ArchSpec) -> String {
        s.to_string()
    }
}

impl std::str::FromStr for ArchSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ArchSpec::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vgg16_has_thirteen_convs_and_five_pools() {
        let s = ArchSpec::parse("vgg16").unwrap();
        assert_eq!(
            s.cfg
                .iter()
                .filter(|c| matches!(c, CfgItem::Conv(_)))
                .count(),
            13
        );
        assert_eq!(s.pool_stages(), 5);
        assert_eq!(
            (s.in_channels, s.pool, s.hidden, s.classes, s.size),
            (3, 7, 4096, 1000, 224)
        );
    }

    #[test]
    fn spec_string_round_trips() {
        let s = ArchSpec::parse("cfg=8,M,16,M,32,M;in=1;pool=2;hidden=32;classes=10").unwrap();
        assert_eq!(s.in_channels, 1);
        assert_eq!(s.size, 16, "default size is pool * 2^stages");
        assert_eq!(ArchSpec::parse(&s.to_string()).unwrap(), s);
        assert_eq!(ArchSpec::parse("vgg19").unwrap().to_string(), "vgg19");
        let fine_tuned = ArchSpec::parse("vgg16;classes=2").unwrap();
        assert_eq!(fine_tuned.classes, 2);
        assert_eq!(fine_tuned.to_string(), "vgg16;classes=2");
        assert_eq!(
            ArchSpec::parse(&fine_tuned.to_string()).unwrap(),
            fine_tuned
        );
    }

    #[test]
    fn malformed_specs_say_what_is_wrong() {
        for (text, needle) in [
            ("vgg17", "unknown architecture `vgg17`"),
            ("cfg=8,X,16", "cfg entry `X`"),
            ("cfg=8,M;in=three", "`in=three`"),
            ("cfg=8,M;depth=3", "unknown key `depth`"),
            ("in=3;pool=2", "no `cfg=`"),
            ("cfg=M,M", "at least one convolution"),
            ("cfg=8,M;classes=0", "between 1 and"),
            ("", "empty architecture"),
            ("cfg=8,M,8,M;size=2", "too small"),
        ] {
            let err = ArchSpec::parse(text).unwrap_err().to_string();
            assert!(
                err.contains(needle),
                "`{text}` gave `{err}`, expected it to mention `{needle}`"
            );
        }
    }
}
