//! `HELLO [protover [AUTH key secret] [SETNAME name]]`: the handshake newer clients send.
//! numpool speaks RESP2 only.

use bytes::BytesMut;

use super::auth::{Auth, WRONGPASS};
use super::Outcome;
use crate::engine::Engine;
use crate::resp::frame::{write_array_header, write_bulk, write_error, write_integer};
use crate::resp::parse::{ArgCursor, ParseError};

/// A parsed `HELLO`.
pub(crate) struct Hello<'a> {
    /// The protocol asked for, if any.
    proto: Option<i64>,
    /// Credentials given inline.
    auth: Option<Auth<'a>>,
}

impl<'a> Hello<'a> {
    /// Parses the optional version and its options.
    pub(crate) fn parse(cursor: &mut ArgCursor<'a>) -> Result<Self, ParseError> {
        let mut hello = Hello {
            proto: None,
            auth: None,
        };
        if cursor.remaining() == 0 {
            return Ok(hello);
        }
        hello.proto = Some(cursor.next_int()?);
        while cursor.remaining() > 0 {
            match cursor.next_str()?.to_ascii_lowercase().as_str() {
                "auth" if cursor.remaining() >= 2 => {
                    hello.auth = Some(Auth {
                        key: cursor.next_str()?,
                        secret: cursor.next_str()?,
                    })
                }
                "setname" if cursor.remaining() >= 1 => {
                    cursor.next_bytes()?;
                }
                _ => return Err(ParseError::Syntax),
            }
        }
        Ok(hello)
    }

    /// Replies with the server's properties as a flat array, after any inline `AUTH`, whose
    /// account the connection then acts for.
    pub(crate) fn apply(self, engine: &Engine, out: &mut BytesMut) -> Outcome {
        if self.proto.is_some_and(|proto| proto != 2) {
            write_error(
                out,
                "NOPROTO sorry, this protocol version is not supported.",
            );
            return Outcome::Continue;
        }
        let outcome = match &self.auth {
            Some(auth) => match engine.authenticate(auth.key, auth.secret) {
                Some(account) => Outcome::Bind(account),
                None => {
                    write_error(out, WRONGPASS);
                    return Outcome::Continue;
                }
            },
            None => Outcome::Continue,
        };
        write_array_header(out, 6);
        write_bulk(out, b"server");
        write_bulk(out, b"numpool");
        write_bulk(out, b"version");
        write_bulk(out, env!("CARGO_PKG_VERSION").as_bytes());
        write_bulk(out, b"proto");
        write_integer(out, 2);
        outcome
    }
}
