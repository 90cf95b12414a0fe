//! Argument cursor: walks one command's arguments and turns them into typed
//! values, with errors that map onto Redis's own error replies.
//!
//! It is deliberately generic; each command's file decides what to pull.

use super::batch::Args;
use super::frame::parse_i64;
use super::reply::Reply;

/// Longest command name kept (lowercased) for matching. Every command in
/// DESIGN §4 is far shorter; longer names can only be unknown commands.
pub(crate) const MAX_COMMAND_NAME_LEN: usize = 32;

/// A command's arguments could not be read as the command wants them.
///
/// `Display` is the whole error line as sent, code included (`ERR ...`), so
/// [`ParseError::write_reply`] can send it as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParseError {
    /// Too few or too many arguments for the command.
    #[error("ERR wrong number of arguments for '{command}' command")]
    WrongArity {
        /// The command's lowercased name, as Redis prints it.
        command: String,
    },
    /// An argument that should be an `i64` is not one (Redis's `string2ll`
    /// rules: no `+`, no spaces, no leading zeros, no overflow).
    #[error("ERR value is not an integer or out of range")]
    NotAnInteger,
    /// An argument that should be text is not valid UTF-8.
    #[error("ERR invalid UTF-8 in argument")]
    InvalidUtf8,
    /// An unknown option or an option in the wrong place.
    #[error("ERR syntax error")]
    Syntax,
}

impl ParseError {
    /// Appends this error as a `-ERR ...` reply line.
    pub(crate) fn write_reply(&self, out: &mut Reply<'_>) {
        out.error_fmt(format_args!("{self}"));
    }
}

/// A cursor over one command's arguments (name first).
///
/// Borrowing the arguments keeps it free: no copy, no allocation, and what it
/// hands out lives as long as the command.
#[derive(Debug, Clone)]
pub(crate) struct ArgCursor<'a> {
    /// The whole command, name included, as the frame parser produced it.
    args: Args<'a>,
    /// Index of the next argument to hand out; starts past the name.
    next: usize,
    /// The name lowercased in place, so matching needs no `String`.
    name_buf: [u8; MAX_COMMAND_NAME_LEN],
    /// How much of `name_buf` is the name; 0 when the name is unusable.
    name_len: usize,
}

impl<'a> ArgCursor<'a> {
    /// A cursor positioned on the first argument after the command name.
    pub(crate) fn new(args: Args<'a>) -> Self {
        let mut name_buf = [0u8; MAX_COMMAND_NAME_LEN];
        let mut name_len = 0;
        if let Some(name) = args.get(0) {
            // Only short ASCII names can be commands; anything else is left
            // empty so that it matches no command.
            if name.len() <= MAX_COMMAND_NAME_LEN && name.is_ascii() {
                name_buf[..name.len()].copy_from_slice(name);
                name_buf[..name.len()].make_ascii_lowercase();
                name_len = name.len();
            }
        }
        ArgCursor {
            args,
            next: 1,
            name_buf,
            name_len,
        }
    }

    /// The command name, ASCII-lowercased, for `match`.
    ///
    /// Empty when the name cannot be a command (empty, longer than
    /// [`MAX_COMMAND_NAME_LEN`], or not ASCII); use
    /// [`raw_command_name`](Self::raw_command_name) to echo it in an error.
    pub(crate) fn command_name(&self) -> &str {
        // ASCII by construction, so this never falls back.
        std::str::from_utf8(&self.name_buf[..self.name_len]).unwrap_or("")
    }

