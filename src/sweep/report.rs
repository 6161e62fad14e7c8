//! The sweep report: one HTML file with SVG plots drawn by `plotters` (its SVG backend) and
//! the tables of [`super::table`]:
//!
//! - per device, GOPS against logic cells used for every done synth point, with the Pareto
//!   front (no other point has more GOPS with fewer or as many cells);
//! - Fmax over the placer seeds of each synth configuration (a strip plot: one dot per seed,
//!   a bar at the median);
//! - utilisation against GEMM shape (gemm-bench points), one line per configuration.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use plotters::prelude::*;

use crate::plot::{category, esc, legend, padded, PlotResult, H, PALETTE, W};

use super::store::Row;
use super::table::{self, device_label, Format};

/// The points of the Pareto front of (cells, GOPS): fewer cells and more GOPS are better.
pub fn pareto(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| {
        a.0.partial_cmp(&b.0)
            .unwrap()
            .then(b.1.partial_cmp(&a.1).unwrap())
    });
    let mut front: Vec<(f64, f64)> = vec![];
    for p in sorted {
        if front.last().is_none_or(|l| p.1 > l.1) {
            front.push(p);
        }
    }
    front
}

fn pareto_svg(device: &str, points: &[(f64, f64, String)]) -> Result<String, String> {
    let mut svg = String::new();
    let draw = |svg: &mut String| -> PlotResult {
        let root = SVGBackend::with_string(svg, (W, H)).into_drawing_area();
        root.fill(&WHITE)?;
        let xs = points.iter().map(|p| p.0);
        let ys = points.iter().map(|p| p.1);
        let x = padded(xs.clone().fold(f64::MAX, f64::min), xs.fold(0.0, f64::max));
        let y = padded(ys.clone().fold(f64::MAX, f64::min), ys.fold(0.0, f64::max));
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{device}: GOPS against logic cells"),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(x, y)?;
        chart
            .configure_mesh()
            .x_desc("logic cells used (placed)")
            .y_desc("GOPS (2 x PEs x Fmax)")
            .label_style(("sans-serif", 13))
            .draw()?;
        let c = PALETTE[0];
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p.0, p.1), 4, c.mix(0.5).filled())),
            )?
            .label("points (every seed)")
            .legend(move |(x, y)| Circle::new((x, y), 4, c.mix(0.5).filled()));
        let front = pareto(&points.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>());
        let red = PALETTE[1];
        chart
            .draw_series(LineSeries::new(front.clone(), red.stroke_width(2)))?
            .label("Pareto front")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], red.stroke_width(2)));
        chart.draw_series(front.iter().map(|p| Circle::new(*p, 5, red.filled())))?;
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        root.present()?;
        Ok(())
    };
    draw(&mut svg).map_err(|e| e.to_string())?;
    Ok(svg)
}

