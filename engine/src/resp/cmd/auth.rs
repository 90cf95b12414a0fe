//! `AUTH <api_key> <api_secret>`: binds the connection to an account. It is Redis 6's
//! `AUTH <username> <password>`, which clients send when given a username and password.

use super::{Ctx, Outcome};
use crate::engine::AccountHandle;
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
        match self.check(ctx) {
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

    /// The account these credentials open, if any; a failure is logged with the key and the
    /// client's address (never the secret).
    pub(crate) fn check(&self, ctx: &Ctx<'_>) -> Option<AccountHandle> {
        let account = ctx.engine.authenticate(self.key, self.secret);
        if account.is_none() {
            tracing::warn!(
                key = ?self.key,
                peer = %ctx.client.peer,
                client = ctx.client.id,
                "RESP authentication failed"
            );
        }
        account
    }
}
