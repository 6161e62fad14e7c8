//! NumPy `.npy` files: 2-D integer and float32 arrays in C order, read and written without
//! NumPy. A float32 element is carried as its IEEE 754 bit pattern (`0..2^32` in the `i64`).
//!
//! Format (NumPy's `format.py`, "NPY format"): the magic `\x93NUMPY`, a major and a minor
//! version byte, the header length (`u16` little-endian in version 1.0, `u32` in 2.0), the
//! header, then the data. The header is the text of a Python dict literal
//! `{'descr': '<i4', 'fortran_order': False, 'shape': (3, 4), }`, padded with spaces and ended
//! by `\n` so that the data starts at a multiple of 64 bytes (older writers aligned to 16; the
//! reader accepts any padding).
//!
//! Supported: versions 1.0 and 2.0, C order, 2-D shapes, the little-endian (or byte-order-free)
//! integer dtypes and float32 of [`Dtype`]. Everything else is refused with an [`NpyError`] that says what
//! was found and what is accepted. The writer uses version 1.0 (2.0 only if the header would not
//! fit 65535 bytes, which a 2-D header never does).

use std::fmt;
use std::path::Path;

/// The magic string at the start of every `.npy` file.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// The data of files written here starts at a multiple of this.
pub const ALIGN: usize = 64;

/// The element types accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dtype {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    /// float32, as bit patterns.
    F32,
}

impl Dtype {
    pub const ALL: [Dtype; 8] = [
        Dtype::I8,
        Dtype::U8,
        Dtype::I16,
        Dtype::U16,
        Dtype::I32,
        Dtype::U32,
        Dtype::I64,
        Dtype::F32,
    ];

