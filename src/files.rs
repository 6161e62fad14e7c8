//! Writing files so that no run destroys what it should not and none leaves a half-written file:
//! an output is checked before any work ([`OutputPath::check`]: its folder exists, it is not a
//! folder, a device is written through and never replaced, a symbolic link is followed), and a
//! regular file is written to a temporary file in the same folder, synced, then renamed into
//! place ([`write_atomically`]). A leaf.

use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// Why an output path cannot be written; every message names the path.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{flag} {}: is a directory; give a file name", path.display())]
    Directory { flag: String, path: PathBuf },
    #[error("{flag} {}: the folder {} does not exist", path.display(), parent.display())]
    NoParent {
        flag: String,
        path: PathBuf,
        parent: PathBuf,
    },
    #[error("{flag} {}: cannot write in the folder {}", path.display(), parent.display())]
    NotWritable {
        flag: String,
        path: PathBuf,
        parent: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{flag} {}: is a {kind}, which this tool does not write to", path.display())]
    Unsupported {
        flag: String,
        path: PathBuf,
        kind: &'static str,
    },
    #[error("{flag} {}: cannot inspect it", path.display())]
    Inspect {
        flag: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A file operation that failed, with what was being done and the path it was done to.
#[derive(Debug, thiserror::Error)]
#[error("{doing} {}: {source}", path.display())]
pub struct FileError {
    /// What was being done: "writing", "creating the folder", "renaming ... to".
    pub doing: String,
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl FileError {
    /// A `map_err` adapter: `fs::write(p, d).map_err(FileError::on("writing", p))`.
    pub fn on(doing: &str, path: &Path) -> impl FnOnce(std::io::Error) -> FileError {
        let (doing, path) = (doing.to_string(), path.to_path_buf());
        move |source| FileError {
            doing,
            path,
            source,
        }
    }
}

/// An output path, checked: where the bytes will go and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputPath {
    /// A regular file (existing or not), written through a temporary file and a rename. A
    /// symbolic link given on the command line is resolved to its target first, so the link
    /// stays a link.
    File(PathBuf),
    /// A character device or a FIFO (`/dev/null`, `/dev/stdout`, a named pipe): opened and
    /// written through, never replaced.
    Stream(PathBuf),
}

impl OutputPath {
    /// Check `path` (given as `flag` on the command line) before any work: it must not be a
    /// folder, its folder must exist and be writable; a device or FIFO is written through, a
    /// block device or socket is refused, a symbolic link is followed.
    pub fn check(path: &Path, flag: &str) -> Result<OutputPath, OutputError> {
        let flag = flag.to_string();
        let inspect = |source| OutputError::Inspect {
            flag: flag.clone(),
            path: path.to_path_buf(),
            source,
        };
        // What opening the path reaches (the kernel follows every link, including the
        // /proc/self/fd/N links behind /dev/stdout, whose text is no path): a device or FIFO
        // is written through by its own name.
        if let Ok(m) = std::fs::metadata(path) {
            let t = m.file_type();
            if t.is_char_device() || t.is_fifo() {
                return Ok(OutputPath::Stream(path.to_path_buf()));
            }
        }
        let target = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => resolve_link(path).map_err(inspect)?,
            Ok(_) => path.to_path_buf(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => path.to_path_buf(),
            Err(e) => return Err(inspect(e)),
        };
        match std::fs::metadata(&target) {
            Ok(m) => {
                let t = m.file_type();
                let unsupported = |kind| OutputError::Unsupported {
                    flag: flag.clone(),
                    path: path.to_path_buf(),
                    kind,
                };
                if t.is_dir() {
                    Err(OutputError::Directory {
                        flag,
                        path: path.to_path_buf(),
                    })
                } else if t.is_char_device() || t.is_fifo() {
                    Ok(OutputPath::Stream(target))
                } else if t.is_block_device() {
                    Err(unsupported("block device"))
                } else if t.is_socket() {
                    Err(unsupported("socket"))
                } else {
                    check_folder(&target, path, &flag)?;
                    Ok(OutputPath::File(target))
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                check_folder(&target, path, &flag)?;
                Ok(OutputPath::File(target))
            }
            Err(e) => Err(inspect(e)),
        }
    }

    /// Where the bytes go.
    pub fn path(&self) -> &Path {
        match self {
            OutputPath::File(p) | OutputPath::Stream(p) => p,
        }
    }

    /// Write `data`: a regular file atomically, a device or FIFO straight through.
    pub fn write(&self, data: &[u8]) -> Result<(), FileError> {
        let written = match self {
            OutputPath::File(p) => write_atomically(p, data),
            OutputPath::Stream(p) => std::fs::OpenOptions::new()
                .write(true)
                .open(p)
                .and_then(|mut f| f.write_all(data).and_then(|()| f.flush())),
        };
        written.map_err(FileError::on("writing", self.path()))
    }
}

/// The file a symbolic link points to (through any chain of links), even if it does not exist
/// yet.
fn resolve_link(path: &Path) -> std::io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// The folder of `target` must exist and take a new file (checked by creating and removing an
/// empty temporary file there, so permissions and read-only mounts are both seen).
fn check_folder(target: &Path, given: &Path, flag: &str) -> Result<(), OutputError> {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(OutputError::NoParent {
            flag: flag.to_string(),
            path: given.to_path_buf(),
            parent,
        });
    }
    let probe = parent.join(format!(".systolic-probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(source) => Err(OutputError::NotWritable {
            flag: flag.to_string(),
            path: given.to_path_buf(),
            parent,
            source,
        }),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("systolic-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn devices_are_written_through_and_kept() {
        let null = Path::new("/dev/null");
        let out = OutputPath::check(null, "--out").unwrap();
        assert_eq!(out, OutputPath::Stream(null.to_path_buf()));
        out.write(b"abc").unwrap();
        let m = std::fs::metadata(null).unwrap();
        assert!(
            m.file_type().is_char_device(),
            "/dev/null is still a device"
        );
    }

    /// /dev/stdout on a pipe: /proc/self/fd/N of an anonymous pipe reads as `pipe:[INODE]`,
    /// not a path; the output is still the pipe (it was refused as an unwritable folder
    /// /proc/self/fd).
    #[test]
    fn a_pipe_behind_a_proc_fd_link_is_written_through() {
        use std::io::Read;
        use std::os::fd::AsRawFd;
        let (mut reader, writer) = std::io::pipe().unwrap();
        let link = PathBuf::from(format!("/proc/self/fd/{}", writer.as_raw_fd()));
        assert!(std::fs::read_link(&link)
            .unwrap()
            .to_string_lossy()
            .starts_with("pipe:"));
        let out = OutputPath::check(&link, "--out").expect("a pipe is an output");
        assert_eq!(out, OutputPath::Stream(link.clone()));
        out.write(b"through").unwrap();
        drop(writer);
        let mut got = vec![];
        reader.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"through");
    }

    #[test]
    fn fifos_are_written_through() {
        let d = scratch("fifo");
        let fifo = d.join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let out = OutputPath::check(&fifo, "--out").unwrap();
        assert!(matches!(out, OutputPath::Stream(_)));
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        out.write(b"through").unwrap();
        assert_eq!(reader.join().unwrap(), b"through");
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_link_stays_a_link_and_its_target_is_written() {
        let d = scratch("link");
        let target = d.join("real.npy");
        std::fs::write(&target, b"old").unwrap();
        let link = d.join("link.npy");
        std::os::unix::fs::symlink("real.npy", &link).unwrap();
        let out = OutputPath::check(&link, "--out").unwrap();
        assert_eq!(out, OutputPath::File(target.clone()));
        out.write(b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn folders_and_missing_parents_are_refused_with_the_path() {
        let d = scratch("dir");
        let e = OutputPath::check(&d, "--out").unwrap_err();
        assert!(matches!(e, OutputError::Directory { .. }), "{e}");
        assert!(e.to_string().contains(d.to_str().unwrap()), "{e}");
        let missing = d.join("no/such/folder/c.npy");
        let e = OutputPath::check(&missing, "--out").unwrap_err();
        assert!(matches!(e, OutputError::NoParent { .. }), "{e}");
        assert!(e.to_string().starts_with("--out "), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
