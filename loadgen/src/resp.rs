//! Reply decoding on top of the `redis` crate's parser. Replies arrive in arbitrary TCP chunks,
//! several per read when pipelined or half of one; the parser keeps partial state between calls,
//! and a reader that reports `WouldBlock` when the chunk is used up makes it stop cleanly there.

use redis::{Parser, Value};
use std::io::{self, Read};
use thiserror::Error;

/// The server sent bytes that are not RESP.
#[derive(Debug, Error)]
#[error("protocol error from server: {0}")]
pub struct ProtocolError(pub(crate) String);

/// One decoded reply, reduced to what the load generator needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Any non-error reply, kept whole for callers that look at it (AUTH, seeding, tests).
    Value(Value),
    /// An error reply: its first word (`REJECTED`, `NOPOOL`, `ERR`, …) and the rest.
    Error {
        /// The error's first word, the kind errors are counted by.
        code: String,
        /// The rest of the message, if any.
        detail: Option<String>,
    },
}

/// Feeds one chunk to the parser and then claims to have nothing more *yet*.
struct Chunk<'a> {
    /// Bytes not yet handed to the parser.
    data: &'a [u8],
    /// Set once the parser asked for more than the chunk had.
    starved: bool,
}

impl Read for Chunk<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() {
            self.starved = true;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Incremental decoder for one connection's reply stream.
#[derive(Default)]
pub struct Decoder {
    /// The `redis` crate's parser, which buffers partial replies internally.
    parser: Parser,
}

impl Decoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes every complete reply in `chunk` (plus whatever was left over from earlier chunks),
    /// calling `on_reply` for each in order, and keeps an incomplete tail for the next call.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        mut on_reply: impl FnMut(Reply),
    ) -> Result<(), ProtocolError> {
        let mut reader = Chunk {
            data: chunk,
            starved: false,
        };
        loop {
            match self.parser.parse_value(&mut reader) {
                Ok(value) => on_reply(classify(value)),
                // The only way the reader fails is by running dry: wait for the next chunk.
                Err(e) if reader.starved && e.is_io_error() => return Ok(()),
                Err(e) => return Err(ProtocolError(e.to_string())),
            }
        }
    }
}

/// Splits error replies from the rest.
pub(crate) fn classify(value: Value) -> Reply {
    match value {
        Value::ServerError(err) => Reply::Error {
            code: err.code().to_string(),
            detail: err.details().map(str::to_string),
        },
        other => Reply::Value(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(stream: &[u8], piece: usize) -> Vec<Reply> {
        let mut d = Decoder::new();
        let mut out = Vec::new();
        for chunk in stream.chunks(piece) {
            d.feed(chunk, |r| out.push(r)).unwrap();
        }
        out
    }

    #[test]
    fn pipelined_replies_decode_whatever_the_chunking() {
        let stream = b"+PONG\r\n$12\r\n447700900001\r\n-REJECTED no number for country GB\r\n\
                       -NOPOOL pool 'x' not found\r\n:1\r\n*2\r\n$3\r\nabc\r\n$6\r\nsticky\r\n$-1\r\n";
        let whole = decode_in_pieces(stream, stream.len());
        assert_eq!(whole.len(), 7);
        assert_eq!(whole[0], Reply::Value(Value::SimpleString("PONG".into())));
        assert_eq!(
            whole[1],
            Reply::Value(Value::BulkString(b"447700900001".to_vec()))
        );
        match &whole[2] {
            Reply::Error { code, detail } => {
                assert_eq!(code, "REJECTED");
                assert_eq!(detail.as_deref(), Some("no number for country GB"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&whole[3], Reply::Error { code, .. } if code == "NOPOOL"));
        assert_eq!(whole[6], Reply::Value(Value::Nil));
        for piece in [1, 2, 3, 5, 7, 13] {
            assert_eq!(decode_in_pieces(stream, piece), whole, "piece size {piece}");
        }
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let mut d = Decoder::new();
        assert!(d.feed(b"?what\r\n", |_| {}).is_err());
    }

    #[test]
    fn err_kind_is_first_word() {
        let mut d = Decoder::new();
        let mut codes = Vec::new();
        d.feed(
            b"-ERR invalid recipient '12'\r\n-WRONGPASS invalid\r\n",
            |r| {
                if let Reply::Error { code, .. } = r {
                    codes.push(code)
                }
            },
        )
        .unwrap();
        assert_eq!(codes, ["ERR", "WRONGPASS"]);
    }
}
