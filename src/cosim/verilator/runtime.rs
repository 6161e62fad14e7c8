//! The Verilated runtime's object files, shared between the builds of a cache root.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::kit::Kit;
use super::recipe::{hash_item, make_command, RECIPE_VERSION};
use super::MARKER;

/// The object files of the Verilated runtime library (`verilated.o`, `verilated_threads.o`,
/// `verilated_vcd_c.o`, ...) do not depend on the design, only on how they are compiled, yet
/// `make` rebuilds them for every design: about 6.5 s of CPU (10 s with tracing) on this kind of
/// machine, most of a small design's build. They are shared through
/// `cache_root/runtime-<key>/`, where `<key>` hashes the tool versions and the exact compile
/// commands `make -n` prints for them. Copied into a fresh `obj/` after verilation they are newer
/// than their prerequisites, so `make` keeps them. Any failure here only means no reuse.
pub(super) struct RuntimeObjects {
    dir: PathBuf,
    files: Vec<String>,
}

impl RuntimeObjects {
    /// The runtime objects of the model `model` verilated into `obj`, and their folder under
    /// the cache `root` (which need not exist yet); `None` when they cannot be told apart.
    pub(super) fn locate(
        root: &Path,
        obj: &Path,
        model: &str,
        tool_versions: &str,
        kit: &Kit,
    ) -> Option<Self> {
        let classes = fs::read_to_string(obj.join(format!("{model}_classes.mk"))).ok()?;
        let mut files = Vec::new();
        let mut in_list = false;
        for line in classes.lines() {
            let t = line.trim();
            if t.starts_with("VM_GLOBAL_FAST +=") || t.starts_with("VM_GLOBAL_SLOW +=") {
                in_list = true;
                continue;
            }
            if in_list {
                let name = t.trim_end_matches('\\').trim();
                if !name.is_empty() {
                    files.push(format!("{name}.o"));
                }
                in_list = t.ends_with('\\');
            }
        }
        if files.is_empty() {
            return None;
        }
        let out = make_command(obj, model, 1, kit)
            .arg("-n")
            .args(&files)
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let mut h = Sha256::new();
        hash_item(&mut h, "recipe", RECIPE_VERSION.as_bytes());
        hash_item(&mut h, "tools", tool_versions.as_bytes());
        for f in &files {
            hash_item(&mut h, "object", f.as_bytes());
        }
        hash_item(&mut h, "commands", &out.stdout);
        let key: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Some(RuntimeObjects {
            dir: root.join(format!("runtime-{key}")),
            files,
        })
    }

    /// Copy cached objects into `obj`; false if there are none (or copying failed).
    pub(super) fn restore(&self, obj: &Path, log: &Path) -> bool {
        if !self.dir.join(MARKER).is_file() {
            return false;
        }
        for f in &self.files {
            if fs::copy(self.dir.join(f), obj.join(f)).is_err() {
                for f in &self.files {
                    let _ = fs::remove_file(obj.join(f));
                }
                return false;
            }
        }
        if let Ok(mut l) = OpenOptions::new().append(true).open(log) {
            use std::io::Write;
            let _ = writeln!(
                l,
                "# runtime objects {:?} reused from {}",
                self.files,
                self.dir.display()
            );
        }
        true
    }

    /// Publish freshly built objects (atomically; losing a race to another builder is fine).
    pub(super) fn store(&self, obj: &Path) {
        if self.dir.join(MARKER).is_file() {
            return;
        }
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let tmp = self.dir.with_extension(format!(
            "tmp-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let ok = fs::create_dir_all(&tmp).is_ok()
            && self
                .files
                .iter()
                .all(|f| fs::copy(obj.join(f), tmp.join(f)).is_ok())
            && fs::write(tmp.join(MARKER), format!("{:?}\n", self.files)).is_ok()
            && fs::rename(&tmp, &self.dir).is_ok();
        if !ok {
            let _ = fs::remove_dir_all(&tmp);
        }
    }
}
