//! The one Verilog printer. Deterministic: the same description always prints the same bytes.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::{BinOp, Dir, Expr, Instance, Item, Module, Net, NetKind, Port, Stmt, UnOp};

const INDENT: &str = "  ";

/// Print one module, preceded by `header` lines (each printed as a `//` comment).
pub fn print_module(header: &[String], m: &Module) -> String {
    let mut out = String::new();
    for line in header {
        push_comment(&mut out, "", line);
    }
    if !header.is_empty() {
        out.push('\n');
    }
    for line in &m.doc {
        push_comment(&mut out, "", line);
    }
    let _ = write!(out, "module {}", m.name);
    if !m.params.is_empty() {
        out.push_str(" #(\n");
        let width = m.params.iter().map(|p| p.name.len()).max().unwrap_or(0);
        for (i, p) in m.params.iter().enumerate() {
            let sep = if i + 1 == m.params.len() { "" } else { "," };
            let decl = format!(
                "{INDENT}parameter integer {:<width$} = {}{sep}",
                p.name,
                expr(&p.value)
            );
            push_with_comment(&mut out, &decl, p.comment.as_deref());
        }
        out.push(')');
    }
    out.push_str(" (\n");
    print_ports(&mut out, &m.ports);
    out.push_str(");\n");

    let mut genvars = BTreeSet::new();
    collect_genvars(&m.items, &mut genvars);
    if !genvars.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "{INDENT}genvar {};",
            genvars.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    if !m.items.is_empty() {
        out.push('\n');
    }
    print_items(&mut out, &m.items, 1, true);
    out.push_str("endmodule\n");
    out
}

fn push_comment(out: &mut String, indent: &str, line: &str) {
    if line.is_empty() {
        let _ = writeln!(out, "{indent}//");
    } else {
        let _ = writeln!(out, "{indent}// {line}");
    }
}

fn push_with_comment(out: &mut String, code: &str, comment: Option<&str>) {
    match comment {
        Some(c) => {
            let _ = writeln!(out, "{code:<48} // {c}");
        }
        None => {
            let _ = writeln!(out, "{code}");
        }
    }
}

fn range(width: &Option<Expr>) -> String {
    match width {
        None => String::new(),
        Some(Expr::Int(n)) => format!("[{}:0]", n - 1),
        Some(w) => format!("[{}-1:0]", expr_prec(w, PREC_ADD)),
    }
}

fn print_ports(out: &mut String, ports: &[Port]) {
    let kinds: Vec<String> = ports
        .iter()
        .map(|p| {
            let dir = match p.dir {
                Dir::Input => "input ",
                Dir::Output => "output",
            };
            let kind = if p.reg { "reg " } else { "wire" };
            format!("{dir} {kind}")
        })
        .collect();
    let ranges: Vec<String> = ports.iter().map(|p| range(&p.width)).collect();
    let rw = ranges.iter().map(String::len).max().unwrap_or(0);
    for (i, p) in ports.iter().enumerate() {
        let sep = if i + 1 == ports.len() { "" } else { "," };
        let decl = format!("{INDENT}{} {:<rw$} {}{sep}", kinds[i], ranges[i], p.name);
        if let Some(w) = p.waive {
            let _ = writeln!(out, "{INDENT}/* verilator lint_off {w} */");
        }
        push_with_comment(out, &decl, p.comment.as_deref());
        if let Some(w) = p.waive {
            let _ = writeln!(out, "{INDENT}/* verilator lint_on {w} */");
        }
    }
}

fn collect_genvars(items: &[Item], set: &mut BTreeSet<String>) {
    for item in items {
        match item {
            Item::For { genvar, items, .. } => {
                set.insert(genvar.clone());
                collect_genvars(items, set);
            }
            Item::If {
                then_items,
                else_items,
                ..
            } => {
                collect_genvars(then_items, set);
                collect_genvars(else_items, set);
            }
            Item::LintOff { items, .. } => collect_genvars(items, set),
            _ => {}
        }
    }
}

fn print_items(out: &mut String, items: &[Item], depth: usize, top: bool) {
    for item in items {
        print_item(out, item, depth, top);
    }
}

