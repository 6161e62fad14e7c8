//! The properties checked on the parsers that take outside bytes: `.npy` files
//! ([`systolic::npy::parse`]), TOML presets and preset names ([`systolic::config::Config`]), the
//! UART frame decoder ([`systolic::frame::Decoder`]) and the instruction decoder
//! ([`systolic::isa::Instr::decode`]).
//!
//! One definition, two users: the libFuzzer targets in `fuzz/fuzz_targets/` (crate
//! `systolic-fuzz`, run by `scripts/fuzz.sh`) and the proptest tests of `tests/fuzz.rs`, which
//! include this file as a module (so it names nothing through `crate::`). Every `check_*`
//! function panics when a property does not hold; a parser error is not a failure, as long as it
//! is an error value with a message.
//!
//! Properties common to all: no panic; no hang (libFuzzer's `-timeout`, the tests' time bound);
//! no single allocation larger than the input justifies ([`CappedAlloc`], the global allocator
//! of every binary that includes this file, with a per-target budget linear in the input's
//! length).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Component, Path};

use systolic::config::{self, Config, Geometry, Overrides};
use systolic::frame::{self, Decoder, Frame, FrameError};
use systolic::isa::{DecodeError, Instr};
use systolic::npy::{self, Array2, NpyError};

// ---------------------------------------------------------------------------------------------
// Allocation budget
// ---------------------------------------------------------------------------------------------

/// A global allocator that records, per thread, the largest single allocation made inside
/// [`with_budget`], and refuses (returns null, which aborts the process) any request above
/// [`HARD_LIMIT`] there, so that a header claiming 2^40 elements fails the check instead of
/// exhausting the machine.
pub struct CappedAlloc;

/// Inside [`with_budget`], requests above this many bytes are refused outright.
pub const HARD_LIMIT: usize = 256 << 20;

thread_local! {
    /// Whether this thread is inside [`with_budget`].
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    /// The largest request seen inside [`with_budget`].
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) -> bool {
    // `try_with`: no panic in the allocator even while the thread's locals are torn down.
    let active = ACTIVE.try_with(Cell::get).unwrap_or(false);
    if active {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
        size <= HARD_LIMIT
    } else {
        true
    }
}

