//! Ctrl-C (docs/failure.md): a real SIGINT sent to `systolic cosim`'s process group, as a
//! terminal sends it, stops the run within seconds with status 130, leaves no waveform (final or
//! `.partial`) and no broken Verilator cache entry; the next run works. And `generate` asked to
//! stop leaves its output folder as it was.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// Most time from SIGINT to exit: a stream chunk (1,000 instructions with tracing on a small
/// array) takes well under a second here.
const PROMPT: Duration = Duration::from_secs(10);

fn cosim(cache: &Path, waves: &Path, instructions: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_systolic"));
    cmd.args([
        "cosim",
        "--preset",
        "int8-4x4",
        "--instructions",
        instructions,
    ])
    .arg("--waves")
    .arg(waves)
    .env("SYSTOLIC_CACHE_DIR", cache)
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// Start `cmd` in its own process group (so the signal reaches its tools too, as from a
/// terminal) with stderr read line by line into a channel.
fn spawn(mut cmd: Command) -> (Child, Receiver<String>) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("spawn systolic");
    let err = child.stderr.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Wait for a stderr line starting with `prefix`; every line seen so far.
fn wait_for(rx: &Receiver<String>, prefix: &str, limit: Duration) -> Vec<String> {
    let end = Instant::now() + limit;
    let mut seen = vec![];
    while Instant::now() < end {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            let hit = line.starts_with(prefix);
            seen.push(line);
            if hit {
                return seen;
            }
        }
    }
    panic!("no stderr line `{prefix}...` within {limit:?}: {seen:?}");
}

