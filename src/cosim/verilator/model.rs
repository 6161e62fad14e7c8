//! [`Model`]: a built simulation library, loaded; each [`Model::instantiate`] makes an
//! independent [`Sim`], one running simulation driven through its ports' word buffers (the
//! cycle contract is in the [module documentation](super)).

use std::ffi::{c_void, CString};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Arc;

use super::shim::Shim;
use super::spec::{BuildSpec, Dir, Layout, PortSlot, PortSpec};
use super::{io_err, VerilatorError, LIB_NAME};

/// What every [`Sim`] of a model shares.
struct ModelInner {
    pub shim: Shim,
    pub layout: Layout,
    pub ports: Vec<PortSpec>,
    pub dir: PathBuf,
    pub trace: bool,
    pub build_seconds: Option<f64>,
    // Dropped last: the function pointers above point into it.
    _lib: libloading::Library,
}

/// A built and loaded simulation library. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Model {
    inner: Arc<ModelInner>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("dir", &self.inner.dir)
            .field("trace", &self.inner.trace)
            .field("build_seconds", &self.inner.build_seconds)
            .finish()
    }
}

impl Model {
    /// Load `dir`'s library, built for `spec` with the port layout `layout`.
    pub(super) fn load(
        dir: &Path,
        layout: Layout,
        spec: &BuildSpec,
        build_seconds: Option<f64>,
    ) -> Result<Model, VerilatorError> {
        let path = dir.join(LIB_NAME);
        let fail = |reason: String| VerilatorError::LoadFailed {
            path: path.clone(),
            reason,
        };
        // SAFETY: the library is one we built from our own shim; loading it runs the static
        // constructors of the Verilated runtime only.
        let lib = unsafe { libloading::Library::new(&path) }.map_err(|e| fail(e.to_string()))?;
        // SAFETY: the library was built from the shim (see `Shim::load`).
        let shim = unsafe { Shim::load(&lib, &layout) }.map_err(fail)?;
        Ok(Model {
            inner: Arc::new(ModelInner {
                shim,
                layout,
                ports: spec.ports.to_vec(),
                dir: dir.to_path_buf(),
                trace: spec.trace,
                build_seconds,
                _lib: lib,
            }),
        })
    }

    /// A new, independent simulation (own `VerilatedContext` and model instance), with all inputs
    /// zero, clk low, and one [`Sim::eval`] already done (so `initial` blocks have run and outputs
    /// are settled).
    pub fn instantiate(&self) -> Result<Sim, VerilatorError> {
        // SAFETY: `new` has no preconditions; it returns null on failure.
        let raw = unsafe { (self.inner.shim.new)() };
        let ctx = NonNull::new(raw).ok_or(VerilatorError::InstantiateFailed)?;
        Ok(Sim::new(ctx, Arc::clone(&self.inner)))
    }

    /// Wall-clock seconds this call spent building, or `None` if the library came from the cache.
    pub fn build_seconds(&self) -> Option<f64> {
        self.inner.build_seconds
    }

    /// The cache directory holding `libsim.so`, `shim.cpp` and `build.log`.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The port list the model was built with (including `clk`).
    pub fn ports(&self) -> &[PortSpec] {
        &self.inner.ports
    }

    /// Whether the model was built with tracing support.
    pub fn has_trace(&self) -> bool {
        self.inner.trace
    }
}

/// Handle of a port, valid for every [`Sim`] of the [`Model`] it was looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortId(u32);

/// One running simulation. See the [module documentation](super) for the cycle contract.
///
/// `Send` (it may move between threads) but not `Sync`.
pub struct Sim {
    ctx: NonNull<c_void>,
    inputs: Vec<u32>,
    outputs: Vec<u32>,
    cycle: u64,
    tracing: bool,
    /// A trace to open at one cycle and close at another ([`Sim::set_trace_window`]).
    window: Option<TraceWindow>,
    /// Why the window's trace could not be opened when its cycle came (reported by
    /// [`Sim::trace_error`]).
    window_error: Option<VerilatorError>,
    model: Arc<ModelInner>,
}

/// A trace of cycles `from..to` only.
#[derive(Debug, Clone)]
struct TraceWindow {
    path: std::path::PathBuf,
    from: u64,
    to: Option<u64>,
}

// SAFETY: the shim instance is only touched through `&mut self` (or `&self` for a read-only
// flag), and a Verilated model may be driven from any one thread at a time.
unsafe impl Send for Sim {}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("dir", &self.model.dir)
            .field("cycle", &self.cycle)
            .field("tracing", &self.tracing)
            .finish()
    }
}