    /// NumPy's name (`int8`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Dtype::I8 => "int8",
            Dtype::U8 => "uint8",
            Dtype::I16 => "int16",
            Dtype::U16 => "uint16",
            Dtype::I32 => "int32",
            Dtype::U32 => "uint32",
            Dtype::I64 => "int64",
            Dtype::F32 => "float32",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::I8 | Dtype::U8 => 1,
            Dtype::I16 | Dtype::U16 => 2,
            Dtype::I32 | Dtype::U32 | Dtype::F32 => 4,
            Dtype::I64 => 8,
        }
    }

    pub fn is_signed(self) -> bool {
        matches!(self, Dtype::I8 | Dtype::I16 | Dtype::I32 | Dtype::I64)
    }

    pub fn is_float(self) -> bool {
        self == Dtype::F32
    }

    /// The `descr` NumPy writes for it (`|i1`, `<i4`, `<f4`, ...).
    pub fn descr(self) -> String {
        let order = if self.size() == 1 { '|' } else { '<' };
        let kind = if self.is_float() {
            'f'
        } else if self.is_signed() {
            'i'
        } else {
            'u'
        };
        format!("{order}{kind}{}", self.size())
    }

    pub fn min_value(self) -> i64 {
        if self.is_signed() {
            i64::MIN >> (64 - 8 * self.size())
        } else {
            0
        }
    }

    pub fn max_value(self) -> i64 {
        if self.is_signed() {
            i64::MAX >> (64 - 8 * self.size())
        } else {
            ((1u64 << (8 * self.size())) - 1) as i64
        }
    }

    pub fn contains(self, v: i64) -> bool {
        (self.min_value()..=self.max_value()).contains(&v)
    }

    /// The accepted dtypes, for error messages: `int8 (|i1), uint8 (|u1), ...`.
    pub fn accepted() -> String {
        Dtype::ALL
            .iter()
            .map(|d| format!("{} ({})", d.name(), d.descr()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Parse a `descr`: byte order `<`, `|` or `=` (any order for one-byte types), kind `i`/`u`,
    /// size in bytes.
    fn from_descr(descr: &str) -> Result<Dtype, NpyError> {
        let unsupported = || NpyError::UnsupportedDtype {
            descr: descr.to_string(),
            accepted: Dtype::accepted(),
        };
        let mut chars = descr.chars();
        let order = chars.next().ok_or_else(unsupported)?;
        let (order, rest) = if "<>|=".contains(order) {
            (order, chars.as_str())
        } else {
            ('=', descr)
        };
        let dtype = Dtype::ALL
            .into_iter()
            .find(|d| rest == &d.descr()[1..])
            .ok_or_else(unsupported)?;
        if order == '>' && dtype.size() > 1 {
            return Err(NpyError::BigEndian {
                descr: descr.to_string(),
            });
        }
        Ok(dtype)
    }

    fn decode(self, b: &[u8]) -> i64 {
        match self {
            Dtype::I8 => i64::from(b[0] as i8),
            Dtype::U8 => i64::from(b[0]),
            Dtype::I16 => i64::from(i16::from_le_bytes([b[0], b[1]])),
            Dtype::U16 => i64::from(u16::from_le_bytes([b[0], b[1]])),
            Dtype::I32 => i64::from(i32::from_le_bytes(b[..4].try_into().expect("4 bytes"))),
            Dtype::U32 | Dtype::F32 => {
                i64::from(u32::from_le_bytes(b[..4].try_into().expect("4 bytes")))
            }
            Dtype::I64 => i64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A 2-D array read from or written to a `.npy` file (values widened to `i64`, row-major;
/// float32 elements as their bit patterns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Array2 {
    pub dtype: Dtype,
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<i64>,
}

/// Why a `.npy` file cannot be read or an array cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    #[error("not an .npy file: {0}")]
    NotNpy(String),
    #[error("unsupported .npy format version {major}.{minor}: supported are 1.0 and 2.0")]
    Version { major: u8, minor: u8 },
    #[error("malformed .npy header: {0}")]
    Header(String),
    #[error("unsupported dtype '{descr}': accepted are {accepted}")]
    UnsupportedDtype { descr: String, accepted: String },
    #[error("big-endian dtype '{descr}' is not supported: save the array little-endian (e.g. `a.astype(a.dtype.newbyteorder('<'))`)")]
    BigEndian { descr: String },
    #[error(
        "the array is in Fortran order: only C order is supported (save `np.ascontiguousarray(a)`)"
    )]
    FortranOrder,
    #[error("the array has shape {shape}: only 2-D arrays (a matrix) are supported")]
    Shape { shape: String },
    #[error("the array has shape {shape}: a vector is expected (1-D, or one row or column)")]
    NotVector { shape: String },
    #[error("truncated data: shape {rows}x{cols} of {dtype} needs {expected} bytes, the file has {actual}")]
    Truncated {
        rows: usize,
        cols: usize,
        dtype: Dtype,
        expected: usize,
        actual: usize,
    },
    #[error("{extra} bytes after the data of a {rows}x{cols} {dtype} array")]
    TrailingData {
        rows: usize,
        cols: usize,
        dtype: Dtype,
        extra: usize,
    },
    #[error("value {value} at [{row}][{col}] does not fit {dtype}")]
    ValueRange {
        value: i64,
        row: usize,
        col: usize,
        dtype: Dtype,
    },
    #[error("{rows}x{cols} array has {len} values")]
    Length {
        rows: usize,
        cols: usize,
        len: usize,
    },
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    /// An error of the file at `path`.
    #[error("{path}: {error}")]
    File { path: String, error: Box<NpyError> },
}

/// The parsed header dict.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// A value of the header's Python literal.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lit {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

/// A minimal parser of the header dict: string keys; string, boolean and int-tuple values.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> NpyError {
        NpyError::Header(format!(
            "{what} at byte {} of {:?}",
            self.i,
            String::from_utf8_lossy(self.s)
        ))
    }
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: u8) -> Result<(), NpyError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }
    fn string(&mut self) -> Result<String, NpyError> {
        self.ws();
        let q = match self.s.get(self.i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(self.err("expected a string")),
        };
        self.i += 1;
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i] != q {
            self.i += 1;
        }
        if self.i == self.s.len() {
            return Err(self.err("unterminated string"));
        }
        let v = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        self.i += 1;
        Ok(v)
    }
    fn value(&mut self) -> Result<Lit, NpyError> {
        self.ws();
        let rest = &self.s[self.i..];
        if rest.starts_with(b"True") {
            self.i += 4;
            return Ok(Lit::Bool(true));
        }
        if rest.starts_with(b"False") {
            self.i += 5;
            return Ok(Lit::Bool(false));
        }
        if self.eat(b'(') {
            let mut items = Vec::new();
            loop {
                if self.eat(b')') {
                    return Ok(Lit::Tuple(items));
                }
                self.ws();
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                let digits = std::str::from_utf8(&self.s[start..self.i]).expect("ascii");
                let v: usize = digits
                    .parse()
                    .map_err(|_| self.err("expected a dimension"))?;
                // Python 2 longs.
                let _ = self.eat(b'L');
                items.push(v);
                if !self.eat(b',') {
                    self.expect(b')')?;
                    return Ok(Lit::Tuple(items));
                }
            }
        }
        Ok(Lit::Str(self.string()?))
    }
    fn dict(&mut self) -> Result<Vec<(String, Lit)>, NpyError> {
        self.expect(b'{')?;
        let mut items = Vec::new();
        loop {
            if self.eat(b'}') {
                break;
            }
            let k = self.string()?;
            self.expect(b':')?;
            let v = self.value()?;
            items.push((k, v));
            if !self.eat(b',') {
                self.expect(b'}')?;
                break;
            }
        }
        self.ws();
        if self.i != self.s.len() {
            return Err(self.err("unexpected text after the dict"));
        }
        Ok(items)
    }
}