// SAFETY: every call is forwarded to `System` unchanged, or refused with a null pointer, which
// the `GlobalAlloc` contract allows.
unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if note(layout.size()) {
            System.alloc(layout)
        } else {
            std::ptr::null_mut()
        }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if note(layout.size()) {
            System.alloc_zeroed(layout)
        } else {
            std::ptr::null_mut()
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if note(new_size) {
            System.realloc(ptr, layout, new_size)
        } else {
            std::ptr::null_mut()
        }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: CappedAlloc = CappedAlloc;

/// Run `f`, then panic if it made a single allocation larger than `budget` bytes. Returns `f`'s
/// result and the largest allocation.
pub fn with_budget<R>(what: &str, budget: usize, f: impl FnOnce() -> R) -> (R, usize) {
    /// Ends the recording also when `f` panics (proptest goes on in the same thread).
    struct Active;
    impl Drop for Active {
        fn drop(&mut self) {
            ACTIVE.with(|a| a.set(false));
        }
    }
    LARGEST.with(|l| l.set(0));
    ACTIVE.with(|a| a.set(true));
    let active = Active;
    let r = f();
    drop(active);
    let largest = LARGEST.with(Cell::get);
    assert!(
        largest <= budget,
        "{what}: an allocation of {largest} bytes, more than the budget of {budget}"
    );
    (r, largest)
}

/// Budgets, in bytes, as `per_byte * input length + base`.
pub mod budget {
    /// `.npy`: the parsed array is 8 bytes per element and each element takes at least one
    /// byte of the file; an error message may quote the header.
    pub fn npy(len: usize) -> usize {
        16 * len + (64 << 10)
    }
    /// TOML: the parser's document tree (a few hundred bytes per value, a value takes at least
    /// two bytes of text).
    pub fn toml(len: usize) -> usize {
        256 * len + (1 << 20)
    }
    /// Frames: the decoder holds at most one frame (261 bytes); the list of results grows with
    /// the input.
    pub fn frame(len: usize) -> usize {
        64 * len + (16 << 10)
    }
    /// An instruction word: a message at most.
    pub const ISA: usize = 4 << 10;
}

// ---------------------------------------------------------------------------------------------
// .npy
// ---------------------------------------------------------------------------------------------

/// `npy::parse` on arbitrary bytes. When it succeeds: the array is consistent (length, value
/// ranges), re-serialises to a file that parses equal, its element bytes are the input's last
/// bytes, and the input with a byte more or (for a non-empty array) a byte less is refused.
/// Returns whether the bytes parsed.
pub fn check_npy(bytes: &[u8]) -> bool {
    let (parsed, _) = with_budget("npy::parse", budget::npy(bytes.len()), || npy::parse(bytes));
    let a = match parsed {
        Ok(a) => a,
        Err(e) => {
            assert!(
                !e.to_string().is_empty(),
                "an error without a message: {e:?}"
            );
            return false;
        }
    };
    check_array(&a);
    let again =
        npy::to_bytes(&a).unwrap_or_else(|e| panic!("{a:?} parsed but is not writable: {e}"));
    let back =
        npy::parse(&again).unwrap_or_else(|e| panic!("{a:?} re-serialised does not parse: {e}"));
    assert_eq!(back, a, "re-serialised array differs");
    let data_len = a.data.len() * a.dtype.size();
    assert_eq!(
        &bytes[bytes.len() - data_len..],
        &again[again.len() - data_len..],
        "element bytes differ from the input's"
    );
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(
        matches!(
            npy::parse(&longer),
            Err(NpyError::TrailingData { extra: 1, .. })
        ),
        "a byte appended to a valid file is not refused as trailing data"
    );
    if data_len > 0 {
        assert!(
            matches!(
                npy::parse(&bytes[..bytes.len() - 1]),
                Err(NpyError::Truncated { .. })
            ),
            "a valid file without its last byte is not refused as truncated"
        );
    }
    true
}

fn check_array(a: &Array2) {
    assert_eq!(
        a.rows.checked_mul(a.cols),
        Some(a.data.len()),
        "shape {}x{} with {} values",
        a.rows,
        a.cols,
        a.data.len()
    );
    if let Some(v) = a.data.iter().find(|v| !a.dtype.contains(**v)) {
        panic!("value {v} outside {}", a.dtype);
    }
}

// ---------------------------------------------------------------------------------------------
// TOML presets and preset names
// ---------------------------------------------------------------------------------------------

/// Whether `name` is one plain component of a path (`generated/<name>/` stays inside
/// `generated/`).
pub fn is_one_path_component(name: &str) -> bool {
    let mut c = Path::new(name).components();
    matches!((c.next(), c.next()), (Some(Component::Normal(n)), None) if n == name)
}

/// A parse error names its origin, alone or as `origin:line:column` with the line and column
/// (1-based, in characters) inside the text (a column one past a line's end: its end).
fn check_error_place(text: &str, origin: &str, path: &str) {
    if path == origin {
        return;
    }
    let place = path
        .strip_prefix(origin)
        .and_then(|p| p.strip_prefix(':'))
        .unwrap_or_else(|| panic!("a parse error at {path:?}, not in {origin}"));
    let (line, column) = place
        .split_once(':')
        .and_then(|(l, c)| Some((l.parse::<usize>().ok()?, c.parse::<usize>().ok()?)))
        .unwrap_or_else(|| panic!("a parse error at {path:?}: not line:column"));
    let lines: Vec<&str> = text.split('\n').collect();
    assert!(
        (1..=lines.len()).contains(&line),
        "{path}: line {line} of {}",
        lines.len()
    );
    let chars = lines[line - 1].chars().count();
    assert!(
        (1..=chars + 1).contains(&column),
        "{path}: column {column} of a line of {chars} characters"
    );
}

/// `Config::from_toml_str` on arbitrary text. When it succeeds: the name is one plain path
/// component (it names folders: `generated/<name>/`, `runs/<name>-seed<S>/`), the canonical
/// TOML parses back to the same configuration, the raw form validates to it, and the derived
/// geometry, tag and hash are computed without a panic. Returns whether the text was accepted.
pub fn check_preset_toml(text: &str) -> bool {
    let origin = "fuzz.toml";
    let (parsed, _) = with_budget("Config::from_toml_str", budget::toml(text.len()), || {
        Config::from_toml_str(text, origin, &Overrides::default())
    });
    let cfg = match parsed {
        Ok(c) => c,
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty(), "an error without a message: {e:?}");
            if let config::ConfigError::Parse { path, .. } = &e {
                check_error_place(text, origin, path);
            }
            return false;
        }
    };
    assert!(
        is_one_path_component(&cfg.name),
        "name {:?} is not one plain path component",
        cfg.name
    );
    let canonical = cfg.canonical_toml();
    let back = Config::from_toml_str(&canonical, "canonical", &Overrides::default())
        .unwrap_or_else(|e| panic!("canonical text does not parse: {e}\n{canonical}"));
    assert_eq!(back, cfg, "canonical text parses to another configuration");
    assert_eq!(Config::from_raw(&cfg.to_raw()).as_ref(), Ok(&cfg));
    let hash = cfg.hash();
    assert!(hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
    let g = Geometry::new(&cfg);
    assert_eq!(g.parts, cfg.rows.max(cfg.cols));
    let _ = cfg.tag();
    true
}

