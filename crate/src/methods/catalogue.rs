//! The method catalogue: every attribution method and every check of one (the sanity
//! check) described once, with its name, title, one-line description, whether it works
//! at a layer, and each option's type, default, allowed range, unit and help. The CLI's
//! flags and help, the wasm bindings' option parsing and the page's menus and forms are
//! made from it ([`to_json`] is what the page reads), and a user's values are checked
//! here ([`choose`], [`Choice::build`]), so a mistake gets the same message wherever it
//! was made, before any work.
//!
//! Each entry lives in the file of the method it describes, as `pub const METHOD:
//! MethodSpec` (a check's as `pub const CHECK: CheckSpec`). The build script
//! (crate/build.rs) finds the files of this folder that define one, declares them as
//! modules of [`crate::methods`] and lists them for [`methods`] and [`checks`]. (So
//! `cargo fmt`, which follows only the `mod` lines it can read, skips those files:
//! `rustfmt --edition 2021 crate/src/methods/*.rs` formats them.)
//!
//! **To add a method**, write `crate/src/methods/<name>.rs` with the method (a type that
//! implements [`Method`]) and its `pub const METHOD: MethodSpec`, whose `build` makes
//! the method from the checked [`Args`]; nothing else changes by hand: the CLI, the wasm
//! bindings and the page offer it. **To add an option**, add an [`OptionSpec`] to the
//! method's `options` and read it in its `build` (`args.count("name")`, `args.float`,
//! `args.choice`, or `args.count_or` for a default that depends on the input). A check
//! is added the same way, with `pub const CHECK: CheckSpec` and its `run`.

use super::cam::layer_for_cam;
pub use super::cam::DEFAULT_LAYER;
use super::{Method, Target};
use crate::error::{Error, Result};
use crate::model::Graph;
use crate::progress::Progress;
use candle_core::Tensor;
use serde_json::{json, Value as Json};

/// An attribution method, as the catalogue lists it.
pub struct MethodSpec {
    /// The name the CLI, the page (view id, worker request) and error messages use.
    pub name: &'static str,
    /// How a person calls it (the page's menu and headings).
    pub title: &'static str,
    /// One line: what the map is, and the paper.
    pub about: &'static str,
    /// Its place in lists (the CLI's help, the page's menu): lower first.
    pub order: u32,
    /// Whether it explains at a layer (`--layer`, the page's layer menu), which must have
    /// a spatial map ([`layer_for_cam`]).
    pub layer: bool,
    pub options: &'static [OptionSpec],
    /// The method, from its checked options.
    pub build: fn(&Args) -> Result<Box<dyn Method>>,
}

/// A check of a method's maps (the sanity check): run on a chosen method.
pub struct CheckSpec {
    pub name: &'static str,
    pub title: &'static str,
    pub about: &'static str,
    pub order: u32,
    pub options: &'static [OptionSpec],
    pub run: fn(&CheckRun) -> Result<Report>,
}

/// What a check's `run` gets.
pub struct CheckRun<'a> {
    pub model: &'a Graph,
    /// The image, `[1, C, H, W]`.
    pub input: &'a Tensor,
    pub method: &'a Choice,
    pub target: Target,
    /// The check's own options.
    pub args: Args<'a>,
    pub progress: &'a dyn Progress,
}

/// A check's answer: the numbers (the CLI's `--json`, the page's data) and the same as
/// text for a terminal.
pub struct Report {
    pub json: Json,
    pub text: String,
}

/// One option of a method or check.
pub struct OptionSpec {
    /// The CLI's `--name` and the page's key.
    pub name: &'static str,
    pub kind: Kind,
    pub default: DefaultValue,
    /// The unit of its values ("px"), or "".
    pub unit: &'static str,
    /// What it does, in a few words.
    pub help: &'static str,
    /// The refusal of a value below the minimum when the plain one ("METHOD OPTION must
    /// be at least MIN, got V") would not say why: `{min}`, `{option}` and `{value}`
    /// stand for the minimum, the option's name and the value given.
    pub below_min: Option<&'static str>,
}

/// The values an option takes.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// A whole number from `min` to `max`.
    Int { min: u64, max: Max },
    /// A finite number, at least `min` if given.
    Float { min: Option<f64> },
    /// One of these words.
    Choice(&'static [&'static str]),
}

