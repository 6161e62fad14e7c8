//! `infer --report`: one HTML file with SVG plots (`plotters`) of a run's products on the
//! engine and their table:
//!
//! - cycles per layer: the measured cycles of each product beside its roofline bound;
//! - utilisation per layer: the share of the PEs' MAC slots used, and the share of the roofline
//!   reached;
//! - the roofline (memory path): achieved MACs per cycle against MACs per byte moved in the
//!   busier DMA direction (reads and writes have a bus each), one point per layer under the
//!   roof `min(PEs, intensity x bus bytes per cycle)`: the same bound as each product's
//!   `roofline_cycles`.
//!
//! The numbers are [`ProductStats`] of a back end with a clock; the golden model has none.

use std::fmt::Write as _;

use plotters::prelude::*;

use crate::plot::{category, esc, legend, padded, PlotResult, H, PALETTE, W};

use super::{DataPath, ProductStats, RunStats};

/// What the report is about (its header).
pub struct Header<'a> {
    pub model: &'a str,
    pub config: &'a str,
    pub backend: &'a str,
    pub images: usize,
    /// MACs per cycle of the array (its PEs) and bytes per cycle of the memory bus.
    pub pes: u64,
    pub bus_bytes: u64,
}

/// Short labels of the products: `L1 MatMul` from `#1 QLinearMatMul 'fc1_MatMul_quant'`.
fn labels(products: &[ProductStats]) -> Vec<String> {
    products
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let name = p.node.split('\'').nth(1).unwrap_or(&p.node);
            let short: String = name.chars().take(18).collect();
            format!("L{} {short}", i + 1)
        })
        .collect()
}

/// A chart of categories `0..n` (x) against `y`, with the category labels under the ticks.
fn categorical<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    (names, y): (&'a [String], std::ops::Range<f64>),
    (x_desc, y_desc): (&str, &str),
) -> Result<
    ChartContext<
        'a,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    Box<dyn std::error::Error + 'a>,
>
where
    DB::ErrorType: 'static,
{
    let n = names.len();
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(56)
        .y_label_area_size(72)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y)?;
    chart
        .configure_mesh()
        .x_labels(n.max(2) * 2 + 1)
        .x_label_formatter(&|x| category(names, *x))
        .x_label_style(("sans-serif", 12))
        .disable_x_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", 13))
        .draw()?;
    Ok(chart)
}

/// Two bars per category (`a` left, `b` right), with their legend names.
fn bars_svg(
    caption: &str,
    names: &[String],
    (a, b): (&[f64], &[f64]),
    (a_name, b_name): (&str, &str),
    y_desc: &str,
) -> Result<String, String> {
    let mut svg = String::new();
    let draw = |svg: &mut String| -> PlotResult {
        let width = W.max(110 * names.len() as u32 + 140);
        let root = SVGBackend::with_string(svg, (width, H)).into_drawing_area();
        root.fill(&WHITE)?;
        let top = a.iter().chain(b).fold(0.0f64, |m, v| m.max(*v));
        let y = padded(0.0, top);
        let mut chart = categorical(&root, caption, (names, y), ("layer", y_desc))
            .map_err(|e| e.to_string())?;
        for (k, (values, name)) in [(a, a_name), (b, b_name)].into_iter().enumerate() {
            let c = PALETTE[k];
            let dx = if k == 0 { -0.32 } else { 0.02 };
            chart
                .draw_series(values.iter().enumerate().map(|(i, v)| {
                    let x = i as f64 + dx;
                    Rectangle::new([(x, 0.0), (x + 0.3, *v)], c.filled())
                }))?
                .label(name.to_string())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present()?;
        Ok(())
    };
    draw(&mut svg).map_err(|e| e.to_string())?;
    Ok(svg)
}

/// The roofline: per product (MACs per DMA byte, MACs per cycle), log-log, under the roof.
fn roofline_svg(h: &Header, names: &[String], products: &[ProductStats]) -> Result<String, String> {
    let pts: Vec<(f64, f64)> = products
        .iter()
        .map(|p| {
            let bytes = p.dma_read_bytes.max(p.dma_write_bytes).max(1) as f64;
            (
                p.macs as f64 / bytes,
                p.macs as f64 / p.cycles.max(1) as f64,
            )
        })
        .collect();
    let (pes, bus) = (h.pes as f64, h.bus_bytes as f64);
    let knee = pes / bus;
    let xs = pts.iter().map(|p| p.0).chain([knee]);
    let x_lo = xs.clone().fold(f64::MAX, f64::min) / 4.0;
    let x_hi = xs.fold(0.0f64, f64::max) * 4.0;
    let y_lo = pts.iter().map(|p| p.1).fold(pes, f64::min) / 4.0;
    let mut svg = String::new();
    let draw = |svg: &mut String| -> PlotResult {
        let root = SVGBackend::with_string(svg, (W, H)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Roofline: each layer's product", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d((x_lo..x_hi).log_scale(), (y_lo..pes * 2.0).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("arithmetic intensity (MACs per byte, busier DMA direction)")
            .y_desc("achieved MACs per cycle")
            .label_style(("sans-serif", 13))
            .draw()?;
        let roof: Vec<(f64, f64)> = [x_lo, knee, x_hi]
            .iter()
            .map(|&x| (x, (x * bus).min(pes)))
            .collect();
        let black = BLACK;
        chart
            .draw_series(LineSeries::new(roof, black.stroke_width(2)))?
            .label(format!(
                "roof: min({} PEs, {} B/cycle x intensity)",
                h.pes, h.bus_bytes
            ))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], black.stroke_width(2))
            });
        for (i, (p, name)) in pts.iter().zip(names).enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(std::iter::once(Circle::new(*p, 6, c.filled())))?
                .label(name.clone())
                .legend(move |(x, y)| Circle::new((x + 6, y), 5, c.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        root.present()?;
        Ok(())
    };
    draw(&mut svg).map_err(|e| e.to_string())?;
    Ok(svg)
}