/// `Config::from_preset(seeds, name)` on an arbitrary name: a preset is found only if it is one
/// of `list_presets(seeds)` (`available`), never through a path that leaves `seeds`.
pub fn check_preset_name(seeds: &Path, available: &[String], name: &str) -> bool {
    let (found, _) = with_budget(
        "Config::from_preset",
        budget::toml(name.len()) + (64 << 10),
        || Config::from_preset(seeds, name, &Overrides::default()),
    );
    match found {
        Ok(_) => {
            assert!(
                available.iter().any(|a| a == name),
                "preset name {name:?} found a file that is not one of the presets"
            );
            true
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            false
        }
    }
}

/// The preset folder of the source tree.
pub fn seeds_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|p| p.join("seeds"))
        .find(|p| p.join("int8-4x4.toml").is_file())
        .expect("the seeds/ folder of the source tree")
}

/// The preset target's input: text starting with `@` names a preset (the rest of the first
/// line), anything else is a preset's TOML. Non-UTF-8 input is skipped (the CLI reads presets as
/// UTF-8 and refuses the rest before parsing).
pub fn check_preset_input(data: &[u8], seeds: &Path, available: &[String]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    match text.strip_prefix('@') {
        Some(rest) => check_preset_name(seeds, available, rest.lines().next().unwrap_or("")),
        None => check_preset_toml(text),
    }
}

// ---------------------------------------------------------------------------------------------
// UART frames
// ---------------------------------------------------------------------------------------------

