//! Architecture specs: torchvision's named models (`vgg16`, `resnet50`, `mobilenet_v2`,
//! `efficientnet_b0`, `densenet121`, `convnext_tiny`, ...), a named base with overrides
//! (`resnet50;classes=10`, `vgg16;classes=2`), or any VGG-family model from a spec
//! string such as `cfg=8,M,16,M,32,M;in=3;pool=2;hidden=32;classes=10`.

use super::families;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One entry of torchvision's VGG `make_layers` config list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CfgItem {
    /// 3x3 convolution (padding 1) to this many channels, followed by a ReLU.
    Conv(usize),
    /// 2x2 max pool with stride 2.
    Pool,
}

/// What only a VGG-family spec has: the convolutions and the classifier's shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VggCfg {
    pub cfg: Vec<CfgItem>,
    /// Output size of the adaptive average pool (7 for ImageNet VGGs).
    pub pool: usize,
    pub hidden: usize,
}

impl VggCfg {
    /// Number of 2x2 max-pool stages.
    pub fn pool_stages(&self) -> usize {
        self.cfg.iter().filter(|c| **c == CfgItem::Pool).count()
    }

    /// Channels out of the last convolution (`in_channels` if there is none).
    pub fn last_channels(&self, in_channels: usize) -> usize {
        self.cfg
            .iter()
            .rev()
            .find_map(|c| match c {
                CfgItem::Conv(n) => Some(*n),
                CfgItem::Pool => None,
            })
            .unwrap_or(in_channels)
    }
}

/// Which builder makes the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Family {
    Vgg(VggCfg),
    /// A torchvision model by its name (`resnet50`), built by `families::TORCHVISION`.
    Torchvision(&'static str),
    /// A graph read from a model file (`format`: `onnx`): no builder makes it, its
    /// `GraphSpec` comes with the file (the loaded `Graph`'s `spec()`); `min_size` is the
    /// smallest input side that graph takes.
    Imported {
        format: &'static str,
        min_size: usize,
    },
}

/// Everything needed to build a network's graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ArchSpec {
    /// The named architecture this came from (`vgg16`, `resnet50`), or `custom`.
    pub name: String,
    pub family: Family,
    pub in_channels: usize,
    pub classes: usize,
    /// The input size the model was trained at (224 for ImageNet models).
    pub size: usize,
}

