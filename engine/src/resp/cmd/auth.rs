//! `AUTH <api_key> <api_secret>`: binds the connection to an account. It is Redis 6's
//! `AUTH <username> <password>`, which clients send when given a username and password.

use super::{Ctx, Outcome};
use crate::resp::parse::{ArgCursor, ParseError};
use crate::resp::reply::Reply;

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
    pub(crate) fn apply(self, ctx: &Ctx<'_>, out: &mut Reply<'_>) -> Outcome {
        match ctx.engine.authenticate(self.key, self.secret) {
            Some(account) => {
                out.simple("OK");
                Outcome::Bind(account)
            }
            None => {
                out.error(WRONGPASS);
                Outcome::Continue
            }
        }
    }
}
