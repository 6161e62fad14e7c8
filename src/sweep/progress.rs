//! What a running sweep tells the person waiting for it: the counts of its points, each point
//! that finished, and messages. The backends report through [`Progress`]; the command line
//! draws it (a bar on a terminal, else a line per finished point, on standard error). A leaf.

/// Counts of the sweep's points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub done: usize,
    pub failed: usize,
    pub running: usize,
    /// Slurm: tasks waiting in the queue.
    pub queued: usize,
}

/// A receiver of a sweep's progress.
pub trait Progress {
    /// New counts.
    fn update(&mut self, counts: Counts);
    /// A point finished: its label, its status (`done`, `failed`) and what it measured or why
    /// it failed (may be empty).
    fn finished(&mut self, label: &str, status: &str, detail: &str);
    /// A message of one line (a warning, a submitted Slurm job, an interrupt).
    fn say(&mut self, line: &str);
}
