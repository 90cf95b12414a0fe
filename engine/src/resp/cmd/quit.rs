//! `QUIT`: `+OK`, then the server closes the connection.

use bytes::BytesMut;

use crate::resp::frame::write_simple;
use crate::resp::parse::{ArgCursor, ParseError};

/// A parsed `QUIT`.
pub(crate) struct Quit;

impl Quit {
    /// Takes no arguments.
    pub fn parse(cursor: &mut ArgCursor<'_>) -> Result<Self, ParseError> {
        cursor.finish()?;
        Ok(Quit)
    }

    /// `+OK`; the caller closes after flushing.
    pub fn apply(&self, out: &mut BytesMut) {
        write_simple(out, "OK");
    }
}