/// Strip plot: per configuration (x, by position), its Fmax values.
fn fmax_svg(configs: &[(String, Vec<f64>)]) -> Result<String, String> {
    let mut svg = String::new();
    let n = configs.len();
    let labels: Vec<String> = configs.iter().map(|c| c.0.clone()).collect();
    let draw = |svg: &mut String| -> PlotResult {
        // Horizontal labels under each configuration: as wide as the longest label needs.
        let longest = labels
            .iter()
            .map(|l| l.len() as u32)
            .max()
            .unwrap_or(4)
            .min(60);
        let slot = (7 * longest + 20).max(60);
        let root =
            SVGBackend::with_string(svg, (W.max(slot * n as u32 + 120), H)).into_drawing_area();
        root.fill(&WHITE)?;
        let all = configs.iter().flat_map(|c| c.1.iter().copied());
        let y = padded(
            all.clone().fold(f64::MAX, f64::min),
            all.fold(0.0, f64::max),
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Fmax over placer seeds, per configuration",
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(56)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y)?;
        chart
            .configure_mesh()
            .x_labels(n.max(2) * 2 + 1)
            .x_label_formatter(&|x| category(&labels, *x))
            .x_label_style(("sans-serif", 12))
            .disable_x_mesh()
            .x_desc("configuration (tag @ board)")
            .y_desc("Fmax (MHz)")
            .label_style(("sans-serif", 13))
            .draw()?;
        for (i, (_, values)) in configs.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            let k = values.len().max(1) as f64;
            chart.draw_series(values.iter().enumerate().map(|(j, v)| {
                // Spread the dots of one configuration across a third of its slot.
                let dx = if k > 1.0 {
                    (j as f64 / (k - 1.0) - 0.5) * 0.3
                } else {
                    0.0
                };
                Circle::new((i as f64 + dx, *v), 4, c.filled())
            }))?;
            let mut sorted = values.clone();
            sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
            if let Some(m) = sorted.get((sorted.len().max(1) - 1) / 2) {
                let x = i as f64;
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(x - 0.25, *m), (x + 0.25, *m)],
                    BLACK.stroke_width(2),
                )))?;
            }
        }
        root.present()?;
        Ok(())
    };
    draw(&mut svg).map_err(|e| e.to_string())?;
    Ok(svg)
}

/// Lines: per configuration, utilisation (%) against the shapes (x, by position).
fn gemm_svg(shapes: &[String], series: &[(String, Vec<(usize, f64)>)]) -> Result<String, String> {
    let mut svg = String::new();
    let n = shapes.len();
    let draw = |svg: &mut String| -> PlotResult {
        let root =
            SVGBackend::with_string(svg, (W.max(90 * n as u32 + 120), H)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Utilisation against GEMM shape", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(56)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..105f64)?;
        chart
            .configure_mesh()
            .x_labels(n.max(2) * 2 + 1)
            .x_label_formatter(&|x| category(shapes, *x))
            .x_label_style(("sans-serif", 12))
            .x_desc("GEMM shape M x K x N (by MACs)")
            .y_desc("utilisation (%)")
            .label_style(("sans-serif", 13))
            .draw()?;
        for (i, (name, pts)) in series.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            let xy: Vec<(f64, f64)> = pts.iter().map(|(x, u)| (*x as f64, 100.0 * u)).collect();
            chart
                .draw_series(LineSeries::new(xy.clone(), c.stroke_width(2)))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2))
                });
            chart.draw_series(xy.iter().map(|p| Circle::new(*p, 4, c.filled())))?;
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        root.present()?;
        Ok(())
    };
    draw(&mut svg).map_err(|e| e.to_string())?;
    Ok(svg)
}

fn is_synth(r: &Row) -> bool {
    r.job == "synth" || r.job == "synth-verify"
}

/// Configuration label of a synth row: its tag at its board (and device).
fn config_label(r: &Row) -> String {
    let mut s = format!("{}@{}", r.tag, r.str("board").unwrap_or("-"));
    if let Some(d) = r.str("device") {
        s.push_str(&format!(":{d}"));
    }
    s
}

