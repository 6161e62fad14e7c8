//! A sweep's progress on standard error: a bar (done, failed and running counts, rate, ETA)
//! when standard error is a terminal, else one line per finished point. Standard output is
//! never used here.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Counts shown with the bar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub done: usize,
    pub failed: usize,
    pub running: usize,
    /// Slurm: tasks waiting in the queue.
    pub queued: usize,
}

pub struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    finished: usize,
}

impl Progress {
    /// Progress over `total` points: a bar if standard error is a terminal.
    pub fn new(total: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::with_draw_target(
                Some(total as u64),
                ProgressDrawTarget::stderr_with_hz(4),
            );
            b.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:20}] {pos}/{len} {msg}, {per_sec}, ETA {eta}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            b.enable_steady_tick(Duration::from_millis(500));
            b
        });
        Progress {
            bar,
            total,
            finished: 0,
        }
    }

    /// New counts.
    pub fn update(&mut self, c: Counts) {
        if let Some(b) = &self.bar {
            b.set_position((c.done + c.failed) as u64);
            let queued = if c.queued > 0 {
                format!(", {} queued", c.queued)
            } else {
                String::new()
            };
            b.set_message(format!(
                "done {}, failed {}, running {}{queued}",
                c.done, c.failed, c.running
            ));
        }
    }

    /// A point finished: a line when there is no bar.
    pub fn finished(&mut self, label: &str, status: &str, detail: &str) {
        self.finished += 1;
        if self.bar.is_none() {
            eprintln!(
                "sweep: [{}/{}] {status} {label}{}{detail}",
                self.finished,
                self.total,
                if detail.is_empty() { "" } else { ": " }
            );
        }
    }

    /// A message, above the bar when there is one.
    pub fn say(&self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
