//! `QUIT`: `+OK`, then the server closes the connection.

use super::Outcome;
use crate::resp::parse::{ArgCursor, ParseError};
use crate::resp::reply::Reply;

/// A parsed `QUIT`.
pub(crate) struct Quit;

impl Quit {
    /// Takes no arguments.
    pub(crate) fn parse(cursor: &mut ArgCursor<'_>) -> Result<Self, ParseError> {
        cursor.finish()?;
        Ok(Quit)
    }

    /// `+OK`, and the connection closes once it is flushed.
    pub(crate) fn apply(self, out: &mut Reply<'_>) -> Outcome {
        out.simple("OK");
        Outcome::Close
    }
}
