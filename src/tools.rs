//! Running the external EDA tools (Verilator, Icarus Verilog, Yosys, nextpnr, ...) from the
//! flows and the tests: a command with captured output, a time limit, and an optional watcher
//! that stops it.
//!
//! The test-side helpers (finding a tool under the `CI` rule, scratch directories, a generated
//! file list) are in `tests/common`.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What a [`run`] produced.
#[derive(Debug)]
pub struct ToolRun {
    /// The command line, for messages.
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The time limit was reached and the command's process group was killed.
    pub timed_out: bool,
    /// A watcher stopped the command (its process group was killed), for this reason.
    pub stopped: Option<String>,
}

impl ToolRun {
    pub fn success(&self) -> bool {
        self.status.success() && !self.timed_out && self.stopped.is_none()
    }

    /// Standard output and standard error, for failure messages.
    pub fn output(&self) -> String {
        format!(
            "$ {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.stdout, self.stderr
        )
    }
}

/// Run `cmd` with standard input closed, capturing its output. After `limit` the command's
/// process group (the command and any process it started, e.g. Yosys' ABC) is killed and the
/// run is marked `timed_out`.
pub fn run(cmd: &mut Command, limit: Duration) -> std::io::Result<ToolRun> {
    run_watched(cmd, limit, &mut || None)
}

/// [`run`], asking `watch` every two seconds whether to stop the command: `Some(reason)` kills
/// its process group and marks the run `stopped` (a tool that stopped making progress).
pub fn run_watched(
    cmd: &mut Command,
    limit: Duration,
    watch: &mut dyn FnMut() -> Option<String>,
) -> std::io::Result<ToolRun> {
    use std::os::unix::process::CommandExt;
    let command = format!("{cmd:?}");
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let mut timed_out = false;
    let mut stopped = None;
    let mut watched = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if watched.elapsed() > Duration::from_secs(2) {
            watched = Instant::now();
            stopped = watch();
        }
        if start.elapsed() > limit || stopped.is_some() {
            timed_out = stopped.is_none();
            // The group id is the child's pid (process_group(0)): only what we started.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(ToolRun {
        command,
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        elapsed: start.elapsed(),
        timed_out,
        stopped,
    })
}
