//! Mutants of a [`Module`]: small, deliberate bugs made on the typed description (never on the
//! printed text), for measuring what the project's checks catch (`systolic mutate`,
//! `docs/verification.md`).
//!
//! [`sites`] walks a module in a fixed order and numbers every place a mutation operator
//! applies; [`apply`] makes the i-th one. The order depends only on the module, so a mutant is
//! named by (module, index) on every run. The operators ([`Kind`]):
//!
//! - operator swaps: `+`/`-`, `&`/`|`, `^`/`|`, `&&`/`||`, `<`/`<=`, `>`/`>=`, `==`/`!=`,
//!   `<<`/`>>`, reduction `|`/`&`, a `!` or `~` dropped;
//! - constants off by one (sized constants and integers in value expressions, `+1` and `-1`);
//! - a register stage removed (a register assigned in one place becomes a wire: its readers see
//!   its input) or added (a continuous assignment or a register's input delayed by one clock);
//! - an enable or valid stuck at 0 or 1 (the condition of an `if` in a process; a 1-bit
//!   assignment, process or continuous, or the connection of an instance's control-named
//!   *input* port, such as `valid`, `en`, `we`, `ready`: the module's own side of the
//!   connection, never an output the instance drives);
//! - operands swapped (non-commutative binary operators, the arms of `?:`, neighbouring parts
//!   of a concatenation);
//! - a bit of a width dropped (a part select loses its top bit; a declared register or wire
//!   is one bit narrower).
//!
//! Only expressions that carry values are mutated: continuous assignments, wire initialisers,
//! process statements and their conditions, instance port connections. Parameters, port
//! widths, generate-loop bounds and generate conditions (the elaboration of a configuration)
//! are left alone.

use std::collections::{BTreeMap, BTreeSet};

use super::{print_module, BinOp, Dir, Expr, Item, Module, Net, NetKind, Stmt, UnOp};

/// The class of a mutation operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Kind {
    OperatorSwap,
    ConstantOffByOne,
    StageRemoved,
    StageAdded,
    StuckAt,
    OperandSwap,
    WidthDropped,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::OperatorSwap => "operator swap",
            Kind::ConstantOffByOne => "constant off by one",
            Kind::StageRemoved => "register stage removed",
            Kind::StageAdded => "register stage added",
            Kind::StuckAt => "stuck at 0/1",
            Kind::OperandSwap => "operands swapped",
            Kind::WidthDropped => "bit of a width dropped",
        }
    }
}

/// One numbered mutation site: its operator class and what it does, in one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub kind: Kind,
    pub description: String,
    /// The generate branches around the site, as paths of block labels (`g_delay.g_one`),
    /// outermost first: the site is elaborated only where all of them are taken
    /// ([`taken_branches`]).
    pub branches: Vec<String>,
}

/// Every mutation site of `m`, in the order [`apply`] numbers them. `modules` are the
/// definitions `m` may instantiate: an instance's port connection is stuck at 0/1 only where
/// the port is an *input* of its module's definition found there (a constant tied to an output
/// port is not Verilog; a module not in `modules` has no port stuck).
pub fn sites(m: &Module, modules: &[Module]) -> Vec<Site> {
    let mut w = Walker::new(m, None, modules);
    let mut copy = m.clone();
    w.module(&mut copy);
    w.found
}

/// `m` with its `index`-th mutation applied, and the site; `None` if there is no such site.
/// `modules` as for [`sites`].
pub fn apply(m: &Module, index: usize, modules: &[Module]) -> Option<(Module, Site)> {
    let mut w = Walker::new(m, Some(index), modules);
    let mut copy = m.clone();
    w.module(&mut copy);
    let site = w.found.get(index)?.clone();
    Some((copy, site))
}

/// A unified diff (two lines of context) of the printed Verilog of `before` and `after`;
/// empty when they print the same text.
pub fn diff(before: &Module, after: &Module) -> String {
    let a = print_module(&[], before);
    let b = print_module(&[], after);
    unified_diff(&a, &b, &format!("{}.v", before.name), 2)
}

