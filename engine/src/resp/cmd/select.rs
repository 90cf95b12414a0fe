//! `SELECT <db>`: clients configured with a database send it on connect. numpool has one
//! keyspace, database 0; selecting another is Redis's out-of-range error.

use super::Outcome;
use crate::resp::parse::{ArgCursor, ParseError};
use crate::resp::reply::Reply;

/// A parsed `SELECT`.
pub(crate) struct Select(i64);

impl Select {
    /// Takes the database index.
    pub(crate) fn parse(cursor: &mut ArgCursor<'_>) -> Result<Self, ParseError> {
        if cursor.remaining() != 1 {
            return Err(cursor.wrong_arity());
        }
        Ok(Select(cursor.next_int()?))
    }

    /// `+OK` for database 0.
    pub(crate) fn apply(self, out: &mut Reply<'_>) -> Outcome {
        if self.0 == 0 {
            out.simple("OK");
        } else {
            out.error("ERR DB index is out of range");
        }
        Outcome::Continue
    }
}