fn print_item(out: &mut String, item: &Item, depth: usize, top: bool) {
    let ind = INDENT.repeat(depth);
    match item {
        Item::Comment(text) => {
            for line in text.lines() {
                push_comment(out, &ind, line);
            }
        }
        Item::Blank => out.push('\n'),
        Item::Localparam(name, value) => {
            let _ = writeln!(out, "{ind}localparam integer {name} = {};", expr(value));
        }
        Item::Net(net) => print_net(out, net, &ind),
        Item::Assign(lhs, rhs) => {
            let _ = writeln!(out, "{ind}assign {} = {};", expr(lhs), expr(rhs));
        }
        Item::Always { clock, body } => {
            let _ = writeln!(out, "{ind}always @(posedge {clock}) begin");
            print_stmts(out, body, depth + 1);
            let _ = writeln!(out, "{ind}end");
        }
        Item::Instance(inst) => print_instance(out, inst, &ind),
        Item::For {
            genvar,
            from,
            to,
            label,
            items,
        } => {
            if top {
                let _ = writeln!(out, "{ind}generate");
            }
            let _ = writeln!(
                out,
                "{ind}for ({genvar} = {}; {genvar} < {}; {genvar} = {genvar} + 1) begin : {label}",
                expr(from),
                expr(to)
            );
            print_items(out, items, depth + 1, false);
            let _ = writeln!(out, "{ind}end");
            if top {
                let _ = writeln!(out, "{ind}endgenerate");
            }
        }
        Item::If {
            cond,
            label,
            then_items,
            else_label,
            else_items,
        } => {
            if top {
                let _ = writeln!(out, "{ind}generate");
            }
            let _ = writeln!(out, "{ind}if ({}) begin : {label}", expr(cond));
            print_items(out, then_items, depth + 1, false);
            if else_items.is_empty() {
                let _ = writeln!(out, "{ind}end");
            } else {
                let _ = writeln!(out, "{ind}end else begin : {else_label}");
                print_items(out, else_items, depth + 1, false);
                let _ = writeln!(out, "{ind}end");
            }
            if top {
                let _ = writeln!(out, "{ind}endgenerate");
            }
        }
        Item::Pragma(text) => {
            let _ = writeln!(out, "{ind}/* {text} */");
        }
        Item::Initial { name, value } => {
            let _ = writeln!(out, "{ind}initial {name} = 64'h{value:016x};");
        }
        Item::Attributed { attrs, item } => {
            for (name, value) in attrs {
                let _ = writeln!(out, "{ind}(* {name} = \"{value}\" *)");
            }
            print_item(out, item, depth, top);
        }
        Item::LintOff {
            warning,
            reason,
            items,
        } => {
            push_comment(out, &ind, reason);
            let _ = writeln!(out, "{ind}/* verilator lint_off {warning} */");
            print_items(out, items, depth, top);
            let _ = writeln!(out, "{ind}/* verilator lint_on {warning} */");
        }
    }
}

fn print_net(out: &mut String, net: &Net, ind: &str) {
    let kind = match net.kind {
        NetKind::Wire => "wire",
        NetKind::Reg => "reg ",
    };
    let r = range(&net.width);
    let r = if r.is_empty() {
        String::new()
    } else {
        format!(" {r}")
    };
    let depth = match &net.depth {
        Some(d) => format!(" [0:{}-1]", expr_prec(d, PREC_ADD)),
        None => String::new(),
    };
    match &net.init {
        Some(v) => {
            let _ = writeln!(
                out,
                "{ind}{}{r} {}{depth} = {};",
                kind.trim_end(),
                net.name,
                expr(v)
            );
        }
        None => {
            let _ = writeln!(out, "{ind}{}{r} {}{depth};", kind.trim_end(), net.name);
        }
    }
}

fn print_instance(out: &mut String, inst: &Instance, ind: &str) {
    let _ = write!(out, "{ind}{}", inst.module);
    if !inst.params.is_empty() {
        out.push_str(" #(\n");
        let w = inst.params.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        for (i, (name, value)) in inst.params.iter().enumerate() {
            let sep = if i + 1 == inst.params.len() { "" } else { "," };
            let _ = writeln!(out, "{ind}{INDENT}.{name:<w$} ({}){sep}", expr(value));
        }
        let _ = write!(out, "{ind})");
    }
    let _ = writeln!(out, " {} (", inst.name);
    let w = inst.ports.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (i, (name, value)) in inst.ports.iter().enumerate() {
        let sep = if i + 1 == inst.ports.len() { "" } else { "," };
        let _ = writeln!(out, "{ind}{INDENT}.{name:<w$} ({}){sep}", expr(value));
    }
    let _ = writeln!(out, "{ind});");
}

