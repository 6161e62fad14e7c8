//! Drawing the library's progress reports (`systolic::progress::Progress`) for a person: on a
//! terminal a spinner with the elapsed time for work of unknown length, a bar with rate and ETA
//! where the total is known (the `indicatif` crate); one line per stage when stderr is not a
//! terminal; nothing at all with `--json`. And Ctrl-C: the first one asks the running work to
//! stop at its next check (it then removes what it had half written); a second one exits at once.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use systolic::progress::Progress;

/// How progress is shown.
pub enum Reporter {
    /// A terminal: the current stage's bar or spinner.
    Bar(Option<ProgressBar>),
    /// Not a terminal: one line per stage and per note, with the stage's time at its end.
    Lines(Option<(String, Instant)>),
    /// `--json`: nothing.
    Quiet,
}

impl Reporter {
    /// The reporter for this run: quiet with `json`, else by whether stderr is a terminal.
    pub fn new(json: bool) -> Reporter {
        if json {
            Reporter::Quiet
        } else if std::io::stderr().is_terminal() {
            Reporter::Bar(None)
        } else {
            Reporter::Lines(None)
        }
    }
}

fn bar(name: &str, total: Option<u64>) -> ProgressBar {
    let pb = match total {
        Some(t) => {
            let pb = ProgressBar::new(t);
            pb.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {human_pos}/{human_len} {per_sec} ETA {eta} ({elapsed})",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            pb
        }
        None => {
            let pb = ProgressBar::new_spinner();
            pb.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .expect("a valid template"),
            );
            pb.enable_steady_tick(Duration::from_millis(200));
            pb
        }
    };
    pb.set_message(name.to_string());
    pb
}

impl Progress for Reporter {
    fn stage(&mut self, name: &str, total: Option<u64>) {
        self.end();
        match self {
            Reporter::Bar(b) => *b = Some(bar(name, total)),
            Reporter::Lines(current) => {
                eprintln!("{name}...");
                *current = Some((name.to_string(), Instant::now()));
            }
            Reporter::Quiet => {}
        }
    }

    fn set(&mut self, done: u64) {
        if let Reporter::Bar(Some(b)) = self {
            b.set_position(done);
        }
    }

    fn detail(&mut self, text: &str) {
        if let Reporter::Bar(Some(b)) = self {
            let stage = b.message();
            let stage = stage.split(": ").next().unwrap_or_default().to_string();
            b.set_message(format!("{stage}: {text}"));
        }
    }

    fn note(&mut self, text: &str) {
        match self {
            Reporter::Bar(Some(b)) => b.println(format!("note: {text}")),
            Reporter::Quiet => {}
            _ => eprintln!("note: {text}"),
        }
    }

    fn end(&mut self) {
        match self {
            Reporter::Bar(b) => {
                if let Some(b) = b.take() {
                    b.finish_and_clear();
                }
            }
            Reporter::Lines(current) => {
                if let Some((name, start)) = current.take() {
                    eprintln!("{name}: done in {:.1} s", start.elapsed().as_secs_f64());
                }
            }
            Reporter::Quiet => {}
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if let Reporter::Bar(Some(b)) = self {
            b.finish_and_clear();
        }
    }
}

/// Install the Ctrl-C handler: the first Ctrl-C sets the library's stop flag (long loops end
/// with an "interrupted" error and clean up), a second one exits with status 130 at once.
pub fn catch_interrupt() {
    let _ = ctrlc::set_handler(|| {
        if systolic::progress::interrupted() {
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: stopping (Ctrl-C again to quit at once)");
        systolic::progress::interrupt();
    });
}
