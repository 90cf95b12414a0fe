//! `HELLO [protover [AUTH key secret] [SETNAME name]]`: the handshake newer clients send.
//! `HELLO 3` switches the connection to RESP3, `HELLO 2` (or none) keeps RESP2; the reply is
//! the server's properties, a map in RESP3 and a flat array in RESP2, in the version asked for.

use super::auth::{Auth, WRONGPASS};
use super::{ClientInfo, Ctx, Outcome};
use crate::resp::parse::{ArgCursor, ParseError};
use crate::resp::reply::{Protocol, Reply};

/// Redis's reply to a version it does not speak; clients recognise it and fall back.
const NOPROTO: &str = "NOPROTO sorry, this protocol version is not supported.";

/// A parsed `HELLO`.
pub(crate) struct Hello<'a> {
    /// The protocol version asked for, if any.
    version: Option<i64>,
    /// Credentials given inline.
    auth: Option<Auth<'a>>,
    /// `SETNAME`: the connection's new name.
    name: Option<&'a str>,
}

impl<'a> Hello<'a> {
    /// Parses the optional version and its options.
    pub(crate) fn parse(cursor: &mut ArgCursor<'a>) -> Result<Self, ParseError> {
        let mut hello = Hello {
            version: None,
            auth: None,
            name: None,
        };
        if cursor.remaining() == 0 {
            return Ok(hello);
        }
        hello.version = Some(cursor.next_int()?);
        while cursor.remaining() > 0 {
            match cursor.next_str()?.to_ascii_lowercase().as_str() {
                "auth" if cursor.remaining() >= 2 => {
                    hello.auth = Some(Auth {
                        key: cursor.next_str()?,
                        secret: cursor.next_str()?,
                    })
                }
                "setname" if cursor.remaining() >= 1 => hello.name = Some(cursor.next_str()?),
                _ => return Err(ParseError::Syntax),
            }
        }
        Ok(hello)
    }

    /// Checks the version and any inline `AUTH`, then replies with the server's properties in
    /// the version asked for. Nothing changes when either is refused.
    pub(crate) async fn apply(self, ctx: &Ctx<'_>, out: &mut Reply<'_>) -> Outcome {
        let protocol = match self.version {
            None => out.protocol(),
            Some(version) => match Protocol::from_version(version) {
                Some(protocol) => protocol,
                None => {
                    out.error(NOPROTO);
                    return Outcome::Continue;
                }
            },
        };
        let account = match &self.auth {
            Some(auth) => match auth.check(ctx).await {
                Some(account) => Some(account),
                None => {
                    out.error(WRONGPASS);
                    return Outcome::Continue;
                }
            },
            None => None,
        };
        out.set_protocol(protocol);
        write_properties(ctx.client, out);
        Outcome::Hello {
            account,
            name: self.name.map(str::to_owned),
        }
    }
}

/// The seven properties Redis answers `HELLO` with; `modules` is always empty.
fn write_properties(client: &ClientInfo, out: &mut Reply<'_>) {
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"numpool");
    out.bulk(b"version");
    out.bulk(env!("CARGO_PKG_VERSION").as_bytes());
    out.bulk(b"proto");
    out.integer(out.protocol().version());
    out.bulk(b"id");
    out.integer(i64::try_from(client.id).unwrap_or(i64::MAX));
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
}
