//! RESP2 framing: cut complete client commands out of a read buffer, and
//! encode replies into a write buffer.
//!
//! Requests come in two shapes (DESIGN §4): RESP arrays of bulk strings, which
//! every client library sends, and inline commands (one line of words), which
//! people type into `nc` or `telnet`. [`parse_command`] handles both and
//! enforces [`FrameLimits`] *while* reading headers, so a client announcing a
//! 1 GB bulk string is refused before a single byte of it is buffered.
//!
//! Replies are appended straight into an output `BytesMut` by the `write_*`
//! functions; none of them allocates beyond growing that buffer.

use std::fmt;

use bytes::{BufMut, BytesMut};

/// Longest `*<n>` or `$<n>` header line accepted, type byte and `\r` included.
///
/// A legal length has at most 20 characters (`-9223372036854775808`), so 32
/// leaves room while keeping a header that never ends from growing the buffer.
pub(crate) const MAX_LEN_LINE: usize = 32;

/// Size limits applied to every request, checked before the bytes they govern
/// are buffered (DESIGN §4 "Limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameLimits {
    /// Largest bulk string (one argument) in bytes: bounds the memory one
    /// argument can pin and is checked against the announced `$<len>`.
    pub(crate) max_bulk_len: usize,
    /// Most arguments (command name included) in one command: bounds the
    /// `Vec` of arguments and is checked against the announced `*<n>`.
    pub(crate) max_args: usize,
    /// Longest inline command line in bytes, terminator excluded: an inline
    /// request has no length header, so this is the only thing that stops a
    /// line without a newline from growing the buffer.
    pub(crate) max_inline_len: usize,
}

impl Default for FrameLimits {
    /// 64 KiB per argument and 1,024 arguments (DESIGN §4); 64 KiB per inline
    /// line, Redis's own `PROTO_INLINE_MAX_SIZE`.
    fn default() -> Self {
        FrameLimits {
            max_bulk_len: 64 * 1024,
            max_args: 1024,
            max_inline_len: 64 * 1024,
        }
    }
}

impl FrameLimits {
    /// The most bytes an incomplete (but so far legal) command can occupy.
    ///
    /// After every complete command has been cut out of a buffer, what is left
    /// is at most this long, so a reader can cap its buffer at this plus one
    /// read. For the defaults it is about 64.1 MiB: 1,024 arguments of 64 KiB
    /// plus their headers. Saturates rather than overflowing on silly limits.
    pub(crate) fn max_frame_len(&self) -> usize {
        let header = MAX_LEN_LINE + 1; // `\r` is inside MAX_LEN_LINE, `\n` is not
        let per_arg = header.saturating_add(self.max_bulk_len).saturating_add(2);
        let multibulk = header.saturating_add(self.max_args.saturating_mul(per_arg));
        multibulk.max(self.max_inline_len.saturating_add(2))
    }
}

/// A request that breaks the protocol or a limit. The connection that sent it
/// gets `-ERR Protocol error: <Display>` and is closed, as Redis does.
///
/// Messages reuse Redis's wording (`networking.c`) where Redis has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ProtocolError {
    /// `*<n>` where `n` is not a number, or is negative other than `-1`.
    #[error("invalid multibulk length")]
    InvalidMultibulkLength,
    /// `*<n>` announcing more arguments than [`FrameLimits::max_args`].
    #[error("invalid multibulk length: {count} arguments exceed the limit of {max}")]
    TooManyArgs {
        /// The announced (or, inline, counted) number of arguments.
        count: u64,
        /// The limit it broke.
        max: usize,
    },
    /// `$<n>` where `n` is not a number or is negative.
    #[error("invalid bulk length")]
    InvalidBulkLength,
    /// `$<n>` announcing more bytes than [`FrameLimits::max_bulk_len`].
    #[error("invalid bulk length: {len} bytes exceed the limit of {max}")]
    BulkTooLong {
        /// The announced length.
        len: u64,
        /// The limit it broke.
        max: usize,
    },
    /// An array element that is not a bulk string (`+`, `:`, a nested `*`...).
    #[error("expected '$', got '{}'", std::ascii::escape_default(*got))]
    ExpectedBulk {
        /// The type byte found instead of `$`.
        got: u8,
    },
    /// A `*<n>` line with no `\r` within [`MAX_LEN_LINE`] bytes.
    #[error("too big mbulk count string")]
    MultibulkCountTooLong,
    /// A `$<n>` line with no `\r` within [`MAX_LEN_LINE`] bytes.
    #[error("too big bulk count string")]
    BulkCountTooLong,
    /// A `\r` not followed by `\n`, after a length header or a bulk string.
    #[error("expected CRLF after {after}")]
    MissingCrlf {
        /// What the CRLF should have ended: `"a length"` or `"bulk data"`.
        after: &'static str,
    },
    /// An inline line longer than [`FrameLimits::max_inline_len`].
    #[error("too big inline request")]
    InlineTooLong,
}

