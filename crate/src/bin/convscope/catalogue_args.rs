//! clap arguments made from the method catalogue (`convscope::methods::catalogue`): the
//! method with every option a method takes, for `explain` and the checks, and one
//! subcommand per check with its own options. Nothing here names a method or an option:
//! a method's file adds them.

use crate::args::{InputArgs, ModelArgs};
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches, Subcommand};
use convscope::methods::catalogue::{self, Kind, OptionSpec, Options, LAYER};
use convscope::methods::{Choice, Target};
use convscope::Result;

/// The method, the class to explain and the method's options (as given: the catalogue
/// checks them, with the same messages as the page).
#[derive(Clone, Debug)]
pub struct MethodArgs {
    pub method: String,
    pub target: Option<usize>,
    pub options: Options,
}

impl MethodArgs {
    pub fn target(&self) -> Target {
        self.target.map_or(Target::Top, Target::Class)
    }

    /// The method with its options checked (before any model is loaded).
    pub fn choose(&self) -> Result<Choice> {
        catalogue::choose(&self.method, &self.options)
    }
}

/// Several methods with the class to explain and the options of any of them: each
/// method gets the options it takes (`evaluate`, `compare`).
#[derive(Clone, Debug)]
pub struct MethodListArgs {
    /// The methods named, in order; none named means every method of the catalogue.
    pub methods: Vec<String>,
    pub target: Option<usize>,
    pub options: Options,
}

impl MethodListArgs {
    pub fn target(&self) -> Target {
        self.target.map_or(Target::Top, Target::Class)
    }

    /// Each method with the options it takes, checked (before any model is loaded); an
    /// option none of them takes is refused, naming the methods that do.
    pub fn choose(&self) -> Result<Vec<Choice>> {
        let specs = match self.methods.is_empty() {
            true => catalogue::methods(),
            false => self
                .methods
                .iter()
                .map(|name| catalogue::method(name))
                .collect::<Result<Vec<_>>>()?,
        };
        for name in self.options.names() {
            if !specs.iter().any(|s| s.option_names().contains(&name)) {
                let takers: Vec<_> = catalogue::methods()
                    .into_iter()
                    .filter(|s| s.option_names().contains(&name))
                    .map(|s| s.name)
                    .collect();
                return Err(convscope::Error::Input(format!(
                    "option --{name} applies to none of the methods chosen (it is {}'s)",
                    takers.join(", ")
                )));
            }
        }
        specs
            .iter()
            .map(|s| catalogue::choose(s.name, &self.options.only(&s.option_names())))
            .collect()
    }
}