impl Sim {
    /// The simulation of the shim instance `ctx` of `model`, evaluated once.
    fn new(ctx: NonNull<c_void>, model: Arc<ModelInner>) -> Sim {
        let mut sim = Sim {
            ctx,
            inputs: vec![0; model.layout.in_words],
            outputs: vec![0; model.layout.out_words],
            cycle: 0,
            tracing: false,
            window: None,
            window_error: None,
            model,
        };
        sim.eval();
        sim
    }

    /// Id of the port `name`, or `None` if it is not in the port list (or is `clk`, which only
    /// [`Sim::tick`] drives). Look ids up once, outside the cycle loop.
    pub fn port(&self, name: &str) -> Option<PortId> {
        self.model
            .layout
            .by_name
            .get(name)
            .map(|&i| PortId(i as u32))
    }

    /// Like [`Sim::port`], but an unknown name is a [`VerilatorError::UnknownPort`].
    pub fn require_port(&self, name: &str) -> Result<PortId, VerilatorError> {
        self.port(name)
            .ok_or_else(|| VerilatorError::UnknownPort(name.to_string()))
    }

    /// Spec (name, direction, width) of a port.
    pub fn port_spec(&self, p: PortId) -> &PortSpec {
        &self.slot(p).spec
    }

    fn slot(&self, p: PortId) -> &PortSlot {
        &self.model.layout.slots[p.0 as usize]
    }

    fn input_slot(&self, p: PortId) -> (usize, usize, u32) {
        let s = self.slot(p);
        assert!(
            s.spec.dir == Dir::In,
            "port `{}` is an output and cannot be set",
            s.spec.name
        );
        (s.offset, s.words, s.top_mask)
    }

    /// Set an input from little-endian 32-bit words (word 0 = bits 31..0). Missing words are
    /// zero; words and bits beyond the port width are ignored. Takes effect at the next
    /// [`Sim::eval`] or [`Sim::tick`]. Panics if `p` is an output.
    pub fn set(&mut self, p: PortId, words: &[u32]) {
        let (off, n, mask) = self.input_slot(p);
        let dst = &mut self.inputs[off..off + n];
        let k = words.len().min(n);
        dst[..k].copy_from_slice(&words[..k]);
        dst[k..].fill(0);
        dst[n - 1] &= mask;
    }

    /// Set an input from a `u64` (bits beyond the port width ignored; wider ports get zeros in
    /// their upper words). Panics if `p` is an output.
    pub fn set_u64(&mut self, p: PortId, v: u64) {
        let (off, n, mask) = self.input_slot(p);
        let dst = &mut self.inputs[off..off + n];
        dst[0] = v as u32;
        if n > 1 {
            dst[1] = (v >> 32) as u32;
            dst[2..].fill(0);
        }
        dst[n - 1] &= mask;
    }

    /// Set a 1-bit (or any) input to 0 or 1.
    pub fn set_bool(&mut self, p: PortId, v: bool) {
        self.set_u64(p, v as u64);
    }

    /// Current value of a port as little-endian 32-bit words (`ceil(width/32)` of them, bits
    /// beyond the width zero). For an output: as of the last [`Sim::eval`]/[`Sim::tick`]; for an
    /// input: the value last set.
    pub fn get(&self, p: PortId) -> &[u32] {
        let s = self.slot(p);
        let buf = match s.spec.dir {
            Dir::In => &self.inputs,
            Dir::Out => &self.outputs,
        };
        &buf[s.offset..s.offset + s.words]
    }

    /// The low 64 bits of [`Sim::get`].
    pub fn get_u64(&self, p: PortId) -> u64 {
        let w = self.get(p);
        let hi = w.get(1).copied().unwrap_or(0) as u64;
        (hi << 32) | w[0] as u64
    }

    /// Bit 0 of [`Sim::get`].
    pub fn get_bool(&self, p: PortId) -> bool {
        self.get(p)[0] & 1 != 0
    }

    /// Copy all inputs in, settle combinational logic with clk low, copy all outputs out. No
    /// clock edge, no trace sample, cycle count unchanged. One FFI call.
    pub fn eval(&mut self) {
        // SAFETY: ctx is a live shim instance; the buffers have the lengths the shim was
        // generated for (checked at load).
        unsafe {
            (self.model.shim.eval)(
                self.ctx.as_ptr(),
                self.inputs.as_ptr(),
                self.outputs.as_mut_ptr(),
            )
        }
    }