/// What a scan of the buffer found, before anything is consumed.
enum Scan {
    /// Not a whole command yet: wait for more bytes.
    Incomplete,
    /// A whole command that carries nothing (`*0`, `*-1`, a blank line) of
    /// this many bytes: drop it, as Redis does.
    Skip(usize),
    /// A whole command of `len` bytes with `argc` arguments.
    Complete { len: usize, argc: usize },
}

/// Where one argument sits in a buffer: `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// Its first byte.
    pub(crate) start: usize,
    /// Just past its last byte.
    pub(crate) end: usize,
}

/// What [`parse_command`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A whole command, which ends at `end`; its arguments were appended.
    Command {
        /// Just past the command (and any no-op frames before it).
        end: usize,
    },
    /// No whole command yet. The bytes before `skip_to` were no-op frames (`*0\r\n`,
    /// `*-1\r\n`, blank inline lines), which may be dropped; the partial command after them
    /// must wait for more bytes.
    Incomplete {
        /// Just past the no-op frames.
        skip_to: usize,
    },
}

/// Reads the first complete command in `buf` from offset `from`, appending the spans of its
/// arguments (name first, never empty; offsets into `buf`) to `args`. Nothing is consumed: the
/// caller splits off what it has read (see `batch.rs`).
///
/// `Err(_)`: the bytes break the protocol or `limits`; the connection cannot be
/// resynchronised and must be closed. `args` is left as it was.
pub(crate) fn parse_command(
    buf: &[u8],
    from: usize,
    limits: &FrameLimits,
    args: &mut Vec<Span>,
) -> Result<Parsed, ProtocolError> {
    let mut at = from;
    loop {
        let rest = &buf[at..];
        let Some(&first) = rest.first() else {
            return Ok(Parsed::Incomplete { skip_to: at });
        };
        let multibulk = first == b'*';
        let scan = if multibulk {
            scan_multibulk(rest, limits)?
        } else {
            scan_inline(rest, limits)?
        };
        match scan {
            Scan::Incomplete => return Ok(Parsed::Incomplete { skip_to: at }),
            Scan::Skip(len) => at += len,
            Scan::Complete { len, argc } => {
                let frame = &rest[..len];
                args.reserve(argc);
                if multibulk {
                    collect_multibulk(frame, at, argc, args);
                } else {
                    collect_inline(frame, at, args);
                }
                return Ok(Parsed::Command { end: at + len });
            }
        }
    }
}

/// Parses a decimal `i64` the way Redis's `string2ll` does: optional `-`, no
/// `+`, no spaces, no leading zeros, no `-0`, overflow rejected.
///
/// Shared with `parse.rs` so integer arguments follow the same rules as
/// protocol lengths.
pub(crate) fn parse_i64(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits {
        [] => return None,
        [b'0'] if !negative => return Some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let v = i64::from(d - b'0');
        n = n.checked_mul(10)?;
        // Accumulating negatively reaches i64::MIN without overflowing.
        n = if negative {
            n.checked_sub(v)?
        } else {
            n.checked_add(v)?
        };
    }
    Some(n)
}

/// Which header a length line is, for choosing the error wording.
#[derive(Clone, Copy)]
enum LenKind {
    Multibulk,
    Bulk,
}

/// Reads the `<type><digits>\r\n` line starting at `start`.
///
/// Returns the number and the offset just past the line, or `None` when the
/// line is not complete yet.
fn read_len_line(
    buf: &[u8],
    start: usize,
    kind: LenKind,
) -> Result<Option<(i64, usize)>, ProtocolError> {
    let window_end = buf.len().min(start + MAX_LEN_LINE);
    let Some(cr) = memchr::memchr(b'\r', &buf[start + 1..window_end]).map(|i| start + 1 + i) else {
        // Refuse a header that cannot end within the limit, rather than
        // buffering it indefinitely.
        return if buf.len() - start >= MAX_LEN_LINE {
            Err(match kind {
                LenKind::Multibulk => ProtocolError::MultibulkCountTooLong,
                LenKind::Bulk => ProtocolError::BulkCountTooLong,
            })
        } else {
            Ok(None)
        };
    };
    match buf.get(cr + 1) {
        None => return Ok(None),
        Some(b'\n') => {}
        Some(_) => return Err(ProtocolError::MissingCrlf { after: "a length" }),
    }
    let n = parse_i64(&buf[start + 1..cr]).ok_or(match kind {
        LenKind::Multibulk => ProtocolError::InvalidMultibulkLength,
        LenKind::Bulk => ProtocolError::InvalidBulkLength,
    })?;
    Ok(Some((n, cr + 2)))
}

