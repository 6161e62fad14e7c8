//! Unit tests of the configuration: validation, derived widths, canonical text and hash.

use super::*;

fn raw(rows: u32, cols: u32) -> RawConfig {
    RawConfig {
        name: "t".into(),
        rows,
        cols,
        ..Default::default()
    }
}

#[test]
fn keep_tokens_is_omitted_by_default_and_changes_the_hash_when_set() {
    let plain = Config::from_raw(&raw(3, 5)).unwrap();
    assert!(!plain.canonical_toml().contains("keep_tokens"));
    let mut r = raw(3, 5);
    r.keep_tokens = true;
    let kept = Config::from_raw(&r).unwrap();
    assert!(kept.canonical_toml().contains("keep_tokens = true"));
    assert_ne!(kept.hash(), plain.hash());
    assert_eq!(kept.derived, plain.derived, "the same timing");
    assert!(kept.tag().ends_with("_k"), "{}", kept.tag());
}

#[test]
fn tile_cols_shorten_the_row_and_keep_the_default_hash() {
    let one = Config::from_raw(&raw(3, 5)).unwrap();
    assert_eq!(one.derived.col_stages, 5);
    assert!(!one.canonical_toml().contains("tile_cols"));
    let mut r = raw(3, 5);
    for (t, stages) in [(2, 3), (3, 2), (4, 2), (5, 1)] {
        r.tile_cols = t;
        let c = Config::from_raw(&r).unwrap();
        assert_eq!(c.derived.col_stages, stages, "tile_cols {t}");
        // Each stage fewer along the row is a cycle less from a beat to its PSUM write.
        assert_eq!(
            one.derived.mm_latency - c.derived.mm_latency,
            5 - stages,
            "tile_cols {t}"
        );
        assert!(c.canonical_toml().contains(&format!("tile_cols = {t}")));
        assert_ne!(c.hash(), one.hash());
    }
    for bad in [0, 6] {
        r.tile_cols = bad;
        let e = Config::from_raw(&r).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("tile_cols = {bad}")) && e.contains("1..=5"),
            "{e}"
        );
    }
}

#[test]
fn derived_widths() {
    let c = Config::from_raw(&raw(4, 5)).unwrap();
    assert_eq!(c.derived.row_w, 2);
    assert_eq!(c.derived.k_w, 3);
    assert_eq!(c.derived.m_w, 3);
    assert_eq!(c.derived.n_w, 7);
    assert_eq!(c.derived.addr_w, 6);
    assert_eq!(c.derived.bank_w, 1);
    let one = Config::from_raw(&raw(1, 1)).unwrap();
    assert_eq!(one.derived.row_w, 1);
    assert_eq!(one.derived.k_w, 1);
}

#[test]
fn rejects_bad_fields_with_names() {
    let e = Config::from_raw(&raw(0, 4)).unwrap_err().to_string();
    assert_eq!(e, "rows = 0 is out of range: allowed 1..=256");
    let mut r = raw(4, 4);
    r.acc_bits = 15;
    let e = Config::from_raw(&r).unwrap_err().to_string();
    assert!(e.contains("acc_bits = 15") && e.contains("16..=64"), "{e}");
    let mut r = raw(4, 4);
    r.psum_depth = 100;
    assert!(Config::from_raw(&r)
        .unwrap_err()
        .to_string()
        .starts_with("psum_depth = 100"));
    let mut r = raw(4, 4);
    r.format = "int17".into();
    assert!(Config::from_raw(&r)
        .unwrap_err()
        .to_string()
        .contains("int17"));
}

#[test]
fn ecp5_primitives_need_an_integer_format_and_a_pipelined_pe() {
    let mut r = raw(4, 4);
    r.primitives = Primitives::Ecp5;
    let e = Config::from_raw(&r).unwrap_err().to_string();
    assert!(
        e.contains("primitives = ecp5") && e.contains("pe_latency 2, 3 or 4"),
        "{e}"
    );
    r.pe_latency = 3;
    let c = Config::from_raw(&r).unwrap();
    assert_eq!(c.tag(), "r4c4_int8_a32_l3_ecp5");
    assert!(c.canonical_toml().contains("primitives = \"ecp5\""));
    r.format = "bf16".into();
    assert!(Config::from_raw(&r).is_err());
    // generic is left out of the canonical text: older configurations keep their hash.
    assert!(!Config::from_raw(&raw(4, 4))
        .unwrap()
        .canonical_toml()
        .contains("primitives"));
}

