//! The part of a Yosys cell library (`share/ice40/cells_sim.v`) a netlist needs: its preamble
//! directives and the modules the netlist instantiates, with the modules those instantiate.
//!
//! Why: Yosys reads the whole iCE40 library in about 40 s, nearly all of it `SB_SPRAM256KA`
//! (its 16K x 16 memory becomes a list of registers), a cell no netlist of ours uses; the
//! netlist proof's miter reads the library once per run.

use std::collections::BTreeSet;

/// One module of the library: what precedes it (comments, attributes, directives) and its text
/// from `module` to `endmodule`.
struct Chunk<'a> {
    name: Option<&'a str>,
    head: Vec<&'a str>,
    body: Vec<&'a str>,
}

fn chunks(library: &str) -> (Vec<Chunk<'_>>, Vec<&str>) {
    let mut out = vec![];
    let mut cur = Chunk {
        name: None,
        head: vec![],
        body: vec![],
    };
    for line in library.lines() {
        if cur.name.is_none() {
            if let Some(rest) = line.strip_prefix("module ") {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                cur.name = Some(&rest[..end]);
            }
        }
        if cur.name.is_some() {
            cur.body.push(line);
        } else {
            cur.head.push(line);
        }
        if line.starts_with("endmodule") {
            let next = Chunk {
                name: None,
                head: vec![],
                body: vec![],
            };
            out.push(std::mem::replace(&mut cur, next));
        }
    }
    (out, cur.head)
}

/// Whether `word` stands in `text` as a whole identifier.
fn mentions(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// `library` with only the modules `netlist` mentions (and, transitively, those they mention);
/// every preprocessor directive outside a module is kept, the comments and attributes of a
/// dropped module are not.
pub fn used_cells(library: &str, netlist: &str) -> String {
    let (chunks, tail) = chunks(library);
    let mut used: BTreeSet<usize> = BTreeSet::new();
    let mut texts = vec![netlist.to_string()];
    while let Some(text) = texts.pop() {
        for (i, c) in chunks.iter().enumerate() {
            if !used.contains(&i) && c.name.is_some_and(|n| mentions(&text, n)) {
                used.insert(i);
                texts.push(c.body[1..].join("\n"));
            }
        }
    }
    let mut out = vec![];
    for (i, c) in chunks.iter().enumerate() {
        if used.contains(&i) {
            out.extend(&c.head);
            out.extend(&c.body);
        } else {
            out.extend(c.head.iter().filter(|l| l.trim_start().starts_with('`')));
        }
    }
    out.extend(tail);
    out.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIB: &str = "`timescale 1ps / 1ps\n`define INIT initial Q = 0;\n// cells\n\
        (* whitebox *)\nmodule A(input I, output O);\n  assign O = I;\nendmodule\n\
        (* abc9_flop *)\nmodule B_X (input D, output Q);\n  A a(.I(D), .O(Q));\nendmodule\n\
        // big\n(* blackbox *)\nmodule BIG(input D);\nendmodule\n\
        module C(input D, output Q);\nendmodule\n";

    #[test]
    fn keeps_what_the_netlist_uses_and_what_that_uses() {
        let sub = used_cells(LIB, "module top; B_X u(.D(d), .Q(q)); endmodule");
        assert!(
            sub.starts_with("`timescale 1ps / 1ps\n`define INIT"),
            "{sub}"
        );
        assert!(sub.contains("(* abc9_flop *)\nmodule B_X"), "{sub}");
        assert!(
            sub.contains("(* whitebox *)\nmodule A("),
            "A is used by B_X: {sub}"
        );
        assert!(!sub.contains("BIG") && !sub.contains("module C"), "{sub}");
        assert!(
            !sub.contains("(* blackbox *)"),
            "a dropped module's attribute: {sub}"
        );
    }

    #[test]
    fn a_name_inside_a_longer_identifier_is_not_a_use() {
        let sub = used_cells(LIB, "module top; wire A_1, xC; B_Xy u(); endmodule");
        assert!(!sub.contains("module "), "{sub}");
    }
}