/// The largest whole number an option takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Max {
    Unbounded,
    Value(u64),
    /// The input's shorter side (a window must fit the image).
    InputSide,
}

/// What an option is when not given.
#[derive(Clone, Copy, Debug)]
pub enum DefaultValue {
    Int(u64),
    Float(f64),
    Choice(&'static str),
    /// Computed by the method's `build` from the input or other options
    /// ([`Args::count_or`]); the text says how.
    Described(&'static str),
}

/// A checked option value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Int(u64),
    Float(f64),
    Choice(&'static str),
}

include!(concat!(env!("OUT_DIR"), "/catalogue_lists.rs"));

/// Every method, in catalogue order.
pub fn methods() -> Vec<&'static MethodSpec> {
    in_order(METHOD_SPECS)
}

/// Every check, in catalogue order.
pub fn checks() -> Vec<&'static CheckSpec> {
    in_order(CHECK_SPECS)
}

/// The method called `name`.
pub fn method(name: &str) -> Result<&'static MethodSpec> {
    named("method", methods(), name)
}

/// The check called `name`.
pub fn check(name: &str) -> Result<&'static CheckSpec> {
    named("check", checks(), name)
}

/// What methods and checks share for listing.
trait Entry {
    fn name(&self) -> &'static str;
    fn order(&self) -> u32;
}

impl Entry for MethodSpec {
    fn name(&self) -> &'static str {
        self.name
    }
    fn order(&self) -> u32 {
        self.order
    }
}

impl Entry for CheckSpec {
    fn name(&self) -> &'static str {
        self.name
    }
    fn order(&self) -> u32 {
        self.order
    }
}