/// SIGINT to the child's process group; its exit status and how long it took to come.
fn interrupt(child: &mut Child, rx: &Receiver<String>) -> (Option<i32>, Duration) {
    let pgid = child.id() as libc::pid_t;
    assert_eq!(unsafe { libc::kill(-pgid, libc::SIGINT) }, 0);
    let start = Instant::now();
    while start.elapsed() < PROMPT * 3 {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let lines: Vec<String> = rx.try_iter().collect();
    panic!(
        "still running {:?} after SIGINT: {lines:?}",
        start.elapsed()
    );
}

/// Entries of `dir` (names).
fn names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// No attempt left behind in the cache: no `.tmp-*` build folder, no `.failed` log of a build
/// that only died of the signal.
fn assert_cache_clean(cache: &Path) {
    let bad: Vec<String> = names(cache)
        .into_iter()
        .filter(|n| n.contains(".tmp-") || n.ends_with(".failed"))
        .collect();
    assert!(bad.is_empty(), "left in the cache: {bad:?}");
}

/// The run after an interrupted one works and writes its waveform.
fn assert_next_run_works(cache: &Path, waves: &Path) -> Output {
    let o = cosim(cache, waves, "20").output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(waves.is_file(), "no waveform after a full run: {err}");
    o
}

fn setup(tag: &str) -> Option<(PathBuf, PathBuf, PathBuf)> {
    if !common::require_tool("verilator", tag) {
        return None;
    }
    let dir = common::scratch_dir(tag);
    let cache = dir.join("cache");
    let waves_dir = dir.join("waves");
    std::fs::create_dir_all(&waves_dir).unwrap();
    Some((dir, cache, waves_dir.join("w.vcd")))
}

#[test]
fn sigint_during_the_simulation_leaves_no_waveform() {
    let Some((_dir, cache, waves)) = setup("sigint-sim") else {
        return;
    };
    let (mut child, rx) = spawn(cosim(&cache, &waves, "100000000"));
    wait_for(&rx, "co-simulation", Duration::from_secs(600));
    // Let it trace a while: the .partial file exists and grows.
    std::thread::sleep(Duration::from_millis(1500));
    let partial = waves.with_extension("vcd.partial");
    assert!(partial.is_file(), "no {} while running", partial.display());
    let (code, took) = interrupt(&mut child, &rx);
    let rest: Vec<String> = rx.try_iter().collect();
    assert_eq!(code, Some(130), "{rest:?}");
    assert!(took < PROMPT, "took {took:?} to stop");
    let left = names(waves.parent().unwrap());
    assert!(left.is_empty(), "left after Ctrl-C: {left:?}");
    assert_cache_clean(&cache);
    let o = assert_next_run_works(&cache, &waves);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Verilator build cached"), "not reused: {out}");
}

#[test]
fn sigint_during_the_verilator_build_leaves_the_cache_usable() {
    let Some((_dir, cache, waves)) = setup("sigint-build") else {
        return;
    };
    let (mut child, rx) = spawn(cosim(&cache, &waves, "100000000"));
    wait_for(&rx, "Verilator build", Duration::from_secs(60));
    let (code, took) = interrupt(&mut child, &rx);
    let rest: Vec<String> = rx.try_iter().collect();
    assert_eq!(code, Some(130), "{rest:?}");
    assert!(took < PROMPT, "took {took:?} to stop");
    assert!(
        rest.iter().any(|l| l.starts_with("interrupted")),
        "no `interrupted` line: {rest:?}"
    );
    assert!(names(waves.parent().unwrap()).is_empty());
    assert_cache_clean(&cache);
    assert_next_run_works(&cache, &waves);
}

/// A stop asked for while `generate` writes (the flag Ctrl-C sets): an error naming the
/// folder, which keeps the earlier generation's files byte for byte, and no staging folder.
#[test]
fn generate_asked_to_stop_changes_nothing() {
    let dir = common::scratch_dir("sigint-generate");
    let out = dir.join("design");
    let params = systolic::rtl::board::BoardParams::generic();
    let level = systolic::rtl::design::Level::Core;
    let first = systolic::generate::design(&common::preset("int8-4x4"), level, &params);
    systolic::generate::write_design(&first, &out).unwrap();
    let before: Vec<(String, Vec<u8>)> = {
        let mut v: Vec<_> = names(&out)
            .into_iter()
            .map(|n| (n.clone(), std::fs::read(out.join(&n)).unwrap()))
            .collect();
        v.sort();
        v
    };
    systolic::progress::interrupt();
    let second = systolic::generate::design(&common::preset("int8-3x5"), level, &params);
    let err = systolic::generate::write_design(&second, &out).unwrap_err();
    assert!(err.to_string().contains("interrupted"), "{err}");
    assert!(err.to_string().contains("design"), "{err}");
    let mut after: Vec<_> = names(&out)
        .into_iter()
        .map(|n| (n.clone(), std::fs::read(out.join(&n)).unwrap()))
        .collect();
    after.sort();
    assert!(after == before, "the folder changed");
    let strays: Vec<String> = names(&dir)
        .into_iter()
        .filter(|n| n.contains("staging"))
        .collect();
    assert!(strays.is_empty(), "{strays:?}");
}

/// `run` on the golden model, a product of many tile steps (1024 x 1024 x 1024 on a 4x4
/// array, most of a minute here): SIGINT during the GEMM stops it with status 130, and C is not
/// written (neither the file nor a temporary one).
#[test]
fn sigint_during_a_golden_gemm_writes_no_result() {
    use systolic::npy::{Array2, Dtype};
    let dir = common::scratch_dir("sigint-run");
    let m = Array2 {
        dtype: Dtype::I8,
        rows: 1024,
        cols: 1024,
        data: (0..1024 * 1024).map(|v| (v % 7) as i64 - 3).collect(),
    };
    let (a, b) = (dir.join("a.npy"), dir.join("b.npy"));
    systolic::npy::write(&a, &m).unwrap();
    systolic::npy::write(&b, &m).unwrap();
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_systolic"));
    cmd.args(["run", "--preset", "int8-4x4", "--backend", "golden"])
        .arg("--a")
        .arg(&a)
        .arg("--b")
        .arg(&b)
        .arg("--out")
        .arg(out_dir.join("c.npy"));
    let (mut child, rx) = spawn(cmd);
    wait_for(&rx, "GEMM tile steps", Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(100));
    let (code, took) = interrupt(&mut child, &rx);
    let rest: Vec<String> = rx.try_iter().collect();
    assert_eq!(code, Some(130), "{rest:?}");
    assert!(took < PROMPT, "took {took:?} to stop");
    let left = names(&out_dir);
    assert!(left.is_empty(), "written after Ctrl-C: {left:?}");
}
