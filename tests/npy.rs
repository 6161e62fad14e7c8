//! `.npy` reading and writing: round trips, hand-made headers (versions 1.0 and 2.0, padding
//! rules) and every error path; a cross-check against NumPy when it is installed.

mod common;

use proptest::prelude::*;

use systolic::npy::{self, Array2, Dtype, NpyError, ALIGN, MAGIC};

/// A file from a header dict text, padded like NumPy (data at a multiple of `align`).
fn file(version: u8, dict: &str, align: usize, data: &[u8]) -> Vec<u8> {
    let len_bytes = if version == 1 { 2 } else { 4 };
    let unpadded = 8 + len_bytes + dict.len() + 1;
    let header_len = dict.len() + 1 + (align - unpadded % align) % align;
    let mut out = MAGIC.to_vec();
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

fn i32_data(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn writer_matches_numpy_byte_for_byte() {
    // What `np.save(f, np.array([[1, -2, 3], [4, 5, -6]], dtype='<i4'))` writes (NumPy >= 1.?:
    // data aligned to 64 bytes).
    let mut expected = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
    let dict = b"{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }";
    expected.extend_from_slice(dict);
    expected.resize(127, b' ');
    expected.push(b'\n');
    assert_eq!(expected.len(), 128);
    expected.extend_from_slice(&i32_data(&[1, -2, 3, 4, 5, -6]));
    let a = Array2 {
        dtype: Dtype::I32,
        rows: 2,
        cols: 3,
        data: vec![1, -2, 3, 4, 5, -6],
    };
    assert_eq!(npy::to_bytes(&a).unwrap(), expected);
    assert_eq!(npy::parse(&expected).unwrap(), a);
}

#[test]
fn header_padding_puts_data_at_a_multiple_of_64() {
    for (rows, cols) in [(1, 1), (10, 10), (123, 45), (1, 1000), (1000, 1)] {
        for dtype in Dtype::ALL {
            let a = Array2 {
                dtype,
                rows,
                cols,
                data: vec![0; rows * cols],
            };
            let bytes = npy::to_bytes(&a).unwrap();
            let data_start = bytes.len() - rows * cols * dtype.size();
            assert_eq!(data_start % ALIGN, 0, "{dtype} {rows}x{cols}");
            assert_eq!(bytes[data_start - 1], b'\n');
            assert_eq!(&bytes[6..8], &[1, 0]);
            let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
            assert_eq!(10 + header_len, data_start);
        }
    }
}

#[test]
fn reads_version_2_headers() {
    let dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }";
    let bytes = file(2, dict, 64, &i32_data(&[7, -8, 9, i32::MIN]));
    assert_eq!(&bytes[6..12], &[2, 0, 116, 0, 0, 0]);
    assert_eq!((12 + 116) % 64, 0);
    let a = npy::parse(&bytes).unwrap();
    assert_eq!((a.rows, a.cols, a.dtype), (2, 2, Dtype::I32));
    assert_eq!(a.data, vec![7, -8, 9, i64::from(i32::MIN)]);
}

#[test]
fn reads_other_writers_headers() {
    // Old NumPy aligned to 16 bytes; keys in another order, double quotes, no trailing comma,
    // Python 2 longs, native byte order and '<' on one-byte types.
    let cases = [
        (
            "{'descr': '|i1', 'fortran_order': False, 'shape': (1, 3), }",
            16,
            Dtype::I8,
        ),
        (
            "{\"shape\": (1, 3), \"fortran_order\": False, \"descr\": \"<u1\"}",
            64,
            Dtype::U8,
        ),
        (
            "{'fortran_order':False,'shape':(1L,3L),'descr':'i1'}",
            1,
            Dtype::I8,
        ),
        (
            "{ 'descr' : '=u1' , 'fortran_order' : False , 'shape' : ( 1 , 3 ) , }",
            16,
            Dtype::U8,
        ),
        (
            "{'descr': '>u1', 'fortran_order': False, 'shape': (1, 3), }",
            64,
            Dtype::U8,
        ),
    ];
    for (dict, align, dtype) in cases {
        let bytes = file(1, dict, align, &[1, 0x80, 0xff]);
        let a = npy::parse(&bytes).unwrap_or_else(|e| panic!("{dict}: {e}"));
        assert_eq!(a.dtype, dtype, "{dict}");
        let want = if dtype == Dtype::I8 {
            vec![1, -128, -1]
        } else {
            vec![1, 128, 255]
        };
        assert_eq!(a.data, want, "{dict}");
    }
}

#[test]
fn every_dtype_round_trips_its_extremes() {
    for dtype in Dtype::ALL {
        let (lo, hi) = (dtype.min_value(), dtype.max_value());
        let a = Array2 {
            dtype,
            rows: 2,
            cols: 3,
            data: vec![lo, hi, 0, 1, lo / 2, hi / 3],
        };
        let bytes = npy::to_bytes(&a).unwrap();
        assert_eq!(bytes.len() % ALIGN, 6 * dtype.size() % ALIGN, "{dtype}");
        assert_eq!(npy::parse(&bytes).unwrap(), a, "{dtype}");
    }
    assert_eq!((Dtype::I8.min_value(), Dtype::I8.max_value()), (-128, 127));
    assert_eq!(
        (Dtype::U32.min_value(), Dtype::U32.max_value()),
        (0, u32::MAX as i64)
    );
    assert_eq!(Dtype::I64.min_value(), i64::MIN);
    assert_eq!(Dtype::I16.descr(), "<i2");
    assert_eq!(Dtype::U8.descr(), "|u1");
}

#[test]
fn files_round_trip_through_disk() {
    let dir = common::scratch_dir("npy-disk");
    let path = dir.join("a.npy");
    let a = Array2 {
        dtype: Dtype::I64,
        rows: 3,
        cols: 2,
        data: vec![i64::MIN, i64::MAX, -1, 0, 1, 42],
    };
    npy::write(&path, &a).unwrap();
    assert_eq!(npy::read(&path).unwrap(), a);
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    let missing = npy::read(&dir.join("missing.npy")).unwrap_err().to_string();
    assert!(missing.contains("missing.npy"), "{missing}");
}

fn err(bytes: &[u8]) -> NpyError {
    npy::parse(bytes).expect_err("must be refused")
}

fn dict(descr: &str, fortran: &str, shape: &str) -> String {
    format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}")
}