/// CRC-16/CCITT-FALSE by a 256-entry table (the library computes it bit by bit).
fn crc16_table(bytes: &[u8]) -> u16 {
    const fn table() -> [u16; 256] {
        let mut t = [0u16; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = (i as u16) << 8;
            let mut k = 0;
            while k < 8 {
                c = if c & 0x8000 != 0 {
                    (c << 1) ^ 0x1021
                } else {
                    c << 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    }
    const T: [u16; 256] = table();
    bytes.iter().fold(0xFFFF, |crc, &b| {
        (crc << 8) ^ T[usize::from((crc >> 8) as u8 ^ b)]
    })
}

/// What the decoder must make of `seg` (a stretch of line with no reset in it), written from
/// `docs/uart-protocol.md`: bytes before a SYNC are skipped; from a SYNC, `LEN + 6` bytes are
/// one frame (good or bad CRC) whatever they hold; then hunting resumes. Returns the frames and
/// whether a frame is still incomplete at the end.
pub fn reference_frames(seg: &[u8]) -> (Vec<Result<Frame, FrameError>>, bool) {
    let mut out = vec![];
    let mut i = 0;
    loop {
        let Some(start) = seg[i..]
            .iter()
            .position(|&b| b == frame::SYNC)
            .map(|p| p + i)
        else {
            return (out, false);
        };
        let rest = &seg[start..];
        if rest.len() < 4 || rest.len() < usize::from(rest[3]) + 6 {
            return (out, true);
        }
        let len = usize::from(rest[3]);
        let want = crc16_table(&rest[1..4 + len]);
        let got = u16::from_be_bytes([rest[4 + len], rest[5 + len]]);
        out.push(if got == want {
            Ok(Frame {
                cmd: rest[1],
                seq: rest[2],
                payload: rest[4..4 + len].to_vec(),
            })
        } else {
            Err(FrameError::Crc { got, want })
        });
        i = start + len + 6;
    }
}

/// The decoder fed `stream` in chunks of the given lengths (the last chunk takes the rest),
/// reset after chunk `i` when `resets[i]` (a frame timeout on the line): the same frames and
/// errors, in order, as [`reference_frames`] on each stretch between resets; `in_frame` agrees at
/// every reset; with no reset, the chunking changes nothing against `Decoder::decode_all`.
pub fn check_frame_stream(stream: &[u8], chunks: &[usize], resets: &[bool]) {
    let (_, _) = with_budget("frame::Decoder", budget::frame(stream.len()), || {
        let mut dec = Decoder::new();
        let mut got = vec![];
        let mut want = vec![];
        let mut seg_start = 0;
        let mut pos = 0;
        let mut any_reset = false;
        for i in 0..=chunks.len() {
            let end = chunks
                .get(i)
                .map_or(stream.len(), |&c| (pos + c).min(stream.len()));
            got.extend(stream[pos..end].iter().filter_map(|&b| dec.push(b)));
            pos = end;
            if resets.get(i).copied().unwrap_or(false) || i == chunks.len() {
                let (frames, open) = reference_frames(&stream[seg_start..pos]);
                want.extend(frames);
                assert_eq!(
                    dec.in_frame(),
                    open,
                    "in_frame after bytes {seg_start}..{pos}"
                );
                if i < chunks.len() {
                    dec.reset();
                    any_reset = true;
                    assert!(!dec.in_frame());
                }
                seg_start = pos;
            }
        }
        assert_eq!(got, want, "decoder and reference differ");
        if !any_reset {
            assert_eq!(
                Decoder::decode_all(stream),
                got,
                "chunking changed the result"
            );
        }
    });
}

/// `Frame::encode` then the decoder: a payload of at most 255 bytes gives `LEN + 6` bytes that
/// decode to the same frame, also after `noise` (with its SYNC bytes removed) and twice in a
/// row; a longer payload is refused with `TooLong`.
pub fn check_frame_round_trip(cmd: u8, seq: u8, payload: &[u8], noise: &[u8]) {
    let f = Frame {
        cmd,
        seq,
        payload: payload.to_vec(),
    };
    let bytes = match f.encode() {
        Ok(b) => b,
        Err(e) => {
            assert!(payload.len() > 255, "{f:?} refused: {e}");
            assert_eq!(e, FrameError::TooLong(payload.len()));
            return;
        }
    };
    assert!(
        payload.len() <= 255,
        "a {}-byte payload was encoded",
        payload.len()
    );
    assert_eq!(bytes.len(), payload.len() + frame::FRAME_OVERHEAD);
    assert_eq!(&bytes[..4], &[frame::SYNC, cmd, seq, payload.len() as u8]);
    assert_eq!(
        crc16_table(&bytes[1..bytes.len() - 2]).to_be_bytes(),
        bytes[bytes.len() - 2..]
    );
    let mut line: Vec<u8> = noise
        .iter()
        .copied()
        .filter(|&b| b != frame::SYNC)
        .collect();
    line.extend_from_slice(&bytes);
    line.extend_from_slice(&bytes);
    assert_eq!(
        Decoder::decode_all(&line),
        vec![Ok(f.clone()), Ok(f)],
        "round trip"
    );
}

/// The frame target's input: byte 0's low nibble is a number n of chunk lengths, byte 1 says
/// after which chunks the decoder is reset (bit i % 8 for chunk i), bytes 2..2+n are the chunk
/// lengths, the rest is the line. The line is also encoded as a frame (CMD, SEQ, payload) and
/// decoded back.
pub fn check_frame_input(data: &[u8]) {
    let n = usize::from(data.first().copied().unwrap_or(0) & 0x0F);
    let reset_bits = data.get(1).copied().unwrap_or(0);
    let chunks: Vec<usize> = data
        .iter()
        .skip(2)
        .take(n)
        .map(|&b| usize::from(b))
        .collect();
    let resets: Vec<bool> = (0..chunks.len())
        .map(|i| reset_bits >> (i % 8) & 1 == 1)
        .collect();
    let line = data.get(2 + n..).unwrap_or(&[]);
    check_frame_stream(line, &chunks, &resets);
    if let [cmd, seq, payload @ ..] = line {
        check_frame_round_trip(*cmd, *seq, payload, &data[..(2 + n).min(data.len())]);
    }
}

// ---------------------------------------------------------------------------------------------
// Instruction words
// ---------------------------------------------------------------------------------------------

/// One opcode as `docs/isa.md` documents it: mnemonic, words, and the bits of each word that
/// its fields use.
#[derive(Debug, Clone)]
pub struct DocOpcode {
    pub mnemonic: String,
    pub words: usize,
    pub used: [u64; 3],
}

/// The opcodes of `docs/isa.md` (indexed by code 0..16; `None`: no such opcode), read from its
/// tables: the opcode table (code, mnemonic, words) and the field tables (field, bits `H..L` or
/// `B`, the mnemonics that use it; the second table has a word column). The decoder is checked
/// against the document, not against its own field table.
pub fn doc_opcodes() -> &'static [Option<DocOpcode>; 16] {
    static OPS: std::sync::OnceLock<[Option<DocOpcode>; 16]> = std::sync::OnceLock::new();
    OPS.get_or_init(|| {
        let path = seeds_dir().parent().unwrap().join("docs/isa.md");
        let text = std::fs::read_to_string(&path).expect("docs/isa.md");
        parse_doc_opcodes(&text)
    })
}

fn parse_doc_opcodes(text: &str) -> [Option<DocOpcode>; 16] {
    let mut ops: [Option<DocOpcode>; 16] = Default::default();
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().trim_matches('`').to_string())
            .collect()
    };
    // The opcode table: `| code | `MNEMONIC` | words | engine |`.
    for line in text.lines().filter(|l| l.starts_with("| ")) {
        let c = cells(line);
        if c.len() == 4 {
            if let (Ok(code), Ok(words)) = (c[0].parse::<usize>(), c[2].parse::<usize>()) {
                if code < 16 && (1..=3).contains(&words) {
                    ops[code] = Some(DocOpcode {
                        mnemonic: c[1].clone(),
                        words,
                        used: [0; 3],
                    });
                }
            }
        }
    }
    let mut fields = 0;
    for line in text.lines().filter(|l| {
        l.starts_with("| `")
            || l.starts_with("| 0 |")
            || l.starts_with("| 1 |")
            || l.starts_with("| 2 |")
    }) {
        let c = cells(line);
        let (word, bits, users) = match c.len() {
            4 => (0usize, &c[1], &c[2]),
            5 => match c[0].parse::<usize>() {
                Ok(w) => (w, &c[2], &c[3]),
                Err(_) => continue,
            },
            _ => continue,
        };
        let (hi, lo) = match bits.split_once("..") {
            Some((h, l)) => (h.parse::<u32>(), l.parse::<u32>()),
            None => (bits.parse::<u32>(), bits.parse::<u32>()),
        };
        let (Ok(hi), Ok(lo)) = (hi, lo) else { continue };
        assert!(lo <= hi && hi < 64 && word < 3, "docs/isa.md: {line}");
        let mask = (u64::MAX >> (63 - hi)) & (u64::MAX << lo);
        for user in users.split(',').map(str::trim) {
            let op = ops
                .iter_mut()
                .flatten()
                .find(|o| o.mnemonic == user)
                .unwrap_or_else(|| panic!("docs/isa.md: field used by unknown {user}: {line}"));
            assert!(word < op.words, "docs/isa.md: {line}");
            assert_eq!(
                op.used[word] & mask,
                0,
                "docs/isa.md: overlapping fields: {line}"
            );
            op.used[word] |= mask;
        }
        fields += 1;
    }
    assert!(fields >= 10, "docs/isa.md: {fields} fields read");
    for op in ops.iter().flatten() {
        assert_eq!(
            op.used[0] & 0xF,
            0xF,
            "docs/isa.md: {} without op",
            op.mnemonic
        );
    }
    ops
}

