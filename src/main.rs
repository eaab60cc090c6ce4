//! `har-monitor`: the GUI with no arguments, or one of the headless commands of docs/FORMATS.md §4.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // Help and --version are not errors; everything else is a bad argument (exit 2).
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", cli::error_text(&err));
            ExitCode::from(cli::exit_code(&err))
        }
    }
}
