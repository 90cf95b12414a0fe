//! Names on the wire: subjects and keys allow `[A-Za-z0-9_-]` tokens only, while account ids
//! are free text; a token encodes any id reversibly and injectively.

use std::fmt::Write;

/// `text` as a subject or key token: ASCII letters, digits and `-` stay, every other byte
/// becomes `_` and two hex digits, so two ids never share a token.
pub fn token(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' {
            out.push(byte as char);
        } else {
            write!(out, "_{byte:02X}").expect("writing to a String never fails");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::token;

    #[test]
    fn tokens_keep_plain_ids_and_escape_the_rest_injectively() {
        assert_eq!(token("demo0001"), "demo0001");
        assert_eq!(token("a.b"), "a_2Eb");
        assert_eq!(token("a_2Eb"), "a_5F2Eb");
        assert_ne!(token("a.b"), token("a_2Eb"));
        assert_eq!(token("é"), "_C3_A9");
    }
}
