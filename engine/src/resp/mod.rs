//! The sidecar protocol of DESIGN §4: RESP2, so that any Redis client can pick senders. Layers
//! as in mini-redis: `frame` (wire format), `batch` (a pipelined burst in one flat buffer),
//! `parse` (argument cursor), `connection` (socket and buffers), `cmd` (one file per command),
//! `session` (a connection's state and batches), `server` (accept loop, workers, limits,
//! shutdown).

pub(crate) mod batch;
mod budget;
pub(crate) mod cmd;
pub(crate) mod connection;
pub(crate) mod frame;
pub(crate) mod parse;
pub(crate) mod reply;
mod server;
pub(crate) mod session;

pub(crate) use server::Server;
