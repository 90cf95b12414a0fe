//! The classic HdrHistogram percentile distribution text (`outputPercentileDistribution`), as
//! written by the Java library, wrk2 and others, so the file drops straight into HdrHistogram's
//! online plotter or other tools that read `.hgrm`.

use hdrhistogram::Histogram;
use std::fmt::Write;
use thiserror::Error;

/// Scaling for values recorded in µs and printed in ms (the unit HdrHistogram's plotter labels).
pub(crate) const MICROS_PER_MILLI: f64 = 1_000.0;

/// Ticks per half distance to 100%, the Java library's default.
const TICKS_PER_HALF: u32 = 5;

/// One line of the distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// Value at this percentile, in the output unit.
    pub value: f64,
    /// Percentile as a fraction in `0..=1`.
    pub percentile: f64,
    /// Values recorded at or below `value`.
    pub total_count: u64,
}

/// A line that is not part of the format.
#[derive(Debug, Error)]
#[error("line {line}: not a percentile row: {text:?}")]
pub struct ParseError {
    /// 1-based line number.
    pub(crate) line: usize,
    /// The offending text.
    pub(crate) text: String,
}

/// Formats `h` with values divided by `scale`.
pub(crate) fn to_string(h: &Histogram<u64>, scale: f64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total = 0u64;
    for v in h.iter_quantiles(TICKS_PER_HALF) {
        total += v.count_since_last_iteration();
        let q = v.quantile_iterated_to();
        let value = v.value_iterated_to() as f64 / scale;
        if q < 1.0 {
            let _ = writeln!(
                out,
                "{value:12.3} {q:2.12} {total:10} {:14.2}",
                1.0 / (1.0 - q)
            );
        } else {
            let _ = writeln!(out, "{value:12.3} {q:2.12} {total:10}");
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]",
        h.mean() / scale,
        h.stdev() / scale
    );
    let _ = writeln!(
        out,
        "#[Max     = {:12.3}, Total count    = {:12}]",
        h.max() as f64 / scale,
        h.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.buckets(),
        // The library's sub-bucket count: 2 * 10^sigfig rounded up to a power of two.
        (2 * 10u64.pow(u32::from(h.sigfig()))).next_power_of_two()
    );
    out
}

/// Reads the percentile rows back (header, blank and `#` lines are skipped).
pub fn parse(text: &str) -> Result<Vec<Row>, ParseError> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("Value") {
            continue;
        }
        let bad = || ParseError {
            line: i + 1,
            text: line.to_string(),
        };
        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        if !(3..=4).contains(&fields.len()) {
            return Err(bad());
        }
        rows.push(Row {
            value: fields[0].parse().map_err(|_| bad())?,
            percentile: fields[1].parse().map_err(|_| bad())?,
            total_count: fields[2].parse().map_err(|_| bad())?,
        });
    }
    Ok(rows)
}
