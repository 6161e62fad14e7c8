//! Netlist equivalence (`systolic synth --prove`, src/synth/prove.rs): the core's
//! post-synthesis netlist against its RTL, a miter proven by ABC.
//!
//! - A planted bug: the proof's own iCE40 netlist of a 2x2 int4 core (8-bit accumulators,
//!   PSUM_DEPTH 4), one SB_LUT4 of it changed by the test (every bit of its LUT_INIT inverted,
//!   so the LUT computes the complement), must be reported NOT proven with a difference in a
//!   bounded cycle. 5 s on the 2-core machine (41 s while the miter read all of iCE40's cell
//!   library instead of the cells the netlist uses).
//! - The unchanged netlist is not run here: no preset's proof closes yet (ABC ends undecided
//!   after ~5 min on the 2x2 int8 iCE40 core, see docs/verification.md);
//!   `scripts/equiv-netlist.sh` runs those proofs and times them.
//!
//! Without Yosys (YoWASP, `scripts/fpga-tools.sh`) or ABC (`yosys-abc`, Debian's yosys
//! package, `scripts/setup.sh`) the test prints `skipped` and passes, unless `CI` is set: then
//! it fails.

use std::path::PathBuf;
use std::time::Duration;

use systolic::config::{Config, RawConfig};
use systolic::synth::prove::{prove, synthesise, ProveOptions, Verdict};
use systolic::synth::tool::{locate, Tool};
use systolic::synth::{constraints_dir, Board, SynthOptions};

/// Whether Yosys and ABC are installed. Missing: panics when `CI` is set, otherwise prints
/// `skipped` and returns false.
fn tools_or_skip(test: &str) -> bool {
    for t in [Tool::Yosys, Tool::Abc] {
        if let Err(e) = locate(t) {
            if std::env::var_os("CI").is_some() {
                panic!("{test}: {e}; CI is set: the proof's tools are required");
            }
            eprintln!("{test}: skipped: {e}");
            return false;
        }
    }
    true
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-scratch")
        .join(format!("equiv-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `text` with the LUT_INIT of its first SB_LUT4 inverted (all 16 bits): the LUT's output is
/// then the complement of what synthesis made.
fn invert_first_lut(text: &str) -> String {
    let key = ".LUT_INIT(16'h";
    let at = text.find(key).expect("an SB_LUT4 with a LUT_INIT") + key.len();
    let hex = &text[at..at + 4];
    let value = u16::from_str_radix(hex, 16).expect("a 16-bit LUT_INIT");
    format!("{}{:04x}{}", &text[..at], !value, &text[at + 4..])
}

#[test]
fn planted_lut_bug_is_not_proven() {
    if !tools_or_skip("planted_lut_bug_is_not_proven") {
        return;
    }
    let cfg = Config::from_raw(&RawConfig {
        name: "eq2x2".into(),
        rows: 2,
        cols: 2,
        format: "int4".into(),
        acc_bits: 8,
        ..Default::default()
    })
    .expect("valid config");
    let board = Board::load(&constraints_dir(), "icebreaker", None).expect("board");
    let mut opts = SynthOptions::new(&cfg, board, true);
    opts.run_dir = scratch("planted");
    opts.limit = Duration::from_secs(600);
    let plan = systolic::synth::flow::Plan::new(&cfg, &opts).expect("plan");
    let mut o = ProveOptions::default();
    let (netlist, _) = synthesise(&plan, &o, &mut |l| eprintln!("{l}")).expect("synthesis");
    let text = std::fs::read_to_string(&netlist).expect("netlist");
    assert!(text.contains("module systolic_top("), "the core's netlist");
    let bad = invert_first_lut(&text);
    assert_ne!(bad, text);
    let bad_path = opts.run_dir.join("planted.v");
    std::fs::write(&bad_path, bad).unwrap();
    o.netlist = Some(bad_path);
    let proof = prove(&plan, &o, &mut |l| eprintln!("{l}")).expect("the proof runs");
    eprintln!("{}", proof.summary());
    match &proof.verdict {
        Verdict::NotProven { frame, .. } => {
            assert!(frame.is_some(), "ABC names the cycle of the difference")
        }
        other => panic!("the planted bug was not found: {other:?}"),
    }
    assert!(!proof.proven());
    assert!(proof.summary().contains("NOT PROVEN"));
}

#[test]
fn lut_inversion_changes_one_lut_only() {
    let text = "a .LUT_INIT(16'hf0ff) b .LUT_INIT(16'h0001) c";
    assert_eq!(
        invert_first_lut(text),
        "a .LUT_INIT(16'h0f00) b .LUT_INIT(16'h0001) c"
    );
}
