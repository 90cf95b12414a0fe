//! What a cluster call can fail with: each names what went wrong, and keeps its cause.

use thiserror::Error;

/// A failed cluster call.
#[derive(Debug, Error)]
pub enum ClusterError {
    /// JetStream did not answer, or answered that it has no leader or quorum: the call may be
    /// retried (`-TRYAGAIN`, HTTP 503).
    #[error("the cluster is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Another change reached the same subject first (optimistic concurrency).
    #[error("a concurrent change came first")]
    Conflict,
    /// The configuration cannot work (no URL, a bad name, unreadable credentials).
    #[error("invalid cluster configuration: {0}")]
    InvalidConfig(String),
}

impl ClusterError {
    /// The error for a call that failed for want of the cluster.
    pub(crate) fn unavailable(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        ClusterError::Unavailable(Box::new(err))
    }
}

/// Whether a publish was refused because the subject's last sequence was not the one expected:
/// the client's `WrongLastSequence` (10071), or the same refusal under the code recent servers
/// give a publish that expects a last sequence of a subject (10164), which the client leaves
/// as "other".
pub(crate) fn wrong_last_sequence(err: &async_nats::jetstream::context::PublishError) -> bool {
    use async_nats::jetstream::context::PublishErrorKind;
    use async_nats::jetstream::ErrorCode;
    if err.kind() == PublishErrorKind::WrongLastSequence {
        return true;
    }
    std::error::Error::source(err)
        .and_then(|source| source.downcast_ref::<async_nats::jetstream::Error>())
        .is_some_and(|js| js.error_code() == ErrorCode::STREAM_WRONG_LAST_SEQUENCE_CONSTANT)
}
