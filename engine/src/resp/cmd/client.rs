//! `CLIENT <anything>`: accepted and ignored; clients send `CLIENT SETINFO` on connect.

use bytes::BytesMut;

use crate::resp::frame::write_simple;
use crate::resp::parse::{ArgCursor, ParseError};

/// A parsed `CLIENT`.
pub(crate) struct Client;

impl Client {
    /// Takes any arguments, but at least a subcommand (as Redis does).
    pub fn parse(cursor: &mut ArgCursor<'_>) -> Result<Self, ParseError> {
        if cursor.remaining() == 0 {
            return Err(cursor.wrong_arity());
        }
        Ok(Client)
    }

    /// `+OK`.
    pub fn apply(&self, out: &mut BytesMut) {
        write_simple(out, "OK");
    }
}
