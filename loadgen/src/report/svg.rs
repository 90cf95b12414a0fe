//! Latency by percentile as an SVG, drawn like HdrHistogram's plotter: the x axis is
//! `log10(1 / (1 - percentile))`, so 0%, 90%, 99%, 99.9%, 99.99% are evenly spaced and the tail
//! gets as much room as the body. Written by hand: one polyline and some axes do not need a
//! plotting library.

use super::hgrm::Row;
use std::fmt::Write;

/// Canvas size.
const WIDTH: f64 = 800.0;
/// Canvas size.
const HEIGHT: f64 = 500.0;
/// Plot area margins: left, right, top, bottom.
const MARGIN: (f64, f64, f64, f64) = (80.0, 30.0, 50.0, 60.0);
/// Percentile ticks; the axis is cut after the first one the data does not reach (min 99.99%).
const TICKS: [(&str, f64); 7] = [
    ("0%", 0.0),
    ("90%", 1.0),
    ("99%", 2.0),
    ("99.9%", 3.0),
    ("99.99%", 4.0),
    ("99.999%", 5.0),
    ("99.9999%", 6.0),
];

/// Renders `rows` (values in ms) under `title`.
pub(crate) fn render(rows: &[Row], title: &str) -> String {
    let x_of = |p: f64| -> f64 {
        if p >= 1.0 {
            f64::INFINITY
        } else {
            (1.0 / (1.0 - p)).log10()
        }
    };
    let finite_max = rows
        .iter()
        .map(|r| x_of(r.percentile))
        .filter(|x| x.is_finite())
        .fold(0.0, f64::max);
    let x_max = finite_max.ceil().clamp(4.0, 6.0);
    let y_top = nice_ceiling(rows.iter().map(|r| r.value).fold(0.0, f64::max));

    let (left, right, top, bottom) = MARGIN;
    let plot_w = WIDTH - left - right;
    let plot_h = HEIGHT - top - bottom;
    let px = |x: f64| left + x.min(x_max) / x_max * plot_w;
    let py = |v: f64| top + plot_h - v / y_top * plot_h;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, "<title>{}</title>", escape(title));
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="25" text-anchor="middle" font-size="14">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );

    let _ = writeln!(s, r##"<g class="grid" stroke="#ddd">"##);
    for (label, x) in TICKS.iter().filter(|(_, x)| *x <= x_max) {
        let _ = writeln!(
            s,
            r#"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{1:.1}"/><text class="xtick" x="{0:.1}" y="{2:.1}" text-anchor="middle" stroke="none" fill="black">{label}</text>"#,
            px(*x),
            top + plot_h,
            top + plot_h + 18.0
        );
    }
    for i in 0..=5 {
        let v = y_top * f64::from(i) / 5.0;
        let _ = writeln!(
            s,
            r#"<line x1="{left}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}"/><text class="ytick" x="{2:.1}" y="{3:.1}" text-anchor="end" stroke="none" fill="black">{4}</text>"#,
            py(v),
            left + plot_w,
            left - 6.0,
            py(v) + 4.0,
            trim_number(v)
        );
    }
    let _ = writeln!(s, "</g>");

    let _ = writeln!(
        s,
        r#"<g class="axes" stroke="black"><line x1="{left}" y1="{top}" x2="{left}" y2="{0:.1}"/><line x1="{left}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}"/></g>"#,
        top + plot_h,
        left + plot_w
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">Percentile</text>"#,
        left + plot_w / 2.0,
        HEIGHT - 15.0
    );
    let _ = writeln!(
        s,
        r#"<text x="20" y="{0:.1}" text-anchor="middle" transform="rotate(-90 20 {0:.1})">Latency (milliseconds)</text>"#,
        top + plot_h / 2.0
    );

    let points: Vec<String> = rows
        .iter()
        .map(|r| format!("{:.1},{:.1}", px(x_of(r.percentile)), py(r.value)))
        .collect();
    let _ = writeln!(
        s,
        r##"<polyline class="latency" fill="none" stroke="#1f77b4" stroke-width="2" points="{}"/>"##,
        points.join(" ")
    );
    let _ = writeln!(s, "</svg>");
    s
}

/// The smallest of 1, 2, 2.5, 5 × 10^k at or above `v` (1 for an empty plot), so the y axis ends
/// on a round number.
fn nice_ceiling(v: f64) -> f64 {
    // Also catches NaN, which compares false with everything.
    if v.is_nan() || v <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&c| c >= v)
        .unwrap_or(10.0 * mag)
}

/// `0.5`, `2`, `12.5` rather than `0.500000`.
fn trim_number(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Escapes text for XML character data.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
