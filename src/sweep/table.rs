//! Tables of a store's rows: Markdown or CSV for people and docs, JSON for scripts.
//!
//! Synth points are grouped by everything but the placer seed, as `docs/fpga.md`'s tables are
//! (and scripts/qor.sh made them): the median Fmax of the group's done runs (the lower middle one
//! of an even count), its range and the number of seeds, and the other columns of that median
//! run; iCE40 rows add the median of icetime's estimates. Simulation points are one row each.

use std::collections::BTreeMap;

use serde_json::Value;

use super::store::Row;

/// Table formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Csv,
}

/// `iCE40 UP5K`, `ECP5 85F` from the report's family and device.
pub fn device_label(family: Option<&str>, device: Option<&str>) -> String {
    match (family, device) {
        (Some("ice40"), Some(d)) => format!("iCE40 {}", d.to_uppercase()),
        (Some("ecp5"), Some(d)) => format!("ECP5 {}", d.trim_end_matches('k').to_uppercase() + "F"),
        (_, Some(d)) => d.to_string(),
        _ => "-".into(),
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn opt_u(r: &Row, col: &str) -> String {
    r.u64(col).map_or("-".into(), thousands)
}

/// The `pe_latency` column: the latency and the options that shape the core.
pub fn core_options(r: &Row) -> String {
    let mut s = r.u64("pe_latency").unwrap_or(1).to_string();
    let prims = r.str("primitives").unwrap_or("generic");
    if prims != "generic" {
        s.push_str(&format!(", {prims} primitives"));
        let (d, c) = (r.u64("dsp_cols"), r.u64("cols"));
        if let (Some(d), Some(c)) = (d, c) {
            if d < c {
                s.push_str(&format!(", DSP blocks in {d} of {c} columns"));
            }
        }
    }
    if r.u64("psum_split") == Some(1) {
        s.push_str(", split PSUM");
    }
    match r.u64("tile_cols") {
        Some(t) if t > 1 => s.push_str(&format!(", tiles of {t}")),
        _ => {}
    }
    if r.u64("keep_tokens") == Some(1) {
        s.push_str(", tokens kept");
    }
    if r.u64("dma") == Some(1) {
        s.push_str(&format!(", DMA {} bits", r.u64("dma_bits").unwrap_or(0)));
    }
    if r.str("sbuf_layout") == Some("packed") {
        s.push_str(", packed SBUF");
    }
    s
}

fn core_name(r: &Row) -> String {
    format!(
        "{} {}x{}",
        r.str("format").unwrap_or("?"),
        r.u64("rows").unwrap_or(0),
        r.u64("cols").unwrap_or(0)
    )
}

/// Formats in the order of docs/fpga.md's tables: integers, fp8 E4M3, fp8 E5M2, bf16.
fn format_rank(f: &str) -> (u8, String) {
    let rank = match f {
        "fp8e4m3" => 1,
        "fp8e5m2" => 2,
        "bf16" => 3,
        _ => 0,
    };
    (rank, f.to_string())
}

/// A row's label, as the sweep's progress lines name points: `tag@board~sSEED`.
pub fn row_label(r: &Row) -> String {
    let mut s = r.tag.clone();
    if let Some(b) = r.str("board") {
        s.push('@');
        s.push_str(b);
    }
    if let Some(seed) = r.u64("seed") {
        s.push_str(&format!("~s{seed}"));
    }
    if let (Some(m), Some(k), Some(n)) = (r.u64("m"), r.u64("k"), r.u64("n")) {
        s.push_str(&format!(" {m}x{k}x{n}"));
    }
    s
}

/// Whether `label` matches `filter`: `|`-separated parts, any of which occurs in the label
/// (`^` at a part's start anchors it to the label's start).
pub fn matches(filter: &str, label: &str) -> bool {
    filter.split('|').any(|part| match part.strip_prefix('^') {
        Some(p) => label.starts_with(p),
        None => label.contains(part),
    })
}

/// Everything of a synth row but the seed (and what follows from it).
fn group_key(r: &Row) -> String {
    let c = &r.columns;
    let g = |k: &str| c.get(k).cloned().unwrap_or(Value::Null);
    serde_json::json!([
        g("job"),
        g("config_hash"),
        g("board"),
        g("device"),
        g("options"),
        g("yosys_version"),
        g("nextpnr_version"),
        g("verilator_version")
    ])
    .to_string()
}

/// One line of a table.
pub type Line = Vec<String>;

/// The synth table: header and lines.
pub fn synth_table(rows: &[&Row]) -> (Line, Vec<Line>) {
    let header: Line = [
        "device",
        "core",
        "pe_latency",
        "mult",
        "LUT4",
        "FF",
        "DSP",
        "BRAM",
        "placed",
        "Fmax MHz, median (range, seeds)",
        "GOPS",
        "yosys + P&R s",
        "critical path ends (median run)",
    ]
    .map(String::from)
    .to_vec();
    let mut groups: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        groups.entry(group_key(r)).or_default().push(r);
    }
    let mut groups: Vec<Vec<&Row>> = groups.into_values().collect();
    // As docs/fpga.md's tables: by device (smallest first), array size, format, latency and
    // options; the spec's order after that.
    groups.sort_by_key(|g| {
        let r = g[0];
        (
            r.u64("logic_available").unwrap_or(u64::MAX),
            r.str("board").unwrap_or("").to_string(),
            r.u64("rows").unwrap_or(0),
            format_rank(r.str("format").unwrap_or("")),
            core_options(r),
            g.iter().map(|r| r.idx).min(),
        )
    });
    let mut lines = vec![];
    for g in groups {
        let first = g[0];
        let mut ok: Vec<&Row> = g
            .iter()
            .copied()
            .filter(|r| r.status == "done" && r.f64("fmax_mhz").is_some())
            .collect();
        ok.sort_by(|a, b| a.f64("fmax_mhz").partial_cmp(&b.f64("fmax_mhz")).unwrap());
        let device = device_label(first.str("family"), first.str("device_name"));
        let device = if device == "-" {
            first.str("board").unwrap_or("-").to_string()
        } else {
            device
        };
        if ok.is_empty() {
            let states: Vec<String> = g
                .iter()
                .map(|r| match &r.reason {
                    Some(reason) => format!("{}: {reason}", r.status),
                    None => r.status.clone(),
                })
                .collect();
            let mut l = vec![device, core_name(first), core_options(first)];
            l.push(states.join("; "));
            l.extend(std::iter::repeat_n(String::new(), 9));
            lines.push(l);
            continue;
        }
        let median = ok[(ok.len() - 1) / 2];
        let (lo, hi) = (
            ok[0].f64("fmax_mhz").unwrap(),
            ok[ok.len() - 1].f64("fmax_mhz").unwrap(),
        );
        let mut its: Vec<f64> = ok.iter().filter_map(|r| r.f64("icetime_mhz")).collect();
        its.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let icetime = its
            .get(its.len().saturating_sub(1) / 2)
            .filter(|_| !its.is_empty())
            .map_or(String::new(), |m| format!("; icetime median {m:.1}"));
        let placed = match (median.u64("logic_used"), median.u64("logic_available")) {
            (Some(u), Some(a)) => format!("{} / {}", thousands(u), thousands(a)),
            _ => "-".into(),
        };
        let failed = g.len() - ok.len();
        let fmax = format!(
            "{:.1} ({lo:.1}-{hi:.1}, {}){icetime}{}",
            median.f64("fmax_mhz").unwrap(),
            ok.len(),
            if failed > 0 {
                format!("; {failed} not done")
            } else {
                String::new()
            }
        );
        lines.push(vec![
            device,
            core_name(median),
            core_options(median),
            median.str("multipliers").unwrap_or("-").to_string(),
            opt_u(median, "lut4"),
            opt_u(median, "ff"),
            opt_u(median, "dsp"),
            opt_u(median, "bram"),
            placed,
            fmax,
            median.f64("gops").map_or("-".into(), |g| format!("{g:.2}")),
            format!(
                "{:.0} + {:.0}",
                median.f64("yosys_s").unwrap_or(0.0),
                median.f64("nextpnr_s").unwrap_or(0.0)
            ),
            median
                .str("critical_path")
                .map_or(String::new(), short_path),
        ]);
    }
    (header, lines)
}

/// A critical path's ends down to the PE or memory, without the cell names the tools append.
fn short_path(s: &str) -> String {
    s.split(" -> ")
        .map(|end| {
            let mut e = end.replace("u_core.", "");
            // u_array.g_col[N].u_column.
            while let Some(i) = e.find("u_array.g_col[") {
                match e[i..].find("].u_column.") {
                    Some(j) => e.replace_range(i..i + j + "].u_column.".len(), ""),
                    None => break,
                }
            }
            for cell in ["_TRELLIS_FF", "_SB_DFF", "_SB_LUT4", "_SB_CARRY"] {
                if let Some(i) = e.find(cell) {
                    e.truncate(i);
                }
            }
            e.trim_end_matches(".0.0").to_string()
        })
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// The simulation table (cosim, gemm-bench): one line per point.
pub fn sim_table(rows: &[&Row]) -> (Line, Vec<Line>) {
    let header: Line = [
        "point",
        "job",
        "core",
        "pe_latency",
        "seed",
        "shape",
        "status",
        "cycles",
        "MACs",
        "utilisation",
        "wall s",
        "reason",
    ]
    .map(String::from)
    .to_vec();
    let lines = rows
        .iter()
        .map(|r| {
            let shape = match (r.u64("m"), r.u64("k"), r.u64("n")) {
                (Some(m), Some(k), Some(n)) => format!("{m}x{k}x{n}"),
                _ => "-".into(),
            };
            vec![
                r.tag.clone(),
                r.job.clone(),
                core_name(r),
                core_options(r),
                r.u64("seed").map_or("-".into(), |s| s.to_string()),
                shape,
                r.status.clone(),
                opt_u(r, "cycles"),
                opt_u(r, "macs"),
                r.f64("utilisation")
                    .map_or("-".into(), |u| format!("{:.1}%", 100.0 * u)),
                r.f64("wall_s").map_or("-".into(), |w| format!("{w:.1}")),
                r.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    (header, lines)
}

fn markdown(header: &Line, lines: &[Line]) -> String {
    let esc = |s: &String| s.replace('|', "\\|");
    let mut out = format!(
        "| {} |\n",
        header.iter().map(esc).collect::<Vec<_>>().join(" | ")
    );
    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for l in lines {
        out.push_str(&format!(
            "| {} |\n",
            l.iter().map(esc).collect::<Vec<_>>().join(" | ")
        ));
    }
    out
}

fn csv(header: &Line, lines: &[Line]) -> String {
    let field = |s: &String| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.clone()
        }
    };
    std::iter::once(header)
        .chain(lines)
        .map(|l| l.iter().map(field).collect::<Vec<_>>().join(",") + "\n")
        .collect()
}

/// The infer table: one line per point, from the job's report.
pub fn infer_table(rows: &[&Row]) -> (Line, Vec<Line>) {
    let header: Line = [
        "point",
        "core",
        "backend",
        "images",
        "status",
        "top-1",
        "reference",
        "cycles end to end",
        "busy cycles",
        "utilisation",
        "wall s",
        "reason",
    ]
    .map(String::from)
    .to_vec();
    let lines = rows
        .iter()
        .map(|r| {
            let result: Value = r
                .str("result")
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or(Value::Null);
            let num = |k: &str| result[k].as_u64().map_or("-".into(), thousands);
            vec![
                r.tag.clone(),
                core_name(r),
                result["backend"].as_str().unwrap_or("-").to_string(),
                num("images"),
                r.status.clone(),
                result["top1"]
                    .as_f64()
                    .map_or("-".into(), |a| format!("{:.2}%", 100.0 * a)),
                match result["matches_reference"].as_bool() {
                    Some(true) => "bit-exact".into(),
                    Some(false) => "DIFFERS".into(),
                    None => "-".into(),
                },
                num("end_to_end_cycles"),
                num("busy_cycles"),
                r.f64("utilisation")
                    .map_or("-".into(), |u| format!("{:.1}%", 100.0 * u)),
                r.f64("wall_s").map_or("-".into(), |w| format!("{w:.1}")),
                r.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    (header, lines)
}

/// The tables of `rows` (synth points first, then simulation points, then infer points), in
/// `format`.
pub fn render(rows: &[Row], format: Format) -> String {
    let synth: Vec<&Row> = rows
        .iter()
        .filter(|r| r.job == "synth" || r.job == "synth-verify")
        .collect();
    let sim: Vec<&Row> = rows
        .iter()
        .filter(|r| r.job == "cosim" || r.job == "gemm-bench")
        .collect();
    let infer: Vec<&Row> = rows.iter().filter(|r| r.job == "infer").collect();
    let mut out = String::new();
    for (rows, table) in [
        (&synth, synth_table as fn(&[&Row]) -> (Line, Vec<Line>)),
        (&sim, sim_table),
        (&infer, infer_table),
    ] {
        if rows.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        let (h, l) = table(rows);
        out.push_str(&match format {
            Format::Markdown => markdown(&h, &l),
            Format::Csv => csv(&h, &l),
        });
    }
    out
}

/// The rows as JSON: every column, the job's report parsed.
pub fn json(rows: &[Row]) -> Value {
    Value::Array(
        rows.iter()
            .map(|r| {
                let mut c = r.columns.clone();
                for k in ["result", "fields", "options"] {
                    if let Some(Value::String(s)) = c.get(k) {
                        let parsed = serde_json::from_str(s).unwrap_or(Value::Null);
                        c.insert(k.into(), parsed);
                    }
                }
                Value::Object(c)
            })
            .collect(),
    )
}