fn table(names: &[String], products: &[ProductStats]) -> String {
    let mut t = String::from(
        "<table>\n<tr><th>layer</th><th>node</th><th>M x K x N</th><th>cycles</th>\
         <th>roofline</th><th>utilisation</th><th>of roofline</th><th>DMA read</th>\
         <th>DMA write</th><th>write-back</th></tr>\n",
    );
    let pct = |v: Option<f64>| v.map_or("-".into(), |f| format!("{:.1} %", 100.0 * f));
    for (name, p) in names.iter().zip(products) {
        let [m, k, n] = p.gemm;
        let _ = writeln!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{m} x {k} x {n}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            esc(&p.node),
            p.cycles,
            p.roofline_cycles,
            pct(p.utilisation),
            pct(p.roofline_fraction),
            p.dma_read_bytes,
            p.dma_write_bytes,
            p.write_back
        );
    }
    t.push_str("</table>\n");
    t
}

/// The HTML report of a run with a clock (`stats.products` with cycles).
pub fn html(h: &Header, stats: &RunStats) -> Result<String, String> {
    let products = &stats.products;
    let names = labels(products);
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<h1>{} on {}</h1>\n<p>{} images on the {} over the {} path: {} cycles end to end, {} \
         of them the engine busy; {} products on the engine, {} MACs.</p>",
        esc(h.model),
        esc(h.config),
        h.images,
        esc(h.backend),
        match stats.path {
            DataPath::Register => "register",
            DataPath::Memory => "memory",
        },
        stats.end_to_end_cycles,
        stats.busy_cycles,
        products.len(),
        stats.macs
    );
    body.push_str("<h2>Cycles per layer</h2>\n");
    let cycles: Vec<f64> = products.iter().map(|p| p.cycles as f64).collect();
    let bound: Vec<f64> = products.iter().map(|p| p.roofline_cycles as f64).collect();
    body += &bars_svg(
        "Cycles per layer: measured and the roofline bound",
        &names,
        (&cycles, &bound),
        ("measured cycles", "roofline bound"),
        "cycles",
    )?;
    body.push_str("\n<h2>Utilisation per layer</h2>\n");
    let pct = |v: Option<f64>| 100.0 * v.unwrap_or(0.0);
    let util: Vec<f64> = products.iter().map(|p| pct(p.utilisation)).collect();
    let frac: Vec<f64> = products.iter().map(|p| pct(p.roofline_fraction)).collect();
    body += &bars_svg(
        "Utilisation per layer",
        &names,
        (&util, &frac),
        ("PE utilisation (%)", "share of the roofline (%)"),
        "percent",
    )?;
    if stats.path == DataPath::Memory {
        body.push_str("\n<h2>Roofline</h2>\n");
        body += &roofline_svg(h, &names, products)?;
    }
    body.push_str("\n<h2>Products</h2>\n");
    body += &table(&names, products);
    Ok(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>systolic infer: {}</title>\
         <style>body{{font-family:sans-serif;margin:24px}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #bbb;padding:3px 8px;text-align:right}}</style></head>\n\
         <body>\n{body}</body></html>\n",
        esc(h.model)
    ))
}
