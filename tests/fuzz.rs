//! Fuzz tests that run with `cargo test` (docs/fuzzing.md): random byte strings, and mutations
//! of valid inputs (bit flips, truncations, insertions, deletions, header fields changed), for
//! the four parsers that take outside bytes: `.npy` files, TOML presets and preset names, UART
//! frames, instruction words. The properties are those of the libFuzzer targets
//! (`fuzz/src/lib.rs`, included here): no panic, errors are errors, a successful parse is
//! consistent (re-serialises to an equal value), no allocation beyond a budget linear in the
//! input, and each case within a time bound.
//!
//! `SYSTOLIC_FUZZ_CASES=N` sets the cases per property (default 1024: about a second in all).
//! `SYSTOLIC_WRITE_CORPUS=1` rewrites the committed seed corpora under `fuzz/corpus/`.

#[path = "../fuzz/src/lib.rs"]
mod checks;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config as PtConfig;

use systolic::config;
use systolic::frame::{Decoder, Frame};
use systolic::isa::Instr;
use systolic::npy::{self, Array2, Dtype};

fn cases() -> u32 {
    std::env::var("SYSTOLIC_FUZZ_CASES")
        .ok()
        .map(|v| v.parse().expect("SYSTOLIC_FUZZ_CASES is a number"))
        .unwrap_or(1024)
}

fn pt_config() -> PtConfig {
    PtConfig {
        cases: cases(),
        failure_persistence: None,
        ..PtConfig::default()
    }
}

/// Time bound of one case: inputs are at most a few kilobytes, every parser is linear.
const CASE_TIME: Duration = Duration::from_secs(2);

fn timed<R>(what: &str, f: impl FnOnce() -> R) -> R {
    let t = Instant::now();
    let r = f();
    let dt = t.elapsed();
    assert!(dt < CASE_TIME, "{what} took {dt:?}");
    r
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Overwrite(Index, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        2 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        1 => (any::<Index>(), 1usize..8).prop_map(|(i, n)| Mutation::Delete(i, n)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Overwrite(i, b)),
    ]
}

fn mutate(mut bytes: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        let n = bytes.len();
        match m {
            Mutation::FlipBit(i, b) if n > 0 => bytes[i.index(n)] ^= 1 << b,
            Mutation::Truncate(i) => bytes.truncate(i.index(n + 1)),
            Mutation::Insert(i, v) => {
                let at = i.index(n + 1);
                bytes.splice(at..at, v.iter().copied());
            }
            Mutation::Delete(i, k) if n > 0 => {
                let at = i.index(n);
                bytes.drain(at..(at + k).min(n));
            }
            Mutation::Overwrite(i, b) if n > 0 => bytes[i.index(n)] = *b,
            _ => {}
        }
    }
    bytes
}

// ---------------------------------------------------------------------------------------------
// .npy
// ---------------------------------------------------------------------------------------------

fn dtype() -> impl Strategy<Value = Dtype> {
    prop::sample::select(Dtype::ALL.to_vec())
}

fn array() -> impl Strategy<Value = Array2> {
    (dtype(), 0usize..6, 0usize..6).prop_flat_map(|(dtype, rows, cols)| {
        prop::collection::vec(dtype.min_value()..=dtype.max_value(), rows * cols).prop_map(
            move |data| Array2 {
                dtype,
                rows,
                cols,
                data,
            },
        )
    })
}

/// descr texts and the dtype the reader must make of them (`None`: refused).
const DESCRS: [(&str, Option<Dtype>); 22] = [
    ("<i1", Some(Dtype::I8)),
    ("|i1", Some(Dtype::I8)),
    ("i1", Some(Dtype::I8)),
    (">i1", Some(Dtype::I8)),
    ("|u1", Some(Dtype::U8)),
    ("=u1", Some(Dtype::U8)),
    ("<i2", Some(Dtype::I16)),
    ("<u2", Some(Dtype::U16)),
    ("=i4", Some(Dtype::I32)),
    ("<u4", Some(Dtype::U32)),
    ("<i8", Some(Dtype::I64)),
    ("<f4", Some(Dtype::F32)),
    ("f4", Some(Dtype::F32)),
    (">i2", None),
    (">f4", None),
    ("<f8", None),
    ("<u8", None),
    ("|b1", None),
    ("O", None),
    ("", None),
    ("<i", None),
    ("<c8", None),
];