fn parse_header(text: &[u8]) -> Result<Header, NpyError> {
    let items = Parser { s: text, i: 0 }.dict()?;
    let get = |key: &str| {
        items
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| NpyError::Header(format!("the header has no '{key}'")))
    };
    let descr = match get("descr")? {
        Lit::Str(s) => s,
        v => {
            return Err(NpyError::Header(format!(
                "'descr' is {v:?}, expected a string"
            )))
        }
    };
    let fortran_order = match get("fortran_order")? {
        Lit::Bool(b) => b,
        v => {
            return Err(NpyError::Header(format!(
                "'fortran_order' is {v:?}, expected True or False"
            )))
        }
    };
    let shape = match get("shape")? {
        Lit::Tuple(t) => t,
        v => {
            return Err(NpyError::Header(format!(
                "'shape' is {v:?}, expected a tuple"
            )))
        }
    };
    if let Some((k, _)) = items
        .iter()
        .find(|(k, _)| !["descr", "fortran_order", "shape"].contains(&k.as_str()))
    {
        return Err(NpyError::Header(format!("unknown key '{k}'")));
    }
    Ok(Header {
        descr,
        fortran_order,
        shape,
    })
}

/// A shape as Python prints it: `(5,)`, `(2, 3, 4)`, `()`.
fn shape_text(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Parse the bytes of a `.npy` file.
pub fn parse(bytes: &[u8]) -> Result<Array2, NpyError> {
    parse_shaped(bytes, false)
}

/// Parse a `.npy` file holding a vector: a 1-D array of `n` values (as `n x 1`), or a matrix of
/// one row or one column (as it is).
pub fn parse_vector(bytes: &[u8]) -> Result<Array2, NpyError> {
    parse_shaped(bytes, true)
}

/// Parse the bytes of a `.npy` file holding a matrix, or with `vector` a vector
/// ([`parse_vector`]).
fn parse_shaped(bytes: &[u8], vector: bool) -> Result<Array2, NpyError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(NpyError::NotNpy(
            "it does not start with the magic string \\x93NUMPY".into(),
        ));
    }
    if bytes.len() < 8 {
        return Err(NpyError::NotNpy("the file ends inside the preamble".into()));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (len_bytes, header_len) = match (major, minor) {
        (1, 0) if bytes.len() >= 10 => (2, usize::from(u16::from_le_bytes([bytes[8], bytes[9]]))),
        (2, 0) if bytes.len() >= 12 => (
            4,
            u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize,
        ),
        (1, 0) | (2, 0) => {
            return Err(NpyError::NotNpy(
                "the file ends inside the header length".into(),
            ))
        }
        _ => return Err(NpyError::Version { major, minor }),
    };
    let start: usize = 8 + len_bytes;
    let data_start = start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| {
            NpyError::NotNpy(format!(
                "the header is {header_len} bytes long but the file ends after {}",
                bytes.len() - start
            ))
        })?;
    let text = &bytes[start..data_start];
    if !text.is_ascii() {
        return Err(NpyError::Header("the header is not ASCII".into()));
    }
    let h = parse_header(text)?;
    let dtype = Dtype::from_descr(&h.descr)?;
    if h.fortran_order {
        return Err(NpyError::FortranOrder);
    }
    let (rows, cols) = match (vector, &h.shape[..]) {
        (false, &[r, c]) => (r, c),
        (true, &[r, c]) if r == 1 || c == 1 => (r, c),
        (true, &[n]) => (n, 1),
        (false, _) => {
            return Err(NpyError::Shape {
                shape: shape_text(&h.shape),
            })
        }
        (true, _) => {
            return Err(NpyError::NotVector {
                shape: shape_text(&h.shape),
            })
        }
    };
    let data = &bytes[data_start..];
    let expected = rows
        .checked_mul(cols)
        .and_then(|n| n.checked_mul(dtype.size()))
        .ok_or_else(|| NpyError::Header(format!("shape {} is too large", shape_text(&h.shape))))?;
    if data.len() < expected {
        return Err(NpyError::Truncated {
            rows,
            cols,
            dtype,
            expected,
            actual: data.len(),
        });
    }
    if data.len() > expected {
        return Err(NpyError::TrailingData {
            rows,
            cols,
            dtype,
            extra: data.len() - expected,
        });
    }
    Ok(Array2 {
        dtype,
        rows,
        cols,
        data: data
            .chunks_exact(dtype.size())
            .map(|b| dtype.decode(b))
            .collect(),
    })
}

