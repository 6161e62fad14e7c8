//! Tests of the run-time Verilator back end (`systolic::cosim::verilator`) on hand-written
//! fixtures in `tests/fixtures/`.
//!
//! Without `verilator` on PATH these tests print a message and pass, unless the `CI` environment
//! variable is set, in which case they fail.
//!
//! Builds are shared through the normal cache (`default_cache_root()`), so only the first run
//! pays for them; `concurrent_builds_of_one_spec_all_succeed` builds into a fresh directory every
//! time on purpose.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Instant;

use systolic::cosim::verilator::{
    build, build_with, default_cache_root, default_verilator, BuildOptions, BuildSpec, Model,
    PortSpec, Sim, VerilatorError,
};

fn verilator_present() -> bool {
    let ok = Command::new(default_verilator())
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("verilator is not installed but CI is set (apt-get install verilator)");
        }
        eprintln!(
            "SKIPPED: verilator not found (apt-get install verilator, or set SYSTOLIC_VERILATOR)"
        );
    }
    ok
}

macro_rules! require_verilator {
    () => {
        if !verilator_present() {
            return;
        }
    };
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A fresh, empty directory under cargo's per-test-target scratch space.
fn fresh_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("vrt-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn adder_ports() -> Vec<PortSpec> {
    vec![
        PortSpec::input("clk", 1),
        PortSpec::input("rst", 1),
        PortSpec::input("en", 1),
        PortSpec::input("a16", 16),
        PortSpec::input("a40", 40),
        PortSpec::input("a100", 100),
        PortSpec::output("q1", 1),
        PortSpec::output("s16", 16),
        PortSpec::output("s40", 40),
        PortSpec::output("s100", 100),
        PortSpec::output("x100", 100),
        PortSpec::input("in_valid", 1),
        PortSpec::output("in_ready", 1),
        PortSpec::input("in_data", 8),
        PortSpec::output("out_valid", 1),
        PortSpec::output("out_data", 8),
        PortSpec::input("out_ready", 1),
        PortSpec::output("count", 32),
        PortSpec::input("big_d", 8192),
        PortSpec::output("big_q", 8192),
    ]
}

fn adder_sources() -> Vec<PathBuf> {
    vec![fixture("vrt_adder.v")]
}

fn build_adder(trace: bool, root: &Path) -> Result<Model, VerilatorError> {
    build_adder_threads(trace, 1, root)
}

fn build_adder_threads(trace: bool, threads: u32, root: &Path) -> Result<Model, VerilatorError> {
    let sources = adder_sources();
    let ports = adder_ports();
    build(
        &BuildSpec {
            top: "vrt_adder",
            sources: &sources,
            ports: &ports,
            trace,
            fst: false,
            threads,
            extra_args: &[],
        },
        root,
    )
}

/// The adder fixture, built once per test binary (and cached across runs).
fn adder(trace: bool) -> Model {
    static PLAIN: OnceLock<Result<Model, String>> = OnceLock::new();
    static TRACED: OnceLock<Result<Model, String>> = OnceLock::new();
    let cell = if trace { &TRACED } else { &PLAIN };
    cell.get_or_init(|| build_adder(trace, &default_cache_root()).map_err(|e| e.to_string()))
        .clone()
        .unwrap_or_else(|e| panic!("building the adder fixture failed: {e}"))
}

struct Ports {
    rst: systolic::cosim::verilator::PortId,
    en: systolic::cosim::verilator::PortId,
    a16: systolic::cosim::verilator::PortId,
    a40: systolic::cosim::verilator::PortId,
    a100: systolic::cosim::verilator::PortId,
    q1: systolic::cosim::verilator::PortId,
    s16: systolic::cosim::verilator::PortId,
    s40: systolic::cosim::verilator::PortId,
    s100: systolic::cosim::verilator::PortId,
    x100: systolic::cosim::verilator::PortId,
    in_valid: systolic::cosim::verilator::PortId,
    in_ready: systolic::cosim::verilator::PortId,
    in_data: systolic::cosim::verilator::PortId,
    out_valid: systolic::cosim::verilator::PortId,
    out_data: systolic::cosim::verilator::PortId,
    out_ready: systolic::cosim::verilator::PortId,
    count: systolic::cosim::verilator::PortId,
    big_d: systolic::cosim::verilator::PortId,
    big_q: systolic::cosim::verilator::PortId,
}

impl Ports {
    fn of(sim: &Sim) -> Ports {
        let p = |n: &str| sim.require_port(n).unwrap();
        Ports {
            rst: p("rst"),
            en: p("en"),
            a16: p("a16"),
            a40: p("a40"),
            a100: p("a100"),
            q1: p("q1"),
            s16: p("s16"),
            s40: p("s40"),
            s100: p("s100"),
            x100: p("x100"),
            in_valid: p("in_valid"),
            in_ready: p("in_ready"),
            in_data: p("in_data"),
            out_valid: p("out_valid"),
            out_data: p("out_data"),
            out_ready: p("out_ready"),
            count: p("count"),
            big_d: p("big_d"),
            big_q: p("big_q"),
        }
    }
}

fn reset(sim: &mut Sim, p: &Ports) {
    sim.set_bool(p.rst, true);
    sim.tick();
    sim.set_bool(p.rst, false);
    sim.eval();
}

fn to_u128(w: &[u32]) -> u128 {
    w.iter()
        .rev()
        .fold(0u128, |acc, &x| (acc << 32) | x as u128)
}

fn words_u128(v: u128) -> [u32; 4] {
    [
        v as u32,
        (v >> 32) as u32,
        (v >> 64) as u32,
        (v >> 96) as u32,
    ]
}

/// xorshift64*, deterministic.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn missing_verilator_is_an_error_not_a_panic() {
    let sources = adder_sources();
    let ports = adder_ports();
    let spec = BuildSpec {
        top: "vrt_adder",
        sources: &sources,
        ports: &ports,
        trace: false,
        fst: false,
        threads: 1,
        extra_args: &[],
    };
    let opts = BuildOptions {
        verilator: Some(Path::new("/nonexistent/bin/verilator")),
        ..Default::default()
    };
    let err = build_with(&spec, &fresh_dir("missing"), opts).unwrap_err();
    assert!(
        matches!(err, VerilatorError::ToolNotFound { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("apt-get install verilator"),
        "{err}"
    );
}

#[test]
fn values_across_widths() {
    require_verilator!();
    let model = adder(false);
    let mut sim = model.instantiate().unwrap();
    let p = Ports::of(&sim);
    reset(&mut sim, &p);
    assert_eq!(sim.cycle(), 1);

    let m40: u64 = (1 << 40) - 1;
    let m100: u128 = (1 << 100) - 1;
    let (mut q1, mut s16, mut s40, mut s100) = (false, 0u16, 0u64, 0u128);
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for _ in 0..300 {
        let en = rng.next() & 1 == 1;
        let a16 = rng.next() as u16;
        let a40 = rng.next() & m40;
        let a100 = ((rng.next() as u128) << 64 | rng.next() as u128) & m100;
        sim.set_bool(p.en, en);
        sim.set_u64(p.a16, a16 as u64);
        sim.set_u64(p.a40, a40);
        sim.set(p.a100, &words_u128(a100));
        sim.eval();
        // Combinational output already reflects the inputs; registers do not yet.
        assert_eq!(to_u128(sim.get(p.x100)), a100 ^ ((a40 as u128) << 60));
        assert_eq!(sim.get_u64(p.s16) as u16, s16);
        sim.tick();
        q1 ^= en;
        s16 = s16.wrapping_add(a16);
        s40 = (s40 + a40) & m40;
        s100 = (s100 + a100) & m100;
        assert_eq!(sim.get_bool(p.q1), q1);
        assert_eq!(sim.get(p.q1).len(), 1);
        assert_eq!(sim.get_u64(p.s16), s16 as u64);
        assert_eq!(sim.get(p.s40).len(), 2);
        assert_eq!(sim.get_u64(p.s40), s40);
        assert_eq!(sim.get(p.s100).len(), 4);
        assert_eq!(to_u128(sim.get(p.s100)), s100);
    }
    assert_eq!(sim.cycle(), 301);

    // Bits beyond the width are masked on the way in.
    sim.set_u64(p.a16, 0xdead_0000_0001_0005);
    assert_eq!(sim.get(p.a16), &[5]);
    sim.set(p.a100, &[u32::MAX; 6]);
    assert_eq!(sim.get(p.a100), &[u32::MAX, u32::MAX, u32::MAX, 0xf]);
    sim.set(p.a100, &[7]);
    assert_eq!(sim.get(p.a100), &[7, 0, 0, 0]);

    // The 8192-bit port, word by word: big_q = big_d rotated right by one bit.
    let d: Vec<u32> = (0..256).map(|_| rng.next() as u32).collect();
    sim.set(p.big_d, &d);
    sim.tick();
    let q = sim.get(p.big_q);
    assert_eq!(q.len(), 256);
    for i in 0..256 {
        let next = d[(i + 1) % 256];
        assert_eq!(q[i], (d[i] >> 1) | (next << 31), "big_q word {i}");
    }
}

#[test]
fn eval_shows_pre_edge_values_and_combinational_ready() {
    require_verilator!();
    let mut sim = adder(false).instantiate().unwrap();
    let p = Ports::of(&sim);
    reset(&mut sim, &p);

    sim.set_bool(p.in_valid, true);
    sim.set_bool(p.out_ready, true);
    sim.set_u64(p.in_data, 41);
    // Nothing reaches the model before eval.
    assert!(!sim.get_bool(p.in_ready));
    sim.eval();
    assert!(
        sim.get_bool(p.in_ready),
        "ready depends combinationally on valid"
    );
    assert!(sim.get_bool(p.out_valid));
    assert_eq!(sim.get_u64(p.out_data), 42);
    assert_eq!(sim.get_u64(p.count), 0, "handshake not yet clocked");
    sim.tick();
    assert_eq!(sim.get_u64(p.count), 1);

    sim.set_bool(p.in_valid, false);
    sim.eval();
    assert!(!sim.get_bool(p.in_ready));
    sim.tick();
    assert_eq!(sim.get_u64(p.count), 1);

    sim.set_bool(p.in_valid, true);
    sim.set_bool(p.out_ready, false);
    sim.eval();
    assert!(!sim.get_bool(p.in_ready));
    assert!(sim.get_bool(p.out_valid));

    // tick without a preceding eval still applies the inputs before the edge.
    sim.set_bool(p.out_ready, true);
    sim.set_u64(p.a16, 3);
    let before = sim.get_u64(p.s16);
    sim.tick();
    assert_eq!(sim.get_u64(p.count), 2);
    assert_eq!(sim.get_u64(p.s16), before + 3);
}

#[test]
fn two_sims_are_independent() {
    require_verilator!();
    let model = adder(false);
    let mut a = model.instantiate().unwrap();
    let mut b = model.instantiate().unwrap();
    let p = Ports::of(&a);
    reset(&mut a, &p);
    reset(&mut b, &p);
    a.set_u64(p.a16, 10);
    b.set_u64(p.a16, 1000);
    for _ in 0..5 {
        a.tick();
    }
    for _ in 0..3 {
        b.tick();
    }
    assert_eq!(a.get_u64(p.s16), 50);
    assert_eq!(b.get_u64(p.s16), 3000);
    assert_eq!((a.cycle(), b.cycle()), (6, 4));
    drop(a);
    b.tick();
    assert_eq!(b.get_u64(p.s16), 4000);

    // A Sim can move to another thread.
    let h = std::thread::spawn(move || {
        b.tick();
        b.get_u64(p.s16)
    });
    assert_eq!(h.join().unwrap(), 5000);
}

#[test]
fn multithreaded_model() {
    require_verilator!();
    let model = build_adder_threads(false, 2, &default_cache_root()).unwrap();
    let mut sim = model.instantiate().unwrap();
    let p = Ports::of(&sim);
    reset(&mut sim, &p);
    let m100: u128 = (1 << 100) - 1;
    let mut s100 = 0u128;
    for i in 0..100u128 {
        let a = (i * 0x0123_4567_89ab_cdef_0123_4567) & m100;
        sim.set(p.a100, &words_u128(a));
        sim.tick();
        s100 = (s100 + a) & m100;
        assert_eq!(to_u128(sim.get(p.s100)), s100);
    }
}

#[test]
fn port_lookup() {
    require_verilator!();
    let sim = adder(false).instantiate().unwrap();
    assert!(sim.port("nope").is_none());
    assert!(sim.port("clk").is_none(), "clk is driven by tick only");
    assert!(matches!(sim.require_port("nope"), Err(VerilatorError::UnknownPort(n)) if n == "nope"));
    let s40 = sim.port("s40").unwrap();
    assert_eq!(sim.port_spec(s40).width, 40);
}

#[test]
fn second_build_is_a_cache_hit() {
    require_verilator!();
    let first = adder(false);
    let again = build_adder(false, &default_cache_root()).unwrap();
    assert_eq!(again.build_seconds(), None);
    assert_eq!(again.dir(), first.dir());
    assert!(again.dir().join("libsim.so").is_file());
    assert!(again.dir().join("build.log").is_file());
    // Different options are a different cache entry.
    assert_ne!(adder(true).dir(), first.dir());
}

#[test]
fn concurrent_builds_of_one_spec_all_succeed() {
    require_verilator!();
    let root = fresh_dir("concurrent");
    let n = 4;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (root, barrier) = (root.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                build_adder(false, &root)
            })
        })
        .collect();
    let models: Vec<Model> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    let built: Vec<f64> = models.iter().filter_map(|m| m.build_seconds()).collect();
    assert_eq!(
        built.len(),
        1,
        "exactly one thread builds, the others wait and hit the cache"
    );
    eprintln!("fresh build of the adder fixture: {:.1} s", built[0]);
    for m in &models {
        assert_eq!(m.dir(), models[0].dir());
        let mut sim = m.instantiate().unwrap();
        let p = Ports::of(&sim);
        reset(&mut sim, &p);
        sim.set_u64(p.a16, 2);
        sim.tick();
        assert_eq!(sim.get_u64(p.s16), 2);
    }
    // Nothing but the entry and its lock file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    drop(models);

    // Another design in the same cache reuses the compiled Verilated runtime objects.
    let sources = vec![fixture("vrt_same_a.v")];
    let ports = vec![
        PortSpec::input("clk", 1),
        PortSpec::input("x", 8),
        PortSpec::output("y", 8),
    ];
    let spec = BuildSpec {
        top: "vrt_same",
        sources: &sources,
        ports: &ports,
        trace: false,
        fst: false,
        threads: 1,
        extra_args: &[],
    };
    let other = build(&spec, &root).unwrap();
    let log = std::fs::read_to_string(other.dir().join("build.log")).unwrap();
    assert!(log.contains("runtime objects"), "{log}");
    let mut sim = other.instantiate().unwrap();
    let (x, y) = (sim.port("x").unwrap(), sim.port("y").unwrap());
    sim.set_u64(x, 41);
    sim.tick();
    assert_eq!(sim.get_u64(y), 42);
    drop(sim);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn vcd_is_written_when_tracing() {
    require_verilator!();
    let dir = fresh_dir("vcd");
    let mut sim = adder(true).instantiate().unwrap();
    let p = Ports::of(&sim);
    let vcd = dir.join("adder.vcd");
    sim.open_trace(&vcd).unwrap();
    assert!(sim.is_tracing());
    reset(&mut sim, &p);
    sim.set_u64(p.a16, 7);
    for _ in 0..4 {
        sim.tick();
    }
    assert_eq!(sim.get_u64(p.s16), 28);
    sim.close_trace();
    let text = std::fs::read_to_string(&vcd).unwrap();
    assert!(text.contains("$enddefinitions"), "{text}");
    assert!(text.contains(" s16 "), "signal s16 declared");
    for t in ["#0", "#1", "#9", "#10"] {
        assert!(text.lines().any(|l| l == t), "timestamp {t} in the VCD");
    }

    // Reopening another file works, and dropping the Sim closes it.
    let vcd2 = dir.join("again.vcd");
    sim.open_trace(&vcd2).unwrap();
    sim.tick();
    drop(sim);
    let text2 = std::fs::read_to_string(&vcd2).unwrap();
    assert!(text2.contains("$enddefinitions"));
    assert!(text2.lines().any(|l| l == "#11"), "{text2}");

    // Untraced model: a clean error.
    let mut plain = adder(false).instantiate().unwrap();
    assert!(matches!(
        plain.open_trace(&dir.join("x.vcd")),
        Err(VerilatorError::TraceNotBuilt)
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn syntax_error_is_a_build_error_with_its_log() {
    require_verilator!();
    let sources = vec![fixture("vrt_syntax_error.v")];
    let ports = vec![PortSpec::input("clk", 1), PortSpec::output("q", 1)];
    let spec = BuildSpec {
        top: "vrt_syntax_error",
        sources: &sources,
        ports: &ports,
        trace: false,
        fst: false,
        threads: 1,
        extra_args: &[],
    };
    let root = fresh_dir("syntax");
    let err = build(&spec, &root).unwrap_err();
    let VerilatorError::BuildFailed { log, tail, .. } = &err else {
        panic!("expected BuildFailed, got {err:?}")
    };
    assert!(
        log.is_file(),
        "log {} exists after the error",
        log.display()
    );
    let text = std::fs::read_to_string(log).unwrap();
    assert!(text.contains("vrt_syntax_error.v"), "{text}");
    assert!(tail.contains("%Error"), "{tail}");
    assert!(err.to_string().contains(&log.display().to_string()));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn port_list_is_checked_against_the_design() {
    require_verilator!();
    let sources = adder_sources();
    let mut ports = adder_ports();
    ports.iter_mut().find(|p| p.name == "a40").unwrap().width = 39;
    ports.retain(|p| p.name != "en");
    ports.push(PortSpec::output("ghost", 3));
    let root = fresh_dir("mismatch");
    let spec = BuildSpec {
        top: "vrt_adder",
        sources: &sources,
        ports: &ports,
        trace: false,
        fst: false,
        threads: 1,
        extra_args: &[],
    };
    let err = build(&spec, &root).unwrap_err();
    let VerilatorError::PortMismatch { details, .. } = &err else {
        panic!("expected PortMismatch, got {err:?}")
    };
    let all = details.join("\n");
    assert!(all.contains("`a40`"), "{all}");
    assert!(all.contains("`en`"), "{all}");
    assert!(all.contains("`ghost`"), "{all}");

    // Invalid specs are rejected before any tool runs.
    let no_clk: Vec<PortSpec> = adder_ports()
        .into_iter()
        .filter(|p| p.name != "clk")
        .collect();
    let spec = BuildSpec {
        ports: &no_clk,
        ..spec
    };
    assert!(matches!(
        build(&spec, &root),
        Err(VerilatorError::InvalidSpec(_))
    ));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn same_top_name_in_two_libraries_of_one_process() {
    require_verilator!();
    let ports = vec![
        PortSpec::input("clk", 1),
        PortSpec::input("x", 8),
        PortSpec::output("y", 8),
    ];
    let mk = |file: &str| {
        let sources = vec![fixture(file)];
        build(
            &BuildSpec {
                top: "vrt_same",
                sources: &sources,
                ports: &ports,
                trace: false,
                fst: false,
                threads: 1,
                extra_args: &[],
            },
            &default_cache_root(),
        )
        .unwrap()
    };
    let (ma, mb) = (mk("vrt_same_a.v"), mk("vrt_same_b.v"));
    assert_ne!(ma.dir(), mb.dir());
    let (mut a, mut b) = (ma.instantiate().unwrap(), mb.instantiate().unwrap());
    for s in [&mut a, &mut b] {
        let x = s.port("x").unwrap();
        s.set_u64(x, 10);
        s.tick();
    }
    assert_eq!(a.get_u64(a.port("y").unwrap()), 11);
    assert_eq!(b.get_u64(b.port("y").unwrap()), 12);
}

/// Not a check: measures eval+tick throughput of the adder fixture (median of 3 runs).
/// `cargo test --release --test verilator_runtime -- --ignored --nocapture cycles_per_second`
#[test]
#[ignore]
fn cycles_per_second() {
    require_verilator!();
    let mut sim = adder(false).instantiate().unwrap();
    let p = Ports::of(&sim);
    reset(&mut sim, &p);
    let n = 1_000_000u64;
    let mut rates = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        for i in 0..n {
            sim.set_u64(p.a16, i);
            sim.set_bool(p.in_valid, i & 1 == 1);
            sim.set_bool(p.out_ready, true);
            sim.eval();
            let ready = sim.get_bool(p.in_ready);
            std::hint::black_box(ready);
            sim.tick();
        }
        rates.push(n as f64 / t.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    eprintln!(
        "adder fixture (incl. 8192-bit ports): {rates:.0?} cycles/s, median {:.0}",
        rates[1]
    );
}