/// What `docs/isa.md` says an instruction starting at `words[0]` decodes to: `Ok(words)` (its
/// word count) or the error.
pub fn doc_verdict(words: &[u64]) -> Result<usize, DecodeError> {
    let code = words[0] & 0xF;
    let Some(op) = &doc_opcodes()[code as usize] else {
        return Err(DecodeError::IllegalOpcode(code));
    };
    let mnemonic = systolic::isa::Opcode::from_code(code)
        .expect("a documented opcode the decoder lacks")
        .mnemonic();
    assert_eq!(mnemonic, op.mnemonic, "opcode {code}");
    if words.len() < op.words {
        return Err(DecodeError::WordCount {
            op: mnemonic,
            need: op.words,
            have: words.len(),
        });
    }
    for (j, &w) in words[..op.words].iter().enumerate() {
        let unused = w & !op.used[j];
        if unused != 0 {
            return Err(DecodeError::UnusedBits(unused, mnemonic, j));
        }
    }
    Ok(op.words)
}

/// `decode_stream` on any words (and `Instr::decode` on each word): the result is exactly what
/// `docs/isa.md` says (each instruction's word count from its opcode; an illegal opcode, a
/// stream ending inside an instruction, or set bits outside the documented fields are the
/// errors, at the right word, with the right bits), every decoded instruction re-encodes to the
/// words it came from, has no operand outside its field, and prints under its mnemonic.
/// Returns whether the whole stream decoded.
pub fn check_isa_words(words: &[u64]) -> bool {
    let budget = budget::ISA + 128 * words.len();
    let (decoded, _) = with_budget("decode_stream", budget, || {
        systolic::isa::decode_stream(words)
    });
    let mut i = 0;
    let mut starts = Vec::new();
    let expected_err = loop {
        if i == words.len() {
            break None;
        }
        match doc_verdict(&words[i..]) {
            Ok(n) => {
                let instr = Instr::decode_words(&words[i..i + n])
                    .unwrap_or_else(|e| panic!("{words:x?}: word {i} should decode, got {e}"));
                let enc = instr.encode();
                assert_eq!(&enc[..], &words[i..i + n], "{instr} re-encodes differently");
                assert_eq!(instr.word_count(), n);
                assert_eq!(instr.misfit(), None, "{instr}");
                assert!(instr.to_string().starts_with(instr.opcode().mnemonic()));
                starts.push((i, instr));
                i += n;
            }
            Err(e) => break Some(e),
        }
    };
    let whole = expected_err.is_none();
    match (expected_err, decoded) {
        (None, Ok(list)) => assert_eq!(list, starts, "{words:x?}"),
        (Some(error), Err(got)) => assert_eq!(
            got,
            systolic::isa::StreamError { word: i, error },
            "{words:x?}"
        ),
        (want, got) => panic!("{words:x?}: docs/isa.md says {want:?}, decode_stream {got:?}"),
    }
    for &w in words {
        let (one, _) = with_budget("Instr::decode", budget::ISA, || Instr::decode(w));
        match (doc_verdict(&[w]), one) {
            (Ok(1), Ok(instr)) => assert_eq!(&instr.encode()[..], &[w][..], "{instr}"),
            (Err(want), Err(got)) => assert_eq!(got, want, "{w:#018x}"),
            (want, got) => panic!("{w:#018x}: docs/isa.md says {want:?}, decode {got:?}"),
        }
    }
    whole
}