fn print_stmts(out: &mut String, stmts: &[Stmt], depth: usize) {
    for s in stmts {
        print_stmt(out, s, depth);
    }
}

fn print_stmt(out: &mut String, s: &Stmt, depth: usize) {
    let ind = INDENT.repeat(depth);
    match s {
        Stmt::NonBlocking(l, r) => {
            let _ = writeln!(out, "{ind}{} <= {};", expr(l), expr(r));
        }
        Stmt::Blocking(l, r) => {
            let _ = writeln!(out, "{ind}{} = {};", expr(l), expr(r));
        }
        Stmt::Comment(text) => push_comment(out, &ind, text),
        Stmt::If(c, then, otherwise) => {
            let _ = writeln!(out, "{ind}if ({}) begin", expr(c));
            print_stmts(out, then, depth + 1);
            let mut rest = otherwise;
            loop {
                match rest.as_slice() {
                    [] => {
                        let _ = writeln!(out, "{ind}end");
                        break;
                    }
                    [Stmt::If(c2, t2, o2)] => {
                        let _ = writeln!(out, "{ind}end else if ({}) begin", expr(c2));
                        print_stmts(out, t2, depth + 1);
                        rest = o2;
                    }
                    other => {
                        let _ = writeln!(out, "{ind}end else begin");
                        print_stmts(out, other, depth + 1);
                        let _ = writeln!(out, "{ind}end");
                        break;
                    }
                }
            }
        }
    }
}

// Operator precedence, loosest first (IEEE 1364-2005 table 5-4).
const PREC_COND: u8 = 1;
const PREC_ADD: u8 = 10;
const PREC_UNARY: u8 = 12;
const PREC_ATOM: u8 = 13;

fn bin_prec(op: BinOp) -> u8 {
    match op {
        BinOp::LogicOr => 2,
        BinOp::LogicAnd => 3,
        BinOp::Or => 4,
        BinOp::Xor => 5,
        BinOp::And => 6,
        BinOp::Eq | BinOp::Ne => 7,
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 8,
        BinOp::Shl | BinOp::Shr => 9,
        BinOp::Add | BinOp::Sub => PREC_ADD,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 11,
    }
}

fn bin_text(op: BinOp) -> &'static str {
    match op {
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Rem => "%",
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Shl => "<<",
        BinOp::Shr => ">>",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        BinOp::Eq => "==",
        BinOp::Ne => "!=",
        BinOp::And => "&",
        BinOp::Xor => "^",
        BinOp::Or => "|",
        BinOp::LogicAnd => "&&",
        BinOp::LogicOr => "||",
    }
}

fn associative(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Add
            | BinOp::Mul
            | BinOp::And
            | BinOp::Or
            | BinOp::Xor
            | BinOp::LogicAnd
            | BinOp::LogicOr
    )
}

fn prec(e: &Expr) -> u8 {
    match e {
        Expr::Binary(op, ..) => bin_prec(*op),
        Expr::Cond(..) => PREC_COND,
        Expr::Unary(..) => PREC_UNARY,
        Expr::Int(v) if *v < 0 => PREC_UNARY,
        _ => PREC_ATOM,
    }
}

/// Print an expression.
pub(crate) fn expr(e: &Expr) -> String {
    expr_prec(e, 0)
}

/// Print `e`, in parentheses if it binds looser than `min`.
fn expr_prec(e: &Expr, min: u8) -> String {
    let s = expr_raw(e);
    if prec(e) < min {
        format!("({s})")
    } else {
        s
    }
}