/// Validates a `*<n>` array of bulk strings without consuming anything.
fn scan_multibulk(buf: &[u8], limits: &FrameLimits) -> Result<Scan, ProtocolError> {
    let Some((count, mut pos)) = read_len_line(buf, 0, LenKind::Multibulk)? else {
        return Ok(Scan::Incomplete);
    };
    // Redis ignores empty and null arrays; other negatives are garbage.
    match count {
        0 | -1 => return Ok(Scan::Skip(pos)),
        n if n < 0 => return Err(ProtocolError::InvalidMultibulkLength),
        _ => {}
    }
    let count = count.unsigned_abs();
    if count > limits.max_args as u64 {
        return Err(ProtocolError::TooManyArgs {
            count,
            max: limits.max_args,
        });
    }
    for _ in 0..count {
        let Some(&tag) = buf.get(pos) else {
            return Ok(Scan::Incomplete);
        };
        if tag != b'$' {
            return Err(ProtocolError::ExpectedBulk { got: tag });
        }
        let Some((len, data)) = read_len_line(buf, pos, LenKind::Bulk)? else {
            return Ok(Scan::Incomplete);
        };
        if len < 0 {
            return Err(ProtocolError::InvalidBulkLength);
        }
        let len = len.unsigned_abs();
        if len > limits.max_bulk_len as u64 {
            // Checked before waiting for the data: nothing of it is buffered.
            return Err(ProtocolError::BulkTooLong {
                len,
                max: limits.max_bulk_len,
            });
        }
        // Fits in usize: it is at most max_bulk_len.
        let end = data + len as usize;
        match buf.get(end..end + 2) {
            None => {
                // Fail early on a wrong byte where the `\r` should be.
                if buf.get(end).is_some_and(|&b| b != b'\r') {
                    return Err(ProtocolError::MissingCrlf { after: "bulk data" });
                }
                return Ok(Scan::Incomplete);
            }
            Some(b"\r\n") => pos = end + 2,
            Some(_) => return Err(ProtocolError::MissingCrlf { after: "bulk data" }),
        }
    }
    Ok(Scan::Complete {
        len: pos,
        // Fits: at most max_args.
        argc: count as usize,
    })
}

/// The spans of the arguments of a multibulk frame that `scan_multibulk` has already
/// validated (so this walk cannot fail), offset by `base`, the frame's place in its buffer.
fn collect_multibulk(frame: &[u8], base: usize, argc: usize, args: &mut Vec<Span>) {
    // Skip the `*<n>\r\n` header.
    let mut pos = memchr::memchr(b'\n', frame).map_or(frame.len(), |i| i + 1);
    for _ in 0..argc {
        let Some(nl) = memchr::memchr(b'\n', &frame[pos..]).map(|i| pos + i) else {
            return;
        };
        // `$<len>\r\n`: the digits sit between the `$` and the `\r`.
        let len = parse_i64(&frame[pos + 1..nl - 1]).map_or(0, |n| n.unsigned_abs() as usize);
        let start = nl + 1;
        args.push(Span {
            start: base + start,
            end: base + start + len,
        });
        pos = start + len + 2;
    }
}

/// Validates an inline command line without consuming anything.
fn scan_inline(buf: &[u8], limits: &FrameLimits) -> Result<Scan, ProtocolError> {
    // The line may end in `\r\n` or a bare `\n`, as Redis accepts.
    let window = &buf[..buf.len().min(limits.max_inline_len.saturating_add(2))];
    let Some(nl) = memchr::memchr(b'\n', window) else {
        return if window.len() > limits.max_inline_len.saturating_add(1) {
            Err(ProtocolError::InlineTooLong)
        } else {
            Ok(Scan::Incomplete)
        };
    };
    let line = strip_cr(&buf[..nl]);
    if line.len() > limits.max_inline_len {
        return Err(ProtocolError::InlineTooLong);
    }
    let argc = inline_words(line).count();
    if argc == 0 {
        return Ok(Scan::Skip(nl + 1));
    }
    if argc > limits.max_args {
        return Err(ProtocolError::TooManyArgs {
            count: argc as u64,
            max: limits.max_args,
        });
    }
    Ok(Scan::Complete { len: nl + 1, argc })
}

/// The spans of the words of a validated inline frame (line plus terminator), offset by
/// `base`.
fn collect_inline(frame: &[u8], base: usize, args: &mut Vec<Span>) {
    let line = strip_cr(frame.strip_suffix(b"\n").unwrap_or(frame));
    for word in inline_words(line) {
        // The word is a slice of `frame`: its place is the distance between their starts.
        let start = base + (word.as_ptr() as usize - frame.as_ptr() as usize);
        args.push(Span {
            start,
            end: start + word.len(),
        });
    }
}

/// The line without its trailing `\r`, if any.
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Words of an inline line. Deliberately simple: split on ASCII whitespace,
/// no quoting (Redis's quote handling is not worth it for typed commands).
fn inline_words(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty())
}

// ---------------------------------------------------------------------------
// Reply encoding.
// ---------------------------------------------------------------------------

/// Appends `+<s>\r\n`. CR and LF in `s` become spaces so that text can never
/// end the line early and inject a reply.
pub(crate) fn write_simple(out: &mut BytesMut, s: &str) {
    out.reserve(s.len() + 3);
    out.put_u8(b'+');
    put_sanitized(out, s.as_bytes());
    out.put_slice(b"\r\n");
}

/// Appends `-<s>\r\n`, where `s` is the whole error line including its code,
/// e.g. `"ERR unknown command 'x'"`. CR and LF become spaces, as in Redis's
/// `addReplyError`, because error texts often echo client input.
pub(crate) fn write_error(out: &mut BytesMut, s: &str) {
    out.reserve(s.len() + 3);
    out.put_u8(b'-');
    put_sanitized(out, s.as_bytes());
    out.put_slice(b"\r\n");
}