fn html_table(rows: &[Row]) -> String {
    let md = table::render(rows, Format::Markdown);
    let mut out = String::new();
    for block in md.split("\n\n") {
        out.push_str("<table>\n");
        for (i, line) in block.lines().enumerate() {
            if i == 1 {
                continue;
            }
            let cells: Vec<&str> = line.trim().trim_matches('|').split(" | ").collect();
            let tag = if i == 0 { "th" } else { "td" };
            out.push_str("<tr>");
            for c in cells {
                let _ = write!(
                    out,
                    "<{tag}>{}</{tag}>",
                    esc(c.trim().replace("\\|", "|").as_str())
                );
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }
    out
}

/// The HTML report of `rows` (a spec's rows of the store).
pub fn html(title: &str, store: &str, rows: &[Row]) -> Result<String, String> {
    let mut body = String::new();
    let count = |s: &str| rows.iter().filter(|r| r.status == s).count();
    let _ = writeln!(
        body,
        "<h1>Sweep {}</h1>\n<p>{} points in <code>{}</code>: {} done, {} failed, {} running, {} pending.</p>",
        esc(title),
        rows.len(),
        esc(store),
        count("done"),
        count("failed"),
        count("running"),
        count("pending")
    );
    // Pareto fronts, per device.
    let mut by_device: BTreeMap<String, Vec<(f64, f64, String)>> = BTreeMap::new();
    for r in rows.iter().filter(|r| is_synth(r) && r.status == "done") {
        if let (Some(x), Some(y)) = (r.u64("logic_used"), r.f64("gops")) {
            by_device
                .entry(device_label(r.str("family"), r.str("device_name")))
                .or_default()
                .push((x as f64, y, config_label(r)));
        }
    }
    body.push_str("<h2>GOPS against logic use, per device (Pareto front)</h2>\n");
    if by_device.is_empty() {
        body.push_str("<p>No done synth points.</p>\n");
    }
    for (device, points) in &by_device {
        body.push_str(&pareto_svg(device, points)?);
        body.push('\n');
    }
    // Fmax over seeds.
    let mut configs: Vec<(String, Vec<f64>)> = vec![];
    for r in rows.iter().filter(|r| is_synth(r) && r.status == "done") {
        let Some(f) = r.f64("fmax_mhz") else { continue };
        let l = config_label(r);
        match configs.iter_mut().find(|c| c.0 == l) {
            Some(c) => c.1.push(f),
            None => configs.push((l, vec![f])),
        }
    }
    body.push_str("<h2>Fmax over placer seeds</h2>\n");
    if configs.is_empty() {
        body.push_str("<p>No done synth points.</p>\n");
    } else {
        body.push_str(&fmax_svg(&configs)?);
        body.push('\n');
    }
    // Utilisation against GEMM shape.
    let gemm: Vec<&Row> = rows
        .iter()
        .filter(|r| r.job == "gemm-bench" && r.status == "done")
        .collect();
    body.push_str("<h2>Utilisation against GEMM shape</h2>\n");
    if gemm.is_empty() {
        body.push_str("<p>No done gemm-bench points.</p>\n");
    } else {
        let mut shapes: Vec<(u64, String)> = gemm
            .iter()
            .filter_map(|r| {
                let (m, k, n) = (r.u64("m")?, r.u64("k")?, r.u64("n")?);
                Some((m * k * n, format!("{m}x{k}x{n}")))
            })
            .collect();
        shapes.sort();
        shapes.dedup();
        let names: Vec<String> = shapes.iter().map(|s| s.1.clone()).collect();
        let mut series: Vec<(String, Vec<(usize, f64)>)> = vec![];
        for r in &gemm {
            let (Some(m), Some(k), Some(n), Some(u)) =
                (r.u64("m"), r.u64("k"), r.u64("n"), r.f64("utilisation"))
            else {
                continue;
            };
            let x = names
                .iter()
                .position(|s| *s == format!("{m}x{k}x{n}"))
                .unwrap_or(0);
            let name = r.tag.clone();
            match series.iter_mut().find(|s| s.0 == name) {
                Some(s) => s.1.push((x, u)),
                None => series.push((name, vec![(x, u)])),
            }
        }
        for s in &mut series {
            s.1.sort_by_key(|p| p.0);
        }
        body.push_str(&gemm_svg(&names, &series)?);
        body.push('\n');
    }
    body.push_str("<h2>Points</h2>\n");
    body.push_str(&html_table(rows));
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Sweep {}</title>\n\
         <style>body {{ font-family: sans-serif; margin: 2em; }} table {{ border-collapse: collapse; margin: 1em 0; }} \
         td, th {{ border: 1px solid #bbb; padding: 2px 6px; font-size: 13px; }} svg {{ display: block; margin: 1em 0; }}</style>\n\
         </head>\n<body>\n{body}</body>\n</html>\n",
        esc(title)
    ))
}