/// The isa target's input: every 8 bytes (little-endian) are a word of one stream; a shorter
/// tail is padded with zeros.
pub fn check_isa_input(data: &[u8]) -> bool {
    let words: Vec<u64> = data
        .chunks(8)
        .map(|chunk| {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            u64::from_le_bytes(w)
        })
        .collect();
    check_isa_words(&words)
}

// ---------------------------------------------------------------------------------------------
// Seed corpora
// ---------------------------------------------------------------------------------------------

/// The fuzz targets, in the order `scripts/fuzz.sh` runs them.
pub const TARGETS: [&str; 4] = ["npy", "preset_toml", "frame_decoder", "isa_decode"];

/// The seed inputs of `target` (file name, bytes), committed under `fuzz/corpus/<target>/`
/// (`tests/fuzz.rs` checks that the folder holds exactly these `seed-*` files, and rewrites them
/// with `SYSTOLIC_WRITE_CORPUS=1`). Valid inputs, plus a few near-misses.
pub fn seed_corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    match target {
        "npy" => npy_seeds(),
        "preset_toml" => preset_seeds(),
        "frame_decoder" => frame_seeds(),
        "isa_decode" => isa_seeds(),
        _ => panic!("no fuzz target {target}"),
    }
}

/// A `.npy` file from a header dict, padded to `align` with the version's length field.
pub fn npy_file(version: u8, dict: &str, align: usize, data: &[u8]) -> Vec<u8> {
    let len_bytes = if version == 1 { 2 } else { 4 };
    let unpadded = 8 + len_bytes + dict.len() + 1;
    let header_len = dict.len() + 1 + (align - unpadded % align) % align;
    let mut out = npy::MAGIC.to_vec();
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(8 + len_bytes + header_len - 1, b' ');
    out.push(b'\n');
    out.extend_from_slice(data);
    out
}

