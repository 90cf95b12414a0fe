//! `AUTH <api_key> <api_secret>`: binds the connection to an account.

use bytes::BytesMut;

use super::Outcome;
use crate::engine::Engine;
use crate::resp::frame::{write_error, write_simple};
use crate::resp::parse::{ArgCursor, ParseError};

/// Redis's reply to a wrong pair; clients recognise it.
pub(crate) const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// A parsed `AUTH`.
pub(crate) struct Auth<'a> {
    /// The account key.
    pub(crate) key: &'a str,
    /// The account secret.
    pub(crate) secret: &'a str,
}

impl<'a> Auth<'a> {
    /// Parses `<key> <secret>`.
    pub(crate) fn parse(cursor: &mut ArgCursor<'a>) -> Result<Self, ParseError> {
        if cursor.remaining() != 2 {
            return Err(cursor.wrong_arity());
        }
        Ok(Auth {
            key: cursor.next_str()?,
            secret: cursor.next_str()?,
        })
    }

    /// Authenticates: `+OK` and the connection belongs to the account, or `WRONGPASS` and
    /// nothing changes.
    pub(crate) fn apply(self, engine: &Engine, out: &mut BytesMut) -> Outcome {
        match engine.authenticate(self.key, self.secret) {
            Some(account) => {
                write_simple(out, "OK");
                Outcome::Bind(account)
            }
            None => {
                write_error(out, WRONGPASS);
                Outcome::Continue
            }
        }
    }
}
