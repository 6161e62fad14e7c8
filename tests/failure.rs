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
            vec!["--baud 12345", "standard"],
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
            vec!["--baud 0"],
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
