//! `AUTH <api_key> <api_secret>`: binds the connection to an account. It is Redis 6's
//! `AUTH <username> <password>`, which clients send when given a username and password.

use super::{Ctx, Outcome};
use crate::engine::AccountHandle;
use crate::resp::parse::{ArgCursor, ParseError};
use crate::resp::reply::Reply;
use crate::throttle::Interface;

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
    pub(crate) async fn apply(self, ctx: &Ctx<'_>, out: &mut Reply<'_>) -> Outcome {
        match self.check(ctx).await {
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

    /// The account these credentials open, if any, judged once the client address's turn
    /// has come (at once unless an earlier attempt from it failed); a failure is counted and
    /// logged (rate-limited) with the key and the address, never the secret.
    pub(crate) async fn check(&self, ctx: &Ctx<'_>) -> Option<AccountHandle> {
        ctx.throttle
            .judge(ctx.client.peer, Interface::Resp, self.key, || {
                ctx.engine.authenticate(self.key, self.secret)
            })
            .await
    }
}
