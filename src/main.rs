//! `systolic` command line: one module per subcommand under `cli/`, one error reporter here.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) if systolic::progress::interrupted() => report_interrupted(&err),
        Err(err) => {
            let (code, hint) = cli::classify(&err);
            eprintln!("error: {}", message(&err));
            if let Some(hint) = hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(code)
        }
    }
}

/// The error and its causes on one line, each cause once: a message that already quotes its
/// cause (`writing c.npy: No space left on device`) is not followed by it again.
fn message(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// After Ctrl-C the work stopped, maybe through an error of a tool that died of the same
/// signal: one line saying so, status 130 (as a shell reports SIGINT).
fn report_interrupted(err: &anyhow::Error) -> ExitCode {
    let text = message(err);
    let first = text.lines().next().unwrap_or("");
    if first.starts_with("interrupted") {
        eprintln!("{first}");
    } else {
        eprintln!("interrupted: {first}");
    }
    ExitCode::from(130)
}