#[test]
fn ice40_primitives_need_a_narrow_integer_format_and_a_pipelined_pe() {
    let mut r = raw(4, 4);
    r.primitives = Primitives::Ice40;
    let e = Config::from_raw(&r).unwrap_err().to_string();
    assert!(
        e.contains("primitives = ice40") && e.contains("pe_latency 2, 3 or 4"),
        "{e}"
    );
    r.pe_latency = 2;
    let c = Config::from_raw(&r).unwrap();
    assert_eq!(c.tag(), "r4c4_int8_a32_l2_ice40");
    assert!(c.canonical_toml().contains("primitives = \"ice40\""));
    for f in ["int9", "uint16", "fp8e4m3"] {
        r.format = f.into();
        assert!(Config::from_raw(&r).is_err(), "{f}");
    }
    r.format = "int5".into();
    assert!(Config::from_raw(&r).is_ok());
}

#[test]
fn dsp_cols_choose_the_columns_on_dsp_blocks() {
    let mut r = raw(5, 4);
    r.pe_latency = 3;
    r.dsp_cols = Some(2);
    let e = Config::from_raw(&r).unwrap_err().to_string();
    assert!(
        e.starts_with("dsp_cols = 2") && e.contains("generic"),
        "{e}"
    );
    r.primitives = Primitives::Ice40;
    let c = Config::from_raw(&r).unwrap();
    // Three SB_MAC16 per column of 5 rows, in 2 columns; the tag and the text say so.
    assert_eq!((c.dsp_cols, c.dsp_blocks()), (2, 6));
    assert_eq!(c.tag(), "r5c4_int8_a32_l3_ice40_d2");
    assert!(c.canonical_toml().contains("dsp_cols = 2"));
    assert_eq!(Config::from_raw(&c.to_raw()).unwrap(), c);
    r.primitives = Primitives::Ecp5;
    assert_eq!(Config::from_raw(&r).unwrap().dsp_blocks(), 10);
    r.dsp_cols = Some(5);
    let e = Config::from_raw(&r).unwrap_err().to_string();
    assert!(e.contains("0..=4"), "{e}");
    // All columns (the default) is left out of the text: the configuration keeps its hash.
    r.dsp_cols = Some(4);
    let all = Config::from_raw(&r).unwrap();
    r.dsp_cols = None;
    assert_eq!(Config::from_raw(&r).unwrap(), all);
    assert!(!all.canonical_toml().contains("dsp_cols"));
    assert_eq!(all.dsp_blocks(), 20);
    assert_eq!(Config::from_raw(&raw(5, 4)).unwrap().dsp_blocks(), 0);
}

#[test]
fn sbuf_layout_is_in_the_text_only_when_packed() {
    let mut r = raw(4, 4);
    let part = Config::from_raw(&r).unwrap();
    assert_eq!(part.sbuf_layout, SbufLayout::Partitioned);
    assert!(!part.canonical_toml().contains("sbuf_layout"));
    r.sbuf_layout = SbufLayout::Packed;
    let packed = Config::from_raw(&r).unwrap();
    let text = packed.canonical_toml();
    assert!(text.contains("sbuf_layout = \"packed\""), "{text}");
    assert_ne!(packed.hash(), part.hash());
    let back = Config::from_toml_str(&text, "t", &Overrides::default()).unwrap();
    assert_eq!(back, packed);
    let bad = text.replace("\"packed\"", "\"wide\"");
    let e = Config::from_toml_str(&bad, "t.toml", &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("t.toml") && e.contains("partitioned") && e.contains("packed"),
        "{e}"
    );
}

