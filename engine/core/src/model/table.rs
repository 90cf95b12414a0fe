//! What the embedded phone-number tables (`engine/core/data/`, generated from libphonenumber's
//! data by `tools/phonedata/phonedata.py`) share: how their lines are read, and their error.

use thiserror::Error;

/// A line of an embedded table that does not read: the committed data and this reader disagree
/// (a table regenerated in a new format, or edited by hand).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{table} line {line}: {reason}")]
pub struct TableError {
    /// The table's file name, so the message points at the file to regenerate.
    pub table: &'static str,
    /// The 1-based line number, so the message points at the line.
    pub line: usize,
    /// What is wrong with the line.
    pub reason: &'static str,
}

/// A table's lines that are not `#` comments, each with its 1-based number and a constructor
/// of the error that names it.
pub(crate) fn data_lines(
    table: &'static str,
    text: &'static str,
) -> impl Iterator<Item = (&'static str, impl Fn(&'static str) -> TableError)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('#'))
        .map(move |(i, line)| {
            let error = move |reason| TableError {
                table,
                line: i + 1,
                reason,
            };
            (line, error)
        })
}

/// `text` as a decimal number of at most `max_digits` digits, with its digit count.
pub(crate) fn digits(text: &str, max_digits: usize) -> Option<(u64, u32)> {
    if text.is_empty() || text.len() > max_digits || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((text.parse().ok()?, text.len() as u32))
}