/// The bytes of a `.npy` file holding `a` (version 1.0, C order, data aligned to [`ALIGN`]).
pub fn to_bytes(a: &Array2) -> Result<Vec<u8>, NpyError> {
    if a.rows.checked_mul(a.cols) != Some(a.data.len()) {
        return Err(NpyError::Length {
            rows: a.rows,
            cols: a.cols,
            len: a.data.len(),
        });
    }
    if let Some((i, &value)) = a
        .data
        .iter()
        .enumerate()
        .find(|(_, v)| !a.dtype.contains(**v))
    {
        return Err(NpyError::ValueRange {
            value,
            row: i / a.cols,
            col: i % a.cols,
            dtype: a.dtype,
        });
    }
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': ({}, {}), }}",
        a.dtype.descr(),
        a.rows,
        a.cols
    );
    // Preamble (magic, version, length) + dict + padding + '\n' = a multiple of ALIGN.
    let (version, len_bytes) = if 10 + dict.len() < 65536 - ALIGN {
        (1u8, 2)
    } else {
        (2u8, 4)
    };
    let unpadded = 8 + len_bytes + dict.len() + 1;
    let header_len = dict.len() + 1 + (ALIGN - unpadded % ALIGN) % ALIGN;
    let mut out = Vec::with_capacity(8 + len_bytes + header_len + a.data.len() * a.dtype.size());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(8 + len_bytes + header_len - 1, b' ');
    out.push(b'\n');
    debug_assert_eq!(out.len() % ALIGN, 0);
    for &v in &a.data {
        let le = v.to_le_bytes();
        out.extend_from_slice(&le[..a.dtype.size()]);
    }
    Ok(out)
}

/// Read a `.npy` file holding a matrix; errors name the path.
pub fn read(path: &Path) -> Result<Array2, NpyError> {
    read_shaped(path, false)
}

/// Read a `.npy` file holding a vector ([`parse_vector`]); errors name the path.
pub fn read_vector(path: &Path) -> Result<Array2, NpyError> {
    read_shaped(path, true)
}

fn read_shaped(path: &Path, vector: bool) -> Result<Array2, NpyError> {
    let bytes = std::fs::read(path).map_err(|error| NpyError::Io {
        path: path.display().to_string(),
        error,
    })?;
    parse_shaped(&bytes, vector).map_err(|e| NpyError::File {
        path: path.display().to_string(),
        error: Box::new(e),
    })
}

/// Write a `.npy` file atomically (a temporary file and a rename: never half a file).
pub fn write(path: &Path, a: &Array2) -> Result<(), NpyError> {
    let bytes = to_bytes(a)?;
    crate::files::write_atomically(path, &bytes).map_err(|error| NpyError::Io {
        path: path.display().to_string(),
        error,
    })
}