/// Dimension texts and their values (`None`: not a `usize`).
const DIMS: [(&str, Option<usize>); 10] = [
    ("0", Some(0)),
    ("1", Some(1)),
    ("2", Some(2)),
    ("3", Some(3)),
    ("7", Some(7)),
    ("1L", Some(1)),
    ("65536", Some(65536)),
    ("1099511627776", Some(1 << 40)),
    ("18446744073709551615", Some(usize::MAX)),
    ("18446744073709551616", None),
];

/// A header assembled from fields, each valid or not, and the verdict the reader must reach.
#[derive(Debug, Clone)]
struct NpyCase {
    version: (u8, u8),
    descr: usize,
    fortran: &'static str,
    shape: Vec<usize>,
    order: Index,
    dquote: bool,
    extra_key: bool,
    align: usize,
    data_delta: i8,
    header_len_override: Option<u32>,
}

fn npy_case() -> impl Strategy<Value = NpyCase> {
    (
        prop_oneof![4 => Just((1u8, 0u8)), 2 => Just((2, 0)), 1 => (any::<u8>(), any::<u8>())],
        0..DESCRS.len(),
        prop_oneof![4 => Just("False"), 1 => Just("True"), 1 => Just("0"), 1 => Just("'x'")],
        prop_oneof![
            6 => prop::collection::vec(0usize..6, 2..=2),
            2 => prop::collection::vec(0..DIMS.len(), 2..=2),
            1 => prop::collection::vec(0..DIMS.len(), 0..5),
        ],
        any::<Index>(),
        any::<bool>(),
        prop::bool::weighted(0.1),
        prop_oneof![Just(64usize), Just(16), 1usize..100],
        prop_oneof![6 => Just(0i8), 1 => -2i8..=2],
        prop::option::weighted(0.1, any::<u32>()),
    )
        .prop_map(
            |(version, descr, fortran, shape, order, dquote, extra_key, align, delta, hl)| {
                NpyCase {
                    version,
                    descr,
                    fortran,
                    shape,
                    order,
                    dquote,
                    extra_key,
                    align,
                    data_delta: delta,
                    header_len_override: hl,
                }
            },
        )
}

impl NpyCase {
    fn dims(&self) -> Vec<(&'static str, Option<usize>)> {
        self.shape.iter().map(|&d| DIMS[d]).collect()
    }

