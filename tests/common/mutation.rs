//! Deliberate bugs, for proving that the co-simulation can fail, and deliberate misbehaviour
//! of the memories, for proving that the design does not depend on it.
//!
//! [`mutate_one_pe`] gives exactly one PE of the array a one-operator bug (its partial-sum
//! addition becomes a subtraction): a renamed copy of the PE with the bug is instantiated at
//! that row of a renamed copy of the column, which is instantiated at that column only.
//! [`garble_psum_reads`] makes the PSUM's inferred memories return wrong data when a read meets
//! a write of the same entry (what their `no_rw_check` attribute allows a block RAM to do).
//! Everything happens on the typed description; no Verilog text is edited.

use systolic::verilog::{bit_not, cond, gen_if, id, int, BinOp, Expr, Instance, Item, Stmt};

use systolic::rtl::design::Design;

/// Name of the mutated PE module.
pub const MUTANT: &str = "systolic_pe_mutant";
/// Name of the column holding it.
pub const MUTANT_COLUMN: &str = "systolic_column_mutant";

/// Make PE(row, col) compute `psum_in - x*w` instead of `psum_in + x*w`.
pub fn mutate_one_pe(design: &mut Design, row: u32, col: u32) {
    let module = |name: &str| {
        design
            .modules
            .iter()
            .find(|m| m.name == name)
            .expect("module")
            .clone()
    };

    let mut pe = module("systolic_pe");
    pe.name = MUTANT.into();
    pe.doc.insert(
        0,
        format!("MUTANT for testing: psum_out subtracts the product (PE({row}, {col}) only)."),
    );
    let mut flipped = 0;
    for item in &mut pe.items {
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

    let mut column = module("systolic_column");
    column.name = MUTANT_COLUMN.into();
    column.items.retain(|i| !matches!(i, Item::Pragma(_)));
    assert!(replace_instance(
        &mut column.items,
        "systolic_pe",
        "r",
        row,
        MUTANT
    ));

    let array = design
        .modules
        .iter_mut()
        .find(|m| m.name == "systolic_array")
        .expect("array");
    assert!(replace_instance(
        &mut array.items,
        "systolic_column",
        "c",
        col,
        MUTANT_COLUMN
    ));

    let at = design
        .modules
        .iter()
        .position(|m| m.name == "systolic_array")
        .unwrap_or(0);
    design.modules.insert(at, column);
    design.modules.insert(at, pe);
}

/// Inside generate loops over `genvar`, instantiate `replacement` instead of `module` where
/// `genvar == at`.
fn replace_instance(
    items: &mut [Item],
    module: &str,
    genvar: &str,
    at: u32,
    replacement: &str,
) -> bool {
    let mut done = false;
    for_each_leaf(items, &mut |item| {
        if let Item::Instance(inst) = item {
            if inst.module == module {
                let good = inst.clone();
                let bad = Instance {
                    module: replacement.into(),
                    ..inst.clone()
                };
                *item = gen_if(
                    id(genvar).eq(int(at.into())),
                    "g_mutant",
                    vec![Item::Instance(bad)],
                    "g_original",
                    vec![Item::Instance(good)],
                );
                done = true;
            }
        }
    });
    done
}

/// Call `f` on every item of `items` other than a generate loop, generate if or lint-off
/// group, whose items it visits instead (the ones `f` puts in place are not visited).
fn for_each_leaf(items: &mut [Item], f: &mut dyn FnMut(&mut Item)) {
    for item in items.iter_mut() {
        match item {
            Item::For { items, .. } | Item::LintOff { items, .. } => for_each_leaf(items, f),
            Item::If {
                then_items,
                else_items,
                ..
            } => {
                for_each_leaf(then_items, f);
                for_each_leaf(else_items, f);
            }
            other => f(other),
        }
    }
}

/// Which PSUM reads [`garble_psum_reads`] spoils.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Garble {
    /// A read in the cycle its entry is written (what `no_rw_check` leaves open): the design
    /// must not notice.
    Collisions,
    /// Every read: the design must fail (proves the garbling reaches the simulation).
    Every,
}

/// Make every inferred PSUM memory (`q <= mem[raddr]; if (we) mem[index] <= data;`) return the
/// bitwise inverse of the stored value on the reads `which` says, as a block RAM without
/// collision logic may return anything then. Returns how many memories were changed.
pub fn garble_psum_reads(design: &mut Design, which: Garble) -> usize {
    let psum = design
        .modules
        .iter_mut()
        .find(|m| m.name == "systolic_psum")
        .expect("the PSUM module");
    let mut n = 0;
    for_each_leaf(&mut psum.items, &mut |item| {
        let Item::Always { body, .. } = item else {
            return;
        };
        // The memory's process: its read, then its write of the same memory.
        let [Stmt::NonBlocking(_, read), Stmt::If(we, then, other)] = body.as_mut_slice() else {
            return;
        };
        let (Expr::Index(mem, raddr), [Stmt::NonBlocking(Expr::Index(wmem, index), _)], true) =
            (read.clone(), then.as_slice(), other.is_empty())
        else {
            return;
        };
        if mem != *wmem {
            return;
        }
        let old = Expr::Index(mem, raddr.clone());
        *read = match which {
            Garble::Every => bit_not(old),
            Garble::Collisions => cond(
                we.clone().and((**index).clone().eq(*raddr)),
                bit_not(old.clone()),
                old,
            ),
        };
        n += 1;
    });
    n
}
