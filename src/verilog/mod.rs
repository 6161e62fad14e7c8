//! A small typed description of Verilog-2005 (modules, parameters, ports, nets, continuous
//! assignments, clocked processes, instances and generate loops) and the one printer that turns
//! it into text ([`print`]).
//!
//! The hardware levels in [`crate::rtl`] build values of these types; nothing else in the crate
//! writes Verilog. The subset is the one Verilator 5.006, Icarus 11 (`-g2005`) and Yosys 0.23
//! all accept: no SystemVerilog, no `$` in names, vectors packed little-endian (`[W-1:0]`).

pub mod build;
pub mod mutate;
mod print;

pub use build::{
    bit, bits, bits_of, dec, eval, evaluated_ports, hoist, inc, instance, zext, TopPort,
};
pub use print::print_module;

/// An expression. Widths of parameterised nets are expressions too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A net, parameter, genvar or port name.
    Id(String),
    /// An unsized decimal number (parameters, indices).
    Int(i64),
    /// A sized constant `W'dV` (W known at generation time).
    Sized {
        width: u32,
        value: u64,
    },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `c ? a : b`
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `a[i]`
    Index(Box<Expr>, Box<Expr>),
    /// `a[msb:lsb]` (constant bounds)
    Slice(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `a[base +: width]`
    PartUp(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `{a, b, ...}` (most significant first)
    Concat(Vec<Expr>),
    /// `{n{a}}`
    Repeat(Box<Expr>, Box<Expr>),
    /// `$signed(a)`
    Signed(Box<Expr>),
    /// `$clog2(a)`: derived widths stay parameterised.
    Clog2(Box<Expr>),
    /// A net inside a generate block of the same module: `g_row[r].g_col[c - 1].x_o`.
    Scoped(Vec<(String, Expr)>, String),
    /// A string literal `"CLK0"` (parameters of vendor primitives); letters, digits and `_`.
    Str(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Not,
    LogicNot,
    Neg,
    RedOr,
    RedAnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Mul,
    Div,
    Rem,
    Add,
    Sub,
    Shl,
    Shr,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Xor,
    Or,
    LogicAnd,
    LogicOr,
}

/// Port direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Input,
    Output,
}

/// A port. `width` is the number of bits as an expression (`None` = 1 bit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub name: String,
    pub dir: Dir,
    pub width: Option<Expr>,
    /// `output reg`
    pub reg: bool,
    pub comment: Option<String>,
    /// A Verilator warning waived on this port alone (e.g. `UNUSED` for a clock that a
    /// degenerate size does not need).
    pub waive: Option<&'static str>,
}

impl Port {
    /// Waive a Verilator warning on this port.
    pub fn waive(mut self, warning: &'static str) -> Port {
        self.waive = Some(warning);
        self
    }
}

/// A module parameter with its default value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub value: Expr,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetKind {
    Wire,
    Reg,
}

/// A net declaration. `width` in bits (`None` = 1 bit); `depth` makes it a memory
/// `name [0:depth-1]`; `init` makes a wire a continuous assignment at its declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Net {
    pub kind: NetKind,
    pub name: String,
    pub width: Option<Expr>,
    pub depth: Option<Expr>,
    pub init: Option<Expr>,
}

/// A statement inside a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stmt {
    /// `lhs <= rhs;`
    NonBlocking(Expr, Expr),
    /// `lhs = rhs;` (only in combinational processes)
    Blocking(Expr, Expr),
    If(Expr, Vec<Stmt>, Vec<Stmt>),
    Comment(String),
}