    /// The file, and the (rows, cols, dtype) it must parse to, or `None` if it must be refused.
    fn build(&self) -> (Vec<u8>, Option<(usize, usize, Dtype)>) {
        let q = if self.dquote { '"' } else { '\'' };
        let (descr, dtype) = DESCRS[self.descr];
        let dims = self.dims();
        let shape = match &dims[..] {
            [one] => format!("({},)", one.0),
            d => format!("({})", d.iter().map(|x| x.0).collect::<Vec<_>>().join(", ")),
        };
        let mut items = vec![
            format!("{q}descr{q}: {q}{descr}{q}"),
            format!("{q}fortran_order{q}: {}", self.fortran),
            format!("{q}shape{q}: {shape}"),
        ];
        if self.extra_key {
            items.push(format!("{q}align{q}: True"));
        }
        let k = self.order.index(items.len());
        items.rotate_left(k);
        let dict = format!("{{{}, }}", items.join(", "));
        let (rows, cols) = match &dims[..] {
            [(_, Some(r)), (_, Some(c))] => (Some(*r), Some(*c)),
            _ => (None, None),
        };
        let size = dtype.map_or(1, Dtype::size);
        let exact = rows
            .zip(cols)
            .and_then(|(r, c)| r.checked_mul(c)?.checked_mul(size))
            .filter(|&n| n <= 4096);
        let data_len = match exact {
            Some(n) => n.saturating_add_signed(isize::from(self.data_delta)),
            None => 16,
        };
        let data: Vec<u8> = (0..data_len).map(|i| (i * 37 + 11) as u8).collect();
        let (major, minor) = self.version;
        let mut bytes = checks::npy_file(if major == 2 { 2 } else { 1 }, &dict, self.align, &data);
        bytes[6] = major;
        bytes[7] = minor;
        if let Some(hl) = self.header_len_override {
            let field: &mut [u8] = if major == 2 {
                &mut bytes[8..12]
            } else {
                &mut bytes[8..10]
            };
            let le = hl.to_le_bytes();
            let n = field.len();
            field.copy_from_slice(&le[..n]);
        }
        let valid_header_len = match self.header_len_override {
            None => true,
            Some(hl) => {
                let orig = bytes.len() - data.len() - if major == 2 { 12 } else { 10 };
                let hl = if major == 2 {
                    hl as usize
                } else {
                    usize::from(hl as u16)
                };
                hl == orig
            }
        };
        let ok = matches!(self.version, (1, 0) | (2, 0))
            && dtype.is_some()
            && self.fortran == "False"
            && !self.extra_key
            && exact == Some(data_len)
            && valid_header_len;
        let want = ok.then(|| (rows.unwrap(), cols.unwrap(), dtype.unwrap()));
        (bytes, want)
    }
}