fn npy_seeds() -> Vec<(String, Vec<u8>)> {
    use systolic::npy::Dtype;
    let mut out = vec![];
    for dtype in Dtype::ALL {
        let (lo, hi) = (dtype.min_value(), dtype.max_value());
        let a = Array2 {
            dtype,
            rows: 2,
            cols: 3,
            data: vec![lo, hi, 0, 1, lo / 2 + 1, hi / 3],
        };
        out.push((
            format!("seed-{}-2x3.npy", dtype.name()),
            npy::to_bytes(&a).expect("a valid array"),
        ));
    }
    for (rows, cols) in [(0, 3), (4, 0), (1, 1)] {
        let a = Array2 {
            dtype: Dtype::I8,
            rows,
            cols,
            data: vec![-1; rows * cols],
        };
        out.push((
            format!("seed-int8-{rows}x{cols}.npy"),
            npy::to_bytes(&a).expect("a valid array"),
        ));
    }
    let i16_data: Vec<u8> = [1i16, -2, 300, -400]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let hand: [(&str, u8, &str, usize); 8] = [
        (
            "v2",
            2,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 2), }",
            64,
        ),
        (
            "align16",
            1,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 2), }",
            16,
        ),
        (
            "order-free",
            1,
            "{'descr': 'i2', 'fortran_order': False, 'shape': (1, 4), }",
            64,
        ),
        (
            "native",
            1,
            "{'shape': (4, 1), 'fortran_order': False, 'descr': '=i2'}",
            64,
        ),
        (
            "py2-long",
            1,
            "{'descr': '<i2', 'fortran_order': False, 'shape': (2L, 2L), }",
            64,
        ),
        (
            "dquote",
            1,
            "{\"descr\": \"<i2\", \"fortran_order\": False, \"shape\": (2, 2)}",
            64,
        ),
        (
            "fortran",
            1,
            "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 2), }",
            64,
        ),
        (
            "big-endian",
            1,
            "{'descr': '>i2', 'fortran_order': False, 'shape': (2, 2), }",
            64,
        ),
    ];
    for (name, version, dict, align) in hand {
        out.push((
            format!("seed-{name}.npy"),
            npy_file(version, dict, align, &i16_data),
        ));
    }
    out.push((
        "seed-3d.npy".into(),
        npy_file(
            1,
            "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2, 2), }",
            64,
            &[1, 2, 3, 4],
        ),
    ));
    out.push((
        "seed-huge-shape.npy".into(),
        npy_file(
            1,
            "{'descr': '<i4', 'fortran_order': False, 'shape': (1048576, 1048576), }",
            64,
            &[0; 16],
        ),
    ));
    out
}

fn preset_seeds() -> Vec<(String, Vec<u8>)> {
    let seeds = seeds_dir();
    let mut out: Vec<(String, Vec<u8>)> = config::list_presets(&seeds)
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(seeds.join(format!("{name}.toml"))).expect("a preset");
            (format!("seed-{name}.toml"), bytes)
        })
        .collect();
    out.push(("seed-minimal.toml".into(), b"rows = 4\ncols = 4\n".to_vec()));
    out.push((
        "seed-all-keys.toml".into(),
        b"name = \"all\"\nrows = 8\ncols = 6\nformat = \"uint6\"\nacc_bits = 24\npsum_banks = 3\n\
          psum_depth = 32\nsbuf_depth = 256\npe_latency = 4\nprimitives = \"ice40\"\ndsp_cols = 2\n\
          psum_split = true\nsbuf_layout = \"packed\"\ntile_cols = 3\nkeep_tokens = true\n"
            .to_vec(),
    ));
    for name in ["int8-4x4", "bf16-4x4", "no-such-preset"] {
        out.push((
            format!("seed-name-{name}.txt"),
            format!("@{name}").into_bytes(),
        ));
    }
    out
}

/// A frame-target input: chunk lengths, reset bits, then the line.
pub fn frame_input(chunks: &[u8], resets: u8, line: &[u8]) -> Vec<u8> {
    assert!(chunks.len() < 16);
    let mut out = vec![chunks.len() as u8, resets];
    out.extend_from_slice(chunks);
    out.extend_from_slice(line);
    out
}