#[test]
fn psum_split_needs_the_integer_read_ahead() {
    let mut r = raw(4, 4);
    r.psum_split = true;
    let e = Config::from_raw(&r).unwrap_err().to_string();
    assert!(
        e.starts_with("psum_split = true") && e.contains("pe_latency 3, 4 or 5"),
        "{e}"
    );
    r.pe_latency = 3;
    let whole = {
        let mut w = r.clone();
        w.psum_split = false;
        Config::from_raw(&w).unwrap()
    };
    let c = Config::from_raw(&r).unwrap();
    // The high half is written one edge later: one more cycle of latency.
    assert_eq!(c.derived.mm_latency, whole.derived.mm_latency + 1);
    assert_eq!((c.derived.psum_split, c.derived.psum_lo_w), (1, 18));
    assert_eq!(whole.derived.psum_lo_w, 32);
    assert_eq!(c.tag(), "r4c4_int8_a32_l3_s");
    assert!(c.canonical_toml().contains("psum_split = true"));
    assert!(!whole.canonical_toml().contains("psum_split"));
    r.acc_bits = 21;
    assert_eq!(Config::from_raw(&r).unwrap().derived.psum_lo_w, 12);
    // Both lanes at least one bit wide.
    r.format = "int2".into();
    for (acc, lo) in [(4, 3), (5, 4), (6, 5), (7, 5)] {
        r.acc_bits = acc;
        assert_eq!(
            Config::from_raw(&r).unwrap().derived.psum_lo_w,
            lo,
            "acc {acc}"
        );
    }
    r.format = "bf16".into();
    r.acc_bits = 32;
    let e = Config::from_raw(&r).unwrap_err().to_string();
    assert!(e.contains("integer format"), "{e}");
}

#[test]
fn float_formats_and_pe_latency() {
    let mut r = raw(4, 4);
    r.format = "bf16".into();
    let c = Config::from_raw(&r).unwrap();
    assert_eq!((c.derived.data_w, c.derived.acc_w), (16, 32));
    assert_eq!(c.derived.mm_latency, 4 + 4 + 1);
    r.acc_bits = 40;
    let e = Config::from_raw(&r).unwrap_err().to_string();
    assert!(e.contains("acc_bits = 40") && e.contains("fp32"), "{e}");
    r.acc_bits = 32;
    r.pe_latency = 3;
    let c = Config::from_raw(&r).unwrap();
    let d = &c.derived;
    assert_eq!((d.mul_lat, d.add_lat, d.load_hold), (1, 2, 3));
    assert_eq!(d.psum_pipe, 1);
    assert_eq!(d.mm_latency, 4 * 2 + 1 + 4 + 1 + 1);
    assert_eq!(c.tag(), "r4c4_bf16_a32_l3");
    r.pe_latency = 4;
    let d = Config::from_raw(&r).unwrap().derived;
    assert_eq!((d.mul_lat, d.add_lat, d.psum_pipe), (2, 2, 1));
    r.pe_latency = 5;
    let e = Config::from_raw(&r).unwrap_err().to_string();
    assert_eq!(e, "pe_latency = 5 is out of range: allowed 1..=4 for bf16");
    let mut r = raw(4, 4);
    r.pe_latency = 6;
    let e = Config::from_raw(&r).unwrap_err().to_string();
    assert_eq!(e, "pe_latency = 6 is out of range: allowed 1..=5 for int8");
    // pe_latency 5: the quarter products, one more register in the multiplier; the PSUM
    // still reads ahead 2. LUT multipliers only, and weights of at least 4 bits.
    r.pe_latency = 5;
    let c = Config::from_raw(&r).unwrap();
    let d = &c.derived;
    assert_eq!((d.mul_lat, d.add_lat, d.psum_ahead), (4, 1, 2));
    assert_eq!(d.mm_latency, 4 + 4 + 4 + 1 + 1);
    assert_eq!(c.tag(), "r4c4_int8_a32_l5");
    for p in [Primitives::Ecp5, Primitives::Ice40] {
        r.primitives = p;
        let e = Config::from_raw(&r).unwrap_err().to_string();
        assert!(e.contains("pe_latency 2, 3 or 4"), "{e}");
    }
    r.primitives = Primitives::Generic;
    r.psum_split = true;
    assert!(Config::from_raw(&r).unwrap().derived.psum_split == 1);
    r.psum_split = false;
    r.format = "int3".into();
    r.acc_bits = 12;
    let e = Config::from_raw(&r).unwrap_err().to_string();
    assert!(
        e.starts_with("pe_latency = 5 is out of range: allowed 1..=4 for int3")
            && e.contains("at least 4 bits"),
        "{e}"
    );
    r.format = "uint4".into();
    assert_eq!(Config::from_raw(&r).unwrap().derived.mul_lat, 4);
    let mut r = raw(4, 4);
    r.pe_latency = 4;
    let d = Config::from_raw(&r).unwrap().derived;
    // The split multiplier: three registers in the multiplier; the PSUM reads ahead 2.
    assert_eq!(
        (d.mul_lat, d.add_lat, d.psum_ahead, d.psum_wr_reg),
        (3, 1, 2, 1)
    );
    assert_eq!(d.mm_latency, 4 + 3 + 4 + 1 + 1);
    r.primitives = Primitives::Ecp5;
    let d = Config::from_raw(&r).unwrap().derived;
    assert_eq!((d.mul_lat, d.psum_ahead, d.psum_ram_ecp5), (3, 2, 1));
    r.primitives = Primitives::Generic;
    r.pe_latency = 3;
    let d = Config::from_raw(&r).unwrap().derived;
    assert_eq!(
        (d.mul_lat, d.add_lat, d.load_hold, d.psum_pipe),
        (2, 1, 0, 0)
    );
    // rows + mul_lat + cols + PSUM write (1) + the PSUM's registered write (1).
    assert_eq!((d.psum_ahead, d.psum_wr_reg), (2, 1));
    assert_eq!(d.mm_latency, 4 + 2 + 4 + 1 + 1);
    r.pe_latency = 2;
    let c = Config::from_raw(&r).unwrap();
    assert_eq!(
        (c.derived.mul_lat, c.derived.add_lat, c.derived.load_hold),
        (1, 1, 0)
    );
    // pe_latency 1 is left out of the canonical text: older configurations keep their hash.
    assert!(!Config::from_raw(&raw(4, 4))
        .unwrap()
        .canonical_toml()
        .contains("pe_latency"));
    assert!(c.canonical_toml().contains("pe_latency = 2"));
}

