//! `QUIT`: `+OK`, then the server closes the connection.

use bytes::BytesMut;

use super::Outcome;
use crate::resp::frame::write_simple;
use crate::resp::parse::{ArgCursor, ParseError};

/// A parsed `QUIT`.
pub(crate) struct Quit;

impl Quit {
    /// Takes no arguments.
    pub(crate) fn parse(cursor: &mut ArgCursor<'_>) -> Result<Self, ParseError> {
        cursor.finish()?;
        Ok(Quit)
    }

    /// `+OK`, and the connection closes once it is flushed.
    pub(crate) fn apply(self, out: &mut BytesMut) -> Outcome {
        write_simple(out, "OK");
        Outcome::Close
    }
}