#[test]
fn not_an_npy_file() {
    for bytes in [
        &b""[..],
        b"\x93NUMP",
        b"PK\x03\x04 a zip file",
        b"\x93NUMPX\x01\x00",
    ] {
        let e = err(bytes);
        assert!(matches!(e, NpyError::NotNpy(_)), "{e}");
        assert!(e.to_string().starts_with("not an .npy file"), "{e}");
    }
    // Ends inside the preamble or the header.
    assert!(matches!(err(b"\x93NUMPY\x01"), NpyError::NotNpy(_)));
    assert!(matches!(err(b"\x93NUMPY\x01\x00\x05"), NpyError::NotNpy(_)));
    let mut short = file(1, &dict("<i4", "False", "(1, 1)"), 64, &[]);
    short.truncate(40);
    let e = err(&short);
    assert!(
        e.to_string().contains("the header is 118 bytes long"),
        "{e}"
    );
}

#[test]
fn unsupported_versions() {
    let mut bytes = file(1, &dict("<i4", "False", "(1, 1)"), 64, &i32_data(&[1]));
    bytes[6] = 3;
    let e = err(&bytes);
    assert_eq!(
        e.to_string(),
        "unsupported .npy format version 3.0: supported are 1.0 and 2.0"
    );
    bytes[6] = 1;
    bytes[7] = 1;
    assert!(matches!(
        err(&bytes),
        NpyError::Version { major: 1, minor: 1 }
    ));
}

#[test]
fn malformed_headers() {
    for d in [
        "not a dict",
        "{'descr': '<i4', 'fortran_order': False}",
        "{'descr': '<i4', 'fortran_order': 0, 'shape': (1, 1)}",
        "{'descr': 4, 'fortran_order': False, 'shape': (1, 1)}",
        "{'descr': '<i4', 'fortran_order': False, 'shape': [1, 1]}",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1), 'extra': True}",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (1, -1)}",
        "{'descr': '<i4 , 'fortran_order': False, 'shape': (1, 1)}",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1)} trailing",
    ] {
        let e = err(&file(1, d, 64, &i32_data(&[1])));
        assert!(matches!(e, NpyError::Header(_)), "{d}: {e}");
        assert!(e.to_string().starts_with("malformed .npy header"), "{e}");
    }
    let mut bytes = file(1, &dict("<i4", "False", "(1, 1)"), 64, &i32_data(&[1]));
    bytes[20] = 0xff;
    assert!(err(&bytes).to_string().contains("not ASCII"));
}

