//! A pipelined burst of parsed commands in one flat buffer (DESIGN §3.3, §4): the burst's bytes
//! are split off the read buffer in one piece and each argument is a span of them, so a burst
//! costs no `Vec` per command and no reference count per argument, and once its span vectors
//! have grown to a connection's usual burst, no allocation at all.

use bytes::{Bytes, BytesMut};

use super::frame::{parse_command, FrameLimits, Parsed, ProtocolError, Span};

/// The commands of one burst, in arrival order. Reused from burst to burst by its connection.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// The burst's bytes: every command, headers included, as received.
    data: Bytes,
    /// Every argument of every command, in order: where it sits in `data`.
    args: Vec<Span>,
    /// Each command: the range of `args` that are its arguments (name first).
    commands: Vec<Span>,
}

/// One command's arguments, name first: borrowed from its [`Batch`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Args<'a> {
    /// The burst's bytes.
    data: &'a [u8],
    /// This command's arguments in `data`.
    spans: &'a [Span],
}

impl Batch {
    /// Forgets the last burst, keeping the vectors' capacity. Dropping its bytes here, before
    /// the next read, leaves the read buffer their only owner, so it can reuse their room.
    pub(crate) fn clear(&mut self) {
        self.data = Bytes::new();
        self.args.clear();
        self.commands.clear();
    }

    /// How many commands the burst holds.
    pub(crate) fn len(&self) -> usize {
        self.commands.len()
    }

    /// Whether it holds none.
    pub(crate) fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// The commands, in order.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = Args<'_>> {
        self.commands.iter().map(|command| Args {
            data: &self.data,
            spans: &self.args[command.start..command.end],
        })
    }

    /// Moves up to `most` complete commands from the front of `buf` into the (empty) batch,
    /// with the bytes of the no-op frames among them; how many it moved. A protocol error stops
    /// the walk: the commands before it are moved all the same (they run first, as in Redis)
    /// and the offending bytes stay in `buf`.
    pub(crate) fn take_from(
        &mut self,
        buf: &mut BytesMut,
        limits: &FrameLimits,
        most: usize,
    ) -> (usize, Result<(), ProtocolError>) {
        debug_assert!(
            self.is_empty(),
            "a batch is filled from one read buffer at a time"
        );
        let mut consumed = 0;
        let mut outcome = Ok(());
        while self.commands.len() < most {
            let first_arg = self.args.len();
            match parse_command(buf, consumed, limits, &mut self.args) {
                Ok(Parsed::Command { end }) => {
                    self.commands.push(Span {
                        start: first_arg,
                        end: self.args.len(),
                    });
                    consumed = end;
                }
                Ok(Parsed::Incomplete { skip_to }) => {
                    consumed = skip_to;
                    break;
                }
                Err(err) => {
                    outcome = Err(err);
                    break;
                }
            }
        }
        // One split for the whole burst: the spans are offsets into exactly these bytes.
        self.data = buf.split_to(consumed).freeze();
        (self.commands.len(), outcome)
    }
}

/// One command built from its words, for tests that need [`Args`] without a frame.
#[cfg(test)]
pub(crate) struct OwnedCommand {
    /// The words, one after another.
    data: Vec<u8>,
    /// Where each sits.
    spans: Vec<Span>,
}

#[cfg(test)]
impl OwnedCommand {
    /// The command of `words` (name first).
    pub(crate) fn of(words: &[&[u8]]) -> Self {
        let mut command = OwnedCommand {
            data: Vec::new(),
            spans: Vec::new(),
        };
        for word in words {
            let start = command.data.len();
            command.data.extend_from_slice(word);
            command.spans.push(Span {
                start,
                end: command.data.len(),
            });
        }
        command
    }

    /// Its arguments.
    pub(crate) fn args(&self) -> Args<'_> {
        Args {
            data: &self.data,
            spans: &self.spans,
        }
    }
}

impl<'a> Args<'a> {
    /// How many arguments, name included.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Argument `i` (0 is the name).
    pub(crate) fn get(&self, i: usize) -> Option<&'a [u8]> {
        self.spans
            .get(i)
            .map(|span| &self.data[span.start..span.end])
    }

    /// The arguments in order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let data = self.data;
        self.spans
            .iter()
            .map(move |span| &data[span.start..span.end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(batch: &Batch) -> Vec<Vec<&[u8]>> {
        batch.iter().map(|args| args.iter().collect()).collect()
    }

    #[test]
    fn a_burst_is_one_split_and_spans_of_it() {
        let mut buf = BytesMut::from(
            &b"*1\r\n$4\r\nPING\r\n*0\r\nECHO hi\r\n*3\r\n$4\r\nPICK\r\n$1\r\np\r\n$2\r\n44\r\n*2\r\n$4\r\nECHO"[..],
        );
        let mut batch = Batch::default();
        let (moved, outcome) = batch.take_from(&mut buf, &FrameLimits::default(), usize::MAX);
        assert_eq!((moved, outcome), (3, Ok(())));
        assert_eq!(
            words(&batch),
            vec![
                vec![&b"PING"[..]],
                vec![b"ECHO", b"hi"],
                vec![b"PICK", b"p", b"44"],
            ]
        );
        // The incomplete command stays for the next read.
        assert_eq!(&buf[..], b"*2\r\n$4\r\nECHO");
        batch.clear();
        assert!(batch.is_empty());
        assert_eq!(batch.iter().len(), 0);
    }

    #[test]
    fn at_most_the_commands_asked_for() {
        let mut buf = BytesMut::from(&b"PING\r\nPING\r\n"[..]);
        let mut batch = Batch::default();
        assert_eq!(batch.take_from(&mut buf, &FrameLimits::default(), 1).0, 1);
        assert_eq!(&buf[..], b"PING\r\n");
    }

    #[test]
    fn commands_before_a_protocol_error_are_moved_and_the_error_stays() {
        let mut buf = BytesMut::from(&b"PING\r\n*1\r\n+x\r\n"[..]);
        let mut batch = Batch::default();
        let (moved, outcome) = batch.take_from(&mut buf, &FrameLimits::default(), usize::MAX);
        assert_eq!(moved, 1);
        assert_eq!(outcome, Err(ProtocolError::ExpectedBulk { got: b'+' }));
        assert_eq!(&buf[..], b"*1\r\n+x\r\n");
    }

    #[test]
    fn a_reused_batch_allocates_nothing_for_a_burst_no_larger_than_before() {
        let burst = b"*3\r\n$4\r\nPICK\r\n$1\r\np\r\n$12\r\n447700900123\r\n".repeat(64);
        let mut batch = Batch::default();
        let mut buf = BytesMut::from(&burst[..]);
        assert_eq!(
            batch.take_from(&mut buf, &FrameLimits::default(), usize::MAX),
            (64, Ok(()))
        );
        let (args, commands) = (batch.args.capacity(), batch.commands.capacity());
        batch.clear();
        let mut buf = BytesMut::from(&burst[..]);
        assert_eq!(
            batch
                .take_from(&mut buf, &FrameLimits::default(), usize::MAX)
                .0,
            64
        );
        assert_eq!(
            (batch.args.capacity(), batch.commands.capacity()),
            (args, commands)
        );
    }
}