/// Like [`write_error`] but formats in place, so `format_args!("NOPOOL pool
/// '{id}' not found")` costs no temporary `String`.
pub(crate) fn write_error_fmt(out: &mut BytesMut, args: fmt::Arguments<'_>) {
    out.put_u8(b'-');
    // Our writer never fails; a Display impl that returns an error just leaves
    // its reply shorter, which is still a well-formed line.
    let _ = fmt::write(&mut SanitizingWriter(out), args);
    out.put_slice(b"\r\n");
}

/// Appends the `-ERR Protocol error: <err>\r\n` line sent before closing.
pub(crate) fn write_protocol_error(out: &mut BytesMut, err: &ProtocolError) {
    write_error_fmt(out, format_args!("ERR Protocol error: {err}"));
}

/// Appends `:<n>\r\n`.
pub(crate) fn write_integer(out: &mut BytesMut, n: i64) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n).as_bytes();
    out.reserve(digits.len() + 3);
    out.put_u8(b':');
    out.put_slice(digits);
    out.put_slice(b"\r\n");
}

/// Appends `$<len>\r\n<data>\r\n`; `data` is binary-safe.
pub(crate) fn write_bulk(out: &mut BytesMut, data: &[u8]) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(data.len()).as_bytes();
    out.reserve(digits.len() + data.len() + 5);
    out.put_u8(b'$');
    out.put_slice(digits);
    out.put_slice(b"\r\n");
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

/// Appends the null bulk string `$-1\r\n` (RESP2's nil, e.g. no mapping).
pub(crate) fn write_null_bulk(out: &mut BytesMut) {
    out.put_slice(b"$-1\r\n");
}

/// Appends `*<len>\r\n`; the caller then writes exactly `len` elements.
pub(crate) fn write_array_header(out: &mut BytesMut, len: usize) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(len).as_bytes();
    out.reserve(digits.len() + 3);
    out.put_u8(b'*');
    out.put_slice(digits);
    out.put_slice(b"\r\n");
}

/// Copies `s` into `out`, turning every CR and LF into a space.
fn put_sanitized(out: &mut BytesMut, mut s: &[u8]) {
    while let Some(i) = memchr::memchr2(b'\r', b'\n', s) {
        out.put_slice(&s[..i]);
        out.put_u8(b' ');
        s = &s[i + 1..];
    }
    out.put_slice(s);
}

/// `fmt::Write` into a reply line, sanitising as it goes.
struct SanitizingWriter<'a>(&'a mut BytesMut);