#[test]
fn unsupported_dtypes_are_named_with_the_accepted_ones() {
    for descr in ["<f8", "<u8", "|b1", "<c16", "|O", "<U5", "<i3", ""] {
        let e = err(&file(1, &dict(descr, "False", "(1, 1)"), 64, &[0; 8]));
        assert!(
            matches!(e, NpyError::UnsupportedDtype { .. }),
            "{descr}: {e}"
        );
        let msg = e.to_string();
        assert!(msg.contains(&format!("'{descr}'")), "{msg}");
        assert!(
            msg.contains("int8 (|i1), uint8 (|u1), int16 (<i2), uint16 (<u2), int32 (<i4), uint32 (<u4), int64 (<i8)"),
            "{msg}"
        );
    }
}

#[test]
fn big_endian_and_fortran_order_are_refused() {
    let e = err(&file(1, &dict(">i4", "False", "(1, 1)"), 64, &[0; 4]));
    assert!(matches!(e, NpyError::BigEndian { .. }), "{e}");
    assert!(e.to_string().contains("big-endian dtype '>i4'"), "{e}");
    let e = err(&file(1, &dict("<i2", "True", "(2, 2)"), 64, &[0; 8]));
    assert!(matches!(e, NpyError::FortranOrder), "{e}");
    assert!(e.to_string().contains("Fortran order"), "{e}");
}

#[test]
fn only_2d_shapes() {
    for (shape, text) in [
        ("(5,)", "(5,)"),
        ("()", "()"),
        ("(2, 3, 4)", "(2, 3, 4)"),
        ("(1, 1, 1, 1)", "(1, 1, 1, 1)"),
    ] {
        let e = err(&file(1, &dict("|i1", "False", shape), 64, &[0; 24]));
        assert!(matches!(e, NpyError::Shape { .. }), "{shape}: {e}");
        assert_eq!(
            e.to_string(),
            format!("the array has shape {text}: only 2-D arrays (a matrix) are supported")
        );
    }
    // Empty 2-D arrays are fine for the reader (the product refuses them).
    let a = npy::parse(&file(1, &dict("<i2", "False", "(0, 3)"), 64, &[])).unwrap();
    assert_eq!((a.rows, a.cols, a.data.len()), (0, 3, 0));
}

#[test]
fn truncated_and_trailing_data() {
    let e = err(&file(
        1,
        &dict("<i4", "False", "(2, 3)"),
        64,
        &i32_data(&[1, 2, 3, 4, 5]),
    ));
    assert_eq!(
        e.to_string(),
        "truncated data: shape 2x3 of int32 needs 24 bytes, the file has 20"
    );
    let e = err(&file(1, &dict("<i2", "False", "(1, 1)"), 64, &[1, 2, 3]));
    assert!(matches!(e, NpyError::TrailingData { extra: 1, .. }), "{e}");
    let e = err(&file(
        1,
        &dict("<i8", "False", "(99999999999, 99999999999)"),
        64,
        &[],
    ));
    assert!(e.to_string().contains("too large"), "{e}");
}

#[test]
fn writer_refuses_values_that_do_not_fit_and_wrong_lengths() {
    let a = Array2 {
        dtype: Dtype::I8,
        rows: 1,
        cols: 2,
        data: vec![1, 128],
    };
    assert_eq!(
        npy::to_bytes(&a).unwrap_err().to_string(),
        "value 128 at [0][1] does not fit int8"
    );
    let a = Array2 {
        dtype: Dtype::U32,
        rows: 2,
        cols: 1,
        data: vec![0, -1],
    };
    assert!(matches!(
        npy::to_bytes(&a),
        Err(NpyError::ValueRange { row: 1, col: 0, .. })
    ));
    let a = Array2 {
        dtype: Dtype::I32,
        rows: 2,
        cols: 2,
        data: vec![0; 3],
    };
    assert!(matches!(npy::to_bytes(&a), Err(NpyError::Length { .. })));
    // And the file is not written.
    let dir = common::scratch_dir("npy-refused");
    let path = dir.join("c.npy");
    assert!(npy::write(&path, &a).is_err());
    assert!(!path.exists());
}

