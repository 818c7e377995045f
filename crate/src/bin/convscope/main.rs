//! `convscope`: the command line face of the core. This folder is the only code that
//! knows clap; each file holds a group of subcommands.
// No unwrap/expect/panic at the boundary: every failure becomes one line on stderr.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(not(target_arch = "wasm32"))]
mod args;
#[cfg(not(target_arch = "wasm32"))]
mod batch;
#[cfg(not(target_arch = "wasm32"))]
mod catalogue_args;
#[cfg(not(target_arch = "wasm32"))]
mod data_cmds;
#[cfg(not(target_arch = "wasm32"))]
mod evaluate_cmds;
#[cfg(not(target_arch = "wasm32"))]
mod explain_cmds;
#[cfg(not(target_arch = "wasm32"))]
mod heap;
#[cfg(not(target_arch = "wasm32"))]
mod model_cmds;
#[cfg(not(target_arch = "wasm32"))]
mod probe_cmds;

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    use clap::Parser;
    heap::keep_freed_memory();
    let cli = Cli::parse();
    match cli.command.run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("convscope: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[derive(clap::Parser)]
#[command(
    name = "convscope",
    version,
    about = "Look inside convolutional networks: what they are made of, what they see, and why they decide"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[cfg(not(target_arch = "wasm32"))]
#[derive(clap::Subcommand)]
enum Command {
    #[command(flatten)]
    Model(model_cmds::ModelCommand),
    #[command(flatten)]
    Probe(probe_cmds::ProbeCommand),
    #[command(flatten)]
    Explain(explain_cmds::ExplainCommand),
    #[command(flatten)]
    Evaluate(evaluate_cmds::EvaluateCommand),
    #[command(flatten)]
    Data(data_cmds::DataCommand),
}

#[cfg(not(target_arch = "wasm32"))]
impl Command {
    fn run(self) -> convscope::Result<()> {
        match self {
            Command::Model(c) => c.run(),
            Command::Probe(c) => c.run(),
            Command::Explain(c) => c.run(),
            Command::Evaluate(c) => c.run(),
            Command::Data(c) => c.run(),
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #[test]
    fn the_command_line_made_from_the_catalogue_is_consistent() {
        // clap's own checks (no two arguments with one name, ...), which run on use only.
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
