//! The tool runs of one build, in a fresh build folder: Verilator on the shim and the sources,
//! the port list checked against the header it generated, `make` on the Verilated C++ (with
//! the runtime's objects from [`RuntimeObjects`] when there are some), and the library
//! collected. Every command's output goes to the folder's `build.log`.

use std::fs::{self, OpenOptions};
use std::path::Path;
use std::process::{Command, Stdio};

use super::recipe::{make_command, Recipe};
use super::runtime::RuntimeObjects;
use super::spec::{BuildOptions, BuildSpec, Dir};
use super::{io_err, VerilatorError, LIB_NAME, LOG_NAME};

/// The last `n` lines of `log`.
fn log_tail(log: &Path, n: usize) -> String {
    let text = fs::read(log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Run `cmd` with stdout and stderr appended to `log`.
fn run_logged(
    mut cmd: Command,
    log: &Path,
    stage: &'static str,
    top: &str,
    tool: &str,
    package: &'static str,
) -> Result<(), VerilatorError> {
    use std::io::Write;
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(io_err(log))?;
    let _ = writeln!(f, "$ {cmd:?}");
    let f2 = f.try_clone().map_err(io_err(log))?;
    cmd.stdin(Stdio::null()).stdout(f).stderr(f2);
    let status = run_interruptible(cmd).map_err(|source| VerilatorError::ToolNotFound {
        tool: tool.to_string(),
        package,
        source,
    })?;
    let Some(status) = status else {
        return Err(VerilatorError::Interrupted);
    };
    if status.success() {
        Ok(())
    } else {
        Err(VerilatorError::BuildFailed {
            top: top.to_string(),
            stage,
            status: status.to_string(),
            log: log.to_path_buf(),
            tail: log_tail(log, 20),
        })
    }
}

/// Run `cmd` in a process group of its own until it ends, or until a stop is asked for
/// ([`crate::progress::interrupted`]: then the group, `make` and its compilers, is killed and
/// `None` returned). Its own group, so the stop is ours to make however the signal came.
fn run_interruptible(mut cmd: Command) -> std::io::Result<Option<std::process::ExitStatus>> {
    use std::os::unix::process::CommandExt;
    if crate::progress::interrupted() {
        return Ok(None);
    }
    let mut child = cmd.process_group(0).spawn()?;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if crate::progress::interrupted() {
            // SAFETY: kill(2) on the group this function made; no memory is involved.
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `(dir, name, msb, lsb)` for each `VL_IN*/VL_OUT*/VL_INOUT*` declaration of a Verilated header.
fn parse_header_ports(text: &str) -> Vec<(&'static str, String, u32)> {
    let mut v = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        let Some(rest) = l.strip_prefix("VL_") else {
            continue;
        };
        let Some((mac, args)) = rest.split_once("(&") else {
            continue;
        };
        let dir = match mac {
            "IN8" | "IN16" | "IN" | "IN64" | "INW" => "input",
            "OUT8" | "OUT16" | "OUT" | "OUT64" | "OUTW" => "output",
            "INOUT8" | "INOUT16" | "INOUT" | "INOUT64" | "INOUTW" => "inout",
            _ => continue,
        };
        let args = args.trim_end_matches(';').trim_end_matches(')');
        let f: Vec<&str> = args.split(',').map(str::trim).collect();
        if f.len() < 3 {
            continue;
        }
        let (Ok(msb), Ok(lsb)) = (f[1].parse::<i64>(), f[2].parse::<i64>()) else {
            continue;
        };
        v.push((dir, f[0].to_string(), (msb - lsb).unsigned_abs() as u32 + 1));
    }
    v
}

/// `spec`'s port list against the Verilated `header`: every listed port there with its
/// direction and width, every input of the design listed.
fn check_ports(spec: &BuildSpec, header: &Path) -> Result<(), VerilatorError> {
    let text = fs::read_to_string(header).map_err(io_err(header))?;
    let actual = parse_header_ports(&text);
    let mut details = Vec::new();
    if actual.is_empty() {
        details.push("no ports found in the generated header".to_string());
    }
    for p in spec.ports {
        let want = match p.dir {
            Dir::In => "input",
            Dir::Out => "output",
        };
        match actual.iter().find(|(_, n, _)| *n == p.name) {
            None => details.push(format!("`{}` is not a port of the top module", p.name)),
            Some((d, _, w)) if *d != want || *w != p.width => details.push(format!(
                "`{}` is listed as {want} [{}] but is {d} [{w}]",
                p.name, p.width
            )),
            Some(_) => {}
        }
    }
    for (d, n, w) in &actual {
        if *d != "output" && !spec.ports.iter().any(|p| p.name == *n) {
            details.push(format!("{d} `{n}` [{w}] is missing from the port list"));
        }
    }
    if details.is_empty() {
        Ok(())
    } else {
        Err(VerilatorError::PortMismatch {
            top: spec.top.to_string(),
            details,
            header: header.to_path_buf(),
        })
    }
}

/// Build `spec` by `recipe` in the empty folder `tmp`: the shim, Verilator, the port check,
/// `make`, and `libsim.so` in `tmp` (the intermediate `obj/` removed). `root` is the cache root
/// (for the shared runtime objects).
pub(super) fn build_in(
    spec: &BuildSpec,
    opts: &mut BuildOptions,
    root: &Path,
    recipe: &Recipe,
    tmp: &Path,
) -> Result<(), VerilatorError> {
    let log = tmp.join(LOG_NAME);
    let obj = tmp.join("obj");
    verilate(spec, opts, recipe, tmp, &log)?;
    compile(spec, opts, root, recipe, &obj, &log)?;
    let built = obj.join(LIB_NAME);
    let dest = tmp.join(LIB_NAME);
    fs::rename(&built, &dest).map_err(|_| VerilatorError::BuildFailed {
        top: spec.top.to_string(),
        stage: "collecting the library",
        status: format!("{} was not produced", built.display()),
        log: log.clone(),
        tail: log_tail(&log, 20),
    })?;
    fs::remove_dir_all(&obj).map_err(io_err(&obj))?;
    Ok(())
}

/// Write the shim into `tmp`, run Verilator into `tmp/obj`, check the ports against the header
/// it generated (kept beside the library, for reference).
fn verilate(
    spec: &BuildSpec,
    opts: &mut BuildOptions,
    recipe: &Recipe,
    tmp: &Path,
    log: &Path,
) -> Result<(), VerilatorError> {
    let shim_path = tmp.join("shim.cpp");
    fs::write(&shim_path, &recipe.shim).map_err(io_err(&shim_path))?;
    let obj = tmp.join("obj");
    let model = format!("V{}", spec.top);
    opts.say(&format!(
        "verilator: verilating `{}` in {}",
        spec.top,
        tmp.display()
    ));
    let mut cmd = Command::new(&recipe.verilator);
    cmd.current_dir(tmp)
        .args(&recipe.verilator_args)
        .arg("-Mdir")
        .arg(&obj)
        .arg(&shim_path)
        .args(&recipe.sources);
    recipe.kit.set_env(&mut cmd);
    run_logged(
        cmd,
        log,
        "verilation",
        spec.top,
        &recipe.verilator.display().to_string(),
        "verilator",
    )?;
    let header = obj.join(format!("{model}.h"));
    check_ports(spec, &header)?;
    let _ = fs::copy(&header, tmp.join(format!("{model}.h")));
    Ok(())
}

/// `make` in `obj`, with the runtime's objects restored from the cache when they are there (and
/// stored there when they were compiled).
fn compile(
    spec: &BuildSpec,
    opts: &mut BuildOptions,
    root: &Path,
    recipe: &Recipe,
    obj: &Path,
    log: &Path,
) -> Result<(), VerilatorError> {
    let model = format!("V{}", spec.top);
    let jobs = opts
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let runtime = RuntimeObjects::locate(root, obj, &model, &recipe.tool_versions(), &recipe.kit);
    let reused = runtime.as_ref().is_some_and(|r| r.restore(obj, log));
    opts.say(&format!(
        "verilator: compiling `{}` (make -j{jobs}{})",
        spec.top,
        if reused {
            ", runtime objects cached"
        } else {
            ""
        }
    ));
    let cmd = make_command(obj, &model, jobs, &recipe.kit);
    run_logged(cmd, log, "C++ compilation", spec.top, "make", "make")?;
    if let (Some(r), false) = (&runtime, reused) {
        r.store(obj);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parse() {
        let h = "  VL_IN8(&clk,0,0);\n    VL_OUTW(&s100,99,0,4);\n VL_IN64(&a40,39,0);\n VL_IN16(&x,16,1);\n";
        let p = parse_header_ports(h);
        assert_eq!(
            p,
            vec![
                ("input", "clk".to_string(), 1),
                ("output", "s100".to_string(), 100),
                ("input", "a40".to_string(), 40),
                ("input", "x".to_string(), 16),
            ]
        );
    }
}