    /// One clock cycle: copy inputs in, (clk low + eval if no [`Sim::eval`] came since the last
    /// tick,) rising edge + eval, clk low (evaluated by the next call), copy outputs out,
    /// increment [`Sim::cycle`]. With a trace open, samples at time `2*c` (clk low, inputs
    /// settled) and `2*c + 1` (after the edge). One FFI call.
    pub fn tick(&mut self) {
        // SAFETY: as in `eval`.
        unsafe {
            (self.model.shim.tick)(
                self.ctx.as_ptr(),
                self.inputs.as_ptr(),
                self.outputs.as_mut_ptr(),
            )
        }
        self.cycle += 1;
        self.step_window();
    }

    /// Trace cycles `from..to` (`to` `None`: to the end) of this simulation into `path`: the
    /// trace opens when [`Sim::cycle`] reaches `from` (now, if it has) and closes at `to`, so a
    /// long run writes only the window. A model built with [`BuildSpec::trace`] is needed.
    pub fn set_trace_window(
        &mut self,
        path: &Path,
        from: u64,
        to: Option<u64>,
    ) -> Result<(), VerilatorError> {
        if !self.model.trace {
            return Err(VerilatorError::TraceNotBuilt);
        }
        self.window = Some(TraceWindow {
            path: path.to_path_buf(),
            from,
            to,
        });
        self.step_window();
        self.trace_error()
    }

    /// Why the trace window's file could not be opened, if it could not.
    pub fn trace_error(&mut self) -> Result<(), VerilatorError> {
        self.window_error.take().map_or(Ok(()), Err)
    }

    fn step_window(&mut self) {
        let Some(w) = &self.window else { return };
        let inside = self.cycle >= w.from && w.to.is_none_or(|t| self.cycle < t);
        if inside && !self.tracing {
            let path = w.path.clone();
            if let Err(e) = self.open_trace(&path) {
                self.window_error = Some(e);
                self.window = None;
            }
        } else if !inside && self.tracing && self.cycle >= w.from {
            self.close_trace();
            self.window = None;
        }
    }

    /// Number of [`Sim::tick`]s so far.
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// Whether the design has executed `$finish`. (`$stop` and fatal errors abort the process,
    /// as in any Verilated model.)
    pub fn finished(&self) -> bool {
        // SAFETY: ctx is live; the call only reads a flag.
        unsafe { (self.model.shim.got_finish)(self.ctx.as_ptr()) != 0 }
    }

    /// Start writing a VCD of the whole design to `path` (replacing any trace already open, which
    /// is closed first). Requires a model built with [`BuildSpec::trace`]. Samples are taken by
    /// [`Sim::tick`]; closing (explicitly, by reopening, or by dropping the `Sim`) adds a final
    /// sample of the current state.
    pub fn open_trace(&mut self, path: &Path) -> Result<(), VerilatorError> {
        if !self.model.trace {
            return Err(VerilatorError::TraceNotBuilt);
        }
        File::create(path).map_err(io_err(path))?;
        use std::os::unix::ffi::OsStrExt;
        let c =
            CString::new(path.as_os_str().as_bytes()).map_err(|_| VerilatorError::TraceOpen {
                path: path.to_path_buf(),
            })?;
        // SAFETY: ctx is live; `c` outlives the call (Verilator copies the name).
        let rc = unsafe { (self.model.shim.trace_open)(self.ctx.as_ptr(), c.as_ptr()) };
        match rc {
            0 => {
                self.tracing = true;
                Ok(())
            }
            1 => Err(VerilatorError::TraceNotBuilt),
            _ => Err(VerilatorError::TraceOpen {
                path: path.to_path_buf(),
            }),
        }
    }

    /// Flush buffered trace data to the file (no-op without an open trace).
    pub fn flush_trace(&mut self) {
        // SAFETY: ctx is live.
        unsafe { (self.model.shim.trace_flush)(self.ctx.as_ptr()) }
    }

    /// Close the trace, if one is open.
    pub fn close_trace(&mut self) {
        // SAFETY: ctx is live.
        unsafe { (self.model.shim.trace_close)(self.ctx.as_ptr()) }
        self.tracing = false;
    }

    /// Whether a trace file is open.
    pub fn is_tracing(&self) -> bool {
        self.tracing
    }

    /// The model this simulation belongs to.
    pub fn model(&self) -> Model {
        Model {
            inner: Arc::clone(&self.model),
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        // SAFETY: ctx is live and never used again; `delete` closes an open trace first.
        unsafe { (self.model.shim.delete)(self.ctx.as_ptr()) }
    }
}