    /// The command name exactly as the client sent it.
    pub(crate) fn raw_command_name(&self) -> &'a [u8] {
        self.args.get(0).unwrap_or_default()
    }

    /// The next argument, or [`ParseError::WrongArity`] if there is none.
    pub(crate) fn next_bytes(&mut self) -> Result<&'a [u8], ParseError> {
        let arg = self.args.get(self.next).ok_or_else(|| self.wrong_arity())?;
        self.next += 1;
        Ok(arg)
    }

    /// The next argument as UTF-8 text, borrowed.
    pub(crate) fn next_str(&mut self) -> Result<&'a str, ParseError> {
        let arg = self.next_bytes()?;
        std::str::from_utf8(arg).map_err(|_| ParseError::InvalidUtf8)
    }

    /// The next argument as an `i64`, parsed by Redis's rules.
    pub(crate) fn next_int(&mut self) -> Result<i64, ParseError> {
        let arg = self.next_bytes()?;
        parse_i64(arg).ok_or(ParseError::NotAnInteger)
    }

    /// How many arguments are left (options loops run while this is > 0).
    pub(crate) fn remaining(&self) -> usize {
        self.args.len().saturating_sub(self.next)
    }

    /// Ends parsing: extra arguments are a [`ParseError::WrongArity`].
    pub(crate) fn finish(&self) -> Result<(), ParseError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(self.wrong_arity())
        }
    }

    /// The arity error for this command, for callers that detect it
    /// themselves (an option missing its value, say).
    pub(crate) fn wrong_arity(&self) -> ParseError {
        let command = match self.command_name() {
            "" => String::from_utf8_lossy(self.raw_command_name()).into_owned(),
            name => name.to_owned(),
        };
        ParseError::WrongArity { command }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::batch::OwnedCommand;

    fn cmd(words: &[&[u8]]) -> OwnedCommand {
        OwnedCommand::of(words)
    }

    #[test]
    fn walks_typed_arguments() {
        let args = cmd(&[b"PiCk", b"pool-1", b"-42", b"\xff", b"tail"]);
        let mut c = ArgCursor::new(args.args());
        assert_eq!(c.command_name(), "pick");
        assert_eq!(c.raw_command_name(), b"PiCk");
        assert_eq!(c.remaining(), 4);
        assert_eq!(c.next_str().unwrap(), "pool-1");
        assert_eq!(c.next_int().unwrap(), -42);
        assert_eq!(c.next_bytes().unwrap(), b"\xff");
        assert_eq!(c.next_str().unwrap(), "tail");
        assert_eq!(c.remaining(), 0);
        c.finish().unwrap();
    }

    #[test]
    fn missing_argument_is_wrong_arity() {
        let args = cmd(&[b"STICKY.GET", b"p"]);
        let mut c = ArgCursor::new(args.args());
        c.next_bytes().unwrap();
        let e = c.next_bytes().unwrap_err();
        assert_eq!(
            e,
            ParseError::WrongArity {
                command: "sticky.get".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "ERR wrong number of arguments for 'sticky.get' command"
        );
    }

    #[test]
    fn extra_argument_is_wrong_arity_on_finish() {
        let args = cmd(&[b"PING", b"a", b"b"]);
        let mut c = ArgCursor::new(args.args());
        c.next_bytes().unwrap();
        assert_eq!(
            c.finish().unwrap_err(),
            ParseError::WrongArity {
                command: "ping".into()
            }
        );
    }

    #[test]
    fn not_an_integer() {
        for bad in [
            &b"x"[..],
            b"+1",
            b"01",
            b" 1",
            b"1.5",
            b"99999999999999999999",
        ] {
            let args = cmd(&[b"X", bad]);
            let e = ArgCursor::new(args.args()).next_int().unwrap_err();
            assert_eq!(e, ParseError::NotAnInteger, "{bad:?}");
            assert_eq!(e.to_string(), "ERR value is not an integer or out of range");
        }
    }

    #[test]
    fn invalid_utf8() {
        let args = cmd(&[b"X", b"\xc3\x28"]);
        let mut c = ArgCursor::new(args.args());
        assert_eq!(c.next_str().unwrap_err(), ParseError::InvalidUtf8);
        // The argument was consumed all the same: the command is rejected.
        assert_eq!(c.remaining(), 0);
        let args = cmd(&[b"X", b"\xff"]);
        assert_eq!(
            ArgCursor::new(args.args()).next_str().unwrap_err(),
            ParseError::InvalidUtf8
        );
    }

    #[test]
    fn syntax_error_reply() {
        let mut out = bytes::BytesMut::new();
        ParseError::Syntax.write_reply(&mut Reply::new(&mut out, Default::default()));
        assert_eq!(&out[..], b"-ERR syntax error\r\n");
    }

    #[test]
    fn unusable_names_match_nothing_but_are_echoed() {
        let long = [b'A'; MAX_COMMAND_NAME_LEN + 1];
        for name in [&long[..], b"caf\xc3\xa9", b""] {
            let args = cmd(&[name]);
            let c = ArgCursor::new(args.args());
            assert_eq!(c.command_name(), "");
            assert_eq!(c.raw_command_name(), name);
        }
        let args = cmd(&[b"PICK\xff"]);
        let c = ArgCursor::new(args.args());
        let mut out = bytes::BytesMut::new();
        c.wrong_arity()
            .write_reply(&mut Reply::new(&mut out, Default::default()));
        assert_eq!(
            &out[..],
            "-ERR wrong number of arguments for 'PICK\u{fffd}' command\r\n".as_bytes()
        );
        // A name of exactly the maximum length is still usable.
        let exact = [b'Q'; MAX_COMMAND_NAME_LEN];
        let args = cmd(&[&exact]);
        assert_eq!(
            ArgCursor::new(args.args()).command_name(),
            "q".repeat(MAX_COMMAND_NAME_LEN)
        );
    }

    #[test]
    fn empty_command_has_no_arguments() {
        let args = cmd(&[]);
        let c = ArgCursor::new(args.args());
        assert_eq!(c.command_name(), "");
        assert_eq!(c.remaining(), 0);
        c.finish().unwrap();
    }

    #[test]
    fn option_loop_pattern() {
        // How a command file walks `PICK <pool> <to> [FROM s] [WITHREASON]`.
        let args = cmd(&[
            b"pick",
            b"p",
            b"447700900123",
            b"from",
            b"Acme",
            b"WithReason",
        ]);
        let mut c = ArgCursor::new(args.args());
        let pool = c.next_str().unwrap();
        let to = c.next_str().unwrap();
        let (mut from, mut with_reason) = (None, false);
        while c.remaining() > 0 {
            let opt = c.next_bytes().unwrap();
            if opt.eq_ignore_ascii_case(b"FROM") {
                from = Some(c.next_str().unwrap());
            } else if opt.eq_ignore_ascii_case(b"WITHREASON") {
                with_reason = true;
            } else {
                panic!("unexpected option");
            }
        }
        c.finish().unwrap();
        assert_eq!(
            (pool, to, from, with_reason),
            ("p", "447700900123", Some("Acme"), true)
        );
    }
}