/// A module item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Comment(String),
    Blank,
    /// `localparam integer NAME = value;`
    Localparam(String, Expr),
    Net(Net),
    /// `assign lhs = rhs;`
    Assign(Expr, Expr),
    /// `always @(posedge clock) begin ... end`
    Always {
        clock: String,
        body: Vec<Stmt>,
    },
    Instance(Instance),
    /// `for (genvar = from; genvar < to; genvar = genvar + 1) begin : label ... end`
    For {
        genvar: String,
        from: Expr,
        to: Expr,
        label: String,
        items: Vec<Item>,
    },
    /// `if (cond) begin : label ... end else begin : label_else ... end`
    If {
        cond: Expr,
        label: String,
        then_items: Vec<Item>,
        else_label: String,
        else_items: Vec<Item>,
    },
    /// A tool directive in a comment, printed as `/* TEXT */` (e.g. `verilator hier_block`).
    Pragma(String),
    /// `initial NAME = 64'hVALUE;`: a register's value at time 0, for simulation only (the
    /// mutation campaign's random initial state); no generated design contains one.
    Initial {
        name: String,
        value: u64,
    },
    /// `(* NAME = "VALUE" *)` attributes on the next item (an instance of a vendor primitive
    /// whose tools read them, e.g. the ECP5 PLL's loop-filter settings). Values are strings of
    /// letters, digits, `_` and `.`.
    Attributed {
        attrs: Vec<(String, String)>,
        item: Box<Item>,
    },
    /// `/* verilator lint_off WARNING */` ... `/* verilator lint_on WARNING */` around items, for
    /// warnings that are intended (documented at the use).
    LintOff {
        warning: &'static str,
        reason: String,
        items: Vec<Item>,
    },
}

/// A module instance with named parameter overrides and named port connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub module: String,
    pub name: String,
    pub params: Vec<(String, Expr)>,
    pub ports: Vec<(String, Expr)>,
}

/// A module: the unit of one generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub name: String,
    /// The comment block at the top of the module (its timing contract).
    pub doc: Vec<String>,
    pub params: Vec<Param>,
    pub ports: Vec<Port>,
    pub items: Vec<Item>,
}

// ----- constructors: keep the hardware descriptions in `rtl` short and readable -----

pub fn id(name: &str) -> Expr {
    Expr::Id(name.to_string())
}
pub fn int(v: i64) -> Expr {
    Expr::Int(v)
}
pub fn sized(width: u32, value: u64) -> Expr {
    Expr::Sized { width, value }
}
/// `{n{1'b0}}`: a zero of a parameterised width.
pub fn zeros(width: Expr) -> Expr {
    Expr::Repeat(Box::new(width), Box::new(sized(1, 0)))
}
pub fn concat(parts: Vec<Expr>) -> Expr {
    Expr::Concat(parts)
}
pub fn repeat(n: Expr, e: Expr) -> Expr {
    Expr::Repeat(Box::new(n), Box::new(e))
}
pub fn cond(c: Expr, a: Expr, b: Expr) -> Expr {
    Expr::Cond(Box::new(c), Box::new(a), Box::new(b))
}
/// `blocks[i]...name`: a net declared inside (nested) generate blocks.
pub fn scoped(blocks: &[(&str, Expr)], name: &str) -> Expr {
    Expr::Scoped(
        blocks
            .iter()
            .map(|(b, i)| (b.to_string(), i.clone()))
            .collect(),
        name.to_string(),
    )
}
/// A string literal (letters, digits and `_` only).
pub fn string(s: &str) -> Expr {
    assert!(
        s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "string literal {s:?}"
    );
    Expr::Str(s.into())
}
/// `item` with `(* NAME = "VALUE" *)` attributes (see [`Item::Attributed`]).
pub fn attributed(attrs: &[(&str, &str)], item: Item) -> Item {
    for (name, value) in attrs {
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'),
            "attribute {name} = {value:?}"
        );
    }
    Item::Attributed {
        attrs: attrs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        item: Box::new(item),
    }
}
pub fn clog2(e: Expr) -> Expr {
    Expr::Clog2(Box::new(e))
}
pub fn signed(e: Expr) -> Expr {
    Expr::Signed(Box::new(e))
}
pub fn not(e: Expr) -> Expr {
    Expr::Unary(UnOp::LogicNot, Box::new(e))
}
pub fn bit_not(e: Expr) -> Expr {
    Expr::Unary(UnOp::Not, Box::new(e))
}
pub fn red_or(e: Expr) -> Expr {
    Expr::Unary(UnOp::RedOr, Box::new(e))
}
pub fn red_and(e: Expr) -> Expr {
    Expr::Unary(UnOp::RedAnd, Box::new(e))
}