fn in_order<T: Entry>(entries: &[&'static T]) -> Vec<&'static T> {
    let mut all = entries.to_vec();
    all.sort_by_key(|e| (e.order(), e.name()));
    all
}

/// The entry called `name`, or an error listing the known ones.
fn named<T: Entry>(what: &str, all: Vec<&'static T>, name: &str) -> Result<&'static T> {
    all.iter()
        .copied()
        .find(|e| e.name() == name)
        .ok_or_else(|| {
            let known: Vec<_> = all.iter().map(|e| e.name()).collect();
            Error::Input(format!(
                "unknown {what} `{name}`; known: {}",
                known.join(", ")
            ))
        })
}

/// The key of the layer of the methods that work at one (with their options, as the
/// CLI's `--layer` and the page's layer menu).
pub const LAYER: &str = "layer";

/// What the layer of a method that works at one is (its default: [`DEFAULT_LAYER`]).
pub const LAYER_HELP: &str =
    "the layer whose maps the method weighs (one with a spatial map: features.N or avgpool)";

/// Every option name some method takes (with [`LAYER`]), each once, in catalogue order.
pub fn method_option_names() -> Vec<&'static str> {
    let mut names = vec![LAYER];
    for spec in methods().iter().flat_map(|m| m.options) {
        if !names.contains(&spec.name) {
            names.push(spec.name);
        }
    }
    names
}

/// A user's option values by name, as given (the CLI's words, the page's numbers and
/// words), before they are checked against a method or check.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options(Vec<(String, Json)>);

impl Options {
    /// These options with `name` set to `value` (replacing an earlier value).
    pub fn with(mut self, name: &str, value: impl Into<Json>) -> Options {
        self.set(name, value.into());
        self
    }

    pub fn set(&mut self, name: &str, value: Json) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Json> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Those of these options that are named in `names`.
    pub fn only(&self, names: &[&str]) -> Options {
        Options(
            self.0
                .iter()
                .filter(|(n, _)| names.contains(&n.as_str()))
                .cloned()
                .collect(),
        )
    }

    /// The names given, in the order they were.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }
}

/// The checked values of one method's or check's options: every option, given or
/// defaulted (`None` for a [`DefaultValue::Described`] one not given).
#[derive(Clone, Debug)]
struct Checked {
    owner: &'static str,
    values: Vec<(&'static OptionSpec, Option<Value>)>,
}

/// A method with its options checked: everything about the user's choice that does not
/// depend on the model or the image. [`Choice::build`] checks the rest.
#[derive(Clone, Debug)]
pub struct Choice {
    pub spec: &'static MethodSpec,
    /// The layer asked for (`None`: the method's default), for a method that takes one.
    pub layer: Option<String>,
    checked: Checked,
}

impl std::fmt::Debug for MethodSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl std::fmt::Debug for OptionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The method `name` with `options`: refuses an unknown method, an option it does not
/// take, a value of the wrong type and one outside the option's fixed range.
pub fn choose(name: &str, options: &Options) -> Result<Choice> {
    let spec = method(name)?;
    refuse_others(name, &spec.option_names(), options)?;
    let layer = match options.get(LAYER) {
        None => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(Error::Input(format!(
                "{name} layer must be a layer name such as features.29, got {other}"
            )))
        }
    };
    Ok(Choice {
        spec,
        layer,
        checked: check_values(spec.name, spec.options, options)?,
    })
}

/// The check `name` with `options` (its own; the method's go to [`choose`]).
pub fn choose_check(name: &str, options: &Options) -> Result<(&'static CheckSpec, CheckValues)> {
    let spec = check(name)?;
    let takes: Vec<&str> = spec.options.iter().map(|o| o.name).collect();
    refuse_others(name, &takes, options)?;
    Ok((
        spec,
        CheckValues(check_values(spec.name, spec.options, options)?),
    ))
}

/// A check's checked options.
#[derive(Clone, Debug)]
pub struct CheckValues(Checked);

impl CheckValues {
    /// The check's [`Args`] for a run on `model`.
    pub fn args<'a>(&'a self, model: &'a Graph, input: (usize, usize)) -> Result<Args<'a>> {
        check_input_bounds(&self.0, input)?;
        Ok(Args {
            model,
            input,
            layer: None,
            checked: &self.0,
        })
    }
}

/// Refuses options `owner` does not take, naming what it does take.
fn refuse_others(owner: &str, takes: &[&str], options: &Options) -> Result<()> {
    let Some(extra) = options.names().find(|n| !takes.contains(n)) else {
        return Ok(());
    };
    Err(Error::Input(format!(
        "option --{extra} does not apply to {owner} ({})",
        if takes.is_empty() {
            "it takes no options".to_string()
        } else {
            format!("it takes --{}", takes.join(", --"))
        }
    )))
}

fn check_values(
    owner: &'static str,
    specs: &'static [OptionSpec],
    options: &Options,
) -> Result<Checked> {
    let values = specs
        .iter()
        .map(|spec| {
            let value = match options.get(spec.name) {
                Some(given) => Some(spec.read(owner, given)?),
                None => spec.default.value(),
            };
            Ok((spec, value))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Checked { owner, values })
}

/// Refuses values over a bound that depends on the input (a window larger than the
/// image).
fn check_input_bounds(checked: &Checked, input: (usize, usize)) -> Result<()> {
    for (spec, value) in &checked.values {
        if let Some(value) = value {
            within_input(checked.owner, spec, *value, input)?;
        }
    }
    Ok(())
}

fn within_input(
    owner: &str,
    spec: &OptionSpec,
    value: Value,
    (h, w): (usize, usize),
) -> Result<()> {
    match (spec.kind, value) {
        (
            Kind::Int {
                max: Max::InputSide,
                ..
            },
            Value::Int(v),
        ) if v > h.min(w) as u64 => Err(Error::Input(format!(
            "{owner} {} {v} is larger than the {h}x{w} input",
            spec.name
        ))),
        _ => Ok(()),
    }
}

impl MethodSpec {
    /// The options it takes by name, [`LAYER`] first for a method that works at a layer.
    pub fn option_names(&self) -> Vec<&'static str> {
        self.layer
            .then_some(LAYER)
            .into_iter()
            .chain(self.options.iter().map(|o| o.name))
            .collect()
    }

    /// Checks `value` as the option `name` for an input of `input` = (height, width):
    /// the rule a method's own type applies when it is built without the catalogue.
    pub fn check(&self, name: &str, value: impl Into<Json>, input: (usize, usize)) -> Result<()> {
        let spec = self
            .options
            .iter()
            .find(|o| o.name == name)
            .ok_or_else(|| Error::Input(format!("{} has no option `{name}`", self.name)))?;
        let value = spec.read(self.name, &value.into())?;
        within_input(self.name, spec, value, input)
    }
}

impl Choice {
    /// The method for `model` and an input of `input` = (height, width): refuses values
    /// over the input's bounds and a layer the model lacks or that has no spatial map.
    pub fn build(&self, model: &Graph, input: (usize, usize)) -> Result<Box<dyn Method>> {
        check_input_bounds(&self.checked, input)?;
        let layer = self.layer_index(model)?;
        (self.spec.build)(&Args {
            model,
            input,
            layer,
            checked: &self.checked,
        })
    }

    /// [`Choice::build`] for the image `x` (`[1, C, H, W]`), checked to fit the model.
    pub fn build_for(&self, model: &Graph, x: &Tensor) -> Result<Box<dyn Method>> {
        model.check_input(x.dims())?;
        let (_, _, h, w) = x.dims4()?;
        self.build(model, (h, w))
    }

    /// The index of the layer the method works at (`None` for a method without one).
    pub fn layer_index(&self, model: &Graph) -> Result<Option<usize>> {
        match self.spec.layer {
            true => layer_for_cam(model, self.layer.as_deref()).map(Some),
            false => Ok(None),
        }
    }
}

/// The method `name` with `options`, for `model` and an input of the model's own size
/// (the size it was trained at).
pub fn build(name: &str, model: &Graph, options: &Options) -> Result<Box<dyn Method>> {
    let size = model.arch().size;
    choose(name, options)?.build(model, (size, size))
}

/// Checked values, as a method's `build` (or a check's `run`) reads them.
pub struct Args<'a> {
    pub model: &'a Graph,
    /// Input height and width.
    pub input: (usize, usize),
    /// The layer, for a method that works at one.
    pub layer: Option<usize>,
    checked: &'a Checked,
}

impl Args<'_> {
    fn value(&self, name: &str) -> Result<Option<Value>> {
        self.checked
            .values
            .iter()
            .find(|(spec, _)| spec.name == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| Error::Input(format!("{} has no option `{name}`", self.checked.owner)))
    }

    fn int(&self, name: &str) -> Result<Option<u64>> {
        match self.value(name)? {
            Some(Value::Int(v)) => Ok(Some(v)),
            None => Ok(None),
            Some(_) => Err(self.not_a(name, "whole number")),
        }
    }

    fn not_a(&self, name: &str, what: &str) -> Error {
        Error::Input(format!(
            "{} option `{name}` is not a {what}",
            self.checked.owner
        ))
    }

    /// A whole-number option as a count or size.
    pub fn count(&self, name: &str) -> Result<usize> {
        let v = self.int(name)?;
        let v = v.ok_or_else(|| self.not_a(name, "number with a default"))?;
        self.to_usize(name, v)
    }

    /// A whole-number option, or `default()` when it was not given and its default is
    /// [`DefaultValue::Described`].
    pub fn count_or(&self, name: &str, default: impl FnOnce() -> usize) -> Result<usize> {
        match self.int(name)? {
            Some(v) => self.to_usize(name, v),
            None => Ok(default()),
        }
    }

    /// A whole-number option with a described default, `None` when it was not given.
    pub fn count_if_given(&self, name: &str) -> Result<Option<usize>> {
        self.int(name)?.map(|v| self.to_usize(name, v)).transpose()
    }

    fn to_usize(&self, name: &str, v: u64) -> Result<usize> {
        usize::try_from(v).map_err(|_| {
            Error::Input(format!(
                "{} {name} {v} is too large for this platform",
                self.checked.owner
            ))
        })
    }

    /// A whole-number option as it is (a seed).
    pub fn whole(&self, name: &str) -> Result<u64> {
        self.int(name)?
            .ok_or_else(|| self.not_a(name, "number with a default"))
    }

    pub fn float(&self, name: &str) -> Result<f64> {
        match self.value(name)? {
            Some(Value::Float(v)) => Ok(v),
            _ => Err(self.not_a(name, "number with a default")),
        }
    }

    pub fn choice(&self, name: &str) -> Result<&'static str> {
        match self.value(name)? {
            Some(Value::Choice(v)) => Ok(v),
            _ => Err(self.not_a(name, "choice with a default")),
        }
    }

    /// The layer of a method that works at one.
    pub fn layer(&self) -> Result<usize> {
        self.layer
            .ok_or_else(|| Error::Input(format!("{} works at no layer", self.checked.owner)))
    }
}