/// Line diff of two texts as unified-diff hunks (longest common subsequence of the lines that
/// differ after the common head and tail are cut off).
pub fn unified_diff(a: &str, b: &str, name: &str, context: usize) -> String {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    if head == a.len() && head == b.len() {
        return String::new();
    }
    let (am, bm) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    // LCS table over the middle parts.
    let (n, m) = (am.len(), bm.len());
    let mut t = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if am[i] == bm[j] {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    // Edit script over the whole texts: (tag, line, index in a, index in b).
    let mut ops: Vec<(char, &str)> = a[..head].iter().map(|l| (' ', *l)).collect();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && am[i] == bm[j] {
            ops.push((' ', am[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || t[i + 1][j] >= t[i][j + 1]) {
            ops.push(('-', am[i]));
            i += 1;
        } else {
            ops.push(('+', bm[j]));
            j += 1;
        }
    }
    ops.extend(a[a.len() - tail..].iter().map(|l| (' ', *l)));
    // Group changes into hunks with `context` lines around them.
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let mut out = format!("--- a/{name}\n+++ b/{name}\n");
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(context);
        let mut end = changed[k];
        while k < changed.len() && changed[k] <= end + 2 * context + 1 {
            end = changed[k];
            k += 1;
        }
        let end = (end + context + 1).min(ops.len());
        let a_start = ops[..start].iter().filter(|o| o.0 != '+').count();
        let b_start = ops[..start].iter().filter(|o| o.0 != '-').count();
        let a_len = ops[start..end].iter().filter(|o| o.0 != '+').count();
        let b_len = ops[start..end].iter().filter(|o| o.0 != '-').count();
        out.push_str(&format!(
            "@@ -{},{a_len} +{},{b_len} @@\n",
            a_start + 1,
            b_start + 1
        ));
        for (tag, line) in &ops[start..end] {
            out.push(*tag);
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Every generate branch of `modules` that is elaborated in at least one instance when
/// `top` is elaborated with its default parameters: (module name, branch path as in
/// [`Site::branches`]). A condition the evaluator cannot decide counts both branches as taken.
pub fn taken_branches(modules: &[Module], top: &str) -> BTreeSet<(String, String)> {
    let mut taken = BTreeSet::new();
    let mut seen = BTreeSet::new();
    if let Some(m) = modules.iter().find(|m| m.name == top) {
        let env = params_env(m, &BTreeMap::new());
        elaborate(
            modules,
            m,
            &m.items,
            env,
            &mut vec![],
            &mut taken,
            &mut seen,
        );
    }
    taken
}

fn params_env(m: &Module, overrides: &BTreeMap<String, i64>) -> BTreeMap<String, i64> {
    let mut env = BTreeMap::new();
    for p in &m.params {
        let v = overrides
            .get(&p.name)
            .copied()
            .or_else(|| const_eval(&p.value, &env));
        if let Some(v) = v {
            env.insert(p.name.clone(), v);
        }
    }
    env
}

#[allow(clippy::too_many_arguments)]
fn elaborate(
    modules: &[Module],
    m: &Module,
    items: &[Item],
    mut env: BTreeMap<String, i64>,
    path: &mut Vec<String>,
    taken: &mut BTreeSet<(String, String)>,
    seen: &mut BTreeSet<(String, Vec<(String, i64)>)>,
) {
    for item in items {
        match item {
            Item::Localparam(name, e) => {
                if let Some(v) = const_eval(e, &env) {
                    env.insert(name.clone(), v);
                }
            }
            Item::For {
                genvar,
                from,
                to,
                label,
                items,
            } => {
                let (Some(from), Some(to)) = (const_eval(from, &env), const_eval(to, &env)) else {
                    continue;
                };
                path.push(label.clone());
                for g in from..to {
                    let mut inner = env.clone();
                    inner.insert(genvar.clone(), g);
                    elaborate(modules, m, items, inner, path, taken, seen);
                }
                path.pop();
            }
            Item::If {
                cond,
                label,
                then_items,
                else_label,
                else_items,
            } => {
                let c = const_eval(cond, &env);
                for (take, label, items) in [
                    (c.is_none_or(|c| c != 0), label, then_items),
                    (c.is_none_or(|c| c == 0), else_label, else_items),
                ] {
                    if take {
                        path.push(label.clone());
                        taken.insert((m.name.clone(), path.join(".")));
                        elaborate(modules, m, items, env.clone(), path, taken, seen);
                        path.pop();
                    }
                }
            }
            Item::LintOff { items, .. } => {
                elaborate(modules, m, items, env.clone(), path, taken, seen)
            }
            Item::Attributed { item, .. } => elaborate(
                modules,
                m,
                std::slice::from_ref(item),
                env.clone(),
                path,
                taken,
                seen,
            ),
            Item::Instance(inst) => {
                let Some(child) = modules.iter().find(|c| c.name == inst.module) else {
                    continue;
                };
                let overrides: BTreeMap<String, i64> = inst
                    .params
                    .iter()
                    .filter_map(|(n, e)| Some((n.clone(), const_eval(e, &env)?)))
                    .collect();
                let cenv = params_env(child, &overrides);
                let key = (child.name.clone(), cenv.clone().into_iter().collect());
                if seen.insert(key) {
                    elaborate(modules, child, &child.items, cenv, &mut vec![], taken, seen);
                }
            }
            _ => {}
        }
    }
}

/// Evaluate a constant expression over integer parameters (every operator of the
/// description; `None` for what is not constant).
fn const_eval(e: &Expr, env: &BTreeMap<String, i64>) -> Option<i64> {
    use BinOp::*;
    Some(match e {
        Expr::Int(v) => *v,
        Expr::Sized { value, .. } => *value as i64,
        Expr::Id(n) => *env.get(n)?,
        Expr::Unary(op, a) => {
            let a = const_eval(a, env)?;
            match op {
                UnOp::LogicNot => i64::from(a == 0),
                UnOp::Neg => -a,
                UnOp::Not => !a,
                UnOp::RedOr => i64::from(a != 0),
                UnOp::RedAnd => return None,
            }
        }
        Expr::Binary(op, a, b) => {
            let (a, b) = (const_eval(a, env)?, const_eval(b, env)?);
            match op {
                Add => a.checked_add(b)?,
                Sub => a.checked_sub(b)?,
                Mul => a.checked_mul(b)?,
                Div => a.checked_div(b)?,
                Rem => a.checked_rem(b)?,
                Shl => a.checked_shl(u32::try_from(b).ok()?)?,
                Shr => a.checked_shr(u32::try_from(b).ok()?)?,
                Lt => i64::from(a < b),
                Le => i64::from(a <= b),
                Gt => i64::from(a > b),
                Ge => i64::from(a >= b),
                Eq => i64::from(a == b),
                Ne => i64::from(a != b),
                And => a & b,
                Or => a | b,
                Xor => a ^ b,
                LogicAnd => i64::from(a != 0 && b != 0),
                LogicOr => i64::from(a != 0 || b != 0),
            }
        }
        Expr::Cond(c, a, b) => {
            if const_eval(c, env)? != 0 {
                const_eval(a, env)?
            } else {
                const_eval(b, env)?
            }
        }
        Expr::Clog2(a) => {
            let v = const_eval(a, env)?;
            if v <= 1 {
                0
            } else {
                i64::from(64 - ((v - 1) as u64).leading_zeros())
            }
        }
        _ => return None,
    })
}

/// Port or net names that read as a 1-bit control: stuck-at candidates when assigned or
/// connected.
fn control_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let parts: Vec<&str> = n.split('_').collect();
    parts.iter().any(|p| {
        matches!(
            *p,
            "valid"
                | "v"
                | "en"
                | "ce"
                | "we"
                | "re"
                | "ready"
                | "fire"
                | "go"
                | "start"
                | "busy"
                | "done"
                | "ack"
                | "req"
                | "push"
                | "pop"
                | "load"
                | "acc"
                | "flush"
                | "last"
                | "first"
                | "hit"
                | "same"
                | "full"
                | "empty"
                | "stall"
                | "use"
                | "sel"
        ) || p.ends_with("valid")
            || p.ends_with("ready")
    })
}

/// Expressions that are 1 bit wide whatever their context.
fn one_bit(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Sized { width: 1, .. }
            | Expr::Unary(UnOp::LogicNot | UnOp::RedOr | UnOp::RedAnd, _)
            | Expr::Binary(
                BinOp::Lt
                    | BinOp::Le
                    | BinOp::Gt
                    | BinOp::Ge
                    | BinOp::Eq
                    | BinOp::Ne
                    | BinOp::LogicAnd
                    | BinOp::LogicOr,
                _,
                _,
            )
            | Expr::Index(..)
    )
}

fn base_name(e: &Expr) -> Option<&str> {
    match e {
        Expr::Id(n) => Some(n),
        Expr::Index(b, _) | Expr::Slice(b, _, _) | Expr::PartUp(b, _, _) => base_name(b),
        Expr::Scoped(_, n) => Some(n),
        _ => None,
    }
}

struct Walker {
    target: Option<usize>,
    found: Vec<Site>,
    /// Widths (`None` = 1 bit) of the module's top-level nets and ports, by name.
    widths: BTreeMap<String, Option<Expr>>,
    /// How many statements and continuous assignments drive each top-level name.
    drivers: BTreeMap<String, usize>,
    /// Output ports (a register there cannot become a wire).
    outputs: Vec<String>,
    /// Clock of the module's processes (`None`: no process, no stage can be added).
    clock: Option<String>,
    /// Items to append to the module (a stage added).
    extra: Vec<Item>,
    /// A register removed: (name, its input), substituted into every reader afterwards.
    removed: Option<(String, Expr)>,
    /// Paths of the generate blocks around the current item (loops and branches).
    path: Vec<String>,
    /// Paths of the generate branches around the current item.
    branches: Vec<String>,
    /// The module's parameters at their defaults and its top-level localparams.
    env: BTreeMap<String, i64>,
    /// (module, port) of every input port of the definitions an instance may refer to.
    instance_inputs: BTreeSet<(String, String)>,
}

impl Walker {
    fn new(m: &Module, target: Option<usize>, modules: &[Module]) -> Walker {
        let instance_inputs = modules
            .iter()
            .flat_map(|d| {
                d.ports
                    .iter()
                    .filter(|p| p.dir == Dir::Input)
                    .map(|p| (d.name.clone(), p.name.clone()))
            })
            .collect();
        let mut widths = BTreeMap::new();
        let mut outputs = vec![];
        for p in &m.ports {
            widths.insert(p.name.clone(), p.width.clone());
            if p.dir == Dir::Output {
                outputs.push(p.name.clone());
            }
        }
        let mut env = params_env(m, &BTreeMap::new());
        for item in &m.items {
            if let Item::Localparam(name, e) = item {
                if let Some(v) = const_eval(e, &env) {
                    env.insert(name.clone(), v);
                }
            }
        }
        let mut drivers = BTreeMap::new();
        let mut clock = None;
        count_drivers(&m.items, &mut drivers, &mut clock, &mut widths, true);
        Walker {
            target,
            found: vec![],
            widths,
            drivers,
            outputs,
            clock,
            extra: vec![],
            removed: None,
            path: vec![],
            branches: vec![],
            env,
            instance_inputs,
        }
    }

    /// Record a site; true if it is the one to apply.
    fn site(&mut self, kind: Kind, description: String) -> bool {
        let hit = self.target == Some(self.found.len());
        self.found.push(Site {
            kind,
            description,
            branches: self.branches.clone(),
        });
        hit
    }

    fn module(&mut self, m: &mut Module) {
        let name = m.name.clone();
        self.items(&mut m.items, &name, true);
        m.items.append(&mut self.extra);
        if let Some((reg, input)) = self.removed.take() {
            substitute_items(&mut m.items, &reg, &input);
        }
    }

    fn items(&mut self, items: &mut [Item], scope: &str, top: bool) {
        for item in items.iter_mut() {
            match item {
                Item::Net(net) => self.net(net, scope, top),
                Item::Assign(lhs, rhs) => {
                    let l = crate::verilog::print::expr(lhs);
                    self.stuck(rhs, &l, base_name(lhs).is_some_and(control_name));
                    self.stage_added_assign(lhs, rhs, top, &l);
                    self.expr(rhs, &format!("assign {l}"));
                }
                Item::Always { body, .. } => self.stmts(body, top, ""),
                Item::Instance(inst) => {
                    let at = format!("{} {}", inst.module, inst.name);
                    for (port, e) in inst.ports.iter_mut() {
                        let what = format!("{at} .{port}");
                        let input = self
                            .instance_inputs
                            .contains(&(inst.module.clone(), port.clone()));
                        if input && control_name(port) {
                            self.stuck(e, &what, true);
                        }
                        self.expr(e, &what);
                    }
                }
                Item::For { items, label, .. } => {
                    self.path.push(label.clone());
                    self.items(items, label, false);
                    self.path.pop();
                }
                Item::If {
                    then_items,
                    else_items,
                    label,
                    else_label,
                    ..
                } => {
                    for (label, items) in [(&*label, then_items), (&*else_label, else_items)] {
                        self.path.push(label.clone());
                        self.branches.push(self.path.join("."));
                        self.items(items, label, false);
                        self.branches.pop();
                        self.path.pop();
                    }
                }
                Item::LintOff { items, .. } => self.items(items, scope, top),
                Item::Attributed { item, .. } => {
                    let mut v = vec![(**item).clone()];
                    self.items(&mut v, scope, top);
                    **item = v.pop().expect("one item");
                }
                Item::Comment(_)
                | Item::Blank
                | Item::Localparam(..)
                | Item::Pragma(_)
                | Item::Initial { .. } => {}
            }
        }
    }

    fn net(&mut self, net: &mut Net, _scope: &str, _top: bool) {
        if let Some(width) = net.width.clone() {
            if net.depth.is_none() && !matches!(width, Expr::Int(1)) {
                let d = format!(
                    "declaration of {} one bit narrower ([{}-1:0] -> [{}-2:0])",
                    net.name,
                    crate::verilog::print::expr(&width),
                    crate::verilog::print::expr(&width)
                );
                // A width of one bit has no bit to drop (`[W-2:0]` would be `[-1:0]`, two
                // bits): the site keeps its number and changes nothing (dropped as identical).
                let one = const_eval(&width, &self.env).is_some_and(|w| w <= 1);
                if self.site(Kind::WidthDropped, d) && !one {
                    net.width = Some(width - Expr::Int(1));
                }
            }
        }
        if let Some(init) = &mut net.init {
            let name = net.name.clone();
            self.stuck(init, &name, control_name(&name));
            self.expr(init, &format!("wire {name}"));
        }
    }

    fn stmts(&mut self, body: &mut Vec<Stmt>, top: bool, ctx: &str) {
        let mut k = 0;
        while k < body.len() {
            match &mut body[k] {
                Stmt::NonBlocking(lhs, rhs) => {
                    let l = format!("{ctx}{} <=", crate::verilog::print::expr(lhs));
                    self.stuck(rhs, &l, base_name(lhs).is_some_and(control_name));
                    self.expr(rhs, &l);
                    if let (Expr::Id(name), true) = (lhs.clone(), top) {
                        let single = self.drivers.get(&name) == Some(&1);
                        let output = self.outputs.contains(&name);
                        if single && !output && self.removed.is_none() {
                            let d = format!("{ctx}register {name} removed (readers see its input)");
                            if self.site(Kind::StageRemoved, d) {
                                self.removed = Some((name.clone(), rhs.clone()));
                                body.remove(k);
                                continue;
                            }
                        }
                        if let Some(width) = self.widths.get(&name).cloned() {
                            let d = format!("{ctx}register stage added in front of {name}");
                            if self.site(Kind::StageAdded, d) {
                                let q = format!("{name}_mut_q");
                                self.extra.push(Item::Net(Net {
                                    kind: NetKind::Reg,
                                    name: q.clone(),
                                    width,
                                    depth: None,
                                    init: None,
                                }));
                                let Stmt::NonBlocking(_, rhs) = &mut body[k] else {
                                    unreachable!()
                                };
                                let input = std::mem::replace(rhs, Expr::Id(q.clone()));
                                body.insert(k, Stmt::NonBlocking(Expr::Id(q), input));
                                k += 2;
                                continue;
                            }
                        }
                    }
                }
                Stmt::Blocking(lhs, rhs) => {
                    let l = format!("{ctx}{} =", crate::verilog::print::expr(lhs));
                    self.stuck(rhs, &l, base_name(lhs).is_some_and(control_name));
                    self.expr(rhs, &l);
                }
                Stmt::If(c, then, other) => {
                    let text = crate::verilog::print::expr(c);
                    for v in [0, 1] {
                        let d = format!("{ctx}if ({text}) stuck at {v}");
                        if self.site(Kind::StuckAt, d) {
                            *c = Expr::Sized { width: 1, value: v };
                        }
                    }
                    self.expr(c, &format!("{ctx}if ({text})"));
                    self.stmts(then, top, &format!("{ctx}if ({text}): "));
                    self.stmts(other, top, &format!("{ctx}else of if ({text}): "));
                }
                Stmt::Comment(_) => {}
            }
            k += 1;
        }
    }

    /// Stuck-at-0/1 sites of a driver `e` of `what` if it is a 1-bit control.
    fn stuck(&mut self, e: &mut Expr, what: &str, control: bool) {
        if !(control || one_bit(e)) {
            return;
        }
        for v in [0, 1] {
            if matches!(e, Expr::Sized { width: 1, value } if *value == v) {
                continue;
            }
            if self.site(Kind::StuckAt, format!("{what} stuck at {v}")) {
                *e = Expr::Sized { width: 1, value: v };
            }
        }
    }

    fn stage_added_assign(&mut self, lhs: &mut Expr, rhs: &mut Expr, top: bool, l: &str) {
        let (Expr::Id(name), true, Some(clock)) = (&*lhs, top, self.clock.clone()) else {
            return;
        };
        let Some(width) = self.widths.get(name).cloned() else {
            return;
        };
        let q = format!("{name}_mut_q");
        if self.site(
            Kind::StageAdded,
            format!("register stage added on assign {l}"),
        ) {
            self.extra.push(Item::Net(Net {
                kind: NetKind::Reg,
                name: q.clone(),
                width,
                depth: None,
                init: None,
            }));
            let input = std::mem::replace(rhs, Expr::Id(q.clone()));
            self.extra.push(Item::Always {
                clock,
                body: vec![Stmt::NonBlocking(Expr::Id(q), input)],
            });
        }
    }

    /// Sites inside a value expression.
    fn expr(&mut self, e: &mut Expr, at: &str) {
        let text = crate::verilog::print::expr(e);
        match e {
            Expr::Binary(op, a, b) => {
                if let Some(alt) = swap_op(*op) {
                    let d = format!("{at}: `{}` -> `{}` in {text}", op_text(*op), op_text(alt));
                    if self.site(Kind::OperatorSwap, d) {
                        *op = alt;
                    }
                }
                if !commutative(*op) {
                    let d = format!("{at}: operands of `{}` swapped in {text}", op_text(*op));
                    if self.site(Kind::OperandSwap, d) {
                        std::mem::swap(a, b);
                    }
                }
                self.expr(a, at);
                self.expr(b, at);
            }
            Expr::Unary(op, inner) => {
                match op {
                    UnOp::Not | UnOp::LogicNot => {
                        let d = format!("{at}: negation dropped in {text}");
                        if self.site(Kind::OperatorSwap, d) {
                            let kept = (**inner).clone();
                            *e = kept;
                            return;
                        }
                    }
                    UnOp::RedOr | UnOp::RedAnd => {
                        let alt = if *op == UnOp::RedOr {
                            UnOp::RedAnd
                        } else {
                            UnOp::RedOr
                        };
                        let d = format!("{at}: reduction and/or swapped in {text}");
                        if self.site(Kind::OperatorSwap, d) {
                            *op = alt;
                        }
                    }
                    UnOp::Neg => {}
                }
                if let Expr::Unary(_, inner) = e {
                    self.expr(inner, at);
                }
            }
            Expr::Sized { width, value } => {
                let modulus = if *width >= 64 {
                    u64::MAX
                } else {
                    (1u64 << *width) - 1
                };
                let (w, v) = (*width, *value);
                let up = v.wrapping_add(1) & modulus;
                let down = v.wrapping_sub(1) & modulus;
                let mut alts = vec![up];
                if down != up {
                    alts.push(down);
                }
                for alt in alts {
                    if self.site(
                        Kind::ConstantOffByOne,
                        format!("{at}: constant {w}'d{v} -> {w}'d{alt}"),
                    ) {
                        *value = alt;
                    }
                }
            }
            Expr::Int(v) => {
                let v0 = *v;
                for alt in [v0 + 1, v0 - 1] {
                    if self.site(
                        Kind::ConstantOffByOne,
                        format!("{at}: constant {v0} -> {alt} in {text}"),
                    ) {
                        *v = alt;
                    }
                }
            }
            Expr::Cond(c, a, b) => {
                let ctext = crate::verilog::print::expr(c);
                for (v, arm) in [(1u64, true), (0, false)] {
                    let d = format!("{at}: select ({ctext}) stuck at {v}");
                    if self.site(Kind::StuckAt, d) {
                        let kept = if arm { (**a).clone() } else { (**b).clone() };
                        *e = kept;
                        return;
                    }
                }
                let d = format!("{at}: arms of `?:` swapped in {text}");
                if self.site(Kind::OperandSwap, d) {
                    std::mem::swap(a, b);
                }
                if let Expr::Cond(c, a, b) = e {
                    self.expr(c, at);
                    self.expr(a, at);
                    self.expr(b, at);
                }
            }
            Expr::Index(base, i) => {
                self.expr(base, at);
                self.expr(i, at);
            }
            Expr::Slice(base, msb, _) => {
                let d = format!("{at}: top bit dropped from {text}");
                if self.site(Kind::WidthDropped, d) {
                    **msb = (**msb).clone() - Expr::Int(1);
                }
                self.expr(base, at);
            }
            Expr::PartUp(base, start, _) => {
                self.expr(base, at);
                self.expr(start, at);
            }
            Expr::Concat(parts) => {
                if (2..=4).contains(&parts.len()) {
                    for k in 0..parts.len() - 1 {
                        let d = format!("{at}: parts {k} and {} of {{..}} swapped", k + 1);
                        if self.site(Kind::OperandSwap, d) {
                            parts.swap(k, k + 1);
                        }
                    }
                }
                for p in parts.iter_mut() {
                    self.expr(p, at);
                }
            }
            Expr::Repeat(_, inner) => self.expr(inner, at),
            Expr::Signed(inner) => self.expr(inner, at),
            Expr::Id(_) | Expr::Clog2(_) | Expr::Scoped(..) | Expr::Str(_) => {}
        }
    }
}

fn swap_op(op: BinOp) -> Option<BinOp> {
    use BinOp::*;
    Some(match op {
        Add => Sub,
        Sub => Add,
        And => Or,
        Or => And,
        Xor => Or,
        LogicAnd => LogicOr,
        LogicOr => LogicAnd,
        Lt => Le,
        Le => Lt,
        Gt => Ge,
        Ge => Gt,
        Eq => Ne,
        Ne => Eq,
        Shl => Shr,
        Shr => Shl,
        Mul | Div | Rem => return None,
    })
}

fn commutative(op: BinOp) -> bool {
    use BinOp::*;
    matches!(
        op,
        Add | Mul | And | Or | Xor | LogicAnd | LogicOr | Eq | Ne
    )
}

fn op_text(op: BinOp) -> &'static str {
    use BinOp::*;
    match op {
        Mul => "*",
        Div => "/",
        Rem => "%",
        Add => "+",
        Sub => "-",
        Shl => "<<",
        Shr => ">>",
        Lt => "<",
        Le => "<=",
        Gt => ">",
        Ge => ">=",
        Eq => "==",
        Ne => "!=",
        And => "&",
        Xor => "^",
        Or => "|",
        LogicAnd => "&&",
        LogicOr => "||",
    }
}

/// Count the drivers of every top-level name (statements and continuous assignments anywhere
/// in the module), find the processes' clock, and record the widths of top-level nets.
fn count_drivers(
    items: &[Item],
    drivers: &mut BTreeMap<String, usize>,
    clock: &mut Option<String>,
    widths: &mut BTreeMap<String, Option<Expr>>,
    top: bool,
) {
    fn stmts(body: &[Stmt], drivers: &mut BTreeMap<String, usize>) {
        for s in body {
            match s {
                Stmt::NonBlocking(l, _) | Stmt::Blocking(l, _) => {
                    if let Some(n) = base_name(l) {
                        *drivers.entry(n.to_string()).or_default() += 1;
                    }
                }
                Stmt::If(_, a, b) => {
                    stmts(a, drivers);
                    stmts(b, drivers);
                }
                Stmt::Comment(_) => {}
            }
        }
    }
    for item in items {
        match item {
            Item::Net(n) => {
                if top && n.depth.is_none() {
                    widths.insert(n.name.clone(), n.width.clone());
                }
                if n.init.is_some() {
                    *drivers.entry(n.name.clone()).or_default() += 1;
                }
            }
            Item::Assign(l, _) => {
                if let Some(n) = base_name(l) {
                    *drivers.entry(n.to_string()).or_default() += 1;
                }
            }
            Item::Always { clock: c, body } => {
                clock.get_or_insert_with(|| c.clone());
                stmts(body, drivers);
            }
            Item::Instance(inst) => {
                // An instance may drive any name it is connected to.
                for (_, e) in &inst.ports {
                    if let Some(n) = base_name(e) {
                        *drivers.entry(n.to_string()).or_default() += 1;
                    }
                }
            }
            Item::For { items, .. } | Item::LintOff { items, .. } => {
                count_drivers(items, drivers, clock, widths, false)
            }
            Item::If {
                then_items,
                else_items,
                ..
            } => {
                count_drivers(then_items, drivers, clock, widths, false);
                count_drivers(else_items, drivers, clock, widths, false);
            }
            Item::Attributed { item, .. } => {
                count_drivers(std::slice::from_ref(item), drivers, clock, widths, top)
            }
            _ => {}
        }
    }
}

/// Replace every read of the name `reg` by `input` (left-hand sides are kept).
fn substitute_items(items: &mut [Item], reg: &str, input: &Expr) {
    for item in items {
        match item {
            Item::Net(n) => {
                if let Some(e) = &mut n.init {
                    substitute(e, reg, input);
                }
            }
            Item::Assign(_, rhs) => substitute(rhs, reg, input),
            Item::Always { body, .. } => substitute_stmts(body, reg, input),
            Item::Instance(inst) => {
                for (_, e) in &mut inst.ports {
                    substitute(e, reg, input);
                }
            }
            Item::For { items, .. } | Item::LintOff { items, .. } => {
                substitute_items(items, reg, input)
            }
            Item::If {
                then_items,
                else_items,
                ..
            } => {
                substitute_items(then_items, reg, input);
                substitute_items(else_items, reg, input);
            }
            Item::Attributed { item, .. } => {
                substitute_items(std::slice::from_mut(&mut **item), reg, input)
            }
            _ => {}
        }
    }
}

fn substitute_stmts(body: &mut [Stmt], reg: &str, input: &Expr) {
    for s in body {
        match s {
            Stmt::NonBlocking(l, r) | Stmt::Blocking(l, r) => {
                // Indices of a left-hand side are reads too.
                if let Expr::Index(_, i) = l {
                    substitute(i, reg, input);
                }
                substitute(r, reg, input);
            }
            Stmt::If(c, a, b) => {
                substitute(c, reg, input);
                substitute_stmts(a, reg, input);
                substitute_stmts(b, reg, input);
            }
            Stmt::Comment(_) => {}
        }
    }
}

fn substitute(e: &mut Expr, reg: &str, input: &Expr) {
    match e {
        Expr::Id(n) if n == reg => *e = input.clone(),
        Expr::Unary(_, a) | Expr::Signed(a) | Expr::Clog2(a) => substitute(a, reg, input),
        Expr::Binary(_, a, b) | Expr::Index(a, b) | Expr::Repeat(a, b) => {
            substitute(a, reg, input);
            substitute(b, reg, input);
        }
        Expr::Cond(a, b, c) | Expr::Slice(a, b, c) | Expr::PartUp(a, b, c) => {
            // A bit or part select of the removed register selects from its input (in
            // parentheses when the input is not a name: Verilog selects only from names).
            substitute(a, reg, input);
            substitute(b, reg, input);
            substitute(c, reg, input);
        }
        Expr::Concat(parts) => {
            for p in parts {
                substitute(p, reg, input);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verilog::*;

    fn toy() -> Module {
        Module {
            name: "toy".into(),
            doc: vec![],
            params: vec![],
            ports: vec![
                input("clk", None, ""),
                input("a", Some(int(8)), ""),
                input("in_valid", None, ""),
                output("y", Some(int(8)), ""),
            ],
            items: vec![
                reg("q", Some(int(8))),
                always(vec![if_(
                    id("in_valid"),
                    vec![nb(id("q"), id("a") + sized(8, 1))],
                )]),
                assign(id("y"), id("q") - id("a")),
            ],
        }
    }

    #[test]
    fn sites_are_numbered_deterministically_and_each_changes_the_text() {
        let m = toy();
        let s = sites(&m, &[]);
        assert_eq!(s, sites(&m, &[]));
        assert!(s.len() >= 10, "{s:#?}");
        for (i, expected) in s.iter().enumerate() {
            let (mutant, site) = apply(&m, i, &[]).expect("site");
            assert_eq!(&site, expected);
            let d = diff(&m, &mutant);
            assert!(!d.is_empty(), "{}: no change", site.description);
            assert!(d.contains("\n-") || d.contains("\n+"), "{d}");
        }
        assert!(apply(&m, s.len(), &[]).is_none());
        let kinds: std::collections::BTreeSet<Kind> = s.iter().map(|s| s.kind).collect();
        for k in [
            Kind::OperatorSwap,
            Kind::ConstantOffByOne,
            Kind::StageRemoved,
            Kind::StageAdded,
            Kind::StuckAt,
            Kind::OperandSwap,
            Kind::WidthDropped,
        ] {
            assert!(kinds.contains(&k), "{k:?} missing: {s:#?}");
        }
    }

    #[test]
    fn a_removed_stage_feeds_its_readers_the_input() {
        let m = toy();
        let i = sites(&m, &[])
            .iter()
            .position(|s| s.kind == Kind::StageRemoved)
            .unwrap();
        let (mutant, _) = apply(&m, i, &[]).unwrap();
        let text = print_module(&[], &mutant);
        assert!(text.contains("assign y = a + 8'd1 - a;"), "{text}");
        assert!(!text.contains("q <="), "{text}");
    }

    #[test]
    fn only_input_ports_of_an_instance_are_stuck() {
        // A child with a control-named input and a control-named output, both connected.
        let mut child = toy();
        child.name = "child".into();
        child.ports.push(output("out_valid", None, ""));
        child.items.push(assign(id("out_valid"), id("in_valid")));
        let parent = Module {
            name: "parent".into(),
            doc: vec![],
            params: vec![],
            ports: vec![
                input("clk", None, ""),
                input("a", Some(int(8)), ""),
                input("in_valid", None, ""),
                output("y", Some(int(8)), ""),
                output("out_valid", None, ""),
            ],
            items: vec![crate::verilog::build::instance(&child, "u", vec![], &[])],
        };
        let stuck = |modules: &[Module]| -> Vec<String> {
            sites(&parent, modules)
                .into_iter()
                .filter(|s| s.kind == Kind::StuckAt)
                .map(|s| s.description)
                .collect()
        };
        let known = stuck(&[child.clone(), parent.clone()]);
        assert_eq!(
            known,
            [
                "child u .in_valid stuck at 0",
                "child u .in_valid stuck at 1"
            ],
            "only the input"
        );
        // Without the child's definition the direction is unknown: nothing is stuck.
        assert!(stuck(&[]).is_empty());
    }

    #[test]
    fn diff_is_unified() {
        let d = unified_diff("a\nb\nc\nd\ne\n", "a\nb\nX\nd\ne\n", "f.v", 1);
        assert_eq!(d, "--- a/f.v\n+++ b/f.v\n@@ -2,3 +2,3 @@\n b\n-c\n+X\n d\n");
        assert_eq!(unified_diff("a\n", "a\n", "f.v", 2), "");
    }
}
