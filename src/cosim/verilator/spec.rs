//! What to build: the top module, its sources and ports ([`BuildSpec`], [`PortSpec`]), the knobs
//! of one build call ([`BuildOptions`]), and the ports' layout in the word buffers that cross
//! the C ABI (checked here: every name a plain identifier, `clk` a 1-bit input, widths in
//! range).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{VerilatorError, CLOCK, MAX_PORT_WIDTH};

/// Direction of a port, seen from the design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    In,
    Out,
}

/// One top-level port. `name` must be a plain Verilog identifier (`[A-Za-z_][A-Za-z0-9_]*`)
/// without `__` (Verilator mangles those); `width` is in bits, `1..=`[`MAX_PORT_WIDTH`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortSpec {
    pub name: String,
    pub dir: Dir,
    pub width: u32,
}

/// A generated top-level port as Verilator sees it.
impl From<crate::verilog::TopPort> for PortSpec {
    fn from(p: crate::verilog::TopPort) -> PortSpec {
        let dir = match p.dir {
            crate::verilog::Dir::Input => Dir::In,
            crate::verilog::Dir::Output => Dir::Out,
        };
        PortSpec::new(p.name, dir, p.width)
    }
}

impl PortSpec {
    pub fn new(name: impl Into<String>, dir: Dir, width: u32) -> Self {
        PortSpec {
            name: name.into(),
            dir,
            width,
        }
    }
    pub fn input(name: impl Into<String>, width: u32) -> Self {
        Self::new(name, Dir::In, width)
    }
    pub fn output(name: impl Into<String>, width: u32) -> Self {
        Self::new(name, Dir::Out, width)
    }
}

/// What to build.
///
/// `ports` must contain [`CLOCK`] (`clk`, 1 bit, input) and every other input of `top`, each
/// with its exact width; outputs may be left out (they are then not visible). The port list is
/// checked against Verilator's view of the design before the C++ compilation starts, and a
/// mismatch is a [`VerilatorError::PortMismatch`].
#[derive(Debug, Clone)]
pub struct BuildSpec<'a> {
    /// Top module name.
    pub top: &'a str,
    /// Verilog source files, in order (relative paths are taken from the current directory).
    pub sources: &'a [PathBuf],
    /// Port list of `top`.
    pub ports: &'a [PortSpec],
    /// Build with `--trace` so that [`Sim::open_trace`] can write a VCD. Slower simulation.
    pub trace: bool,
    /// With `trace`: `--trace-fst` instead, so the trace is an FST file (several times smaller
    /// than a VCD, read by GTKWave and Surfer).
    pub fst: bool,
    /// `verilator --threads N`; 1 = single-threaded model.
    pub threads: u32,
    /// Extra Verilator arguments, appended after the fixed ones (part of the cache key).
    pub extra_args: &'a [String],
}

/// Knobs of one build call that are not part of the design. None of them enters the cache key.
#[derive(Default)]
pub struct BuildOptions<'a> {
    /// The `verilator` executable; default: [`super::default_verilator`].
    pub verilator: Option<&'a Path>,
    /// `make -j` jobs; default: the number of available CPUs.
    pub jobs: Option<usize>,
    /// Receives one line per build step (cache hit, waiting for a lock, verilating, compiling).
    /// The library never prints; a CLI can forward these to stderr.
    pub progress: Option<&'a mut dyn FnMut(&str)>,
}

impl BuildOptions<'_> {
    pub(super) fn say(&mut self, msg: &str) {
        if let Some(p) = self.progress.as_mut() {
            p(msg);
        }
    }
}

/// Where one port sits in the input or output buffer.
#[derive(Debug, Clone)]
pub(super) struct PortSlot {
    pub spec: PortSpec,
    /// Word offset in the input or output buffer.
    pub offset: usize,
    pub words: usize,
    /// Mask of the valid bits of the top word.
    pub top_mask: u32,
}

/// Every port but `clk` in its buffer, in port-list order.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    pub slots: Vec<PortSlot>,
    pub by_name: HashMap<String, usize>,
    /// Words of the input buffer.
    pub in_words: usize,
    /// Words of the output buffer.
    pub out_words: usize,
}

fn words_of(width: u32) -> usize {
    width.div_ceil(32) as usize
}

fn top_mask(width: u32) -> u32 {
    match width % 32 {
        0 => u32::MAX,
        r => (1u32 << r) - 1,
    }
}

fn is_plain_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.contains("__")
}

/// The layout of `spec`'s ports, after checking the spec.
pub(super) fn layout(spec: &BuildSpec) -> Result<Layout, VerilatorError> {
    let bad = |m: String| Err(VerilatorError::InvalidSpec(m));
    if !is_plain_ident(spec.top) {
        return bad(format!(
            "top module name `{}` is not a plain identifier without `__`",
            spec.top
        ));
    }
    if spec.threads == 0 {
        return bad("threads must be at least 1".into());
    }
    if spec.sources.is_empty() {
        return bad("no Verilog sources".into());
    }
    let mut seen_clk = false;
    let mut slots = Vec::new();
    let mut by_name = HashMap::new();
    let (mut in_words, mut out_words) = (0usize, 0usize);
    let mut names = std::collections::HashSet::new();
    for p in spec.ports {
        if !is_plain_ident(&p.name) {
            return bad(format!(
                "port name `{}` is not a plain identifier without `__`",
                p.name
            ));
        }
        if !names.insert(p.name.as_str()) {
            return bad(format!("port `{}` listed twice", p.name));
        }
        if p.width == 0 || p.width > MAX_PORT_WIDTH {
            return bad(format!(
                "port `{}` has width {} (allowed 1..={MAX_PORT_WIDTH})",
                p.name, p.width
            ));
        }
        if p.name == CLOCK {
            if p.dir != Dir::In || p.width != 1 {
                return bad(format!("`{CLOCK}` must be a 1-bit input"));
            }
            seen_clk = true;
            continue;
        }
        let words = words_of(p.width);
        let counter = match p.dir {
            Dir::In => &mut in_words,
            Dir::Out => &mut out_words,
        };
        let offset = *counter;
        *counter += words;
        by_name.insert(p.name.clone(), slots.len());
        slots.push(PortSlot {
            spec: p.clone(),
            offset,
            words,
            top_mask: top_mask(p.width),
        });
    }
    if !seen_clk {
        return bad(format!(
            "the port list must contain `{CLOCK}` (1-bit input)"
        ));
    }
    Ok(Layout {
        slots,
        by_name,
        in_words,
        out_words,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_idents() {
        assert_eq!(top_mask(1), 1);
        assert_eq!(top_mask(32), u32::MAX);
        assert_eq!(top_mask(40), 0xff);
        assert_eq!(words_of(100), 4);
        assert!(is_plain_ident("a_b1"));
        assert!(!is_plain_ident("a__b"));
        assert!(!is_plain_ident("1a"));
        assert!(!is_plain_ident("a.b"));
    }
}