#[test]
fn unknown_keys_are_rejected() {
    let e = Config::from_toml_str(
        "rows = 4\ncols = 4\nbogus = 1\n",
        "x.toml",
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("bogus"), "{e}");
}

#[test]
fn hash_is_stable_and_sensitive() {
    let a = Config::from_raw(&raw(4, 4)).unwrap();
    let b = Config::from_raw(&raw(4, 4)).unwrap();
    let c = Config::from_raw(&raw(4, 5)).unwrap();
    assert_eq!(a.hash(), b.hash());
    assert_ne!(a.hash(), c.hash());
    assert_eq!(a.hash().len(), 16);
}

#[test]
fn default_is_a_preset_file_naming_only_rows_and_cols() {
    let parsed: RawConfig = toml::from_str("rows = 8\ncols = 8\n").unwrap();
    assert_eq!(RawConfig::default(), parsed);
    let c = Config::from_raw(&RawConfig::default()).unwrap();
    assert_eq!(
        c.canonical_toml(),
        "name = \"custom\"\nrows = 8\ncols = 8\nformat = \"int8\"\nacc_bits = 32\n\
         psum_banks = 2\npsum_depth = 64\nsbuf_depth = 1024\n"
    );
    let flags = Overrides {
        rows: Some(8),
        cols: Some(8),
        ..Overrides::default()
    };
    assert_eq!(Config::from_overrides(&flags).unwrap(), c);
    // Without rows and cols the flags alone are no configuration.
    let e = Config::from_overrides(&Overrides::default()).unwrap_err();
    assert_eq!(e.to_string(), "rows = 0 is out of range: allowed 1..=256");
}

