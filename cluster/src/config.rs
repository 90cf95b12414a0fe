//! How to reach the cluster and what to make in it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_nats::rustls::pki_types::pem::PemObject;
use async_nats::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::ClusterError;

/// Cluster settings (`--cluster`, `[cluster]` in the config file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// NATS server URLs: any one reachable is enough, the client learns the rest.
    pub urls: Vec<String>,
    /// The cluster's name: several numpool clusters can share one JetStream, each under its own
    /// stream and bucket names.
    pub name: String,
    /// How this sidecar authenticates to NATS.
    pub credentials: Credentials,
    /// TLS to the NATS servers beyond what a `tls://` URL asks for: the CA to verify them with
    /// and a client certificate to present.
    pub tls: Tls,
    /// Replicas of each stream and bucket made here (3 survives the loss of one server).
    pub replicas: usize,
    /// How long a call waits for JetStream before it is answered "unavailable".
    pub timeout: Duration,
    /// How often the client pings its server: a server that stops answering (stalled, not
    /// closed) is left for another after two unanswered pings, instead of the client's
    /// default of a minute each.
    pub ping_interval: Duration,
    /// Compaction: the sidecar whose admin change is the admin log's record number a multiple
    /// of this writes every account's image and purges the log below the previous one (0:
    /// never).
    pub compact_every: u64,
}

impl ClusterConfig {
    /// A cluster at `urls` named `numpool`, with no credentials, three replicas, a 2 s timeout,
    /// a ping every second and a compaction every 10,000 admin records.
    pub fn new(urls: Vec<String>) -> Self {
        ClusterConfig {
            urls,
            name: "numpool".to_owned(),
            credentials: Credentials::None,
            tls: Tls::default(),
            replicas: 3,
            timeout: Duration::from_secs(2),
            ping_interval: Duration::from_secs(1),
            compact_every: 10_000,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ClusterError> {
        if self.urls.is_empty() {
            return Err(ClusterError::InvalidConfig("no NATS URL".to_owned()));
        }
        let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if self.name.is_empty() || !self.name.chars().all(plain) || self.name.len() > 32 {
            return Err(ClusterError::InvalidConfig(format!(
                "cluster name '{}' must be 1-32 of A-Z, a-z, 0-9, - and _",
                self.name
            )));
        }
        if !(1..=5).contains(&self.replicas) {
            return Err(ClusterError::InvalidConfig(format!(
                "replicas must be 1 to 5 (JetStream's range), not {}",
                self.replicas
            )));
        }
        Ok(())
    }

    /// The client options: credentials, the timeout for requests, a name servers show, and
    /// retries from the first connect on (a sidecar may start before its NATS servers).
    pub(crate) async fn connect_options(&self) -> Result<async_nats::ConnectOptions, ClusterError> {
        let options = async_nats::ConnectOptions::new()
            .name(format!("numpool {}", self.name))
            .request_timeout(Some(self.timeout))
            .connection_timeout(self.timeout)
            .ping_interval(self.ping_interval)
            .retry_on_initial_connect();
        let options = self.tls.apply(options).await?;
        Ok(match &self.credentials {
            Credentials::None => options,
            Credentials::File(path) => options.credentials_file(path).await.map_err(|err| {
                ClusterError::InvalidConfig(format!("credentials file {}: {err}", path.display()))
            })?,
            Credentials::UserPassword { user, password } => {
                options.user_and_password(user.clone(), password.clone())
            }
            Credentials::Token(token) => options.token(token.clone()),
            Credentials::NKey(seed) => options.nkey(seed.clone()),
        })
    }
}

/// TLS settings for the connection to NATS. Either part turns TLS on (as a `tls://` URL
/// does). The CA, when given, is used instead of the system's roots.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    /// PEM file of the CA certificates the servers' certificates must chain to, for servers
    /// whose certificates a private CA signs.
    pub ca: Option<PathBuf>,
    /// PEM files of a client certificate and its private key, for servers that verify their
    /// clients (`verify: true`) or map a certificate to a user (`verify_and_map`).
    pub client: Option<(PathBuf, PathBuf)>,
}

impl Tls {
    /// `options` with these settings. Each file is read and parsed now, as the client will
    /// read it: a file that cannot be read, or that holds no certificate or key, is a
    /// configuration error naming the setting, not a join that retries a handshake it cannot
    /// make and times out saying only that the cluster is unavailable.
    async fn apply(
        &self,
        mut options: async_nats::ConnectOptions,
    ) -> Result<async_nats::ConnectOptions, ClusterError> {
        if let Some(ca) = &self.ca {
            pem_file("CA file (tls_ca, --cluster-tls-ca)", ca, certificates).await?;
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let Some((cert, key)) = &self.client {
            let (cert_setting, key_setting) = (
                "client certificate (tls_cert, --cluster-tls-cert)",
                "client key (tls_key, --cluster-tls-key)",
            );
            pem_file(cert_setting, cert, certificates).await?;
            pem_file(key_setting, key, private_key).await?;
            options = options
                .add_client_certificate(cert.clone(), key.clone())
                .require_tls(true);
        }
        Ok(options)
    }
}

/// Reads `path`, the TLS `setting`, and checks what it holds with `holds`.
async fn pem_file(
    setting: &str,
    path: &Path,
    holds: fn(&[u8]) -> Result<(), String>,
) -> Result<(), ClusterError> {
    let refused = |why: String| {
        ClusterError::InvalidConfig(format!("TLS {setting} {}: {why}", path.display()))
    };
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|err| refused(err.to_string()))?;
    holds(&bytes).map_err(refused)
}

/// PEM with at least one certificate, every one of them well formed.
fn certificates(pem: &[u8]) -> Result<(), String> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| err.to_string())?;
    match certificates.is_empty() {
        true => Err("holds no PEM certificate".to_owned()),
        false => Ok(()),
    }
}

/// PEM with a private key.
fn private_key(pem: &[u8]) -> Result<(), String> {
    PrivateKeyDer::from_pem_slice(pem)
        .map(drop)
        .map_err(|err| err.to_string())
}

/// NATS authentication, as `async-nats` supports it.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// None: an open server.
    None,
    /// A `.creds` file (JWT and NKey seed), as `nsc` writes it.
    File(PathBuf),
    /// A user and password.
    UserPassword {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
    /// A token.
    Token(String),
    /// An NKey seed.
    NKey(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never a secret: only which kind.
        f.write_str(match self {
            Credentials::None => "None",
            Credentials::File(_) => "File",
            Credentials::UserPassword { .. } => "UserPassword",
            Credentials::Token(_) => "Token",
            Credentials::NKey(_) => "NKey",
        })
    }
}