fn frame_seeds() -> Vec<(String, Vec<u8>)> {
    let enc = |f: Frame| f.encode().expect("a short payload");
    let read = enc(Frame::read(7, 0x1000, 2));
    let write1 = enc(Frame::write(8, 0x030, 0xF, &[0x1234_5678]));
    let write16 = enc(Frame::write(9, 0x2000, 0x3, &[0xDEAD_BEEF; 16]));
    let resp = enc(Frame {
        cmd: frame::CMD_READ | frame::RESPONSE_BIT,
        seq: 7,
        payload: vec![0, 1, 2, 3, 4, 5, 6, 7, 8],
    });
    let nak = enc(Frame {
        cmd: frame::CMD_NAK,
        seq: 3,
        payload: vec![frame::NAK_CRC],
    });
    let empty = enc(Frame {
        cmd: 0x42,
        seq: 0,
        payload: vec![],
    });
    let long = enc(Frame {
        cmd: 0x81,
        seq: 255,
        payload: (0..=254).collect(),
    });
    let mut bad_crc = write1.clone();
    *bad_crc.last_mut().expect("bytes") ^= 1;
    let mut two = b"\x00noise\xff".to_vec();
    two.extend_from_slice(&read);
    two.extend_from_slice(&resp);
    let mut cut = read.clone();
    cut.truncate(5);
    cut.extend_from_slice(&nak);
    vec![
        ("seed-read.bin".into(), frame_input(&[], 0, &read)),
        ("seed-write1.bin".into(), frame_input(&[], 0, &write1)),
        (
            "seed-write16.bin".into(),
            frame_input(&[3, 20], 0, &write16),
        ),
        (
            "seed-response.bin".into(),
            frame_input(&[1, 1, 1], 0, &resp),
        ),
        ("seed-nak.bin".into(), frame_input(&[], 0, &nak)),
        ("seed-empty-payload.bin".into(), frame_input(&[], 0, &empty)),
        ("seed-255-payload.bin".into(), frame_input(&[100], 0, &long)),
        ("seed-bad-crc.bin".into(), frame_input(&[], 0, &bad_crc)),
        (
            "seed-two-with-noise.bin".into(),
            frame_input(&[4, 11], 0, &two),
        ),
        (
            "seed-timeout-mid-frame.bin".into(),
            frame_input(&[5], 1, &cut),
        ),
    ]
}

fn isa_seeds() -> Vec<(String, Vec<u8>)> {
    use systolic::isa::{Act, Dma};
    let ls = |addr, k, m| Instr::LoadStationary { addr, k, m };
    let mm = |addr, k, n, bank, offset, acc, swap| Instr::MultiplyMoving {
        addr,
        k,
        n,
        bank,
        offset,
        acc,
        swap,
    };
    let words = |is: &[Instr]| -> Vec<u8> {
        is.iter()
            .flat_map(|i| i.encode())
            .flat_map(u64::to_le_bytes)
            .collect()
    };
    let load = Dma {
        rows: 4,
        row_len: 4,
        base: 0x1000,
        stride: 4,
        ..Dma::default()
    };
    let store = Dma {
        target: 1,
        esize: 2,
        rows: 4,
        row_len: 4,
        bank: 1,
        base: 0x2000,
        stride: 16,
        offset: 2,
        ..Dma::default()
    };
    let act = Act {
        bank: 1,
        offset: 2,
        n: 4,
        m: 4,
        func: 2,
        per_col: true,
        bias: true,
        entry: 64,
        zp: 3,
        lo: 0x80,
        hi: 0x7f,
        ..Act::default()
    };
    let program = [
        Instr::DmaLoad(load),
        Instr::Signal { engine: 1, sem: 0 },
        Instr::Wait {
            engine: 0,
            sem: 0,
            value: 1,
        },
        ls(0, 4, 4),
        mm(4, 4, 8, 0, 0, false, true),
        mm(12, 4, 8, 1, 8, true, false),
        Instr::Activate(act),
        Instr::Fence,
    ];
    let mut dma_cut = words(&[Instr::DmaStore(store)]);
    dma_cut.truncate(16);
    vec![
        ("seed-ls-min.bin".into(), words(&[ls(0, 1, 1)])),
        ("seed-ls-max.bin".into(), words(&[ls(65535, 256, 256)])),
        (
            "seed-mm-min.bin".into(),
            words(&[mm(0, 1, 1, 0, 0, false, false)]),
        ),
        (
            "seed-mm-max.bin".into(),
            words(&[mm(65535, 256, 4096, 63, 4095, true, true)]),
        ),
        ("seed-fence.bin".into(), words(&[Instr::Fence])),
        ("seed-dma-load.bin".into(), words(&[Instr::DmaLoad(load)])),
        (
            "seed-dma-store.bin".into(),
            words(&[Instr::DmaStore(store)]),
        ),
        ("seed-dma-cut.bin".into(), dma_cut),
        ("seed-activate.bin".into(), words(&[Instr::Activate(act)])),
        ("seed-program.bin".into(), words(&program)),
        ("seed-zero.bin".into(), vec![0; 8]),
        (
            "seed-unused-bit.bin".into(),
            (Instr::Fence.encode()[0] | 1 << 40).to_le_bytes().to_vec(),
        ),
        ("seed-op15.bin".into(), 15u64.to_le_bytes().to_vec()),
        ("seed-all-ones.bin".into(), u64::MAX.to_le_bytes().to_vec()),
    ]
}
