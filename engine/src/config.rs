//! Configuration (DESIGN §9): a TOML file whose every key can also be set by a flag.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::durability::FsyncPolicy;
use numpool_core::model::{Account, AccountId, BadSecretDigest, IdError};

/// The whole configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the RESP sidecar listens.
    #[serde(default = "default_resp")]
    pub resp: SocketAddr,
    /// Where the REST API listens.
    #[serde(default = "default_http")]
    pub http: SocketAddr,
    /// Where state is kept; `None` keeps it in memory only.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// When sticky assignments are fsynced: `always`, `everysec` or `no`.
    #[serde(default)]
    pub fsync: FsyncPolicy,
    /// Snapshot at least this often (seconds).
    #[serde(default = "default_snapshot_interval")]
    pub snapshot_interval_seconds: u64,
    /// Snapshot when the journal grows past this many bytes.
    #[serde(default = "default_snapshot_journal_bytes")]
    pub snapshot_journal_bytes: u64,
    /// Binds the RESP listener to this account so clients need no `AUTH` (loopback only).
    #[serde(default)]
    pub sidecar_account: Option<String>,
    /// Protocol limits.
    #[serde(default)]
    pub limits: Limits,
    /// The accounts.
    #[serde(default)]
    pub(crate) accounts: Vec<AccountConfig>,
}

/// Limits that protect the servers from hostile or broken clients (DESIGN §4, §5).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest RESP argument, bytes.
    pub max_arg_bytes: usize,
    /// Most arguments in one RESP command.
    pub max_args: usize,
    /// Most simultaneous RESP connections.
    pub max_connections: usize,
    /// A RESP connection silent this long is closed; 0 never closes.
    pub idle_timeout_seconds: u64,
    /// Largest REST request body, bytes.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_arg_bytes: 64 * 1024,
            max_args: 1024,
            max_connections: 10_000,
            idle_timeout_seconds: 300,
            max_body_bytes: 256 * 1024,
        }
    }
}

/// One `[[accounts]]` table.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountConfig {
    /// The key, also the `account_id`.
    pub(crate) api_key: String,
    /// The secret in clear…
    #[serde(default)]
    pub(crate) api_secret: Option<String>,
    /// …or its hex SHA-256.
    #[serde(default)]
    pub(crate) api_secret_sha256: Option<String>,
}

impl std::fmt::Debug for AccountConfig {
    /// Secrets never reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountConfig")
            .field("api_key", &self.api_key)
            .finish_non_exhaustive()
    }
}

/// Why the configuration was refused.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("invalid config {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
    /// An account's key is malformed.
    #[error(transparent)]
    AccountId(#[from] IdError),
    /// An account has neither or both of `api_secret` and `api_secret_sha256`.
    #[error("account {0} needs exactly one of api_secret and api_secret_sha256")]
    Secret(String),
    /// An `api_secret_sha256` is not 64 hex digits.
    #[error("account {0}: {1}")]
    Digest(String, BadSecretDigest),
    /// Two accounts share a key.
    #[error("account {0} is configured twice")]
    DuplicateAccount(String),
    /// The sidecar account is not configured.
    #[error("sidecar_account {0} is not a configured account")]
    UnknownSidecarAccount(String),
    /// A sidecar account on a non-loopback address would let anyone on the network pick.
    #[error("sidecar_account needs a loopback RESP address, not {0}")]
    SidecarNotLoopback(SocketAddr),
}

fn default_snapshot_interval() -> u64 {
    300
}

fn default_snapshot_journal_bytes() -> u64 {
    64 * 1024 * 1024
}

fn default_resp() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7400))
}

fn default_http() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7401))
}

impl Default for Config {
    fn default() -> Self {
        Config {
            resp: default_resp(),
            http: default_http(),
            data_dir: None,
            fsync: FsyncPolicy::default(),
            snapshot_interval_seconds: default_snapshot_interval(),
            snapshot_journal_bytes: default_snapshot_journal_bytes(),
            sidecar_account: None,
            limits: Limits::default(),
            accounts: Vec::new(),
        }
    }
}

impl Config {
    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// The validated accounts, and checks that tie settings to them.
    pub fn accounts(&self) -> Result<Vec<Account>, ConfigError> {
        let mut accounts: Vec<Account> = Vec::new();
        for entry in &self.accounts {
            let id = AccountId::new(&entry.api_key)?;
            if accounts.iter().any(|a| a.id == id) {
                return Err(ConfigError::DuplicateAccount(entry.api_key.clone()));
            }
            let account = match (&entry.api_secret, &entry.api_secret_sha256) {
                (Some(secret), None) => Account::with_secret(id, secret),
                (None, Some(digest)) => Account::with_secret_sha256(id, digest)
                    .map_err(|e| ConfigError::Digest(entry.api_key.clone(), e))?,
                _ => return Err(ConfigError::Secret(entry.api_key.clone())),
            };
            accounts.push(account);
        }
        if let Some(sidecar) = &self.sidecar_account {
            if !accounts.iter().any(|a| a.id.as_str() == sidecar) {
                return Err(ConfigError::UnknownSidecarAccount(sidecar.clone()));
            }
            if !self.resp.ip().is_loopback() {
                return Err(ConfigError::SidecarNotLoopback(self.resp));
            }
        }
        Ok(accounts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn defaults_and_accounts() {
        let config = parse(
            r#"
            [[accounts]]
            api_key = "abcd1234"
            api_secret = "s3cret"
            [[accounts]]
            api_key = "efgh5678"
            api_secret_sha256 = "4b6f3d0e8a1b4d7c9e2f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f809"
            "#,
        );
        assert_eq!(config.resp, default_resp());
        assert_eq!(config.limits.max_args, 1024);
        let accounts = config.accounts().unwrap();
        assert!(accounts[0].secret_matches("s3cret"));
        assert_eq!(accounts[1].id.as_str(), "efgh5678");
    }

    #[test]
    fn each_mistake_is_named() {
        let both = parse(
            "[[accounts]]\napi_key = \"abcd1234\"\napi_secret = \"a\"\napi_secret_sha256 = \"b\"",
        );
        assert!(matches!(both.accounts(), Err(ConfigError::Secret(_))));
        let bad_key = parse("[[accounts]]\napi_key = \"ABCD\"\napi_secret = \"a\"");
        assert!(matches!(bad_key.accounts(), Err(ConfigError::AccountId(_))));
        let twice = parse("[[accounts]]\napi_key = \"abcd1234\"\napi_secret = \"a\"\n[[accounts]]\napi_key = \"abcd1234\"\napi_secret = \"b\"");
        assert!(matches!(
            twice.accounts(),
            Err(ConfigError::DuplicateAccount(_))
        ));
        let sidecar = parse("sidecar_account = \"zzzz9999\"");
        assert!(matches!(
            sidecar.accounts(),
            Err(ConfigError::UnknownSidecarAccount(_))
        ));
        let public = parse("resp = \"0.0.0.0:7400\"\nsidecar_account = \"abcd1234\"\n[[accounts]]\napi_key = \"abcd1234\"\napi_secret = \"a\"");
        assert!(matches!(
            public.accounts(),
            Err(ConfigError::SidecarNotLoopback(_))
        ));
        assert!(toml::from_str::<Config>("unknown_key = 1").is_err());
    }
}
