//! The reply encoder of one connection: one set of methods for every reply shape, writing RESP2
//! or RESP3 by the connection's [`Protocol`] (DESIGN §4). The two protocols differ only in the
//! frames below that have a RESP3 type of their own (null, map, verbatim string); everything
//! else is the same bytes in both, so it is written by the same `frame` functions.

use std::fmt;

use bytes::{BufMut, BytesMut};

use super::frame::{
    write_array_header, write_bulk, write_error, write_error_fmt, write_integer, write_null_bulk,
    write_simple,
};

/// The wire protocol a connection speaks: RESP2 until `HELLO 3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Protocol {
    /// RESP2: what every client speaks without `HELLO`.
    #[default]
    Resp2,
    /// RESP3, chosen by `HELLO 3`.
    Resp3,
}

impl Protocol {
    /// The version number, as `HELLO` takes and reports it.
    pub(crate) fn version(self) -> i64 {
        match self {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        }
    }

    /// The protocol of a `HELLO` version, if numpool speaks it.
    pub(crate) fn from_version(version: i64) -> Option<Self> {
        match version {
            2 => Some(Protocol::Resp2),
            3 => Some(Protocol::Resp3),
            _ => None,
        }
    }
}

/// Replies being encoded into a connection's output buffer.
pub(crate) struct Reply<'a> {
    /// The connection's output buffer: replies are appended, never copied again.
    out: &'a mut BytesMut,
    /// How the protocol-specific frames are written.
    protocol: Protocol,
}

impl<'a> Reply<'a> {
    /// An encoder appending to `out` in `protocol`.
    pub(crate) fn new(out: &'a mut BytesMut, protocol: Protocol) -> Self {
        Reply { out, protocol }
    }

    /// The protocol the replies are written in.
    pub(crate) fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Writes the following replies in `protocol`: `HELLO` answers in the version it asked for,
    /// and so does every later command of the connection.
    pub(crate) fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = protocol;
    }

    /// `+<text>`.
    pub(crate) fn simple(&mut self, text: &str) {
        write_simple(self.out, text);
    }

    /// `-<line>`: the whole error line, code first.
    pub(crate) fn error(&mut self, line: &str) {
        write_error(self.out, line);
    }

    /// An error line formatted in place.
    pub(crate) fn error_fmt(&mut self, args: fmt::Arguments<'_>) {
        write_error_fmt(self.out, args);
    }

    /// `:<n>`.
    pub(crate) fn integer(&mut self, n: i64) {
        write_integer(self.out, n);
    }

    /// A bulk string.
    pub(crate) fn bulk(&mut self, data: &[u8]) {
        write_bulk(self.out, data);
    }

    /// The header of an array of `len` elements.
    pub(crate) fn array(&mut self, len: usize) {
        write_array_header(self.out, len);
    }

    /// Nothing: RESP3's `_`, RESP2's null bulk string.
    pub(crate) fn null(&mut self) {
        match self.protocol {
            Protocol::Resp2 => write_null_bulk(self.out),
            Protocol::Resp3 => self.out.put_slice(b"_\r\n"),
        }
    }

    /// The header of a map of `pairs` key–value pairs: RESP3's `%`, in RESP2 a flat array of
    /// twice as many elements (as Redis writes maps for RESP2 clients).
    pub(crate) fn map(&mut self, pairs: usize) {
        match self.protocol {
            Protocol::Resp2 => write_array_header(self.out, pairs * 2),
            Protocol::Resp3 => {
                self.out.put_u8(b'%');
                self.out
                    .put_slice(itoa::Buffer::new().format(pairs).as_bytes());
                self.out.put_slice(b"\r\n");
            }
        }
    }

    /// Text meant for people (`INFO`): RESP3's verbatim string `=<len>\r\ntxt:<text>`, in RESP2
    /// a bulk string.
    pub(crate) fn verbatim(&mut self, text: &str) {
        match self.protocol {
            Protocol::Resp2 => write_bulk(self.out, text.as_bytes()),
            Protocol::Resp3 => {
                let len = text.len() + 4;
                self.out.reserve(text.len() + 16);
                self.out.put_u8(b'=');
                self.out
                    .put_slice(itoa::Buffer::new().format(len).as_bytes());
                self.out.put_slice(b"\r\ntxt:");
                self.out.put_slice(text.as_bytes());
                self.out.put_slice(b"\r\n");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(protocol: Protocol, write: impl FnOnce(&mut Reply<'_>)) -> Vec<u8> {
        let mut out = BytesMut::new();
        write(&mut Reply::new(&mut out, protocol));
        out.to_vec()
    }

    fn shapes(reply: &mut Reply<'_>) {
        reply.map(1);
        reply.bulk(b"k");
        reply.null();
        reply.verbatim("a:1\r\n");
        reply.integer(7);
    }

    #[test]
    fn resp2_writes_maps_flat_and_nil_as_null_bulk() {
        assert_eq!(
            encoded(Protocol::Resp2, shapes),
            b"*2\r\n$1\r\nk\r\n$-1\r\n$5\r\na:1\r\n\r\n:7\r\n"
        );
    }

    #[test]
    fn resp3_writes_its_own_types() {
        assert_eq!(
            encoded(Protocol::Resp3, shapes),
            b"%1\r\n$1\r\nk\r\n_\r\n=9\r\ntxt:a:1\r\n\r\n:7\r\n"
        );
    }

    #[test]
    fn versions_round_trip_and_others_are_refused() {
        for protocol in [Protocol::Resp2, Protocol::Resp3] {
            assert_eq!(Protocol::from_version(protocol.version()), Some(protocol));
        }
        assert_eq!(Protocol::from_version(1), None);
        assert_eq!(Protocol::from_version(4), None);
    }
}
