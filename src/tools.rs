//! Running the external EDA tools (Verilator, Icarus Verilog, Yosys) from tests and flows:
//! finding a tool, the `CI` rule for a missing one, fresh scratch directories and running a
//! command with captured output and a time limit.
//!
//! The `CI` rule: when a tool is missing, [`require_tool`] panics if the environment variable
//! `CI` is set (a CI machine must have every tool) and otherwise prints
//! `skipped: TOOL not found` and returns `false`, so the caller returns early.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The argument that makes `tool` print its version and exit with status 0.
fn version_arg(tool: &str) -> &'static str {
    match tool {
        "iverilog" | "yosys" | "vvp" => "-V",
        _ => "--version",
    }
}

/// The first line of `tool`'s version output, or `None` when it cannot be run.
pub fn tool_version(tool: &str) -> Option<String> {
    let out = Command::new(tool)
        .arg(version_arg(tool))
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Some(text.lines().next().unwrap_or("").trim().to_string())
}

/// Whether `tool` is available; see the module documentation for the `CI` rule. `test` names
/// the caller in the messages.
pub fn require_tool(tool: &str, test: &str) -> bool {
    if tool_version(tool).is_some() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {tool} not found on PATH, and CI is set: the tool is required");
    }
    eprintln!("{test}: skipped: {tool} not found");
    false
}

/// A new, empty directory `base/<tag>-<pid>-<n>-<nanos>`, unique across threads and processes.
pub fn fresh_dir(base: &Path, tag: &str) -> std::io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = base.join(format!("{tag}-{}-{n}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The files named in a generated directory's file list (`files.f`, `generate::FILE_LIST`), in
/// order, as paths.
pub fn listed_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let list = std::fs::read_to_string(dir.join("files.f"))?;
    Ok(list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| dir.join(l))
        .collect())
}

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
