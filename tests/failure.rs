//! Failure behaviour (docs/failure.md): no input, interruption or device makes `systolic`
//! destroy a file, hang, or pass with nothing checked; bad input is a one-line error naming the
//! flag or path, exit status 2, found before any expensive work, with nothing written.

mod common;

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use systolic::npy::{self, Array2, Dtype};

fn systolic(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_systolic"));
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run systolic")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A (2 x 3) and B (3 x 2) int8 operands in `dir`, and B' (2 x 2) that does not chain.
fn operands(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let m = |rows, cols| Array2 {
        dtype: Dtype::I8,
        rows,
        cols,
        data: (0..(rows * cols) as i64).map(|v| v - 3).collect(),
    };
    let (a, b, bad) = (dir.join("a.npy"), dir.join("b.npy"), dir.join("bad.npy"));
    npy::write(&a, &m(2, 3)).unwrap();
    npy::write(&b, &m(3, 2)).unwrap();
    npy::write(&bad, &m(2, 2)).unwrap();
    (a, b, bad)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Exit status 2, the first line of stderr contains every one of `wants`, no panic.
fn assert_usage(o: &Output, wants: &[&str], what: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{what}: {err}");
    let first = err.lines().next().unwrap_or("");
    for w in wants {
        assert!(first.contains(w), "{what}: `{w}` not in: {err}");
    }
    assert!(!err.contains("panicked"), "{what}: {err}");
}

#[test]
fn run_out_on_a_device_fifo_or_link_writes_through_and_keeps_it() {
    let dir = common::scratch_dir("fail-out");
    let (a, b, _) = operands(&dir);
    let run = |out: &Path| {
        systolic(
            &["run", "--preset", "int8-4x4", "--backend", "golden"]
                .into_iter()
                .chain(["--a", s(&a), "--b", s(&b), "--out", s(out)])
                .collect::<Vec<_>>(),
            &[],
        )
    };
    // A character device of our own (the null device's numbers), so a regression cannot
    // replace the machine's /dev/null.
    let null = dir.join("null");
    let c = std::ffi::CString::new(s(&null)).unwrap();
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    if made == 0 {
        let o = run(&null);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let t = std::fs::symlink_metadata(&null).unwrap().file_type();
        assert!(t.is_char_device(), "--out on a device replaced it: {t:?}");
    } else {
        assert!(std::env::var_os("CI").is_none(), "mknod failed (not root?)");
        eprintln!("skipped the device case: mknod needs root");
    }
    // A FIFO: written through, read by another thread.
    let fifo = dir.join("fifo");
    let c = std::ffi::CString::new(s(&fifo)).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let o = run(&fifo);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let bytes = reader.join().unwrap();
    assert_eq!(npy::parse(&bytes).unwrap().data, vec![10, 4, 1, 4]);
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    // A symbolic link: the link stays, its target gets C.
    let target = dir.join("target.npy");
    let link = dir.join("link.npy");
    std::os::unix::fs::symlink("target.npy", &link).unwrap();
    let o = run(&link);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(npy::read(&target).unwrap().data, vec![10, 4, 1, 4]);
}

#[test]
fn bad_output_paths_and_shapes_fail_before_any_build() {
    let dir = common::scratch_dir("fail-early");
    let (a, b, bad) = operands(&dir);
    // An empty cache: a Verilator build would fill it.
    let cache = dir.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let run = |b: &Path, out: &Path| {
        let args = ["run", "--preset", "int8-4x4", "--backend", "rtl"];
        let files = ["--a", s(&a), "--b", s(b), "--out", s(out)];
        let all: Vec<&str> = args.into_iter().chain(files).collect();
        systolic(&all, &[("SYSTOLIC_CACHE_DIR", &cache)])
    };
    let missing = dir.join("no/such/folder/c.npy");
    assert_usage(
        &run(&b, &missing),
        &["--out", s(&missing), "does not exist"],
        "missing folder",
    );
    assert_usage(&run(&b, &dir), &["--out", "is a directory"], "a directory");
    assert_usage(
        &run(&bad, &dir.join("c.npy")),
        &["A is 2x3 but B is 2x2"],
        "shapes that do not chain",
    );
    assert!(
        std::fs::read_dir(&cache).unwrap().next().is_none(),
        "a Verilator build started before the cheap checks"
    );
    assert!(!dir.join("c.npy").exists());
}

#[test]
fn generate_keeps_files_it_did_not_write_and_writes_all_or_nothing() {
    let dir = common::scratch_dir("fail-gen");
    let out = dir.join("design");
    std::fs::create_dir_all(&out).unwrap();
    // A user's own module beside the generated ones, named like ours.
    let mine = out.join("systolic_mine.v");
    std::fs::write(&mine, "module systolic_mine; endmodule\n").unwrap();
    let o = systolic(&["generate", "--preset", "int8-4x4", "--out", s(&out)], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = systolic(&["generate", "--preset", "int8-3x5", "--out", s(&out)], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(mine.exists(), "generate deleted a file it did not write");

    // A directory where systolic_top.v goes: an error naming it, and nothing written.
    let blocked = dir.join("blocked");
    std::fs::create_dir_all(blocked.join("systolic_top.v")).unwrap();
    let o = systolic(
        &["generate", "--preset", "int8-4x4", "--out", s(&blocked)],
        &[],
    );
    assert_usage(&o, &["systolic_top.v", "is a directory"], "occupied");
    let left: Vec<_> = std::fs::read_dir(&blocked).unwrap().collect();
    assert_eq!(left.len(), 1, "a failed generate wrote files: {left:?}");
    let strays: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("staging"))
        .collect();
    assert!(strays.is_empty(), "staging folders left: {strays:?}");

    // A file where the folder goes.
    let file = dir.join("plain");
    std::fs::write(&file, "x").unwrap();
    let o = systolic(
        &["generate", "--preset", "int8-4x4", "--out", s(&file)],
        &[],
    );
    assert_usage(&o, &["plain", "not a directory"], "a file as --out");
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

#[test]
fn bad_flag_values_name_the_flag_and_exit_2() {
    let dir = common::scratch_dir("fail-flags");
    let (a, b, _) = operands(&dir);
    let out = dir.join("c.npy");
    let files = ["--a", s(&a), "--b", s(&b), "--out", s(&out)];
    let with = |head: &[&str]| -> Vec<String> {
        head.iter()
            .chain(files.iter())
            .map(|x| x.to_string())
            .collect()
    };
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            with(&["run", "--preset", "int8-4x4", "--threads", "0"]),
            vec!["--threads 0"],
        ),
        (
            with(&[
                "board",
                "run",
                "--preset",
                "int8-4x4",
                "--port",
                "/dev/null",
            ])
            .into_iter()
            .chain(["--baud".into(), "12345".into()])
            .collect(),
            vec!["--baud", "12345", "standard"],
        ),
        (
            with(&["board", "run", "--preset", "int8-4x4", "--sim", "8"])
                .into_iter()
                .chain(["--attempts".into(), "0".into()])
                .collect(),
            vec!["--attempts 0"],
        ),
        (
            vec![
                "board".into(),
                "probe".into(),
                "--port".into(),
                "/dev/null".into(),
                "--baud".into(),
                "0".into(),
            ],
            vec!["--baud", "`0`"],
        ),
    ];
    for (args, wants) in cases {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_usage(&systolic(&refs, &[]), &wants, &args.join(" "));
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

#[test]
fn presets_name_the_field_line_and_allowed_values() {
    let dir = common::scratch_dir("fail-presets");
    let seeds = dir.join("seeds");
    std::fs::create_dir_all(&seeds).unwrap();
    let cases = [
        (
            "typ",
            "name = \"typ\"\nrows = \"4\"\ncols = 4\n",
            vec!["typ.toml:2:8", "rows", "expected u32"],
        ),
        (
            "dots",
            "name = \"..\"\nrows = 4\ncols = 4\n",
            vec!["name = \"..\"", "not `.` or `..`"],
        ),
        (
            "slash",
            "name = \"a/b\"\nrows = 4\ncols = 4\n",
            vec!["name = \"a/b\""],
        ),
        (
            "long",
            &format!("name = \"{}\"\nrows = 4\ncols = 4\n", "x".repeat(101)),
            vec!["1..=100"],
        ),
    ];
    for (preset, text, wants) in &cases {
        std::fs::write(seeds.join(format!("{preset}.toml")), text).unwrap();
        let out = dir.join("out");
        let o = systolic(
            &["generate", "--preset", preset, "--out", s(&out)],
            &[("SYSTOLIC_SEEDS", &seeds)],
        );
        assert_usage(&o, wants, preset);
        assert!(!out.exists(), "{preset}: wrote {}", out.display());
        std::fs::remove_file(seeds.join(format!("{preset}.toml"))).unwrap();
    }
    // A name of `..` must not reach the parent folder: generate --all with it is refused too,
    // and an empty or missing seeds folder is an error, not a silent success.
    let o = systolic(&["generate", "--all"], &[("SYSTOLIC_SEEDS", &seeds)]);
    assert_usage(&o, &["--all: no presets", s(&seeds)], "empty seeds");
    let missing = dir.join("nonexistent");
    let o = systolic(&["generate", "--all"], &[("SYSTOLIC_SEEDS", &missing)]);
    assert_usage(&o, &["no such folder"], "missing seeds");
    // Count flags name their real range, not u32's.
    let o = systolic(&["generate", "--rows=-1", "--cols", "4"], &[]);
    assert_usage(&o, &["--rows", "allowed 1..=256"], "--rows=-1");
    // --all conflicts with every design flag.
    let o = systolic(&["generate", "--all", "--pe-latency", "2"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// A preset overridden by flags is named `<preset>+custom` by the tool itself: accepted, while
/// no preset file may use `+`.
#[test]
fn an_overridden_preset_keeps_its_derived_name() {
    let dir = common::scratch_dir("fail-custom");
    let out = dir.join("o");
    let o = systolic(
        &[
            "generate",
            "--preset",
            "int8-4x4",
            "--acc-bits",
            "40",
            "--out",
            s(&out),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("int8-4x4+custom"));
    let seeds = dir.join("seeds");
    std::fs::create_dir_all(&seeds).unwrap();
    std::fs::write(seeds.join("p.toml"), "name = \"a+b\"\nrows = 4\ncols = 4\n").unwrap();
    let o = systolic(
        &["generate", "--preset", "p", "--out", s(&dir.join("o2"))],
        &[("SYSTOLIC_SEEDS", &seeds)],
    );
    assert_usage(&o, &["name = \"a+b\""], "a + in a preset name");
}

/// `--baud` is one parser for every command: a standard serial rate, then (synth, generate) one
/// the board's clock divides into at least 4 cycles per bit within 2.5%; `--verify-programs 0`
/// is a check of nothing. All refused with status 2 before the run folder exists.
#[test]
fn baud_and_verify_programs_are_checked_before_the_run_folder() {
    let dir = common::scratch_dir("fail-baud");
    let run = dir.join("run");
    let synth = |extra: &[&str]| {
        let head = [
            "synth",
            "--preset",
            "int8-4x4",
            "--out",
            s(&run),
            "--no-pack",
        ];
        let all: Vec<&str> = head.into_iter().chain(extra.iter().copied()).collect();
        systolic(&all, &[])
    };
    let ice = ["--board", "icebreaker"];
    for baud in ["0", "7", "4000000000"] {
        let o = synth(&[ice[0], ice[1], "--baud", baud]);
        assert_usage(&o, &["--baud", baud, "standard"], baud);
        assert!(!run.exists(), "--baud {baud} made the run folder");
    }
    // 25 MHz / 3 Mbaud = 8.33 cycles per bit: 8 make 3.125 Mbaud, 4.2% fast.
    let o = synth(&["--board", "ulx3s-25f", "--baud", "3000000"]);
    assert_usage(
        &o,
        &["--baud 3000000", "25 MHz", "4.2% off"],
        "25 MHz at 3M",
    );
    // 12 MHz / 3 Mbaud = 4 cycles per bit exactly: accepted, so the run gets past the check
    // (--verify-existing runs no tool: it stops at the missing netlist, status 1, not 2).
    let o = synth(&[ice[0], ice[1], "--baud", "3000000", "--verify-existing"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("run `systolic synth`"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&run);
    let o = synth(&[ice[0], ice[1], "--verify", "--verify-programs", "0"]);
    assert_usage(&o, &["--verify-programs", "1..="], "--verify-programs 0");
    assert!(!run.exists(), "--verify-programs 0 made the run folder");
    let out = dir.join("gen");
    let o = systolic(
        &[
            "generate",
            "--level",
            "board",
            "--baud",
            "7",
            "--out",
            s(&out),
        ],
        &[],
    );
    assert_usage(&o, &["--baud", "7"], "generate --baud 7");
    assert!(!out.exists());
}

/// The `error:` line of stderr (after any progress lines).
fn error_line(err: &str) -> &str {
    err.lines().find(|l| l.starts_with("error:")).unwrap_or("")
}

/// The error line names `path`, says what failed, and quotes the system's error once.
fn assert_names_once(o: &Output, path: &str, wants: &[&str], what: &str) {
    let err = stderr(o);
    let first = error_line(&err);
    assert!(first.contains(path), "{what}: {path} not named: {err}");
    for w in wants {
        assert!(first.contains(w), "{what}: `{w}` not in: {err}");
    }
    assert_eq!(first.matches("os error").count(), 1, "{what}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
}

/// OS errors name the path and what was done to it: a preset that is a folder, a waveform into
/// a folder or a missing one, a read-only system folder (root passes permission bits, so the
/// kernel's own file systems stand in for them), a full device.
#[test]
fn os_errors_name_the_path_and_the_operation() {
    let dir = common::scratch_dir("fail-os");
    let seeds = dir.join("seeds");
    std::fs::create_dir_all(seeds.join("folder.toml")).unwrap();
    let o = systolic(
        &["generate", "--preset", "folder", "--out", s(&dir.join("g"))],
        &[("SYSTOLIC_SEEDS", &seeds)],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_names_once(&o, "folder.toml", &["cannot read", "directory"], "preset");

    let cache = dir.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let cosim = |waves: &Path| {
        let args = ["cosim", "--preset", "int8-4x4", "--waves", s(waves)];
        systolic(&args, &[("SYSTOLIC_CACHE_DIR", &cache)])
    };
    std::fs::create_dir_all(dir.join("w.vcd")).unwrap();
    let w = dir.join("w.vcd");
    assert_usage(
        &cosim(&w),
        &["--waves", s(&w), "is a directory"],
        "waves dir",
    );
    let w = dir.join("none/w.vcd");
    assert_usage(
        &cosim(&w),
        &["--waves", s(&w), "does not exist"],
        "waves missing",
    );
    assert!(std::fs::read_dir(&cache).unwrap().next().is_none());

    let (a, b, _) = operands(&dir);
    let run = |out: &str| {
        let args = ["run", "--preset", "int8-4x4", "--backend", "golden"];
        let files = ["--a", s(&a), "--b", s(&b), "--out", out];
        systolic(&args.into_iter().chain(files).collect::<Vec<_>>(), &[])
    };
    for out in ["/sys/c.npy", "/proc/c.npy"] {
        let o = run(out);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert_names_once(&o, out, &["--out", "cannot write in the folder"], out);
    }
    // A full device (the numbers of /dev/full): the write itself fails, after the check.
    let full = dir.join("full");
    let c = std::ffi::CString::new(s(&full)).unwrap();
    if unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 7)) } == 0 {
        let o = run(s(&full));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert_names_once(&o, s(&full), &["writing", "No space left"], "full");
    } else {
        assert!(std::env::var_os("CI").is_none(), "mknod failed (not root?)");
    }
}

/// A missing simulator is an error naming the tool and how to install it, status 1, before
/// anything is written (no tool on PATH here; an empty cache, so nothing is found there).
#[test]
fn a_missing_verilator_names_the_tool_and_the_setup_script() {
    let dir = common::scratch_dir("fail-tool");
    let empty = dir.join("bin");
    let cache = dir.join("cache");
    std::fs::create_dir_all(&empty).unwrap();
    let waves = dir.join("w.vcd");
    let o = systolic(
        &["cosim", "--preset", "int8-4x4", "--waves", s(&waves)],
        &[("PATH", &empty), ("SYSTOLIC_CACHE_DIR", &cache)],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let first = error_line(&err);
    for want in [
        "`verilator` could not be run",
        "apt-get install verilator",
        "scripts/setup.sh",
    ] {
        assert!(first.contains(want), "`{want}` not in: {err}");
    }
    assert!(!waves.exists() && !dir.join("w.vcd.partial").exists());
}