// `a + b`, `a - b`, `a * b`, `a << b`, `a >> b` build expressions (and `.add(b)` etc. read
// left to right).
pub use std::ops::{Add, Div, Mul, Rem, Shl, Shr, Sub};

impl Add for Expr {
    type Output = Expr;
    fn add(self, rhs: Expr) -> Expr {
        self.bin(BinOp::Add, rhs)
    }
}
impl Sub for Expr {
    type Output = Expr;
    fn sub(self, rhs: Expr) -> Expr {
        self.bin(BinOp::Sub, rhs)
    }
}
impl Mul for Expr {
    type Output = Expr;
    fn mul(self, rhs: Expr) -> Expr {
        self.bin(BinOp::Mul, rhs)
    }
}
impl Div for Expr {
    type Output = Expr;
    fn div(self, rhs: Expr) -> Expr {
        self.bin(BinOp::Div, rhs)
    }
}
impl Rem for Expr {
    type Output = Expr;
    fn rem(self, rhs: Expr) -> Expr {
        self.bin(BinOp::Rem, rhs)
    }
}
impl Shl for Expr {
    type Output = Expr;
    fn shl(self, rhs: Expr) -> Expr {
        self.bin(BinOp::Shl, rhs)
    }
}
impl Shr for Expr {
    type Output = Expr;
    fn shr(self, rhs: Expr) -> Expr {
        self.bin(BinOp::Shr, rhs)
    }
}

impl Expr {
    fn bin(self, op: BinOp, rhs: Expr) -> Expr {
        Expr::Binary(op, Box::new(self), Box::new(rhs))
    }
    pub fn lt(self, rhs: Expr) -> Expr {
        self.bin(BinOp::Lt, rhs)
    }
    pub fn le(self, rhs: Expr) -> Expr {
        self.bin(BinOp::Le, rhs)
    }
    pub fn gt(self, rhs: Expr) -> Expr {
        self.bin(BinOp::Gt, rhs)
    }
    pub fn ge(self, rhs: Expr) -> Expr {
        self.bin(BinOp::Ge, rhs)
    }
    pub fn eq(self, rhs: Expr) -> Expr {
        self.bin(BinOp::Eq, rhs)
    }
    pub fn ne(self, rhs: Expr) -> Expr {
        self.bin(BinOp::Ne, rhs)
    }
    pub fn and(self, rhs: Expr) -> Expr {
        self.bin(BinOp::LogicAnd, rhs)
    }
    pub fn or(self, rhs: Expr) -> Expr {
        self.bin(BinOp::LogicOr, rhs)
    }
    pub fn bit_and(self, rhs: Expr) -> Expr {
        self.bin(BinOp::And, rhs)
    }
    pub fn bit_or(self, rhs: Expr) -> Expr {
        self.bin(BinOp::Or, rhs)
    }
    pub fn bit_xor(self, rhs: Expr) -> Expr {
        self.bin(BinOp::Xor, rhs)
    }
    /// `self[i]`
    pub fn at(self, i: Expr) -> Expr {
        Expr::Index(Box::new(self), Box::new(i))
    }
    /// `self[msb:lsb]`
    pub fn slice(self, msb: Expr, lsb: Expr) -> Expr {
        Expr::Slice(Box::new(self), Box::new(msb), Box::new(lsb))
    }
    /// `self[base +: width]`
    pub fn part(self, base: Expr, width: Expr) -> Expr {
        Expr::PartUp(Box::new(self), Box::new(base), Box::new(width))
    }
}