#[test]
fn dma_is_omitted_by_default_and_its_fields_only_come_with_it() {
    let plain = Config::from_raw(&raw(4, 4)).unwrap();
    assert!(!plain.dma);
    assert_eq!((plain.dma_bits, plain.dma_reads), (64, 4));
    let text = plain.canonical_toml();
    assert!(!text.contains("dma"), "{text}");
    let mut r = raw(4, 4);
    r.dma = true;
    let on = Config::from_raw(&r).unwrap();
    assert!(
        on.canonical_toml()
            .ends_with("dma = true\ndma_bits = 64\ndma_reads = 4\n"),
        "{}",
        on.canonical_toml()
    );
    assert_ne!(on.hash(), plain.hash());
    assert_eq!(on.derived, plain.derived);
    // The canonical text reads back as the same configuration.
    let back: RawConfig = toml::from_str(&on.canonical_toml()).unwrap();
    assert_eq!(Config::from_raw(&back).unwrap(), on);
    r.dma_bits = Some(256);
    r.dma_reads = Some(64);
    let wide = Config::from_raw(&r).unwrap();
    assert!(wide
        .canonical_toml()
        .ends_with("dma = true\ndma_bits = 256\ndma_reads = 64\n"));
    for format in ["uint8", "bf16", "fp8e4m3", "fp8e5m2"] {
        let mut r = raw(4, 4);
        r.dma = true;
        r.format = format.into();
        assert!(Config::from_raw(&r).is_ok(), "{format}");
    }
}

#[test]
fn dma_rejects_bad_fields_with_names() {
    let err = |f: &dyn Fn(&mut RawConfig)| {
        let mut r = raw(4, 4);
        r.dma = true;
        f(&mut r);
        Config::from_raw(&r).unwrap_err().to_string()
    };
    for bad in [0, 16, 48, 1024] {
        let e = err(&|r| r.dma_bits = Some(bad));
        assert_eq!(
            e,
            format!("dma_bits = {bad} is out of range: allowed 32, 64, 128, 256 or 512")
        );
    }
    for bad in [0, 65] {
        let e = err(&|r| r.dma_reads = Some(bad));
        assert_eq!(
            e,
            format!("dma_reads = {bad} is out of range: allowed 1..=64")
        );
    }
    for format in ["int4", "int16", "uint12"] {
        let e = err(&|r| r.format = format.into());
        assert!(
            e.starts_with(&format!("format = {format} is out of range"))
                && e.contains("int8, uint8, bf16"),
            "{e}"
        );
    }
    let e = err(&|r| r.acc_bits = 24);
    assert!(
        e.starts_with("acc_bits = 24 is out of range: allowed 32"),
        "{e}"
    );
    // The DMA fields without dma.
    let mut r = raw(4, 4);
    r.dma_bits = Some(64);
    assert_eq!(
        Config::from_raw(&r).unwrap_err().to_string(),
        "dma_bits = 64 is out of range: allowed none without dma = true"
    );
    let mut r = raw(4, 4);
    r.dma_reads = Some(4);
    assert!(Config::from_raw(&r)
        .unwrap_err()
        .to_string()
        .starts_with("dma_reads = 4"));
    // From a file, and from flags.
    let c = Config::from_toml_str(
        "rows = 2\ncols = 2\ndma = true\ndma_bits = 32\n",
        "t.toml",
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!((c.dma, c.dma_bits, c.dma_reads), (true, 32, 4));
    let c = Config::from_overrides(&Overrides {
        rows: Some(2),
        cols: Some(2),
        dma: Some(true),
        dma_reads: Some(9),
        ..Overrides::default()
    })
    .unwrap();
    assert_eq!((c.dma, c.dma_bits, c.dma_reads), (true, 64, 9));
}

/// A preset name is looked up only inside the seeds folder: names with path pieces are unknown
/// presets even where the file they point at exists (`./p`, `../other/q`, an absolute path).
#[test]
fn preset_names_with_path_pieces_are_unknown_presets() {
    let root = std::env::temp_dir().join(format!("systolic-preset-names-{}", std::process::id()));
    let seeds = root.join("seeds");
    let other = root.join("other");
    std::fs::create_dir_all(&seeds).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    let text = "rows = 4\ncols = 4\n";
    std::fs::write(seeds.join("p.toml"), text).unwrap();
    std::fs::write(other.join("q.toml"), text).unwrap();
    let none = Overrides::default();
    assert!(Config::from_preset(&seeds, "p", &none).is_ok());
    let absolute = other.join("q");
    for name in [
        "./p",
        "../other/q",
        "../seeds/p",
        absolute.to_str().unwrap(),
        "p/",
        "",
        ".",
        "..",
    ] {
        match Config::from_preset(&seeds, name, &none) {
            Err(ConfigError::UnknownPreset { .. }) => {}
            other => panic!("preset {name:?}: {other:?}"),
        }
    }
    std::fs::remove_dir_all(&root).unwrap();
}