proptest! {
    #![proptest_config(pt_config())]

    #[test]
    fn npy_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300), magic in any::<bool>()) {
        let bytes = if magic {
            let mut b = b"\x93NUMPY\x01\x00".to_vec();
            b.extend(bytes);
            b
        } else {
            bytes
        };
        timed("npy", || checks::check_npy(&bytes));
    }

    #[test]
    fn npy_valid_files_and_their_mutations(a in array(), ms in prop::collection::vec(mutation(), 0..4)) {
        let bytes = npy::to_bytes(&a).unwrap();
        prop_assert_eq!(npy::parse(&bytes).unwrap(), a);
        let m = mutate(bytes, &ms);
        timed("npy", || checks::check_npy(&m));
    }

    #[test]
    fn npy_header_fields(case in npy_case()) {
        let (bytes, want) = case.build();
        let parsed = timed("npy", || checks::check_npy(&bytes));
        match want {
            Some((rows, cols, dtype)) => {
                let a = npy::parse(&bytes);
                prop_assert!(a.is_ok(), "refused: {:?}", a);
                let a = a.unwrap();
                prop_assert_eq!((a.rows, a.cols, a.dtype), (rows, cols, dtype));
            }
            None => prop_assert!(!parsed, "accepted: {:?}", String::from_utf8_lossy(&bytes)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// TOML presets and preset names
// ---------------------------------------------------------------------------------------------

fn preset_texts() -> Vec<String> {
    checks::seed_corpus("preset_toml")
        .into_iter()
        .filter(|(n, _)| n.ends_with(".toml"))
        .map(|(_, b)| String::from_utf8(b).unwrap())
        .collect()
}

const VALUES: [&str; 30] = [
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "8",
    "16",
    "64",
    "255",
    "256",
    "257",
    "4096",
    "65536",
    "4294967295",
    "4294967296",
    "-1",
    "1e3",
    "0x10",
    "\"int8\"",
    "\"bf16\"",
    "\"uint2\"",
    "\"\"",
    "\"..\"",
    "\".\"",
    "\"a/b\"",
    "true",
    "[1, 2]",
    "{ a = 1 }",
    "1979-05-27",
];

const KEYS: [&str; 16] = [
    "name",
    "rows",
    "cols",
    "format",
    "acc_bits",
    "psum_banks",
    "psum_depth",
    "sbuf_depth",
    "pe_latency",
    "primitives",
    "dsp_cols",
    "psum_split",
    "sbuf_layout",
    "tile_cols",
    "keep_tokens",
    "unknown",
];

#[derive(Debug, Clone)]
enum TomlEdit {
    DeleteLine(Index),
    DuplicateLine(Index),
    SetValue(Index, usize),
    AddKey(usize, usize),
    Name(String),
    Bytes(Vec<Mutation>),
}

fn toml_edit() -> impl Strategy<Value = TomlEdit> {
    prop_oneof![
        1 => any::<Index>().prop_map(TomlEdit::DeleteLine),
        1 => any::<Index>().prop_map(TomlEdit::DuplicateLine),
        3 => (any::<Index>(), 0..VALUES.len()).prop_map(|(i, v)| TomlEdit::SetValue(i, v)),
        2 => (0..KEYS.len(), 0..VALUES.len()).prop_map(|(k, v)| TomlEdit::AddKey(k, v)),
        2 => "[a-z0-9./\\\\_+ -]{0,6}".prop_map(TomlEdit::Name),
        1 => prop::collection::vec(mutation(), 1..3).prop_map(TomlEdit::Bytes),
    ]
}

fn edit_toml(text: &str, edits: &[TomlEdit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for e in edits {
        let n = lines.len();
        match e {
            TomlEdit::DeleteLine(i) if n > 0 => {
                lines.remove(i.index(n));
            }
            TomlEdit::DuplicateLine(i) if n > 0 => {
                let l = lines[i.index(n)].clone();
                lines.insert(i.index(n), l);
            }
            TomlEdit::SetValue(i, v) if n > 0 => {
                let l = &mut lines[i.index(n)];
                if let Some(eq) = l.find('=') {
                    *l = format!("{}= {}", &l[..eq], VALUES[*v]);
                }
            }
            TomlEdit::AddKey(k, v) => lines.push(format!("{} = {}", KEYS[*k], VALUES[*v])),
            TomlEdit::Name(name) => {
                lines.retain(|l| !l.starts_with("name"));
                lines.insert(0, format!("name = {name:?}"));
            }
            TomlEdit::Bytes(ms) => {
                let b = mutate(lines.join("\n").into_bytes(), ms);
                lines = String::from_utf8_lossy(&b)
                    .lines()
                    .map(str::to_string)
                    .collect();
            }
            _ => {}
        }
    }
    lines.join("\n") + "\n"
}

fn preset_name() -> impl Strategy<Value = String> {
    let known = config::list_presets(&checks::seeds_dir());
    (
        prop::sample::select(known),
        prop::sample::select(vec![
            "",
            "",
            "",
            "./",
            "../seeds/",
            "../",
            "/",
            "seeds/",
            ".\\",
            "x/../",
        ]),
        prop::sample::select(vec!["", "", "", ".toml", "/", "/.", "\0", " "]),
        "[a-z0-9./\\\\_-]{0,8}",
        any::<bool>(),
    )
        .prop_map(|(name, pre, post, random, use_random)| {
            if use_random {
                random
            } else {
                format!("{pre}{name}{post}")
            }
        })
}

proptest! {
    #![proptest_config(pt_config())]

    #[test]
    fn toml_random_text(text in "\\PC{0,200}", raw in prop::collection::vec(any::<u8>(), 0..200)) {
        timed("toml", || checks::check_preset_toml(&text));
        let lossy = String::from_utf8_lossy(&raw);
        timed("toml", || checks::check_preset_toml(&lossy));
    }

    #[test]
    fn toml_presets_edited(seed in any::<Index>(), edits in prop::collection::vec(toml_edit(), 0..4)) {
        let texts = preset_texts();
        let text = edit_toml(&texts[seed.index(texts.len())], &edits);
        timed("toml", || checks::check_preset_toml(&text));
    }

    #[test]
    fn preset_names(name in preset_name()) {
        let seeds = checks::seeds_dir();
        let available = config::list_presets(&seeds);
        timed("preset name", || checks::check_preset_name(&seeds, &available, &name));
    }
}

// ---------------------------------------------------------------------------------------------
// UART frames
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Part {
    Frame(u8, u8, Vec<u8>),
    /// Noise without SYNC bytes.
    Noise(Vec<u8>),
}

fn part() -> impl Strategy<Value = Part> {
    prop_oneof![
        3 => (any::<u8>(), any::<u8>(), prop::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(c, s, p)| Part::Frame(c, s, p)),
        1 => prop::collection::vec(any::<u8>().prop_filter("not SYNC", |&b| b != systolic::frame::SYNC), 1..10)
            .prop_map(Part::Noise),
    ]
}

fn chunking() -> impl Strategy<Value = (Vec<usize>, Vec<bool>)> {
    prop::collection::vec((0usize..40, prop::bool::weighted(0.2)), 0..8)
        .prop_map(|v| v.into_iter().unzip())
}

proptest! {
    #![proptest_config(pt_config())]

    #[test]
    fn frames_random_bytes(
        stream in prop::collection::vec(prop_oneof![4 => any::<u8>(), 1 => Just(0xA5u8)], 0..400),
        (chunks, resets) in chunking(),
    ) {
        timed("frames", || checks::check_frame_stream(&stream, &chunks, &resets));
    }

    /// Frames between noise: exactly the frames, in order (whatever the chunking), and the same
    /// line with mutations against the reference decoder.
    #[test]
    fn frames_valid_streams_and_mutations(
        parts in prop::collection::vec(part(), 0..6),
        (chunks, resets) in chunking(),
        ms in prop::collection::vec(mutation(), 0..3),
    ) {
        let mut line = vec![];
        let mut want = vec![];
        for p in &parts {
            match p {
                Part::Frame(cmd, seq, payload) => {
                    let f = Frame { cmd: *cmd, seq: *seq, payload: payload.clone() };
                    line.extend(f.encode().unwrap());
                    want.push(Ok(f));
                }
                Part::Noise(n) => line.extend(n),
            }
        }
        let mut dec = Decoder::new();
        let mut got = vec![];
        let mut pos = 0usize;
        for c in chunks.iter().copied().chain([usize::MAX]) {
            let end = pos.saturating_add(c).min(line.len());
            got.extend(line[pos..end].iter().filter_map(|&b| dec.push(b)));
            pos = end;
        }
        prop_assert_eq!(got, want);
        prop_assert!(!dec.in_frame());
        let m = mutate(line, &ms);
        timed("frames", || checks::check_frame_stream(&m, &chunks, &resets));
    }

    #[test]
    fn frames_round_trip(
        cmd in any::<u8>(),
        seq in any::<u8>(),
        payload in prop_oneof![4 => prop::collection::vec(any::<u8>(), 0..64), 1 => prop::collection::vec(any::<u8>(), 250..260)],
        noise in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        timed("frames", || checks::check_frame_round_trip(cmd, seq, &payload, &noise));
    }

    #[test]
    fn frames_target_input(data in prop::collection::vec(any::<u8>(), 0..300)) {
        timed("frames", || checks::check_frame_input(&data));
    }
}

// ---------------------------------------------------------------------------------------------
// Instruction words
// ---------------------------------------------------------------------------------------------

/// The words of a valid instruction: a documented opcode and random bits in its documented
/// fields (`docs/isa.md`).
fn valid_words() -> impl Strategy<Value = Vec<u64>> {
    let codes: Vec<u64> = (0..16u64)
        .filter(|&c| checks::doc_opcodes()[c as usize].is_some())
        .collect();
    (prop::sample::select(codes), any::<[u64; 3]>()).prop_map(|(code, raw)| {
        let op = checks::doc_opcodes()[code as usize].as_ref().unwrap();
        let mut w: Vec<u64> = (0..op.words).map(|j| raw[j] & op.used[j]).collect();
        w[0] = (w[0] & !0xF) | code;
        w
    })
}

proptest! {
    #![proptest_config(pt_config())]

    #[test]
    fn isa_random_words(words in prop::collection::vec(any::<u64>(), 1..8)) {
        timed("isa", || checks::check_isa_words(&words));
    }

    /// Streams of valid instructions, then a few bits flipped (and one opcode changed).
    #[test]
    fn isa_valid_streams_and_flips(
        instrs in prop::collection::vec(valid_words(), 1..5),
        flips in prop::collection::vec((any::<Index>(), 0u32..64), 0..3),
        op in prop::option::of((any::<Index>(), 0u64..16)),
    ) {
        let mut words: Vec<u64> = instrs.concat();
        for w in &instrs {
            let i = Instr::decode_words(w).unwrap();
            prop_assert_eq!(&i.encode()[..], &w[..]);
        }
        prop_assert!(checks::check_isa_words(&words));
        for (at, bit) in &flips {
            let j = at.index(words.len());
            words[j] ^= 1 << bit;
        }
        if let Some((at, op)) = op {
            let j = at.index(words.len());
            words[j] = (words[j] & !0xF) | op;
        }
        timed("isa", || checks::check_isa_words(&words));
    }
}

/// The opcodes and fields read from docs/isa.md are the ISA's: eight opcodes, LOAD_STATIONARY
/// uses bits 37..0, FENCE only its opcode, DMA_LOAD three words with `stride` at the top.
#[test]
fn isa_document_is_read() {
    let ops = checks::doc_opcodes();
    let names: Vec<(usize, &str, usize)> = ops
        .iter()
        .enumerate()
        .filter_map(|(c, o)| o.as_ref().map(|o| (c, o.mnemonic.as_str(), o.words)))
        .collect();
    assert_eq!(names.len(), 8, "{names:?}");
    assert_eq!(names[0], (1, "LOAD_STATIONARY", 1));
    assert_eq!(names[3], (4, "DMA_LOAD", 3));
    assert_eq!(ops[1].as_ref().unwrap().used[0], (1 << 38) - 1);
    assert_eq!(ops[3].as_ref().unwrap().used[0], 0xF);
    assert_eq!(ops[4].as_ref().unwrap().used[1], u64::MAX);
    assert!(checks::check_isa_words(&[1 | 4 << 20 | 4 << 29]));
    assert!(!checks::check_isa_words(&[3 | 1 << 40]));
    assert!(!checks::check_isa_words(&[4, 0]));
}

// ---------------------------------------------------------------------------------------------
// The checks themselves, the corpus, regressions
// ---------------------------------------------------------------------------------------------

/// The budget is enforced: a check that allocates more than its budget fails.
#[test]
fn allocation_budget_catches_a_large_allocation() {
    let r =
        std::panic::catch_unwind(|| checks::with_budget("test", 1 << 10, || vec![0u8; 1 << 20]));
    assert!(r.is_err(), "a 1 MiB allocation passed a 1 KiB budget");
    let ((), largest) = checks::with_budget("test", 1 << 20, || drop(vec![0u8; 1000]));
    assert!((1000..1 << 20).contains(&largest), "largest {largest}");
}

/// A header that claims 2^40 elements is refused before allocating them.
#[test]
fn npy_huge_shape_is_refused_within_budget() {
    let dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (1048576, 1048576), }";
    let bytes = checks::npy_file(1, dict, 64, &[0; 64]);
    assert!(!checks::check_npy(&bytes));
}

/// The reference decoder of the checks agrees with hand-made cases.
#[test]
fn reference_frames_by_hand() {
    let f = Frame::read(1, 0x10, 1).encode().unwrap();
    let mut line = vec![0, 1];
    line.extend(&f);
    line.extend(&f[..3]);
    let (frames, open) = checks::reference_frames(&line);
    assert_eq!(frames, vec![Ok(Frame::read(1, 0x10, 1))]);
    assert!(open);
    let mut bad = f.clone();
    bad[4] ^= 0x40;
    let (frames, open) = checks::reference_frames(&bad);
    assert!(matches!(frames[..], [Err(_)]) && !open);
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// `fuzz/corpus/<target>/` holds exactly the seeds of `checks::seed_corpus` (as `seed-*`) plus
/// inputs kept from fuzzing runs, and every file passes its target's check.
#[test]
fn committed_corpus_is_current_and_passes() {
    let write = std::env::var_os("SYSTOLIC_WRITE_CORPUS").is_some();
    let seeds = checks::seeds_dir();
    let available = config::list_presets(&seeds);
    for target in checks::TARGETS {
        let dir = corpus_dir(target);
        let want = checks::seed_corpus(target);
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            for entry in std::fs::read_dir(&dir).unwrap() {
                let p = entry.unwrap().path();
                if p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("seed-")
                {
                    std::fs::remove_file(p).unwrap();
                }
            }
            for (name, bytes) in &want {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let seed_files: Vec<String> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("seed-"))
            .collect();
        let mut want_names: Vec<String> = want.iter().map(|(n, _)| n.clone()).collect();
        want_names.sort();
        assert_eq!(
            seed_files, want_names,
            "{target}: stale seeds (SYSTOLIC_WRITE_CORPUS=1 cargo test --test fuzz corpus)"
        );
        assert!(
            (8..=100).contains(&files.len()),
            "{target}: {} files",
            files.len()
        );
        let mut accepted = 0;
        for p in &files {
            let bytes = std::fs::read(p).unwrap();
            if let Some((_, w)) = want.iter().find(|(n, _)| p.ends_with(n)) {
                assert_eq!(&bytes, w, "{} is stale", p.display());
            }
            let ok = match target {
                "npy" => checks::check_npy(&bytes),
                "preset_toml" => checks::check_preset_input(&bytes, &seeds, &available),
                "frame_decoder" => {
                    checks::check_frame_input(&bytes);
                    true
                }
                "isa_decode" => checks::check_isa_input(&bytes),
                _ => unreachable!(),
            };
            accepted += usize::from(ok);
        }
        assert!(
            accepted * 2 > files.len(),
            "{target}: most seeds should be valid inputs"
        );
    }
}

/// Regression (found by `preset_names`): a preset name holding a path (`./int8-4x4`,
/// `../seeds/int8-4x4`, an absolute path) loaded a file that is not one of the presets, from
/// anywhere; a preset name is now one plain file name inside the seeds folder.
#[test]
fn regression_preset_names_are_plain_file_names() {
    let seeds = checks::seeds_dir();
    let none = config::Overrides::default();
    assert!(config::Config::from_preset(&seeds, "int8-4x4", &none).is_ok());
    let absolute = seeds.join("int8-4x4");
    let relative = format!(
        "../{}/int8-4x4",
        seeds.file_name().unwrap().to_str().unwrap()
    );
    for name in [
        "./int8-4x4",
        &relative,
        absolute.to_str().unwrap(),
        "int8-4x4/",
        "",
        ".",
        "..",
    ] {
        match config::Config::from_preset(&seeds, name, &none) {
            Err(config::ConfigError::UnknownPreset { .. }) => {}
            other => panic!("preset {name:?}: {other:?}"),
        }
    }
}

/// Regression (found by `toml_presets_edited`): `name = ".."` (and `"."`) passed validation, and
/// the name names folders: `generate` writes to `generated/<name>/` (`generated/..` is the
/// repository root, where it also removes `systolic_*.v` files it did not write).
#[test]
fn regression_config_name_is_not_dot_or_dot_dot() {
    let none = config::Overrides::default();
    for name in [".", ".."] {
        let text = format!("name = \"{name}\"\nrows = 4\ncols = 4\n");
        let e = config::Config::from_toml_str(&text, "t.toml", &none).unwrap_err();
        assert!(
            matches!(e, config::ConfigError::OutOfRange { field: "name", .. }),
            "{name}: {e}"
        );
    }
    for name in ["a.b", "...", ".hidden", "int8-4x4+custom"] {
        let text = format!("name = \"{name}\"\nrows = 4\ncols = 4\n");
        let c = config::Config::from_toml_str(&text, "t.toml", &none).unwrap();
        assert_eq!(c.name, name);
    }
}