const VGG_NAMED: &[(&str, &str)] = &[
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
/// network, small enough that shape arithmetic cannot overflow.
const MAX_WIDTH: usize = 1 << 16;

/// Keys that only a VGG-family spec takes.
const VGG_KEYS: &[&str] = &["cfg", "pool", "hidden"];

impl ArchSpec {
    /// Names of the built-in architectures: the VGG family, then torchvision's others.
    pub fn named() -> impl Iterator<Item = &'static str> {
        VGG_NAMED
            .iter()
            .map(|(n, _)| *n)
            .chain(families::TORCHVISION.iter().map(|f| f.name))
    }

    /// Parses a name, a spec string, or a named base with overrides.
    pub fn parse(text: &str) -> Result<ArchSpec> {
        let text = text.trim();
        let known = || {
            format!(
                "known: {}, or a VGG spec like `cfg=8,M,16,M;in=3;pool=2;hidden=32;classes=10`",
                Self::named().collect::<Vec<_>>().join(", ")
            )
        };
        if text.is_empty() {
            return Err(Error::Spec(format!("empty architecture; {}", known())));
        }
        if let Some((format, _)) = text.split_once(':').filter(|(f, _)| *f == "onnx") {
            return Err(Error::Spec(format!(
                "`{text}` names a model read from a {format} file; its graph comes with the file (load the file itself: --model FILE.{format})"
            )));
        }
        let mut spec = ArchSpec::blank();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                spec.set_base(part).ok_or_else(|| {
                    Error::Spec(format!("unknown architecture `{part}`; {}", known()))
                })?;
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            if VGG_KEYS.contains(&key) && !matches!(spec.family, Family::Vgg(_)) {
                return Err(Error::Spec(format!(
                    "`{part}`: {key} applies to VGG-family specs only, not to {}",
                    spec.name
                )));
            }
            match (key, &mut spec.family) {
                ("cfg", Family::Vgg(v)) => v.cfg = parse_cfg(value)?,
                ("pool", Family::Vgg(v)) => v.pool = parse_number(key, value)?,
                ("hidden", Family::Vgg(v)) => v.hidden = parse_number(key, value)?,
                ("in", _) => spec.in_channels = parse_number(key, value)?,
                ("classes", _) => spec.classes = parse_number(key, value)?,
                ("size", _) => spec.size = parse_number(key, value)?,
                _ => {
                    return Err(Error::Spec(format!(
                        "unknown key `{key}` in `{part}`; keys are cfg, in, pool, hidden, classes, size"
                    )))
                }
            }
        }
        if let Family::Vgg(v) = &spec.family {
            if let Some((_, cfg)) = VGG_NAMED.iter().find(|(n, _)| *n == spec.name) {
                if parse_cfg(cfg)? != v.cfg {
                    spec.name = "custom".into(); // a named base whose convolutions were replaced
                }
            }
            if v.cfg.is_empty() {
                return Err(Error::Spec(format!(
                    "`{text}` has no `cfg=` list of convolutions"
                )));
            }
            if !v.cfg.iter().any(|c| matches!(c, CfgItem::Conv(_))) {
                return Err(Error::Spec(format!(
                    "`{text}`: cfg needs at least one convolution"
                )));
            }
            let min = 1usize << v.pool_stages();
            if spec.size == 0 {
                spec.size = min.max(v.pool << v.pool_stages());
            }
            if spec.size < min {
                return Err(Error::Spec(format!(
                    "size={} is too small for {} max-pool stages (needs at least {min})",
                    spec.size,
                    v.pool_stages()
                )));
            }
        } else {
            let min = families::graph(&spec)?.min_size();
            if spec.size < min {
                return Err(Error::Spec(format!(
                    "size={} is too small for {} (needs at least {min})",
                    spec.size, spec.name
                )));
            }
        }
        Ok(spec)
    }

    /// A custom VGG spec with ImageNet defaults and no convolutions yet.
    fn blank() -> ArchSpec {
        ArchSpec {
            name: "custom".into(),
            family: Family::Vgg(VggCfg {
                cfg: Vec::new(),
                pool: 7,
                hidden: 4096,
            }),
            in_channels: 3,
            classes: 1000,
            size: 0,
        }
    }

    /// The named architecture `name` with its defaults, unchecked.
    fn base(name: &str) -> Option<ArchSpec> {
        let mut spec = ArchSpec::blank();
        spec.set_base(name)?;
        Some(spec)
    }

    /// Sets the named base `part` (a VGG or another torchvision model); `None` if unknown.
    fn set_base(&mut self, part: &str) -> Option<()> {
        if let Some((name, cfg)) = VGG_NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(part)) {
            let mut v = VggCfg {
                cfg: parse_cfg(cfg).ok()?,
                pool: 7,
                hidden: 4096,
            };
            self.name = name.to_string();
            if *name == "tiny" {
                (v.pool, v.hidden, self.classes, self.size) = (2, 32, 10, 32);
            } else {
                self.size = 224;
            }
            self.family = Family::Vgg(v);
            return Some(());
        }
        let named = families::TORCHVISION
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(part))?;
        self.name = named.name.to_string();
        self.family = Family::Torchvision(named.name);
        self.size = 224;
        Some(())
    }

    /// The VGG-specific part, if this is a VGG-family spec.
    pub fn vgg(&self) -> Option<&VggCfg> {
        match &self.family {
            Family::Vgg(v) => Some(v),
            Family::Torchvision(_) | Family::Imported { .. } => None,
        }
    }

    /// torchvision's family name: `vgg`, `resnet`, `mobilenet_v2`, ...
    pub fn family_name(&self) -> &'static str {
        match &self.family {
            Family::Vgg(_) => "vgg",
            Family::Torchvision(name) => families::TORCHVISION
                .iter()
                .find(|f| f.name == *name)
                .map_or("", |f| f.family),
            Family::Imported { format, .. } => format,
        }
    }

    /// The spec of a graph read from a `format` file (`onnx`), named `name`.
    pub fn imported(name: &str, format: &'static str, graph: &super::graph::GraphSpec) -> ArchSpec {
        ArchSpec {
            name: name.to_string(),
            family: Family::Imported {
                format,
                min_size: graph.min_size(),
            },
            in_channels: graph.in_channels,
            classes: graph.classes,
            size: graph.size,
        }
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
    /// with the keys that differ from it (`vgg16;classes=2`), or the full VGG spec.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Family::Imported { format, .. } = &self.family {
            return write!(f, "{format}:{}", self.name);
        }
        let base = Self::named()
            .find(|n| *n == self.name)
            .and_then(ArchSpec::base);
        // (key, value) pairs that describe a spec beyond its base name.
        let keys = |s: &ArchSpec| {
            let v = s.vgg().map_or((0, 0), |v| (v.pool, v.hidden));
            [
                ("in", s.in_channels),
                ("pool", v.0),
                ("hidden", v.1),
                ("classes", s.classes),
                ("size", s.size),
            ]
        };
        let same_convs = |b: &ArchSpec| b.vgg().map(|v| &v.cfg) == self.vgg().map(|v| &v.cfg);
        match (&base, &self.family) {
            (Some(base), _) if same_convs(base) => {
                write!(f, "{}", self.name)?;
                for ((key, value), (_, base_value)) in keys(self).iter().zip(keys(base)) {
                    if *value != base_value {
                        write!(f, ";{key}={value}")?;
                    }
                }
                Ok(())
            }
            (_, Family::Vgg(v)) => {
                let cfg: Vec<String> = v
                    .cfg
                    .iter()
                    .map(|c| match c {
                        CfgItem::Conv(n) => n.to_string(),
                        CfgItem::Pool => "M".into(),
                    })
                    .collect();
                write!(f, "cfg={}", cfg.join(","))?;
                for (key, value) in keys(self) {
                    write!(f, ";{key}={value}")?;
                }
                Ok(())
            }
            (_, Family::Torchvision(name)) => write!(f, "{name}"),
            (_, Family::Imported { .. }) => write!(f, "{}", self.name),
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

/// Transitional accessors for the VGG-only code that predates the layer graph
/// (removed as that code moves onto `model::graph`).
impl ArchSpec {
    pub fn cfg(&self) -> &[CfgItem] {
        self.vgg().map_or(&[], |v| v.cfg.as_slice())
    }
    pub fn pool(&self) -> usize {
        self.vgg().map_or(1, |v| v.pool)
    }
    pub fn hidden(&self) -> usize {
        self.vgg().map_or(0, |v| v.hidden)
    }
    pub fn pool_stages(&self) -> usize {
        self.vgg().map_or(0, |v| v.pool_stages())
    }
    pub fn min_input_size(&self) -> usize {
        match &self.family {
            Family::Vgg(v) => 1 << v.pool_stages(),
            Family::Imported { min_size, .. } => *min_size,
            Family::Torchvision(_) => families::graph(self).map_or(1, |g| g.min_size()),
        }
    }
    pub fn last_channels(&self) -> usize {
        self.vgg()
            .map_or(self.in_channels, |v| v.last_channels(self.in_channels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vgg16_has_thirteen_convs_and_five_pools() {
        let s = ArchSpec::parse("vgg16").unwrap();
        let v = s.vgg().unwrap();
        assert_eq!(
            v.cfg
                .iter()
                .filter(|c| matches!(c, CfgItem::Conv(_)))
                .count(),
            13
        );
        assert_eq!(v.pool_stages(), 5);
        assert_eq!(
            (s.in_channels, v.pool, v.hidden, s.classes, s.size),
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
        let hidden = ArchSpec::parse("vgg16;hidden=512").unwrap();
        assert_eq!(hidden.to_string(), "vgg16;hidden=512");
        assert_eq!(ArchSpec::parse(&hidden.to_string()).unwrap(), hidden);
    }

    #[test]
    fn torchvision_names_and_overrides_round_trip() {
        let r = ArchSpec::parse("ResNet50;classes=10").unwrap();
        assert_eq!((r.name.as_str(), r.classes, r.size), ("resnet50", 10, 224));
        assert_eq!(r.family_name(), "resnet");
        assert_eq!(r.to_string(), "resnet50;classes=10");
        assert_eq!(ArchSpec::parse(&r.to_string()).unwrap(), r);
        assert_eq!(
            ArchSpec::parse("densenet121").unwrap().to_string(),
            "densenet121"
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
            ("resnet50;cfg=8,M", "VGG-family specs only"),
            ("densenet121;size=8", "too small for densenet121"),
        ] {
            let err = ArchSpec::parse(text).unwrap_err().to_string();
            assert!(
                err.contains(needle),
                "`{text}` gave `{err}`, expected it to mention `{needle}`"
            );
        }
    }
}
