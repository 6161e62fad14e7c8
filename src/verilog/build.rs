//! Helpers that build the typed description: widths and slices of known sizes, constants,
//! declarations hoisted ahead of their uses, instances wired by port name, and the evaluation of
//! constant expressions (the widths of a module's ports for one set of parameters).

use std::collections::HashMap;

use super::{assign, concat, id, int, sized, Add, Dir, Expr, Instance, Item, Module, Net, Sub};

/// A width of `n` bits (`None` for one bit, which prints as a scalar).
pub fn bits(n: u32) -> Option<Expr> {
    assert!(n >= 1, "zero-width net");
    (n > 1).then(|| int(i64::from(n)))
}

/// `e` (of `from` bits) zero-extended to `to` bits.
pub fn zext(e: Expr, from: u32, to: u32) -> Expr {
    assert!(to >= from, "zext from {from} to {to}");
    if to == from {
        e
    } else {
        concat(vec![sized(to - from, 0), e])
    }
}

/// Bits `lsb + width - 1 .. lsb` of the vector `e` (a single bit when `width == 1`).
pub fn bits_of(e: Expr, lsb: u32, width: u32) -> Expr {
    if width == 1 {
        e.at(int(i64::from(lsb)))
    } else {
        e.slice(int(i64::from(lsb + width - 1)), int(i64::from(lsb)))
    }
}

/// `name + 1` / `name - 1` at the width of `name`.
pub fn inc(name: &str, width: u32) -> Expr {
    id(name).add(sized(width, 1))
}
pub fn dec(name: &str, width: u32) -> Expr {
    id(name).sub(sized(width, 1))
}

/// A 1-bit constant.
pub fn bit(v: bool) -> Expr {
    sized(1, u64::from(v))
}

/// Declarations first: every net of `items` (top level) is declared before any item uses it,
/// as Verilog-2005 requires; a net with an initial value becomes a declaration plus an
/// `assign` left where it was.
pub fn hoist(items: Vec<Item>) -> Vec<Item> {
    let mut decls = vec![];
    let mut rest = vec![];
    // A net's declaration, its initial value left behind as an `assign`.
    let declare = |mut net: Net, rest: &mut Vec<Item>| {
        if let Some(init) = net.init.take() {
            rest.push(assign(id(&net.name), init));
        }
        Item::Net(net)
    };
    for item in items {
        match item {
            Item::Net(net) => decls.push(declare(net, &mut rest)),
            // An attributed net (e.g. a memory with `no_rw_check`) keeps its attributes.
            Item::Attributed { attrs, item } if matches!(*item, Item::Net(_)) => {
                let Item::Net(net) = *item else {
                    unreachable!()
                };
                decls.push(Item::Attributed {
                    attrs,
                    item: Box::new(declare(net, &mut rest)),
                });
            }
            other => rest.push(other),
        }
    }
    decls.push(Item::Blank);
    decls.extend(rest);
    decls
}

/// A module instance whose ports are connected to nets of the same name, except `renamed`.
pub fn instance(
    module: &Module,
    name: &str,
    params: Vec<(String, Expr)>,
    renamed: &[(&str, &str)],
) -> Item {
    Item::Instance(Instance {
        module: module.name.clone(),
        name: name.into(),
        params,
        ports: module
            .ports
            .iter()
            .map(|p| {
                let net = renamed
                    .iter()
                    .find(|(port, _)| *port == p.name)
                    .map_or(p.name.as_str(), |(_, net)| net);
                (p.name.clone(), id(net))
            })
            .collect(),
    })
}

/// A top-level port with its width evaluated for one set of parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopPort {
    pub name: String,
    pub dir: Dir,
    pub width: u32,
}

/// Evaluate a constant expression over integer parameters (the subset widths use).
pub fn eval(e: &Expr, env: &HashMap<String, i64>) -> Option<i64> {
    use super::BinOp::*;
    Some(match e {
        Expr::Int(v) => *v,
        Expr::Id(n) => *env.get(n)?,
        Expr::Binary(op, a, b) => {
            let (a, b) = (eval(a, env)?, eval(b, env)?);
            match op {
                Add => a + b,
                Sub => a - b,
                Mul => a * b,
                Gt => i64::from(a > b),
                Lt => i64::from(a < b),
                Eq => i64::from(a == b),
                _ => return None,
            }
        }
        Expr::Cond(c, a, b) => {
            if eval(c, env)? != 0 {
                eval(a, env)?
            } else {
                eval(b, env)?
            }
        }
        Expr::Clog2(a) => {
            let v = eval(a, env)?;
            if v <= 1 {
                0
            } else {
                i64::from(64 - ((v - 1) as u64).leading_zeros())
            }
        }
        _ => return None,
    })
}

/// The ports of `module` with their widths evaluated: its parameters at their defaults, each
/// overridden by `overrides` (name, value) where given.
pub fn evaluated_ports(module: &Module, overrides: &[(String, i64)]) -> Vec<TopPort> {
    let mut env: HashMap<String, i64> = HashMap::new();
    for p in &module.params {
        let v = match overrides.iter().find(|(n, _)| *n == p.name) {
            Some((_, v)) => *v,
            None => eval(&p.value, &env).unwrap_or_else(|| {
                panic!("parameter {} of {} is not constant", p.name, module.name)
            }),
        };
        env.insert(p.name.clone(), v);
    }
    module
        .ports
        .iter()
        .map(|p| TopPort {
            name: p.name.clone(),
            dir: p.dir,
            width: p.width.as_ref().map_or(1, |w| {
                eval(w, &env).unwrap_or_else(|| {
                    panic!(
                        "width of port {} of {} is not constant",
                        p.name, module.name
                    )
                }) as u32
            }),
        })
        .collect()
}
