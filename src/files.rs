//! Writing files so that an interrupted or failed run never leaves a half-written one: a
//! temporary file in the same directory, synced, then renamed into place. A leaf.

use std::io::Write;
use std::path::Path;

/// Write `data` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    // Unique per process and per call: threads of one process may write the same file.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp-{}-{n}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