impl fmt::Write for SanitizingWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        put_sanitized(self.0, s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Buf;
    use proptest::prelude::*;

    fn limits() -> FrameLimits {
        FrameLimits::default()
    }

    /// Cuts the first complete command out of `buf` as owned arguments: `None` when there is
    /// none yet (the no-op frames before it dropped); on an error `buf` is left as it was.
    fn parse_one(
        buf: &mut BytesMut,
        limits: &FrameLimits,
    ) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        let mut spans = Vec::new();
        match parse_command(buf, 0, limits, &mut spans)? {
            Parsed::Command { end } => {
                let args = spans.iter().map(|s| buf[s.start..s.end].to_vec()).collect();
                buf.advance(end);
                Ok(Some(args))
            }
            Parsed::Incomplete { skip_to } => {
                buf.advance(skip_to);
                Ok(None)
            }
        }
    }

    /// Parses every complete command in `input`, returning them and the rest.
    fn parse_all(
        input: &[u8],
        limits: &FrameLimits,
    ) -> (Vec<Vec<Vec<u8>>>, Result<(), ProtocolError>, BytesMut) {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        loop {
            match parse_one(&mut buf, limits) {
                Ok(Some(cmd)) => out.push(cmd),
                Ok(None) => return (out, Ok(()), buf),
                Err(e) => return (out, Err(e), buf),
            }
        }
    }

    fn err_of(input: &[u8], limits: &FrameLimits) -> ProtocolError {
        let mut buf = BytesMut::from(input);
        let before = buf.clone();
        let err = parse_one(&mut buf, limits).expect_err("should be a protocol error");
        assert_eq!(buf, before, "an error must not consume");
        err
    }

    fn strs(cmd: &[Vec<u8>]) -> Vec<&[u8]> {
        cmd.iter().map(Vec::as_slice).collect()
    }

    /// RESP encoding of a command, as a client would send it.
    fn encode_command(args: &[&[u8]]) -> Vec<u8> {
        let mut out = BytesMut::new();
        write_array_header(&mut out, args.len());
        for a in args {
            write_bulk(&mut out, a);
        }
        out.to_vec()
    }

    /// A pipelined burst mixing both request shapes and no-op frames.
    const PIPELINE: &[u8] = b"*2\r\n$4\r\nPING\r\n$3\r\nhey\r\n\
        *0\r\n\
        PICK pool-1 447700900123 WITHREASON\r\n\
        \r\n\
        *3\r\n$10\r\nSTICKY.GET\r\n$6\r\npool-1\r\n$0\r\n\r\n\
        ping\n\
        *-1\r\n\
        *1\r\n$4\r\nQUIT\r\n";

    fn pipeline_expected() -> Vec<Vec<&'static [u8]>> {
        vec![
            vec![b"PING".as_slice(), b"hey"],
            vec![b"PICK", b"pool-1", b"447700900123", b"WITHREASON"],
            vec![b"STICKY.GET", b"pool-1", b""],
            vec![b"ping"],
            vec![b"QUIT"],
        ]
    }

    #[test]
    fn pipeline_parses_whole() {
        let (cmds, res, rest) = parse_all(PIPELINE, &limits());
        res.unwrap();
        assert!(rest.is_empty());
        let got: Vec<Vec<&[u8]>> = cmds.iter().map(|c| strs(c)).collect();
        assert_eq!(got, pipeline_expected());
    }

    #[test]
    fn pipeline_split_at_every_point_gives_same_commands() {
        for split in 0..=PIPELINE.len() {
            let mut buf = BytesMut::from(&PIPELINE[..split]);
            let mut cmds = Vec::new();
            while let Some(c) = parse_one(&mut buf, &limits()).unwrap() {
                cmds.push(c);
            }
            buf.extend_from_slice(&PIPELINE[split..]);
            while let Some(c) = parse_one(&mut buf, &limits()).unwrap() {
                cmds.push(c);
            }
            assert!(buf.is_empty(), "split at {split}");
            let got: Vec<Vec<&[u8]>> = cmds.iter().map(|c| strs(c)).collect();
            assert_eq!(got, pipeline_expected(), "split at {split}");
        }
    }

    #[test]
    fn pipeline_byte_by_byte_gives_same_commands() {
        let mut buf = BytesMut::new();
        let mut cmds = Vec::new();
        for &b in PIPELINE {
            buf.put_u8(b);
            while let Some(c) = parse_one(&mut buf, &limits()).unwrap() {
                cmds.push(c);
            }
        }
        assert!(buf.is_empty());
        let got: Vec<Vec<&[u8]>> = cmds.iter().map(|c| strs(c)).collect();
        assert_eq!(got, pipeline_expected());
    }

    #[test]
    fn incomplete_input_is_not_consumed() {
        let full = b"*2\r\n$4\r\nPING\r\n$3\r\nhey\r\n";
        for cut in 1..full.len() {
            let mut buf = BytesMut::from(&full[..cut]);
            assert_eq!(parse_one(&mut buf, &limits()), Ok(None), "cut {cut}");
            assert_eq!(&buf[..], &full[..cut], "cut {cut}");
        }
    }

    #[test]
    fn arguments_are_spans_of_the_buffer_from_the_offset_given() {
        let buf = b"PING\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
        let mut spans = Vec::new();
        let parsed = parse_command(buf, 6, &limits(), &mut spans).unwrap();
        assert_eq!(parsed, Parsed::Command { end: buf.len() });
        let args: Vec<&[u8]> = spans.iter().map(|s| &buf[s.start..s.end]).collect();
        assert_eq!(args, vec![&b"GET"[..], b"key"]);
        // An error appends nothing.
        let bad = b"*2\r\n$3\r\nGET\r\n+x\r\n";
        assert!(parse_command(bad, 0, &limits(), &mut spans).is_err());
        assert_eq!(spans.len(), 2);
    }

    #[test]
    fn binary_and_crlf_inside_bulk_are_data() {
        let raw = encode_command(&[b"SET", b"a\r\nb\0\xff", b""]);
        let (cmds, res, _) = parse_all(&raw, &limits());
        res.unwrap();
        assert_eq!(strs(&cmds[0]), vec![&b"SET"[..], b"a\r\nb\0\xff", b""]);
    }

    #[test]
    fn max_sized_command_is_accepted() {
        let l = FrameLimits {
            max_bulk_len: 5,
            max_args: 3,
            max_inline_len: 10,
        };
        let raw = encode_command(&[b"abcde", b"12345", b""]);
        assert_eq!(parse_all(&raw, &l).0.len(), 1);
        let (cmds, res, _) = parse_all(b"a b c d e \r\n", &l);
        assert_eq!(res, Err(ProtocolError::TooManyArgs { count: 5, max: 3 }));
        assert!(cmds.is_empty());
        let (cmds, res, _) = parse_all(b"aaaa bbbbb\r\n", &l);
        res.unwrap();
        assert_eq!(strs(&cmds[0]), vec![&b"aaaa"[..], b"bbbbb"]);
    }

    #[test]
    fn inline_whitespace_and_bare_newline() {
        let (cmds, res, rest) = parse_all(b"  PICK\tp1   447700900123 \nPING\r\n", &limits());
        res.unwrap();
        assert!(rest.is_empty());
        assert_eq!(strs(&cmds[0]), vec![&b"PICK"[..], b"p1", b"447700900123"]);
        assert_eq!(strs(&cmds[1]), vec![&b"PING"[..]]);
    }

    #[test]
    fn noop_frames_are_skipped() {
        let (cmds, res, rest) = parse_all(b"*0\r\n*-1\r\n\r\n   \r\n\n", &limits());
        res.unwrap();
        assert!(cmds.is_empty());
        assert!(rest.is_empty());
    }

    #[test]
    fn error_invalid_multibulk_length() {
        for input in [
            &b"*x\r\n"[..],
            b"*\r\n",
            b"*-2\r\n",
            b"*+1\r\n",
            b"*01\r\n",
            b"*1 \r\n",
            b"*99999999999999999999\r\n",
        ] {
            assert_eq!(
                err_of(input, &limits()),
                ProtocolError::InvalidMultibulkLength,
                "{input:?}"
            );
        }
    }

    #[test]
    fn error_too_many_args_before_any_argument_arrives() {
        assert_eq!(
            err_of(b"*1025\r\n", &limits()),
            ProtocolError::TooManyArgs {
                count: 1025,
                max: 1024
            }
        );
        assert_eq!(
            err_of(b"*9223372036854775807\r\n", &limits()),
            ProtocolError::TooManyArgs {
                count: i64::MAX as u64,
                max: 1024
            }
        );
    }

    #[test]
    fn error_invalid_bulk_length() {
        for input in [
            &b"*1\r\n$x\r\n"[..],
            b"*1\r\n$\r\n",
            b"*1\r\n$-1\r\n",
            b"*1\r\n$-5\r\n",
            b"*1\r\n$007\r\n",
        ] {
            assert_eq!(
                err_of(input, &limits()),
                ProtocolError::InvalidBulkLength,
                "{input:?}"
            );
        }
    }

    #[test]
    fn error_bulk_too_long_before_buffering_it() {
        // A client announcing 1 GB is refused with only the header buffered.
        assert_eq!(
            err_of(b"*1\r\n$1073741824\r\n", &limits()),
            ProtocolError::BulkTooLong {
                len: 1 << 30,
                max: 64 * 1024
            }
        );
        assert_eq!(
            err_of(b"*2\r\n$3\r\nSET\r\n$65537\r\n", &limits()),
            ProtocolError::BulkTooLong {
                len: 65537,
                max: 65536
            }
        );
    }

    #[test]
    fn error_expected_bulk() {
        let e = err_of(b"*2\r\n$4\r\nPING\r\n:1\r\n", &limits());
        assert_eq!(e, ProtocolError::ExpectedBulk { got: b':' });
        assert_eq!(e.to_string(), "expected '$', got ':'");
        let e = err_of(b"*1\r\n*1\r\n", &limits());
        assert_eq!(e, ProtocolError::ExpectedBulk { got: b'*' });
        let e = err_of(b"*1\r\n\x01", &limits());
        assert_eq!(e.to_string(), "expected '$', got '\\x01'");
    }

    #[test]
    fn error_count_strings_too_long() {
        let mut long = b"*".to_vec();
        long.extend(std::iter::repeat_n(b'1', MAX_LEN_LINE));
        assert_eq!(
            err_of(&long, &limits()),
            ProtocolError::MultibulkCountTooLong
        );
        // One byte shorter is merely incomplete.
        let mut buf = BytesMut::from(&long[..MAX_LEN_LINE - 1]);
        assert_eq!(parse_one(&mut buf, &limits()), Ok(None));

        let mut long = b"*1\r\n$".to_vec();
        long.extend(std::iter::repeat_n(b'0', MAX_LEN_LINE));
        assert_eq!(err_of(&long, &limits()), ProtocolError::BulkCountTooLong);
    }

    #[test]
    fn error_missing_crlf() {
        assert_eq!(
            err_of(b"*1\rx", &limits()),
            ProtocolError::MissingCrlf { after: "a length" }
        );
        assert_eq!(
            err_of(b"*1\r\n$3\rx", &limits()),
            ProtocolError::MissingCrlf { after: "a length" }
        );
        assert_eq!(
            err_of(b"*1\r\n$3\r\nabcd\r\n", &limits()),
            ProtocolError::MissingCrlf { after: "bulk data" }
        );
        // Detected as soon as the wrong byte arrives, not after two bytes.
        assert_eq!(
            err_of(b"*1\r\n$3\r\nabcd", &limits()),
            ProtocolError::MissingCrlf { after: "bulk data" }
        );
        assert_eq!(
            err_of(b"*1\r\n$3\r\nabc\rx", &limits()),
            ProtocolError::MissingCrlf { after: "bulk data" }
        );
    }

    #[test]
    fn error_inline_too_long() {
        let l = FrameLimits {
            max_inline_len: 8,
            ..FrameLimits::default()
        };
        // 8 bytes plus CRLF is fine; so is an unterminated 9th byte (it may be `\r`).
        assert_eq!(parse_all(b"12345678\r\n", &l).0.len(), 1);
        let mut buf = BytesMut::from(&b"123456789"[..]);
        assert_eq!(parse_one(&mut buf, &l), Ok(None));
        assert_eq!(err_of(b"123456789\n", &l), ProtocolError::InlineTooLong);
        assert_eq!(err_of(b"1234567890", &l), ProtocolError::InlineTooLong);
        assert_eq!(
            err_of(b"1234567890", &l).to_string(),
            "too big inline request"
        );
    }

    #[test]
    fn error_messages_use_redis_wording() {
        let cases = [
            (
                ProtocolError::InvalidMultibulkLength,
                "invalid multibulk length",
            ),
            (ProtocolError::InvalidBulkLength, "invalid bulk length"),
            (
                ProtocolError::TooManyArgs {
                    count: 2000,
                    max: 1024,
                },
                "invalid multibulk length: 2000 arguments exceed the limit of 1024",
            ),
            (
                ProtocolError::BulkTooLong {
                    len: 70000,
                    max: 65536,
                },
                "invalid bulk length: 70000 bytes exceed the limit of 65536",
            ),
            (
                ProtocolError::MultibulkCountTooLong,
                "too big mbulk count string",
            ),
            (ProtocolError::BulkCountTooLong, "too big bulk count string"),
            (
                ProtocolError::MissingCrlf { after: "bulk data" },
                "expected CRLF after bulk data",
            ),
        ];
        for (err, msg) in cases {
            assert_eq!(err.to_string(), msg);
        }
    }

    #[test]
    fn error_after_noop_frames_consumes_nothing() {
        // Found by the proptest: a blank line, then an over-long inline line.
        let l = FrameLimits {
            max_inline_len: 24,
            ..FrameLimits::default()
        };
        let mut input = b"\n*0\r\n".to_vec();
        input.extend([0u8; 26]);
        assert_eq!(err_of(&input, &l), ProtocolError::InlineTooLong);
    }

    #[test]
    fn complete_commands_before_an_error_are_returned_first() {
        let (cmds, res, _) = parse_all(b"PING\r\n*1\r\n$x\r\n", &limits());
        assert_eq!(cmds.len(), 1);
        assert_eq!(res, Err(ProtocolError::InvalidBulkLength));
    }

    #[test]
    fn max_frame_len_bounds_default_limits() {
        let l = FrameLimits::default();
        let expected = 33 + 1024 * (33 + 65536 + 2);
        assert_eq!(l.max_frame_len(), expected);
        let huge = FrameLimits {
            max_bulk_len: usize::MAX,
            max_args: usize::MAX,
            max_inline_len: usize::MAX,
        };
        assert_eq!(huge.max_frame_len(), usize::MAX);
    }

    #[test]
    fn parse_i64_follows_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"42"), Some(42));
        assert_eq!(parse_i64(b"-42"), Some(-42));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"+1",
            b"01",
            b" 1",
            b"1 ",
            b"1.0",
            b"9223372036854775808",
            b"-9223372036854775809",
        ] {
            assert_eq!(parse_i64(bad), None, "{bad:?}");
        }
    }

    // --- real client compatibility -------------------------------------

    #[test]
    fn redis_crate_packed_command_parses() {
        let packed = redis::cmd("PICK")
            .arg("pool-1")
            .arg("+447700900123")
            .arg("FROM")
            .arg("Acme")
            .arg("WITHREASON")
            .get_packed_command();
        let (cmds, res, rest) = parse_all(&packed, &limits());
        res.unwrap();
        assert!(rest.is_empty());
        assert_eq!(
            strs(&cmds[0]),
            vec![
                &b"PICK"[..],
                b"pool-1",
                b"+447700900123",
                b"FROM",
                b"Acme",
                b"WITHREASON"
            ]
        );
    }

    #[test]
    fn redis_crate_packed_pipeline_parses() {
        let mut pipe = redis::pipe();
        pipe.cmd("AUTH")
            .arg("abcd1234")
            .arg("s3cret")
            .cmd("PICK")
            .arg("p")
            .arg(447700900123_u64)
            .cmd("STICKY.DEL")
            .arg("p")
            .arg(&b"\x00bin\r\n"[..])
            .cmd("PING");
        let packed = pipe.get_packed_pipeline();
        let (cmds, res, rest) = parse_all(&packed, &limits());
        res.unwrap();
        assert!(rest.is_empty());
        let got: Vec<Vec<&[u8]>> = cmds.iter().map(|c| strs(c)).collect();
        assert_eq!(
            got,
            vec![
                vec![&b"AUTH"[..], b"abcd1234", b"s3cret"],
                vec![b"PICK", b"p", b"447700900123"],
                vec![b"STICKY.DEL", b"p", b"\x00bin\r\n"],
                vec![b"PING"],
            ]
        );
    }

    // --- encoder ---------------------------------------------------------

    #[test]
    fn encoder_outputs_exact_resp() {
        let mut out = BytesMut::new();
        write_simple(&mut out, "PONG");
        write_error(&mut out, "NOAUTH Authentication required.");
        write_integer(&mut out, 0);
        write_integer(&mut out, -17);
        write_integer(&mut out, i64::MAX);
        write_bulk(&mut out, b"447700900123");
        write_bulk(&mut out, b"");
        write_bulk(&mut out, b"a\r\nb");
        write_null_bulk(&mut out);
        write_array_header(&mut out, 2);
        assert_eq!(
            &out[..],
            &b"+PONG\r\n\
               -NOAUTH Authentication required.\r\n\
               :0\r\n\
               :-17\r\n\
               :9223372036854775807\r\n\
               $12\r\n447700900123\r\n\
               $0\r\n\r\n\
               $4\r\na\r\nb\r\n\
               $-1\r\n\
               *2\r\n"[..]
        );
    }

    #[test]
    fn encoder_sanitizes_line_breaks() {
        let mut out = BytesMut::new();
        write_error(&mut out, "ERR invalid recipient '1\r\n+OK'");
        write_simple(&mut out, "a\nb");
        let to = "x\r\n-ERR";
        write_error_fmt(&mut out, format_args!("ERR invalid recipient '{to}'"));
        assert_eq!(
            &out[..],
            &b"-ERR invalid recipient '1  +OK'\r\n\
               +a b\r\n\
               -ERR invalid recipient 'x  -ERR'\r\n"[..]
        );
    }

    #[test]
    fn protocol_error_reply_line() {
        let mut out = BytesMut::new();
        write_protocol_error(&mut out, &ProtocolError::ExpectedBulk { got: b'+' });
        assert_eq!(&out[..], b"-ERR Protocol error: expected '$', got '+'\r\n");
    }

    #[test]
    fn encoded_reply_array_round_trips_through_parser() {
        let mut out = BytesMut::new();
        write_array_header(&mut out, 2);
        write_bulk(&mut out, b"447700900123");
        write_bulk(&mut out, b"sticky");
        let (cmds, res, _) = parse_all(&out, &limits());
        res.unwrap();
        assert_eq!(strs(&cmds[0]), vec![&b"447700900123"[..], b"sticky"]);
    }

    // --- properties ------------------------------------------------------

    fn small_limits() -> FrameLimits {
        FrameLimits {
            max_bulk_len: 16,
            max_args: 4,
            max_inline_len: 24,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Arbitrary bytes never panic the parser, which only ever consumes a
        /// prefix of what it was given, and never more than it was given.
        #[test]
        fn arbitrary_bytes_never_panic_or_overconsume(
            input in proptest::collection::vec(any::<u8>(), 0..256),
            small in any::<bool>(),
        ) {
            let l = if small { small_limits() } else { limits() };
            let mut buf = BytesMut::from(&input[..]);
            let mut consumed = 0;
            loop {
                let before = buf.len();
                match parse_one(&mut buf, &l) {
                    Ok(Some(cmd)) => {
                        prop_assert!(!cmd.is_empty());
                        prop_assert!(cmd.len() <= l.max_args);
                    }
                    Ok(None) => {
                        prop_assert!(buf.len() <= l.max_frame_len());
                        consumed += before - buf.len();
                        break;
                    }
                    Err(_) => {
                        prop_assert_eq!(buf.len(), before);
                        consumed += before - buf.len();
                        break;
                    }
                }
                consumed += before - buf.len();
            }
            prop_assert!(consumed <= input.len());
            prop_assert_eq!(&buf[..], &input[consumed..]);
        }

        /// Bytes that look like RESP (mostly valid tokens) exercise the deeper
        /// paths; the same invariants hold.
        #[test]
        fn resp_like_bytes_never_panic(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just(b"*".to_vec()), Just(b"$".to_vec()), Just(b"\r\n".to_vec()),
                    Just(b"\r".to_vec()), Just(b"\n".to_vec()), Just(b"-1".to_vec()),
                    Just(b"0".to_vec()), Just(b"3".to_vec()), Just(b"17".to_vec()),
                    Just(b" ".to_vec()), Just(b"abc".to_vec()), Just(b":".to_vec()),
                ],
                0..48,
            ),
        ) {
            let input: Vec<u8> = parts.concat();
            let l = small_limits();
            let mut buf = BytesMut::from(&input[..]);
            while let Ok(Some(_)) = parse_one(&mut buf, &l) {}
            prop_assert!(input.ends_with(&buf));
        }

        /// Any list of commands, encoded and fed in arbitrary chunks, comes
        /// back exactly.
        #[test]
        fn encoded_commands_round_trip_in_any_chunking(
            cmds in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..6),
                1..6,
            ),
            chunk in 1usize..40,
        ) {
            let mut wire = Vec::new();
            for c in &cmds {
                let refs: Vec<&[u8]> = c.iter().map(Vec::as_slice).collect();
                wire.extend(encode_command(&refs));
            }
            let mut buf = BytesMut::new();
            let mut got: Vec<Vec<Vec<u8>>> = Vec::new();
            for piece in wire.chunks(chunk) {
                buf.extend_from_slice(piece);
                while let Some(c) = parse_one(&mut buf, &limits()).unwrap() {
                    got.push(c.iter().map(|b| b.to_vec()).collect());
                }
            }
            prop_assert!(buf.is_empty());
            prop_assert_eq!(got, cmds);
        }
    }
}
