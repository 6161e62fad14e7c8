//! The harness can fail: a one-operator bug in ONE PE of the generated Verilog (its partial-sum
//! addition turned into a subtraction) must make co-simulation fail with a mismatch report that
//! points at that PE's column, while the same program passes on the correct design.

mod common;

use systolic::cosim::{Harness, HarnessOptions, Stalls};
use systolic::generate::files_of;
use systolic::program::{random_program, GenOptions, SplitMix64};
use systolic::rtl::mutation::{mutate_one_pe, MUTANT, MUTANT_COLUMN};
use systolic::rtl::Design;

#[test]
fn one_mutated_pe_is_caught_with_its_column() {
    if !common::require_tool("verilator", "--version") {
        return;
    }
    let cfg = common::preset("int8-4x4");
    let (row, col) = (2, 1);
    let mut design = Design::new(&cfg);
    mutate_one_pe(&mut design, row, col);
    let files = files_of(&design, &cfg);
    let file = |name: &str| {
        files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
            .unwrap()
    };
    let array = file("systolic_array.v");
    assert!(
        array.contains(MUTANT_COLUMN) && array.contains(&format!("c == {col}")),
        "{array}"
    );
    let column = file("systolic_column_mutant.v");
    assert!(
        column.contains(MUTANT) && column.contains(&format!("r == {row}")),
        "{column}"
    );

    let opts = HarnessOptions::default();
    let good = Harness::build(&cfg, &opts).expect("build the correct design");
    let bad = Harness::build_files(&cfg, &files, &opts, &mut |_| {}).expect("build the mutant");

    let mut rng = SplitMix64::new(7);
    let program = random_program(
        &cfg,
        &mut rng,
        &GenOptions {
            matmuls: 30,
            ..GenOptions::default()
        },
    );
    let ok = good.run(&program, Stalls::NONE, None).unwrap();
    assert!(
        ok.report.pass,
        "the correct design must pass: {}",
        ok.report.summary()
    );

    let broken = bad.run(&program, Stalls::NONE, None).unwrap();
    let report = &broken.report;
    assert!(!report.pass, "the mutant must fail");
    let m = report.first_mismatch.as_ref().expect("a mismatch report");
    assert_eq!(
        m.column,
        col,
        "the first mismatch is in the mutated PE's column: {}",
        report.summary()
    );
    assert_ne!(m.expected, m.got);
    let text = report.summary();
    assert!(
        text.starts_with("FAIL")
            && text.contains("first mismatch")
            && text.contains(&format!("column {col}")),
        "{text}"
    );
}