impl Args for MethodListArgs {
    fn augment_args(cmd: Command) -> Command {
        with_target_and_options(
            cmd,
            Arg::new(METHOD)
                .num_args(0..)
                .value_name("METHOD")
                .help(format!("{} [default: every one]", method_names())),
        )
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for MethodListArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(MethodListArgs {
            methods: m
                .get_many::<String>(METHOD)
                .map(|v| v.cloned().collect())
                .unwrap_or_default(),
            target: m.get_one::<usize>(TARGET).copied(),
            options: given(m, &catalogue::method_option_names()),
        })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

/// The catalogue's method names, comma-separated.
fn method_names() -> String {
    let names: Vec<_> = catalogue::methods().iter().map(|m| m.name).collect();
    names.join(", ")
}

/// `cmd` with the method argument `method`, `--target` and every method option.
fn with_target_and_options(cmd: Command, method: Arg) -> Command {
    let cmd = cmd.arg(method).arg(target_arg());
    catalogue::method_option_names()
        .into_iter()
        .fold(cmd, |cmd, name| cmd.arg(method_option(name)))
}

/// `--target CLASS`.
fn target_arg() -> Arg {
    Arg::new(TARGET)
        .long(TARGET)
        .value_name("CLASS")
        .value_parser(crate::args::class_index)
        .allow_negative_numbers(true)
        .help("class to explain [default: the top prediction]")
}

const METHOD: &str = "method";
const TARGET: &str = "target";

impl Args for MethodArgs {
    fn augment_args(cmd: Command) -> Command {
        with_target_and_options(
            cmd,
            Arg::new(METHOD)
                .required(true)
                .value_name("METHOD")
                .help(format!(
                    "{} (`convscope methods` describes them)",
                    method_names()
                )),
        )
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for MethodArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(MethodArgs {
            method: m.get_one::<String>(METHOD).cloned().unwrap_or_default(),
            target: m.get_one::<usize>(TARGET).copied(),
            options: given(m, &catalogue::method_option_names()),
        })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

/// The options among `names` given on the command line, as the words typed.
fn given(m: &ArgMatches, names: &[&str]) -> Options {
    let mut options = Options::default();
    for name in names {
        if let Some(v) = m.get_one::<String>(name) {
            options.set(name, v.clone().into());
        }
    }
    options
}

/// `--NAME` of the methods that take the option `name`, with their help.
fn method_option(name: &'static str) -> Arg {
    let methods = catalogue::methods();
    if name == LAYER {
        let users: Vec<_> = methods.iter().filter(|m| m.layer).map(|m| m.name).collect();
        return option_arg(name, "LAYER").help(format!(
            "{}: {} [default: {}]",
            users.join(", "),
            catalogue::LAYER_HELP,
            catalogue::DEFAULT_LAYER
        ));
    }
    let mut lines = Vec::new();
    let mut value_name = "VALUE";
    for method in &methods {
        if let Some(spec) = method.options.iter().find(|o| o.name == name) {
            lines.push(format!("{}: {}", method.name, described(spec)));
            value_name = value_name_of(spec);
        }
    }
    option_arg(name, value_name).help(lines.join("; "))
}

/// An option's help with its unit, default and range: "HELP (UNIT) [default: DEFAULT;
/// RANGE]".
pub fn described(spec: &OptionSpec) -> String {
    let unit = match spec.unit {
        "" => String::new(),
        unit => format!(" ({unit})"),
    };
    format!(
        "{}{unit} [default: {}; {}]",
        spec.help,
        spec.default.text(),
        spec.range_text()
    )
}

fn value_name_of(spec: &OptionSpec) -> &'static str {
    match spec.kind {
        Kind::Int { .. } => "N",
        Kind::Float { .. } => "X",
        Kind::Choice(_) => "WORD",
    }
}

/// A `--name VALUE` option taken as typed (the catalogue reads it); values may start
/// with a minus, so that `--noise -0.1` reaches the catalogue's message.
fn option_arg(name: &'static str, value_name: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .value_name(value_name)
        .allow_hyphen_values(true)
        .action(ArgAction::Set)
}

/// A check of a method (one subcommand per check of the catalogue: `sanity`, ...).
pub struct CheckCommand {
    pub check: &'static str,
    pub method: MethodArgs,
    pub model: ModelArgs,
    pub input: InputArgs,
    /// The check's own options.
    pub options: Options,
    pub json: bool,
    pub progress: bool,
}

impl Subcommand for CheckCommand {
    fn augment_subcommands(cmd: Command) -> Command {
        catalogue::checks().into_iter().fold(cmd, |cmd, check| {
            let sub = Command::new(check.name);
            let sub =
                ModelArgs::augment_args(InputArgs::augment_args(MethodArgs::augment_args(sub)));
            // After the flattened arguments, whose doc comments would replace it.
            let sub = sub.about(check.about);
            let sub = check.options.iter().fold(sub, |sub, spec| {
                sub.arg(option_arg(spec.name, value_name_of(spec)).help(described(spec)))
            });
            cmd.subcommand(
                sub.arg(
                    Arg::new("json")
                        .long("json")
                        .action(ArgAction::SetTrue)
                        .help("print the report as JSON"),
                )
                .arg(progress_flag()),
            )
        })
    }

    fn augment_subcommands_for_update(cmd: Command) -> Command {
        Self::augment_subcommands(cmd)
    }

    fn has_subcommand(name: &str) -> bool {
        catalogue::checks().iter().any(|c| c.name == name)
    }
}

impl FromArgMatches for CheckCommand {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let missing = || clap::Error::new(clap::error::ErrorKind::MissingSubcommand);
        let (name, sub) = m.subcommand().ok_or_else(missing)?;
        let check = catalogue::check(name).map_err(|_| missing())?;
        let names: Vec<_> = check.options.iter().map(|o| o.name).collect();
        Ok(CheckCommand {
            check: check.name,
            method: MethodArgs::from_arg_matches(sub)?,
            model: ModelArgs::from_arg_matches(sub)?,
            input: InputArgs::from_arg_matches(sub)?,
            options: given(sub, &names),
            json: sub.get_flag("json"),
            progress: sub.get_flag("progress"),
        })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

/// The help of `--progress` (which reports a long run's batches on stderr).
pub const PROGRESS_HELP: &str = "report the run's progress on stderr, one line per batch or step";

fn progress_flag() -> Arg {
    Arg::new("progress")
        .long("progress")
        .action(ArgAction::SetTrue)
        .help(PROGRESS_HELP)
}
