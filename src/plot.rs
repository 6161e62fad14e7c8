//! What the HTML reports share (`sweep --report`, `infer --report`): the plot size, the colours,
//! axis padding, HTML escaping. A leaf: plots are drawn with `plotters`' SVG backend by each
//! report.

use plotters::style::RGBColor;

/// Width and height of a plot (pixels of the SVG).
pub const W: u32 = 760;
pub const H: u32 = 440;

/// What a drawing closure returns.
pub type PlotResult = Result<(), Box<dyn std::error::Error>>;

pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// `lo..hi` padded by 8% (and made non-empty).
pub fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let span = (hi - lo).abs().max(hi.abs() * 0.1).max(1e-3);
    (lo - 0.08 * span).max(if lo >= 0.0 { 0.0 } else { f64::MIN })..hi + 0.08 * span
}

/// `s` with `&`, `<` and `>` escaped for HTML text.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The label of category `x` (a tick at an integer position) of `labels`, else empty.
pub fn category(labels: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
        labels[i as usize].clone()
    } else {
        String::new()
    }
}

/// Draw the chart's legend (its series' labels) at `pos`, boxed on a light background.
pub fn legend<'a, DB, CT>(
    chart: &mut plotters::chart::ChartContext<'a, DB, CT>,
    pos: plotters::chart::SeriesLabelPosition,
) -> PlotResult
where
    DB: plotters::prelude::DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: plotters::coord::CoordTranslate,
{
    use plotters::style::{Color, BLACK, WHITE};
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()?;
    Ok(())
}
