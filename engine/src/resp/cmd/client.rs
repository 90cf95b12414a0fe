//! `CLIENT <subcommand> …`: what clients send on connect. `ID`, `GETNAME`, `SETNAME` and `INFO`
//! answer as Redis does; every other subcommand (`SETINFO`, `MAINT_NOTIFICATIONS`, `NO-EVICT`,
//! …) is accepted with `+OK` and changes nothing, so no client fails its start on one.

use super::{ClientInfo, Ctx, Outcome};
use crate::resp::parse::{ArgCursor, ParseError};
use crate::resp::reply::Reply;

/// A parsed `CLIENT`.
pub(crate) enum Client<'a> {
    /// `CLIENT ID`: the connection's id.
    Id,
    /// `CLIENT GETNAME`: its name, or nil.
    GetName,
    /// `CLIENT SETNAME <name>`.
    SetName(&'a str),
    /// `CLIENT INFO`: one line about the connection.
    Info,
    /// Anything else: accepted.
    Other,
}

impl<'a> Client<'a> {
    /// Takes a subcommand (as Redis does) and its arguments.
    pub(crate) fn parse(cursor: &mut ArgCursor<'a>) -> Result<Self, ParseError> {
        if cursor.remaining() == 0 {
            return Err(cursor.wrong_arity());
        }
        let subcommand = cursor.next_str()?.to_ascii_lowercase();
        let client = match subcommand.as_str() {
            "id" => Client::Id,
            "getname" => Client::GetName,
            "info" => Client::Info,
            "setname" => {
                let name = cursor.next_str()?;
                // Redis refuses names that would break `CLIENT LIST`'s line format.
                if name.bytes().any(|b| b <= b' ' || b > b'~') {
                    return Err(ParseError::Syntax);
                }
                Client::SetName(name)
            }
            _ => {
                while cursor.remaining() > 0 {
                    cursor.next_bytes()?;
                }
                return Ok(Client::Other);
            }
        };
        cursor.finish()?;
        Ok(client)
    }

    /// Replies; `SETNAME` renames the connection.
    pub(crate) fn apply(self, ctx: &Ctx<'_>, out: &mut Reply<'_>) -> Outcome {
        let client = ctx.client;
        match self {
            Client::Id => out.integer(i64::try_from(client.id).unwrap_or(i64::MAX)),
            Client::GetName => match &client.name {
                Some(name) => out.bulk(name.as_bytes()),
                None => out.null(),
            },
            Client::Info => out.verbatim(&info_line(client, out.protocol().version())),
            Client::SetName(name) => {
                out.simple("OK");
                return Outcome::Name(name.to_owned());
            }
            Client::Other => out.simple("OK"),
        }
        Outcome::Continue
    }
}

/// `CLIENT INFO`'s line: the fields of Redis's that numpool has.
fn info_line(client: &ClientInfo, protocol: i64) -> String {
    format!(
        "id={} name={} db=0 resp={protocol}\n",
        client.id,
        client.name.as_deref().unwrap_or_default()
    )
}
