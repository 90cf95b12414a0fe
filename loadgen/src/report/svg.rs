//! Latency by percentile as an SVG, drawn like HdrHistogram's plotter: the x axis is
//! `log10(1 / (1 - percentile))`, so 0%, 90%, 99%, 99.9%, 99.99% are evenly spaced and the tail
//! gets as much room as the body. The latency axis is logarithmic too, one gridline a decade, so a
//! 200 µs median and a 50 ms tail are both readable on one plot. Written by hand: a few polylines
//! and some axes do not need a plotting library.

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
/// The smallest latency plotted, ms: the histograms' resolution (1 µs). Lower values, a zero
/// included, are drawn at it.
const FLOOR_MS: f64 = 0.001;
/// Colour of the target lines.
const TARGET_COLOR: &str = "#d62728";

/// One line on the plot.
#[derive(Debug, Clone)]
pub(crate) struct Curve<'a> {
    /// Legend text.
    pub(crate) label: String,
    /// The distribution, values in ms.
    pub(crate) rows: &'a [Row],
    /// Stroke colour.
    pub(crate) color: &'static str,
    /// Dashed (service time) rather than solid (corrected latency).
    pub(crate) dashed: bool,
}

/// A latency target drawn as a horizontal line, with a marker at the percentile it is about.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Target {
    /// Legend and line text, e.g. `P4: p99 ≤ 1 ms`.
    pub(crate) label: String,
    /// The percentile the target is about, as a fraction.
    pub(crate) percentile: f64,
    /// The bound, ms.
    pub(crate) value_ms: f64,
}

/// `log10(1 / (1 - p))`, infinite at 100%.
fn x_of(p: f64) -> f64 {
    if p >= 1.0 {
        f64::INFINITY
    } else {
        (1.0 / (1.0 - p)).log10()
    }
}