proptest! {
    #[test]
    fn random_arrays_round_trip(
        dtype in prop::sample::select(Dtype::ALL.to_vec()),
        rows in 1usize..6,
        cols in 1usize..6,
        seed in any::<u64>(),
    ) {
        let mut x = seed;
        let span = (dtype.max_value() as i128 - dtype.min_value() as i128 + 1) as u128;
        let data = (0..rows * cols)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (dtype.min_value() as i128 + (u128::from(x) % span) as i128) as i64
            })
            .collect();
        let a = Array2 { dtype, rows, cols, data };
        let bytes = npy::to_bytes(&a).unwrap();
        prop_assert_eq!(npy::parse(&bytes).unwrap(), a);
    }
}

/// Cross-check with NumPy: NumPy reads what we write and we read what NumPy writes (versions
/// 1.0 and 2.0, every dtype). NumPy is not a declared dependency of the project, so this test
/// prints a message and passes when `python3 -c "import numpy"` fails, in CI too.
#[test]
fn cross_check_with_numpy() {
    let has_numpy = std::process::Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_numpy {
        eprintln!("skipped: python3 with numpy is not available (NumPy is optional)");
        return;
    }
    let dir = common::scratch_dir("npy-numpy");
    // Ours -> NumPy.
    let mut expected = String::new();
    let ints: Vec<Dtype> = Dtype::ALL.into_iter().filter(|d| !d.is_float()).collect();
    for (i, &dtype) in ints.iter().enumerate() {
        let data = vec![
            dtype.min_value(),
            dtype.max_value(),
            0,
            (-1i64).max(dtype.min_value()),
            7,
            3,
        ];
        let a = Array2 {
            dtype,
            rows: 2,
            cols: 3,
            data: data.clone(),
        };
        npy::write(&dir.join(format!("ours{i}.npy")), &a).unwrap();
        expected.push_str(&format!(
            "{} (2, 3) {}\n",
            dtype.name(),
            data.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    let f32_bits: Vec<i64> = vec![
        0x3FC0_0000,
        0x8000_0000,
        0x7F80_0000,
        0x7FC0_0000,
        1,
        0xFF7F_FFFF,
    ];
    npy::write(
        &dir.join("ours_f32.npy"),
        &Array2 {
            dtype: Dtype::F32,
            rows: 2,
            cols: 3,
            data: f32_bits.clone(),
        },
    )
    .unwrap();
    expected.push_str(&format!(
        "float32 (2, 3) {}\n",
        f32_bits
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let script = format!(
        r#"
import numpy as np
for i in range({n}):
    a = np.load(r"{dir}/ours%d.npy" % i)
    assert a.flags["C_CONTIGUOUS"]
    print(a.dtype.name, a.shape, " ".join(str(int(v)) for v in a.flatten()))
# NumPy -> ours
for i, t in enumerate(["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64"]):
    info = np.iinfo(t)
    a = np.array([[info.min, info.max, 5], [1, 2, 3]], dtype=t)
    np.save(r"{dir}/np%d.npy" % i, a)
    with open(r"{dir}/np2_%d.npy" % i, "wb") as f:
        np.lib.format.write_array(f, a.T.copy(), version=(2, 0))
np.save(r"{dir}/fortran.npy", np.asfortranarray(np.zeros((2, 3), dtype=np.int8)))
np.save(r"{dir}/big.npy", np.zeros((2, 3), dtype=">i4"))
np.save(r"{dir}/float.npy", np.zeros((2, 3)))
# float32 both ways, as bit patterns: ours -> NumPy printed as uint32, NumPy -> ours
f = np.load(r"{dir}/ours_f32.npy")
assert f.dtype == np.float32
print("float32", f.shape, " ".join(str(int(v)) for v in f.view(np.uint32).flatten()))
g = np.array([[1.5, -0.0, np.inf], [np.nan, 1e-45, -3.4e38]], dtype=np.float32)
np.save(r"{dir}/np_f32.npy", g)
print(" ".join(str(int(v)) for v in g.view(np.uint32).flatten()))
np.save(r"{dir}/vector.npy", np.zeros(4, dtype=np.int8))
"#,
        n = ints.len(),
        dir = dir.display()
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "numpy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every line but the last is ours read by NumPy; the last is NumPy's float32 bit patterns.
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = stdout.lines().collect();
    let (numpy_f32, ours) = lines.split_last().expect("NumPy printed lines");
    let ours = ours.join("\n");
    assert_eq!(format!("{ours}\n"), expected);
    let g = npy::read(&dir.join("np_f32.npy")).unwrap();
    assert_eq!((g.dtype, g.rows, g.cols), (Dtype::F32, 2, 3));
    assert_eq!(
        g.data
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        numpy_f32.trim()
    );
    assert!(
        g.data.contains(&0x7F80_0000) && g.data.contains(&0x8000_0000),
        "NumPy's float32 file read as bit patterns: {:x?}",
        g.data
    );
    for (i, &dtype) in ints.iter().enumerate() {
        let a = npy::read(&dir.join(format!("np{i}.npy"))).unwrap();
        assert_eq!(a.dtype, dtype);
        assert_eq!((a.rows, a.cols), (2, 3));
        assert_eq!(
            a.data,
            vec![dtype.min_value(), dtype.max_value(), 5, 1, 2, 3]
        );
        // NumPy's own writer pads to the same alignment, byte for byte.
        assert_eq!(
            std::fs::read(dir.join(format!("np{i}.npy"))).unwrap(),
            npy::to_bytes(&a).unwrap(),
            "{dtype}"
        );
        let t = npy::read(&dir.join(format!("np2_{i}.npy"))).unwrap();
        assert_eq!((t.rows, t.cols), (3, 2));
        assert_eq!(
            t.data,
            vec![dtype.min_value(), 1, dtype.max_value(), 2, 5, 3]
        );
    }
    let refused = |name: &str| npy::read(&dir.join(name)).unwrap_err().to_string();
    assert!(refused("fortran.npy").contains("Fortran order"));
    assert!(refused("big.npy").contains("big-endian"));
    assert!(refused("float.npy").contains("unsupported dtype '<f8'"));
    assert!(refused("vector.npy").contains("shape (4,)"));
}

/// Vectors (labels, biases): `read_vector` takes a 1-D array (as `n x 1`) or a matrix of one row
/// or one column (as it is); `read` refuses 1-D; both refuse other shapes with a message saying
/// what they take.
#[test]
fn vectors_are_read_as_one_column() {
    let dir = common::scratch_dir("npy-vector");
    let one_d = dir.join("v.npy");
    let dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }";
    std::fs::write(&one_d, file(1, dict, 64, &i32_data(&[7, -1, 2]))).unwrap();
    let v = npy::read_vector(&one_d).unwrap();
    assert_eq!((v.rows, v.cols, v.data.clone()), (3, 1, vec![7, -1, 2]));
    let e = npy::read(&one_d).unwrap_err().to_string();
    assert!(e.contains("only 2-D arrays"), "{e}");
    let column = dir.join("c.npy");
    let dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (3, 1), }";
    std::fs::write(&column, file(1, dict, 64, &i32_data(&[7, -1, 2]))).unwrap();
    assert_eq!(npy::read_vector(&column).unwrap().data, vec![7, -1, 2]);
    let row = dir.join("r.npy");
    let dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 3), }";
    std::fs::write(&row, file(1, dict, 64, &i32_data(&[7, -1, 2]))).unwrap();
    let r = npy::read_vector(&row).unwrap();
    assert_eq!((r.rows, r.cols, r.data), (1, 3, vec![7, -1, 2]));
    for shape in ["(3, 2)", "(1, 3, 2)"] {
        let p = dir.join("bad.npy");
        let dict = format!("{{'descr': '<i4', 'fortran_order': False, 'shape': {shape}, }}");
        std::fs::write(&p, file(1, &dict, 64, &i32_data(&[0; 6]))).unwrap();
        let e = npy::read_vector(&p).unwrap_err().to_string();
        assert!(
            e.contains("bad.npy") && e.contains("a vector is expected"),
            "{shape}: {e}"
        );
    }
}