impl DefaultValue {
    fn value(self) -> Option<Value> {
        match self {
            DefaultValue::Int(v) => Some(Value::Int(v)),
            DefaultValue::Float(v) => Some(Value::Float(v)),
            DefaultValue::Choice(v) => Some(Value::Choice(v)),
            DefaultValue::Described(_) => None,
        }
    }

    /// How the default reads: the value, or the description.
    pub fn text(self) -> String {
        match self {
            DefaultValue::Int(v) => v.to_string(),
            DefaultValue::Float(v) => v.to_string(),
            DefaultValue::Choice(v) => v.to_string(),
            DefaultValue::Described(text) => text.to_string(),
        }
    }
}

impl OptionSpec {
    /// `given` as this option's value, checked against its type and fixed range; the
    /// CLI gives words ("16"), the page numbers.
    pub fn read(&self, owner: &str, given: &Json) -> Result<Value> {
        let refuse = |problem: String| Error::Input(format!("{owner} {} {problem}", self.name));
        let shown = match given {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        let number = match given {
            Json::Number(n) => n.as_f64(),
            Json::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        match self.kind {
            Kind::Int { min, max } => {
                let exact = match given {
                    Json::Number(n) => n.as_u64(),
                    Json::String(s) => s.trim().parse::<u64>().ok(),
                    _ => None,
                };
                let v = match (exact, number) {
                    (Some(v), _) => v,
                    (None, Some(x)) if x.is_finite() && x.fract() == 0.0 && x < 0.0 => {
                        return Err(self.too_small(owner, min, &unit, &shown))
                    }
                    // 16.0 from a page is 16; 2^64 and more do not fit.
                    (None, Some(x)) if x.is_finite() && x.fract() == 0.0 && x < 2f64.powi(64) => {
                        x as u64
                    }
                    (None, Some(x)) if x.is_finite() && x.fract() == 0.0 => {
                        return Err(refuse(format!("must be at most {}, got {shown}", u64::MAX)))
                    }
                    _ => return Err(refuse(format!("must be a whole number, got {shown}"))),
                };
                if v < min {
                    return Err(self.too_small(owner, min, &unit, &shown));
                }
                if let Max::Value(m) = max {
                    if v > m {
                        return Err(refuse(format!("must be at most {m}{unit}, got {shown}")));
                    }
                }
                Ok(Value::Int(v))
            }
            Kind::Float { min } => {
                let v = match number {
                    Some(x) if x.is_finite() => x,
                    _ => return Err(refuse(format!("must be a finite number, got {shown}"))),
                };
                match min {
                    Some(m) if v < m => {
                        Err(refuse(format!("must be at least {m}{unit}, got {shown}")))
                    }
                    _ => Ok(Value::Float(v)),
                }
            }
            Kind::Choice(words) => {
                match words.iter().find(|w| Json::String(w.to_string()) == *given) {
                    Some(w) => Ok(Value::Choice(w)),
                    None => Err(Error::Input(format!(
                        "unknown {owner} {} `{shown}`; use {}",
                        self.name,
                        or_list(words)
                    ))),
                }
            }
        }
    }

    fn too_small(&self, owner: &str, min: u64, unit: &str, shown: &str) -> Error {
        Error::Input(match self.below_min {
            Some(text) => text
                .replace("{min}", &min.to_string())
                .replace("{option}", self.name)
                .replace("{value}", shown),
            None => format!(
                "{owner} {} must be at least {min}{unit}, got {shown}",
                self.name
            ),
        })
    }

    /// The option as the page reads it (see [`to_json`]).
    pub fn to_json(&self) -> Json {
        let (kind, min, max) = match self.kind {
            Kind::Int { min, max } => (
                "integer",
                json!(min),
                match max {
                    Max::Unbounded => Json::Null,
                    Max::Value(m) => json!(m),
                    Max::InputSide => json!("input"),
                },
            ),
            Kind::Float { min } => ("number", json!(min), Json::Null),
            Kind::Choice(_) => ("choice", Json::Null, Json::Null),
        };
        let mut out = json!({
            "name": self.name,
            "type": kind,
            "default": match self.default {
                DefaultValue::Int(v) => json!(v),
                DefaultValue::Float(v) => json!(v),
                DefaultValue::Choice(v) => json!(v),
                DefaultValue::Described(_) => Json::Null,
            },
            "defaultText": self.default.text(),
            "min": min,
            "max": max,
            "unit": self.unit,
            "help": self.help,
            "rangeText": self.range_text(),
        });
        if let (Kind::Choice(words), Some(obj)) = (self.kind, out.as_object_mut()) {
            obj.insert("choices".into(), json!(words));
        }
        out
    }

    /// The allowed values in words, for help texts: "2 or more", "1 to the input's side".
    pub fn range_text(&self) -> String {
        match self.kind {
            Kind::Int { min, max } => match max {
                Max::Unbounded => format!("{min} or more"),
                Max::Value(m) => format!("{min} to {m}"),
                Max::InputSide => format!("{min} to the input's side"),
            },
            Kind::Float { min: Some(m) } => format!("{m} or more"),
            Kind::Float { min: None } => "any number".into(),
            Kind::Choice(words) => or_list(words),
        }
    }
}

/// "a", "a or b", "a, b or c".
fn or_list(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The whole catalogue as JSON, the page's source for its menus and forms (`convscope
/// methods --json` prints the same): `{methods: [{name, title, about, layer, options}],
/// checks: [{name, title, about, options}], layer: {help, defaultText}}`, each option
/// `{name, type: "integer"|"number"|"choice", default (null when described),
/// defaultText, min, max (a number, "input" for the input's side, or null), unit, help,
/// rangeText (the range in words), choices?}`.
pub fn to_json() -> Json {
    let options = |specs: &[OptionSpec]| specs.iter().map(OptionSpec::to_json).collect::<Vec<_>>();
    json!({
        "methods": methods().iter().map(|m| json!({
            "name": m.name,
            "title": m.title,
            "about": m.about,
            "layer": m.layer,
            "options": options(m.options),
        })).collect::<Vec<_>>(),
        "checks": checks().iter().map(|c| json!({
            "name": c.name,
            "title": c.title,
            "about": c.about,
            "options": options(c.options),
        })).collect::<Vec<_>>(),
        "layer": {
            "help": LAYER_HELP,
            "defaultText": DEFAULT_LAYER,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArchSpec;

    fn all_options() -> Vec<(&'static str, &'static OptionSpec)> {
        let methods = methods()
            .into_iter()
            .flat_map(|m| m.options.iter().map(|o| (m.name, o)));
        let checks = checks()
            .into_iter()
            .flat_map(|c| c.options.iter().map(|o| (c.name, o)));
        methods.chain(checks).collect()
    }

    #[test]
    fn the_build_script_found_every_method_and_the_sanity_check() {
        let names: Vec<_> = methods().iter().map(|m| m.name).collect();
        assert_eq!(
            names,
            [
                "saliency",
                "guided-backprop",
                "smoothgrad",
                "integrated-gradients",
                "grad-cam",
                "grad-cam++",
                "score-cam",
                "guided-grad-cam",
                "occlusion"
            ]
        );
        let checks: Vec<_> = checks().iter().map(|c| c.name).collect();
        assert_eq!(checks, ["sanity"]);
    }

    #[test]
    fn every_default_is_a_value_its_option_takes() {
        for (owner, spec) in all_options() {
            let Some(value) = spec.default.value() else {
                assert!(
                    matches!(spec.kind, Kind::Int { .. }),
                    "{owner} {}",
                    spec.name
                );
                continue;
            };
            let given = match value {
                Value::Int(v) => json!(v),
                Value::Float(v) => json!(v),
                Value::Choice(v) => json!(v),
            };
            assert_eq!(
                spec.read(owner, &given).unwrap(),
                value,
                "{owner} {}",
                spec.name
            );
        }
    }

    #[test]
    fn names_are_unique_where_they_meet() {
        let methods = methods();
        for (i, m) in methods.iter().enumerate() {
            assert!(
                methods[i + 1..].iter().all(|n| n.name != m.name),
                "{}",
                m.name
            );
            let names: Vec<_> = m.options.iter().map(|o| o.name).collect();
            for (j, n) in names.iter().enumerate() {
                assert!(!names[j + 1..].contains(n) && *n != LAYER, "{} {n}", m.name);
            }
        }
    }

    #[test]
    fn words_and_numbers_read_alike_and_wrong_ones_say_why() {
        let steps = &method("integrated-gradients").unwrap().options[0];
        let read = |v: Json| {
            steps
                .read("integrated-gradients", &v)
                .map_err(|e| e.to_string())
        };
        assert_eq!(read(json!(16)), Ok(Value::Int(16)));
        assert_eq!(read(json!("16")), Ok(Value::Int(16)));
        assert_eq!(read(json!(16.0)), Ok(Value::Int(16)));
        assert_eq!(
            read(json!(1.5)).unwrap_err(),
            "input: integrated-gradients steps must be a whole number, got 1.5"
        );
        assert_eq!(
            read(json!(-3)).unwrap_err(),
            "input: integrated-gradients needs at least 2 steps (the trapezoid rule's two ends), got -3"
        );
        let noise = &method("smoothgrad").unwrap().options[1];
        assert_eq!(noise.name, "noise");
        assert_eq!(
            noise
                .read("smoothgrad", &json!("nan"))
                .unwrap_err()
                .to_string(),
            "input: smoothgrad noise must be a finite number, got nan"
        );
    }

    #[test]
    fn out_of_range_values_are_refused_with_one_message() {
        let model = Graph::synthetic(&ArchSpec::parse("tiny").unwrap(), 1).unwrap();
        let refusal = |method: &str, name: &str, value: Json| {
            choose(method, &Options::default().with(name, value))
                .and_then(|c| c.build(&model, (28, 28)))
                .err()
                .map(|e| e.to_string())
        };
        assert_eq!(
            refusal("integrated-gradients", "steps", json!(1)).as_deref(),
            Some("input: integrated-gradients needs at least 2 steps (the trapezoid rule's two ends), got 1")
        );
        assert_eq!(
            refusal("occlusion", "window", json!(29)).as_deref(),
            Some("input: occlusion window 29 is larger than the 28x28 input")
        );
        assert_eq!(refusal("occlusion", "window", json!(28)), None);
        assert_eq!(
            refusal("smoothgrad", "noise", json!(-0.1)).as_deref(),
            Some("input: smoothgrad noise must be at least 0, got -0.1")
        );
        assert_eq!(
            refusal("occlusion", "stride", json!(0)).as_deref(),
            Some("input: occlusion window and stride must be at least 1 pixel, got stride 0")
        );
        assert_eq!(
            refusal("occlusion", "score", json!("rank")).as_deref(),
            Some("input: unknown occlusion score `rank`; use logit or prob")
        );
        assert_eq!(
            refusal("grad-cam", "steps", json!(4)).as_deref(),
            Some("input: option --steps does not apply to grad-cam (it takes --layer)")
        );
    }

    #[test]
    fn the_page_reads_types_defaults_and_ranges() {
        let all = to_json();
        let method = |name: &str| {
            all["methods"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == name)
                .unwrap()
                .clone()
        };
        assert_eq!(
            method("integrated-gradients")["options"][0],
            json!({"name": "steps", "type": "integer", "default": 16, "defaultText": "16",
                   "min": 2, "max": null, "unit": "", "help": "points on the path (captum's n_steps)",
                   "rangeText": "2 or more"})
        );
        let window = &method("occlusion")["options"][0];
        assert_eq!(
            (&window["default"], &window["max"], &window["unit"]),
            (&Json::Null, &json!("input"), &json!("px"))
        );
        assert_eq!(
            method("occlusion")["options"][3]["choices"],
            json!(["logit", "prob"])
        );
        assert_eq!(
            (&method("grad-cam")["layer"], &method("saliency")["layer"]),
            (&json!(true), &json!(false))
        );
        assert_eq!(all["checks"][0]["options"][0]["name"], "init-seed");
    }
}
