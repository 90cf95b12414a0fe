//! `COMMAND [COUNT | LIST | INFO <name>… | DOCS [<name>…]]`: what Redis clients and `redis-cli`
//! ask to learn the server's commands. The answers describe numpool's own commands in Redis's
//! shapes (none of them takes keys, so every key position is 0).

use super::Outcome;
use crate::resp::parse::{ArgCursor, ParseError};
use crate::resp::reply::Reply;

/// One command as `COMMAND` describes it.
struct Spec {
    /// Lower-case name.
    name: &'static str,
    /// Redis's arity: the exact argument count with the name, or its negative minimum.
    arity: i64,
    /// Redis's flags that hold for it.
    flags: &'static [&'static str],
    /// One line for `COMMAND DOCS`.
    summary: &'static str,
}

/// The commands numpool answers, in the order `COMMAND` lists them.
#[rustfmt::skip]
const COMMANDS: &[Spec] = &[
    Spec { name: "ping", arity: -1, flags: &["fast", "stale"], summary: "Liveness: PONG or the message." },
    Spec { name: "auth", arity: 3, flags: &["no_auth", "fast", "stale"], summary: "Binds the connection to an account." },
    Spec { name: "hello", arity: -1, flags: &["no_auth", "fast", "stale"], summary: "Handshake: protocol version, credentials, name." },
    Spec { name: "client", arity: -2, flags: &["no_auth", "stale"], summary: "Connection identity: ID, GETNAME, SETNAME, INFO." },
    Spec { name: "quit", arity: 1, flags: &["no_auth", "fast"], summary: "Closes the connection." },
    Spec { name: "pick", arity: -3, flags: &["write", "fast"], summary: "Picks the sender for a message to a recipient." },
    Spec { name: "sticky.get", arity: 3, flags: &["readonly", "fast"], summary: "The sender mapped to a recipient." },
    Spec { name: "sticky.del", arity: 3, flags: &["write", "fast"], summary: "Forgets a recipient's mapping." },
    Spec { name: "report", arity: -4, flags: &["write", "fast"], summary: "Counts a delivery receipt for its sender." },
    Spec { name: "resolve", arity: 3, flags: &["readonly", "fast"], summary: "The pools whose conversation with a number is on one of ours." },
    Spec { name: "optout.add", arity: 3, flags: &["write", "fast"], summary: "Opts a recipient out of a pool." },
    Spec { name: "optout.del", arity: 3, flags: &["write", "fast"], summary: "Lifts a recipient's opt-out of a pool." },
    Spec { name: "optout.get", arity: 3, flags: &["readonly", "fast"], summary: "Whether a recipient opted out of a pool." },
    Spec { name: "info", arity: -1, flags: &["stale"], summary: "Server and pool figures." },
    Spec { name: "echo", arity: 2, flags: &["fast"], summary: "The message back." },
    Spec { name: "select", arity: 2, flags: &["fast"], summary: "Selects database 0, the only one." },
    Spec { name: "command", arity: -1, flags: &["stale"], summary: "Describes these commands." },
];

/// A parsed `COMMAND`.
pub(crate) enum Command<'a> {
    /// `COMMAND`: every command's description.
    All,
    /// `COMMAND COUNT`.
    Count,
    /// `COMMAND LIST`: the names.
    List,
    /// `COMMAND INFO <name>…`: those commands' descriptions, nil for unknown names.
    Info(Vec<&'a str>),
    /// `COMMAND DOCS [<name>…]`: their documentation, every command's when none is named.
    Docs(Vec<&'a str>),
}

impl<'a> Command<'a> {
    /// Parses the subcommand and its names.
    pub(crate) fn parse(cursor: &mut ArgCursor<'a>) -> Result<Self, ParseError> {
        if cursor.remaining() == 0 {
            return Ok(Command::All);
        }
        let subcommand = cursor.next_str()?.to_ascii_lowercase();
        let mut names = Vec::new();
        while cursor.remaining() > 0 {
            names.push(cursor.next_str()?);
        }
        Ok(match subcommand.as_str() {
            "count" if names.is_empty() => Command::Count,
            "list" => Command::List,
            "info" => Command::Info(names),
            "docs" => Command::Docs(names),
            _ => return Err(ParseError::Syntax),
        })
    }

    /// Writes the description asked for.
    pub(crate) fn apply(self, out: &mut Reply<'_>) -> Outcome {
        match self {
            Command::All => {
                out.array(COMMANDS.len());
                COMMANDS.iter().for_each(|spec| write_info(spec, out));
            }
            Command::Count => out.integer(COMMANDS.len() as i64),
            Command::List => {
                out.array(COMMANDS.len());
                COMMANDS
                    .iter()
                    .for_each(|spec| out.bulk(spec.name.as_bytes()));
            }
            Command::Info(names) => {
                out.array(names.len());
                for name in names {
                    match find(name) {
                        Some(spec) => write_info(spec, out),
                        None => out.null(),
                    }
                }
            }
            Command::Docs(names) => {
                let specs: Vec<&Spec> = if names.is_empty() {
                    COMMANDS.iter().collect()
                } else {
                    names.iter().filter_map(|name| find(name)).collect()
                };
                out.map(specs.len());
                for spec in specs {
                    out.bulk(spec.name.as_bytes());
                    out.map(3);
                    out.bulk(b"summary");
                    out.bulk(spec.summary.as_bytes());
                    out.bulk(b"since");
                    out.bulk(b"0.1.0");
                    out.bulk(b"group");
                    out.bulk(b"numpool");
                }
            }
        }
        Outcome::Continue
    }
}

/// The command named `name`, in any case.
fn find(name: &str) -> Option<&'static Spec> {
    COMMANDS
        .iter()
        .find(|spec| spec.name.eq_ignore_ascii_case(name))
}

/// Redis 7's ten-element description: name, arity, flags, first key, last key, key step, ACL
/// categories, tips, key specifications, subcommands.
fn write_info(spec: &Spec, out: &mut Reply<'_>) {
    out.array(10);
    out.bulk(spec.name.as_bytes());
    out.integer(spec.arity);
    out.array(spec.flags.len());
    for flag in spec.flags {
        out.simple(flag);
    }
    out.integer(0);
    out.integer(0);
    out.integer(0);
    for _ in 0..4 {
        out.array(0);
    }
}