pub fn input(name: &str, width: Option<Expr>, comment: &str) -> Port {
    Port {
        name: name.into(),
        dir: Dir::Input,
        width,
        reg: false,
        comment: opt_comment(comment),
        waive: None,
    }
}
pub fn output(name: &str, width: Option<Expr>, comment: &str) -> Port {
    Port {
        name: name.into(),
        dir: Dir::Output,
        width,
        reg: false,
        comment: opt_comment(comment),
        waive: None,
    }
}
pub fn output_reg(name: &str, width: Option<Expr>, comment: &str) -> Port {
    Port {
        name: name.into(),
        dir: Dir::Output,
        width,
        reg: true,
        comment: opt_comment(comment),
        waive: None,
    }
}
pub fn param(name: &str, value: i64, comment: &str) -> Param {
    Param {
        name: name.into(),
        value: int(value),
        comment: opt_comment(comment),
    }
}
fn opt_comment(c: &str) -> Option<String> {
    (!c.is_empty()).then(|| c.to_string())
}

pub fn wire(name: &str, width: Option<Expr>) -> Item {
    Item::Net(Net {
        kind: NetKind::Wire,
        name: name.into(),
        width,
        depth: None,
        init: None,
    })
}
pub fn wire_init(name: &str, width: Option<Expr>, value: Expr) -> Item {
    Item::Net(Net {
        kind: NetKind::Wire,
        name: name.into(),
        width,
        depth: None,
        init: Some(value),
    })
}
pub fn reg(name: &str, width: Option<Expr>) -> Item {
    Item::Net(Net {
        kind: NetKind::Reg,
        name: name.into(),
        width,
        depth: None,
        init: None,
    })
}
pub fn memory(name: &str, width: Option<Expr>, depth: Expr) -> Item {
    Item::Net(Net {
        kind: NetKind::Reg,
        name: name.into(),
        width,
        depth: Some(depth),
        init: None,
    })
}
/// A memory whose reads never depend on a write of the same entry in the same cycle (the design
/// forwards or ignores those reads): `(* no_rw_check *)`, so Yosys adds no collision logic in
/// front of the block RAM.
pub fn memory_no_rw_check(name: &str, width: Option<Expr>, depth: Expr) -> Item {
    attributed(&[("no_rw_check", "1")], memory(name, width, depth))
}
pub fn assign(lhs: Expr, rhs: Expr) -> Item {
    Item::Assign(lhs, rhs)
}
pub fn always(body: Vec<Stmt>) -> Item {
    Item::Always {
        clock: "clk".into(),
        body,
    }
}
pub fn comment(text: &str) -> Item {
    Item::Comment(text.into())
}
pub fn nb(lhs: Expr, rhs: Expr) -> Stmt {
    Stmt::NonBlocking(lhs, rhs)
}
pub fn if_(c: Expr, then: Vec<Stmt>) -> Stmt {
    Stmt::If(c, then, vec![])
}
pub fn if_else(c: Expr, then: Vec<Stmt>, otherwise: Vec<Stmt>) -> Stmt {
    Stmt::If(c, then, otherwise)
}
pub fn gen_for(genvar: &str, from: Expr, to: Expr, label: &str, items: Vec<Item>) -> Item {
    Item::For {
        genvar: genvar.into(),
        from,
        to,
        label: label.into(),
        items,
    }
}
pub fn gen_if(
    c: Expr,
    label: &str,
    then_items: Vec<Item>,
    else_label: &str,
    else_items: Vec<Item>,
) -> Item {
    Item::If {
        cond: c,
        label: label.into(),
        then_items,
        else_label: else_label.into(),
        else_items,
    }
}
/// `W` as a width expression: `Some(id(W))`.
pub fn w(name: &str) -> Option<Expr> {
    Some(id(name))
}