/// Renders `curves` and `targets` under `title`.
pub(crate) fn render(title: &str, curves: &[Curve<'_>], targets: &[Target]) -> String {
    let finite_max = curves
        .iter()
        .flat_map(|c| c.rows)
        .map(|r| x_of(r.percentile))
        .filter(|x| x.is_finite())
        .fold(0.0, f64::max);
    let x_max = finite_max.ceil().clamp(4.0, 6.0);
    let values = || {
        curves
            .iter()
            .flat_map(|c| c.rows.iter().map(|r| r.value))
            .chain(targets.iter().map(|t| t.value_ms))
            .map(|v| v.max(FLOOR_MS))
    };
    // Whole decades around the data; 0.1–10 ms for an empty plot.
    let lo_exp = values().map(f64::log10).fold(f64::INFINITY, f64::min);
    let hi_exp = values().map(f64::log10).fold(f64::NEG_INFINITY, f64::max);
    // Exponents of whole decades; the values are within 1e-3..4e6 ms, so they fit an i32.
    let (lo_exp, hi_exp) = if lo_exp.is_finite() {
        let lo = lo_exp.floor() as i32;
        (lo, (hi_exp.ceil() as i32).max(lo + 1))
    } else {
        (-1, 1)
    };

    let (left, right, top, bottom) = MARGIN;
    let plot_w = WIDTH - left - right;
    let plot_h = HEIGHT - top - bottom;
    let px = |x: f64| left + x.min(x_max) / x_max * plot_w;
    let py = |v: f64| {
        let e = v.max(FLOOR_MS).log10();
        top + plot_h - (e - f64::from(lo_exp)) / f64::from(hi_exp - lo_exp) * plot_h
    };

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, "<title>{}</title>", escape(title));
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text class="title" x="{}" y="25" text-anchor="middle" font-size="14">{}</text>"#,
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
    // A labelled line per decade, faint ones at 2..9 × the decade.
    for exp in lo_exp..=hi_exp {
        let decade = 10f64.powi(exp);
        let _ = writeln!(
            s,
            r#"<line x1="{left}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}"/><text class="ytick" x="{2:.1}" y="{3:.1}" text-anchor="end" stroke="none" fill="black">{4}</text>"#,
            py(decade),
            left + plot_w,
            left - 6.0,
            py(decade) + 4.0,
            format_ms(decade)
        );
        if exp < hi_exp {
            for m in 2..=9 {
                let _ = writeln!(
                    s,
                    r##"<line class="minor" stroke="#f0f0f0" x1="{left}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}"/>"##,
                    py(decade * f64::from(m)),
                    left + plot_w
                );
            }
        }
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
        r#"<text x="20" y="{0:.1}" text-anchor="middle" transform="rotate(-90 20 {0:.1})">Latency (log scale)</text>"#,
        top + plot_h / 2.0
    );

    for t in targets {
        let y = py(t.value_ms);
        let _ = writeln!(
            s,
            r#"<g class="target" stroke="{TARGET_COLOR}"><line x1="{left}" y1="{y:.1}" x2="{0:.1}" y2="{y:.1}" stroke-dasharray="2 4"/><circle cx="{1:.1}" cy="{y:.1}" r="4" fill="none"/><text x="{2:.1}" y="{3:.1}" text-anchor="end" stroke="none" fill="{TARGET_COLOR}">{4}</text></g>"#,
            left + plot_w,
            px(x_of(t.percentile)),
            left + plot_w - 4.0,
            y - 4.0,
            escape(&t.label)
        );
    }

    for c in curves {
        let points: Vec<String> = c
            .rows
            .iter()
            .map(|r| format!("{:.1},{:.1}", px(x_of(r.percentile)), py(r.value)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline class="curve" fill="none" stroke="{}" stroke-width="2"{} points="{}"><title>{}</title></polyline>"#,
            c.color,
            if c.dashed {
                r#" stroke-dasharray="6 3""#
            } else {
                ""
            },
            points.join(" "),
            escape(&c.label)
        );
    }

    // The legend, top left, where percentile plots have no data (low percentiles, high latency).
    let entries = curves.len() + targets.len();
    let _ = writeln!(
        s,
        r##"<g class="legend"><rect x="{0:.1}" y="{1:.1}" width="300" height="{2:.1}" fill="white" fill-opacity="0.85" stroke="#999"/>"##,
        left + 10.0,
        top + 10.0,
        entries as f64 * 18.0 + 8.0
    );
    let legend_line = |s: &mut String, i: usize, color: &str, dash: &str, label: &str| {
        let y = top + 10.0 + 4.0 + 18.0 * i as f64 + 9.0;
        let _ = writeln!(
            s,
            r#"<line x1="{0:.1}" y1="{y:.1}" x2="{1:.1}" y2="{y:.1}" stroke="{color}" stroke-width="2"{dash}/><text x="{2:.1}" y="{3:.1}">{4}</text>"#,
            left + 18.0,
            left + 48.0,
            left + 56.0,
            y + 4.0,
            escape(label)
        );
    };
    for (i, c) in curves.iter().enumerate() {
        let dash = if c.dashed {
            r#" stroke-dasharray="6 3""#
        } else {
            ""
        };
        legend_line(&mut s, i, c.color, dash, &c.label);
    }
    for (i, t) in targets.iter().enumerate() {
        let dash = r#" stroke-dasharray="2 4""#;
        legend_line(&mut s, curves.len() + i, TARGET_COLOR, dash, &t.label);
    }
    let _ = writeln!(s, "</g>");
    let _ = writeln!(s, "</svg>");
    s
}

/// A latency in ms for an axis label: `0.01 ms`, `1 ms`, `100 ms`, `10 s`.
pub(crate) fn format_ms(v: f64) -> String {
    if v >= 1_000.0 {
        format!("{} s", trim_number(v / 1_000.0))
    } else {
        format!("{} ms", trim_number(v))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(format_ms(0.001), "0.001 ms");
        assert_eq!(format_ms(0.1), "0.1 ms");
        assert_eq!(format_ms(1.0), "1 ms");
        assert_eq!(format_ms(100.0), "100 ms");
        assert_eq!(format_ms(10_000.0), "10 s");
    }

    #[test]
    fn the_axis_spans_whole_decades_around_data_and_targets() {
        let rows = [
            Row {
                value: 0.2,
                percentile: 0.0,
                total_count: 1,
            },
            Row {
                value: 3.0,
                percentile: 1.0,
                total_count: 2,
            },
        ];
        let curve = Curve {
            label: "c".into(),
            rows: &rows,
            color: "#000",
            dashed: false,
        };
        let svg = render("t", std::slice::from_ref(&curve), &[]);
        for tick in [">0.1 ms<", ">1 ms<", ">10 ms<"] {
            assert!(svg.contains(tick), "{tick}");
        }
        assert!(!svg.contains(">100 ms<"));
        // A 50 ms target stretches the axis to 100 ms.
        let target = Target {
            label: "P4: p99 ≤ 50 ms".into(),
            percentile: 0.99,
            value_ms: 50.0,
        };
        assert!(render("t", &[curve], &[target]).contains(">100 ms<"));
        // Nothing to plot: still an axis.
        assert!(render("t", &[], &[]).contains(">10 ms<"));
    }
}