fn expr_raw(e: &Expr) -> String {
    match e {
        Expr::Id(n) => n.clone(),
        Expr::Int(v) => v.to_string(),
        Expr::Sized { width, value } => {
            if *width == 1 {
                format!("1'b{value}")
            } else {
                format!("{width}'d{value}")
            }
        }
        Expr::Unary(op, a) => {
            let t = match op {
                UnOp::Not => "~",
                UnOp::LogicNot => "!",
                UnOp::Neg => "-",
                UnOp::RedOr => "|",
                UnOp::RedAnd => "&",
            };
            format!("{t}{}", expr_prec(a, PREC_ATOM))
        }
        Expr::Binary(op, a, b) => {
            let p = bin_prec(*op);
            let left = expr_prec(a, p);
            let right_min = match &**b {
                Expr::Binary(op2, ..) if *op2 == *op && associative(*op) => p,
                _ => p + 1,
            };
            let right = expr_prec(b, right_min);
            if *op == BinOp::Mul {
                format!("{left}*{right}")
            } else {
                format!("{left} {} {right}", bin_text(*op))
            }
        }
        Expr::Cond(c, a, b) => {
            // The condition is parenthesised unless it is a single name or bit, for the reader.
            format!(
                "{} ? {} : {}",
                expr_prec(c, PREC_ATOM),
                expr_prec(a, PREC_COND + 1),
                expr_prec(b, PREC_COND + 1)
            )
        }
        Expr::Index(a, i) => format!("{}[{}]", expr_prec(a, PREC_ATOM), expr(i)),
        Expr::Slice(a, m, l) => format!("{}[{}:{}]", expr_prec(a, PREC_ATOM), expr(m), expr(l)),
        Expr::PartUp(a, base, width) => format!(
            "{}[{} +: {}]",
            expr_prec(a, PREC_ATOM),
            expr(base),
            expr(width)
        ),
        Expr::Concat(parts) => format!(
            "{{{}}}",
            parts.iter().map(expr).collect::<Vec<_>>().join(", ")
        ),
        Expr::Repeat(n, a) => format!("{{{}{{{}}}}}", expr_prec(n, PREC_ATOM), expr(a)),
        Expr::Signed(a) => format!("$signed({})", expr(a)),
        Expr::Clog2(a) => format!("$clog2({})", expr(a)),
        Expr::Str(t) => format!("\"{t}\""),
        Expr::Scoped(path, name) => {
            let mut s = String::new();
            for (block, index) in path {
                let _ = write!(s, "{block}[{}].", expr(index));
            }
            s.push_str(name);
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::expr;

    #[test]
    fn precedence_needs_only_necessary_parentheses() {
        let e = id("r")
            .mul(id("COLS").add(int(1)))
            .add(id("c"))
            .mul(id("DATA_W"));
        assert_eq!(expr(&e), "(r*(COLS + 1) + c)*DATA_W");
        let e = id("a").sub(id("b").sub(id("c")));
        assert_eq!(expr(&e), "a - (b - c)");
        let e = id("a").add(id("b")).add(id("c"));
        assert_eq!(expr(&e), "a + b + c");
        let e = cond(id("s").and(not(id("f"))), id("x"), zeros(id("W")));
        assert_eq!(expr(&e), "(s && !f) ? x : {W{1'b0}}");
        assert_eq!(
            expr(&repeat(id("A") - id("B"), sized(1, 0))),
            "{(A - B){1'b0}}"
        );
        assert_eq!(
            expr(&id("v").part(id("i").mul(id("W")), id("W"))),
            "v[i*W +: W]"
        );
        assert_eq!(
            expr(&concat(vec![sized(1, 1), sized(4, 9)])),
            "{1'b1, 4'd9}"
        );
    }

    #[test]
    fn module_prints_deterministically() {
        let m = Module {
            name: "demo".into(),
            doc: vec!["A demo.".into()],
            params: vec![param("W", 8, "bits")],
            ports: vec![
                input("clk", None, ""),
                input("d", w("W"), "data"),
                output_reg("q", w("W"), ""),
            ],
            items: vec![
                always(vec![nb(id("q"), id("d"))]),
                gen_for(
                    "i",
                    int(0),
                    id("W"),
                    "g_bit",
                    vec![wire_init("t", None, id("d").at(id("i")))],
                ),
            ],
        };
        let a = print_module(&["header".into()], &m);
        assert_eq!(a, print_module(&["header".into()], &m));
        assert!(a.contains("module demo #(\n  parameter integer W = 8"));
        assert!(a.contains("input  wire [W-1:0] d,"));
        assert!(a.contains("genvar i;"));
        assert!(a.contains("for (i = 0; i < W; i = i + 1) begin : g_bit"));
        assert!(a.ends_with("endmodule\n"));
    }
}
