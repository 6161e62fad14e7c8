//! Deliberate bugs, for proving that the co-simulation can fail.
//!
//! [`mutate_one_pe`] gives exactly one PE of the array a one-operator bug (its partial-sum
//! addition becomes a subtraction) by instantiating a renamed copy of the PE module at that
//! position only. Everything happens on the typed description; no Verilog text is edited.

use crate::verilog::{gen_if, id, int, BinOp, Expr, Instance, Item, Module, Stmt};

use super::Design;

/// Name of the mutated PE module.
pub const MUTANT: &str = "systolic_pe_mutant";

/// Make PE(row, col) compute `psum_in - x*w` instead of `psum_in + x*w`.
pub fn mutate_one_pe(design: &mut Design, row: u32, col: u32) {
    let pe = design
        .modules
        .iter()
        .find(|m| m.name == "systolic_pe")
        .expect("the design has a PE")
        .clone();
    let mut mutant = pe;
    mutant.name = MUTANT.into();
    mutant.doc.insert(
        0,
        format!("MUTANT for testing: psum_out subtracts the product (PE({row}, {col}) only)."),
    );
    let mut flipped = 0;
    for item in &mut mutant.items {
        if let Item::Always { body, .. } = item {
            for stmt in body.iter_mut() {
                if let Stmt::NonBlocking(Expr::Id(lhs), Expr::Binary(op, _, _)) = stmt {
                    if lhs == "psum_out" && *op == BinOp::Add {
                        *op = BinOp::Sub;
                        flipped += 1;
                    }
                }
            }
        }
    }
    assert_eq!(flipped, 1, "the PE has exactly one partial-sum addition");

    let array = design
        .modules
        .iter_mut()
        .find(|m| m.name == "systolic_array")
        .expect("the design has an array");
    let replaced = replace_pe_instance(&mut array.items, row, col);
    assert!(replaced, "the array instantiates systolic_pe");
    let at = design
        .modules
        .iter()
        .position(|m| m.name == "systolic_array")
        .unwrap_or(0);
    design.modules.insert(at, mutant);
}

fn replace_pe_instance(items: &mut [Item], row: u32, col: u32) -> bool {
    let mut done = false;
    for item in items.iter_mut() {
        match item {
            Item::For { items, .. } | Item::LintOff { items, .. } => {
                done |= replace_pe_instance(items, row, col)
            }
            Item::If {
                then_items,
                else_items,
                ..
            } => {
                done |= replace_pe_instance(then_items, row, col);
                done |= replace_pe_instance(else_items, row, col);
            }
            Item::Instance(inst) if inst.module == "systolic_pe" => {
                let good = inst.clone();
                let bad = Instance {
                    module: MUTANT.into(),
                    ..inst.clone()
                };
                *item = gen_if(
                    id("r").eq(int(row.into())).and(id("c").eq(int(col.into()))),
                    "g_mutant",
                    vec![Item::Instance(bad)],
                    "g_pe",
                    vec![Item::Instance(good)],
                );
                done = true;
            }
            _ => {}
        }
    }
    done
}

/// The modules of a design that are not the mutant (for checks that the original is intact).
pub fn is_mutant(m: &Module) -> bool {
    m.name == MUTANT
}
