//! After a run over several sidecars of a cluster (`--targets`): the most-asked recipients
//! are asked again on every sidecar, one at a time, and each whose answers differ is a
//! disagreement (DESIGN §10: one answer per recipient). The hot recipients are the ones the
//! run's connections asked of different sidecars at once, so they are where the cluster's
//! claims were contended.

use crate::client::{connect, ClientError, ConnConfig};
use crate::resp::Reply;
use crate::workload::Workload;
use serde::{Deserialize, Serialize};

/// Most recipients asked again.
pub const RECHECKED: usize = 2_000;

/// What asking again found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recheck {
    /// Recipients asked on every sidecar.
    pub recipients: u64,
    /// Recipients whose answers were not all the same.
    pub disagreements: u64,
    /// Recipients some sidecar answered with an error (not counted as disagreements).
    pub errors: u64,
}

/// Asks the first [`RECHECKED`] commands of `workload` on every server of `targets`.
pub async fn recheck(targets: &[ConnConfig], workload: &Workload) -> Result<Recheck, ClientError> {
    let mut conns = Vec::with_capacity(targets.len());
    for target in targets {
        conns.push((connect(target).await?, target));
    }
    let mut found = Recheck {
        recipients: 0,
        disagreements: 0,
        errors: 0,
    };
    for i in 0..workload.len().min(RECHECKED) {
        let mut answers = Vec::with_capacity(conns.len());
        for (conn, target) in &mut conns {
            let reply = conn
                .request(workload.command(i), target.timeout)
                .await
                .map_err(|what| ClientError::Setup {
                    addr: target.addr.clone(),
                    what,
                })?;
            answers.push(reply);
        }
        found.recipients += 1;
        if answers.iter().any(|a| matches!(a, Reply::Error { .. })) {
            found.errors += 1;
        } else if answers.windows(2).any(|pair| pair[0] != pair[1]) {
            found.disagreements += 1;
        }
    }
    Ok(found)
}
