//! The C++ shim between Rust and a Verilated model, both sides of its C ABI: the source
//! generated for one port layout from the template `cosim/shim.cpp` (one copy statement per
//! port; the text is part of the cache key), and the functions it exports as Rust calls them.

use std::ffi::{c_char, c_void};
use std::fmt::Write as _;

use super::spec::{Dir, Layout};

/// Version of the C ABI between this module and `cosim/shim.cpp` (`SHIM_ABI_VERSION` there).
const SHIM_ABI_VERSION: u32 = 1;
const SHIM_TEMPLATE: &str = include_str!("../../../cosim/shim.cpp");

/// The C++ shim for this layout (pure function of the spec: part of the cache key).
pub(super) fn shim_source(top: &str, threads: u32, lay: &Layout) -> String {
    let mut cin = String::new();
    let mut cout = String::new();
    for s in &lay.slots {
        let (n, o, w, m) = (&s.spec.name, s.offset, s.words, s.top_mask);
        let width = s.spec.width;
        match s.spec.dir {
            Dir::In => {
                let _ = match width {
                    1..=8 => writeln!(cin, "    top->{n} = static_cast<CData>(in[{o}]);"),
                    9..=16 => writeln!(cin, "    top->{n} = static_cast<SData>(in[{o}]);"),
                    17..=32 => writeln!(cin, "    top->{n} = static_cast<IData>(in[{o}]);"),
                    33..=64 => writeln!(
                        cin,
                        "    top->{n} = static_cast<QData>(in[{o}]) | (static_cast<QData>(in[{}]) << 32);",
                        o + 1
                    ),
                    _ => writeln!(cin, "    std::memcpy(top->{n}.data(), in + {o}, {w} * sizeof(uint32_t));"),
                };
            }
            Dir::Out => {
                let last = o + w - 1;
                let _ = match width {
                    1..=32 => writeln!(cout, "    out[{o}] = static_cast<uint32_t>(top->{n}) & {m}u;"),
                    33..=64 => writeln!(
                        cout,
                        "    out[{o}] = static_cast<uint32_t>(top->{n});\n    out[{last}] = static_cast<uint32_t>(top->{n} >> 32) & {m}u;"
                    ),
                    _ => writeln!(
                        cout,
                        "    std::memcpy(out + {o}, top->{n}.data(), {w} * sizeof(uint32_t));\n    out[{last}] &= {m}u;"
                    ),
                };
            }
        }
    }
    SHIM_TEMPLATE
        .replace("@MODEL@", &format!("V{top}"))
        .replace("@THREADS@", &threads.to_string())
        .replace("@IN_WORDS@", &lay.in_words.to_string())
        .replace("@OUT_WORDS@", &lay.out_words.to_string())
        .replace("@COPY_IN@", cin.trim_end_matches('\n'))
        .replace("@COPY_OUT@", cout.trim_end_matches('\n'))
}

type NewFn = unsafe extern "C" fn() -> *mut c_void;
type CtxFn = unsafe extern "C" fn(*mut c_void);
type StepFn = unsafe extern "C" fn(*mut c_void, *const u32, *mut u32);
type TraceOpenFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> i32;
type FinishFn = unsafe extern "C" fn(*mut c_void) -> i32;
type U32Fn = unsafe extern "C" fn() -> u32;

/// The shim's functions in a loaded library.
pub(super) struct Shim {
    pub new: NewFn,
    pub delete: CtxFn,
    pub eval: StepFn,
    pub tick: StepFn,
    pub trace_open: TraceOpenFn,
    pub trace_close: CtxFn,
    pub trace_flush: CtxFn,
    pub got_finish: FinishFn,
}

impl Shim {
    /// The shim's functions in `lib`, after checking its ABI version and that it was generated
    /// for `layout`; the error says what does not match.
    ///
    /// # Safety
    ///
    /// `lib` must be a library built from this module's shim: the symbols are taken with the
    /// types of the `extern "C"` definitions in `cosim/shim.cpp` (the ABI version is checked
    /// before anything else is called).
    pub(super) unsafe fn load(lib: &libloading::Library, layout: &Layout) -> Result<Shim, String> {
        fn sym<T: Copy>(lib: &libloading::Library, name: &str) -> Result<T, String> {
            // SAFETY: forwarded to the caller (types match the shim).
            unsafe { lib.get::<T>(name.as_bytes()) }
                .map(|s| *s)
                .map_err(|e| e.to_string())
        }
        // SAFETY: the functions take no arguments and only return constants.
        unsafe {
            let abi: U32Fn = sym(lib, "shim_abi_version")?;
            if abi() != SHIM_ABI_VERSION {
                return Err(format!("shim ABI {} != expected {SHIM_ABI_VERSION}", abi()));
            }
            let in_words: U32Fn = sym(lib, "shim_in_words")?;
            let out_words: U32Fn = sym(lib, "shim_out_words")?;
            if in_words() as usize != layout.in_words || out_words() as usize != layout.out_words {
                return Err("shim port layout does not match the port list".into());
            }
        }
        Ok(Shim {
            new: sym(lib, "shim_new")?,
            delete: sym(lib, "shim_delete")?,
            eval: sym(lib, "shim_eval")?,
            tick: sym(lib, "shim_tick")?,
            trace_open: sym(lib, "shim_trace_open")?,
            trace_close: sym(lib, "shim_trace_close")?,
            trace_flush: sym(lib, "shim_trace_flush")?,
            got_finish: sym(lib, "shim_got_finish")?,
        })
    }
}
