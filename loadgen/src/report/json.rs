//! `results.json`: the [`Summary`] as pretty JSON, one field per line so shell scripts can grep it.

use super::Summary;

/// The summary as pretty-printed JSON with a trailing newline.
pub(crate) fn to_string(summary: &Summary) -> String {
    let mut s = serde_json::to_string_pretty(summary).expect("a Summary always serializes");
    s.push('\n');
    s
}
