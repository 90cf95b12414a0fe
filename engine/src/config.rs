//! Configuration (DESIGN §9), each key defined once: a field of `Config` is at the same time
//! a TOML key (the limits under `[limits]`), a `numpool serve` flag of the same name and its
//! default. The file is read first and each flag given overrides its key; the result is
//! checked once, after `--demo` has added its account.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::parser::ValueSource;
use clap::{ArgMatches, FromArgMatches};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::demo;
use crate::durability::FsyncPolicy;
use crate::engine::AccountLimits;
use numpool_core::model::{Account, AccountId, BadSecretDigest, IdError};

/// The whole configuration: the TOML schema and the `serve` flags.
#[derive(Clone, Debug, Deserialize, Serialize, clap::Args)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    /// Where the RESP sidecar listens.
    #[arg(long, default_value = "127.0.0.1:7400")]
    pub(crate) resp: SocketAddr,
    /// Where the REST API listens.
    #[arg(long, default_value = "127.0.0.1:7401")]
    pub(crate) http: SocketAddr,
    /// Where state is kept, so a restart forgets nothing [default: ./numpool-data, or memory
    /// with --demo].
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// Keep state in memory only: a restart forgets every pool.
    #[arg(long)]
    pub(crate) in_memory: bool,
    /// When sticky assignments are fsynced: `always`, `everysec` or `no` (what each can lose:
    /// docs/ARCHITECTURE.md).
    #[arg(long, default_value = "everysec")]
    pub(crate) fsync: FsyncPolicy,
    /// How log lines are written: `text` (colours only on a terminal) or `json`, one object
    /// per line, for log collectors.
    #[arg(long, default_value = "text")]
    pub(crate) log_format: LogFormat,
    /// Snapshot at least this often (seconds), so recovery replays a bounded journal.
    #[arg(long, default_value_t = 300)]
    pub(crate) snapshot_interval_seconds: u64,
    /// Snapshot when the journal grows past this many bytes, whatever the interval.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    pub(crate) snapshot_journal_bytes: u64,
    /// Binds the RESP listener to this account so clients need no `AUTH` (loopback only).
    #[arg(long)]
    pub(crate) sidecar_account: Option<String>,
    /// Serve `/metrics` on this address of its own, and not on the REST listener: for an
    /// operations network the tenants of the REST API cannot reach.
    #[arg(long)]
    pub(crate) metrics_listen: Option<SocketAddr>,
    /// Add per-account series to `/metrics`: off by default, since whoever reads `/metrics`
    /// would see every account's figures.
    #[arg(long)]
    pub(crate) metrics_per_account: bool,
    /// The bearer token `/metrics` requires, if any: file only, since a secret on a command
    /// line is visible to every local user; never serialized, like the accounts.
    #[arg(skip)]
    #[serde(skip_serializing)]
    pub(crate) metrics_token: Option<MetricsToken>,
    /// Event loops serving RESP connections, HTTP workers and pool arbiters: one per core
    /// by default (DESIGN §4), so no single thread carries every connection.
    #[arg(long)]
    pub(crate) workers: Option<NonZeroUsize>,
    /// Protocol limits: the `[limits]` table; their flags carry no prefix.
    #[command(flatten)]
    pub(crate) limits: Limits,
    /// Cluster mode (DESIGN §10): the `[cluster]` table; its flags start with `--cluster`.
    #[command(flatten)]
    pub(crate) cluster: ClusterSettings,
    /// The `[[accounts]]` tables: file only, since a secret on a command line is visible to
    /// every local user; never serialized, so secrets never leave this struct.
    #[arg(skip)]
    #[serde(skip_serializing)]
    pub(crate) accounts: Vec<AccountConfig>,
}

/// Limits that protect the servers from hostile or broken clients and each account from the
/// others (DESIGN §4, §5).
#[derive(Clone, Debug, Deserialize, Serialize, clap::Args)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Limits {
    /// Largest RESP argument in bytes: bounds what one command can make the server buffer.
    #[arg(long, default_value_t = 64 * 1024)]
    pub(crate) max_arg_bytes: usize,
    /// Most arguments in one RESP command, for the same reason.
    #[arg(long, default_value_t = 1024)]
    pub(crate) max_args: usize,
    /// Most simultaneous RESP connections, so clients cannot exhaust file descriptors.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) max_connections: usize,
    /// Close a RESP connection that sends no complete command for this long (seconds), freeing
    /// its slot; 0 never closes. Bytes that never make a command do not count.
    #[arg(long, default_value_t = 300)]
    pub(crate) idle_timeout_seconds: u64,
    /// Close a RESP connection not authenticated this long (seconds) after it connected.
    #[arg(long, default_value_t = 10)]
    pub(crate) auth_deadline_seconds: u64,
    /// Bytes of received, not yet executed RESP input the whole server may hold: past it,
    /// connections wait before reading more, so no number of clients can exhaust memory.
    #[arg(long, default_value_t = 256 * 1024 * 1024)]
    pub(crate) max_buffered_input_bytes: usize,
    /// Largest REST request body in bytes.
    #[arg(long, default_value_t = 256 * 1024)]
    pub(crate) max_body_bytes: usize,
    /// Most pools one account may have: a create past it is refused.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) max_pools_per_account: usize,
    /// Most numbers one account's inventory may hold: an upsert that would add past it is
    /// refused whole.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) max_numbers_per_account: usize,
    /// Most numbers one pool may hold: an add that would pass it is refused whole.
    #[arg(long, default_value_t = 100_000)]
    pub(crate) max_numbers_per_pool: usize,
    /// Most recipients one pool may hold opted out: a new opt-out past it (from the API, a
    /// keyword or a receipt) is refused and changes nothing.
    #[arg(long, default_value_t = 10_000_000)]
    pub(crate) max_opt_outs_per_pool: usize,
    /// After a failed authentication (RESP or HTTP), the client address's next attempt waits
    /// this long (milliseconds) before it is judged, doubling with each further failure, so
    /// guessing secrets costs time; 0 turns the delay off.
    #[arg(long, default_value_t = 10)]
    pub(crate) auth_failure_delay_ms: u64,
    /// The longest such delay (milliseconds).
    #[arg(long, default_value_t = 5_000)]
    pub(crate) auth_failure_max_delay_ms: u64,
}

impl Config {
    /// How many workers to run: `workers`, else one per available core.
    pub(crate) fn worker_count(&self) -> usize {
        self.workers.map_or_else(
            || std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
            NonZeroUsize::get,
        )
    }
}

impl Limits {
    /// The per-account limits the engine enforces.
    pub(crate) fn account(&self) -> AccountLimits {
        AccountLimits {
            pools: self.max_pools_per_account,
            numbers: self.max_numbers_per_account,
            numbers_per_pool: self.max_numbers_per_pool,
            opt_outs_per_pool: self.max_opt_outs_per_pool,
        }
    }
}

/// The defaults are the flags' (one place for each): what parsing no flag at all gives.
fn defaults<T: clap::Args + FromArgMatches>() -> T {
    let command = T::augment_args(clap::Command::new("numpool"));
    let matches = command
        .try_get_matches_from(["numpool"])
        .expect("every configuration flag has a default or is optional");
    T::from_arg_matches(&matches).expect("the defaults parse")
}

impl Default for Config {
    fn default() -> Self {
        defaults()
    }
}

impl Default for ClusterSettings {
    fn default() -> Self {
        defaults()
    }
}

/// The cluster to join (DESIGN §10, docs/cluster.md); with no URL, numpool runs alone.
#[derive(Clone, Debug, Deserialize, Serialize, clap::Args)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ClusterSettings {
    /// Join the cluster whose NATS JetStream servers these are (comma-separated
    /// `nats://host:port` URLs): state is shared with every sidecar of the cluster.
    #[arg(long = "cluster", value_delimiter = ',')]
    pub(crate) urls: Vec<String>,
    /// The cluster's name, so that several clusters can share one JetStream.
    #[arg(long = "cluster-name", default_value = "numpool")]
    pub(crate) name: String,
    /// This sidecar's id in the cluster [default: the host name and process id].
    #[arg(long = "cluster-member")]
    pub(crate) member: Option<String>,
    /// A NATS `.creds` file (JWT and NKey seed) to authenticate with.
    #[arg(long = "cluster-credentials")]
    pub(crate) credentials: Option<PathBuf>,
    /// A NATS user, with `password`: file only, like every secret.
    #[arg(skip)]
    #[serde(skip_serializing)]
    pub(crate) user: Option<String>,
    /// The NATS user's password: file only.
    #[arg(skip)]
    #[serde(skip_serializing)]
    pub(crate) password: Option<String>,
    /// A NATS token: file only.
    #[arg(skip)]
    #[serde(skip_serializing)]
    pub(crate) token: Option<String>,
    /// A NATS NKey seed: file only.
    #[arg(skip)]
    #[serde(skip_serializing)]
    pub(crate) nkey: Option<String>,
    /// A PEM file of the CA certificates that sign the NATS servers' certificates (TLS on,
    /// as with `tls://` URLs) [default: the system's roots].
    #[arg(long = "cluster-tls-ca")]
    pub(crate) tls_ca: Option<PathBuf>,
    /// A PEM client certificate to present to the NATS servers, with `--cluster-tls-key`.
    #[arg(long = "cluster-tls-cert")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The PEM private key of `--cluster-tls-cert`.
    #[arg(long = "cluster-tls-key")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Replicas of the streams and buckets this sidecar creates (3 survives one lost server).
    #[arg(long = "cluster-replicas", default_value_t = 3)]
    pub(crate) replicas: usize,
    /// How long a call waits for JetStream before it is answered "unavailable" (ms).
    #[arg(long = "cluster-timeout-ms", default_value_t = 2000)]
    pub(crate) timeout_ms: u64,
    /// Compact the admin log every this many records: write each account's image and purge
    /// its records below the previous one (0: never).
    #[arg(long = "cluster-compact-every", default_value_t = 10_000)]
    pub(crate) compact_every: u64,
}

/// The NATS credentials only the file may give, held aside while the flags are layered over
/// it (they are never serialized): user, password, token, NKey seed.
type NatsSecrets = [Option<String>; 4];

impl ClusterSettings {
    /// Takes the file-only credentials out.
    fn take_secrets(&mut self) -> NatsSecrets {
        [
            self.user.take(),
            self.password.take(),
            self.token.take(),
            self.nkey.take(),
        ]
    }

    /// Puts back what [`ClusterSettings::take_secrets`] took.
    fn restore_secrets(&mut self, [user, password, token, nkey]: NatsSecrets) {
        (self.user, self.password, self.token, self.nkey) = (user, password, token, nkey);
    }

    /// The cluster's configuration, when one is given; [`ConfigError::Cluster`] for
    /// credentials given two ways, a user without a password, a TLS client certificate
    /// without its key (or a key without its certificate), or settings that only a cluster
    /// uses given without one (they would be ignored, and the process run alone).
    pub(crate) fn cluster_config(
        &self,
    ) -> Result<Option<numpool_cluster::ClusterConfig>, ConfigError> {
        use numpool_cluster::Credentials;
        if self.urls.is_empty() {
            let given: Vec<&str> = [
                ("member", self.member.is_some()),
                ("credentials", self.credentials.is_some()),
                ("user", self.user.is_some()),
                ("password", self.password.is_some()),
                ("token", self.token.is_some()),
                ("nkey", self.nkey.is_some()),
                ("tls_ca", self.tls_ca.is_some()),
                ("tls_cert", self.tls_cert.is_some()),
                ("tls_key", self.tls_key.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, given)| given.then_some(name))
            .collect();
            return match given[..] {
                [] => Ok(None),
                _ => Err(ConfigError::Cluster(format!(
                    "{} given without the cluster's urls (`urls`, `--cluster`): they apply to a cluster only",
                    given.join(", ")
                ))),
            };
        }
        let given = [
            self.credentials.is_some(),
            self.user.is_some() || self.password.is_some(),
            self.token.is_some(),
            self.nkey.is_some(),
        ];
        let credentials = match (given.iter().filter(|g| **g).count(), self) {
            (0, _) => Credentials::None,
            (
                1,
                ClusterSettings {
                    credentials: Some(path),
                    ..
                },
            ) => Credentials::File(path.clone()),
            (
                1,
                ClusterSettings {
                    user: Some(user),
                    password: Some(password),
                    ..
                },
            ) => Credentials::UserPassword {
                user: user.clone(),
                password: password.clone(),
            },
            (
                1,
                ClusterSettings {
                    token: Some(token), ..
                },
            ) => Credentials::Token(token.clone()),
            (
                1,
                ClusterSettings {
                    nkey: Some(seed), ..
                },
            ) => Credentials::NKey(seed.clone()),
            (1, _) => {
                return Err(ConfigError::Cluster(
                    "a NATS user needs a password, and a password a user".into(),
                ))
            }
            _ => {
                return Err(ConfigError::Cluster(
                    "give one kind of NATS credentials".into(),
                ))
            }
        };
        let client = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Cluster(
                    "a TLS client certificate needs its key, and a key its certificate".into(),
                ))
            }
        };
        let mut config = numpool_cluster::ClusterConfig::new(self.urls.clone());
        config.name = self.name.clone();
        config.credentials = credentials;
        config.tls = numpool_cluster::Tls {
            ca: self.tls_ca.clone(),
            client,
        };
        config.replicas = self.replicas;
        config.timeout = std::time::Duration::from_millis(self.timeout_ms.max(1));
        config.compact_every = self.compact_every;
        Ok(Some(config))
    }
}

impl Default for Limits {
    fn default() -> Self {
        defaults()
    }
}

/// `--fsync` reads the same names as the `fsync` key (the policy's serde names), so the names
/// are written once, in `durability`, which knows nothing of the command line.
impl FromStr for FsyncPolicy {
    type Err = serde::de::value::Error;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        by_serde_name(name)
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines; colours only when stderr is a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = serde::de::value::Error;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        by_serde_name(name)
    }
}

/// The `/metrics` bearer token: kept as its SHA-256 and compared in constant time, so neither
/// its bytes nor how much of a guess matched show, in a log or in timing.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct MetricsToken([u8; 32]);

/// An empty `metrics_token`, which would make every `Bearer` header with nothing after it fit.
#[derive(Debug, Error)]
#[error("metrics_token must not be empty")]
pub(crate) struct EmptyToken;

impl TryFrom<String> for MetricsToken {
    type Error = EmptyToken;

    fn try_from(token: String) -> Result<Self, EmptyToken> {
        if token.is_empty() {
            return Err(EmptyToken);
        }
        Ok(MetricsToken(Sha256::digest(token.as_bytes()).into()))
    }
}

impl MetricsToken {
    /// Whether `given` is the token.
    pub(crate) fn matches(&self, given: &str) -> bool {
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        given.ct_eq(&self.0).into()
    }
}

impl std::fmt::Debug for MetricsToken {
    /// Never the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(…)")
    }
}

/// A flag's value read by the names its TOML key takes (the type's serde names).
fn by_serde_name<T: serde::de::DeserializeOwned>(name: &str) -> Result<T, serde::de::value::Error> {
    use serde::de::IntoDeserializer as _;
    T::deserialize(name.into_deserializer())
}

/// `numpool serve`'s arguments: the file, `--demo`, and a flag for every configuration key.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file; a flag given as well overrides its key.
    #[arg(long, env = "NUMPOOL_CONFIG")]
    config: Option<PathBuf>,
    /// Adds a demo account with an inventory and pools, and prints how to try it.
    #[arg(long)]
    demo: bool,
    /// A flag for every configuration key, kept only where given.
    #[command(flatten)]
    flags: Flags,
}

/// The configuration flags given on the command line (or by their environment), as a TOML
/// table shaped like the file, so they layer over it by key with no code per key.
#[derive(Clone, Debug, Default)]
struct Flags(toml::Table);

impl clap::Args for Flags {
    fn augment_args(command: clap::Command) -> clap::Command {
        Config::augment_args(command)
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Config::augment_args_for_update(command)
    }
}

impl FromArgMatches for Flags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let given: Vec<&str> = matches
            .ids()
            .map(|id| id.as_str())
            .filter(|id| {
                matches
                    .value_source(id)
                    .is_some_and(|source| source != ValueSource::DefaultValue)
            })
            .collect();
        let all = toml::Table::try_from(Config::from_arg_matches(matches)?).map_err(|e| {
            let why = format!("{e} (a configuration value must fit TOML)\n");
            clap::Error::raw(clap::error::ErrorKind::InvalidValue, why)
        })?;
        Ok(Flags(keep(all, &given)))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Flags::from_arg_matches(matches)?;
        Ok(())
    }
}

/// The entries of `table`, at any depth, whose key is one of `keys` (clap's argument ids are
/// unique across flattened structs, so a name is never ambiguous).
fn keep(table: toml::Table, keys: &[&str]) -> toml::Table {
    table
        .into_iter()
        .filter_map(|(key, value)| match value {
            toml::Value::Table(inner) => {
                let inner = keep(inner, keys);
                (!inner.is_empty()).then_some((key, toml::Value::Table(inner)))
            }
            value => keys.contains(&key.as_str()).then_some((key, value)),
        })
        .collect()
}

/// Writes `over` into `base`, merging tables key by key.
fn layer(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base)), toml::Value::Table(over)) => layer(base, over),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// The data directory when neither `data_dir` nor `in_memory` is set: state persists by
/// default, beside where numpool was started, as Redis keeps its working directory.
pub(crate) const DEFAULT_DATA_DIR: &str = "numpool-data";

/// Where the state lives, as the configuration decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Storage {
    /// In memory only (`in_memory`, or `--demo` without a data directory).
    Memory,
    /// In this data directory.
    Dir(PathBuf),
}

impl Settings {
    /// How the binary should write its log.
    pub fn log_format(&self) -> LogFormat {
        self.config.log_format
    }
}

/// What `numpool serve` runs: a configuration that passed every check, and its accounts.
#[derive(Debug)]
pub struct Settings {
    /// The file with the flags over it.
    pub(crate) config: Config,
    /// Where the state lives.
    pub(crate) storage: Storage,
    /// The accounts, built from the configuration (and `--demo`) and checked.
    pub(crate) accounts: Vec<Account>,
    /// Whether to seed the demo data and print how to try it.
    pub(crate) demo: bool,
}

impl ServeArgs {
    /// The file (or the defaults) with each given flag over it and the demo account added when
    /// `--demo` asks for it, checked once.
    pub fn validate(self) -> Result<Settings, ConfigError> {
        let file = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        let mut config = file.overlay(&self.flags)?;
        if self.demo {
            config.accounts.push(AccountConfig {
                api_key: demo::DEMO_KEY.to_owned(),
                api_secret: Some(demo::DEMO_SECRET.to_owned()),
                api_secret_sha256: None,
            });
        }
        let accounts = config.accounts()?;
        let clustered = !config.cluster.urls.is_empty();
        let storage = match (&config.data_dir, config.in_memory) {
            (Some(_), true) => return Err(ConfigError::StorageConflict),
            (Some(dir), false) => Storage::Dir(dir.clone()),
            (None, true) => Storage::Memory,
            // The demo is for trying things: it starts afresh each time unless asked.
            (None, false) if self.demo || clustered => Storage::Memory,
            (None, false) => Storage::Dir(PathBuf::from(DEFAULT_DATA_DIR)),
        };
        Ok(Settings {
            config,
            storage,
            accounts,
            demo: self.demo,
        })
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
    /// …or its hex SHA-256, so the file need not hold the secret.
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
    /// The `[cluster]` settings cannot work.
    #[error("cluster: {0}")]
    Cluster(String),
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
    /// The flags could not be laid over the file (a value TOML cannot hold).
    #[error("cannot apply the flags: {0}")]
    Flags(#[source] toml::de::Error),
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
    /// Both a data directory and in-memory state were asked for.
    #[error("data_dir and in_memory contradict each other: give one")]
    StorageConflict,
    /// A sidecar account on a non-loopback address would let anyone on the network pick.
    #[error("sidecar_account needs a loopback RESP address, not {0}")]
    SidecarNotLoopback(SocketAddr),
}

impl Config {
    /// Reads `path`; a key it does not set keeps its default.
    fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// This configuration with each of `flags` over its key.
    fn overlay(mut self, flags: &Flags) -> Result<Self, ConfigError> {
        let accounts = std::mem::take(&mut self.accounts);
        let metrics_token = self.metrics_token.take();
        let nats_secrets = self.cluster.take_secrets();
        let mut table = toml::Table::try_from(self)
            .map_err(|e| ConfigError::Flags(serde::de::Error::custom(e)))?;
        layer(&mut table, flags.0.clone());
        let mut config: Config = table.try_into().map_err(ConfigError::Flags)?;
        config.accounts = accounts;
        config.metrics_token = metrics_token;
        config.cluster.restore_secrets(nats_secrets);
        Ok(config)
    }

    /// The validated accounts, and checks that tie settings to them.
    fn accounts(&self) -> Result<Vec<Account>, ConfigError> {
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
        assert_eq!(config.resp, SocketAddr::from(([127, 0, 0, 1], 7400)));
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

    /// `numpool serve` with `args`, read by clap as the binary reads them.
    fn serve(args: &[&str]) -> ServeArgs {
        let command = <ServeArgs as clap::Args>::augment_args(clap::Command::new("serve"));
        let argv = std::iter::once("serve").chain(args.iter().copied());
        ServeArgs::from_arg_matches(&command.try_get_matches_from(argv).unwrap()).unwrap()
    }

    /// A config file holding `text`, and `--config <it>` followed by `args`.
    #[test]
    fn the_cluster_table_and_its_flags_give_the_cluster_to_join() {
        let file = "[cluster]\nurls = [\"nats://a:4222\", \"nats://b:4222\"]\nname = \"east\"\ntoken = \"t0k\"\n\
                    [[accounts]]\napi_key = \"abcd1234\"\napi_secret = \"a\"";
        let settings = with_file(file, &["--cluster-timeout-ms", "500"]).unwrap();
        let cluster = settings.config.cluster.cluster_config().unwrap().unwrap();
        assert_eq!(cluster.urls, ["nats://a:4222", "nats://b:4222"]);
        assert_eq!(cluster.name, "east");
        assert_eq!(
            cluster.credentials,
            numpool_cluster::Credentials::Token("t0k".into())
        );
        assert_eq!(cluster.timeout, std::time::Duration::from_millis(500));
        assert_eq!(cluster.compact_every, 10_000);
        let never = with_file(file, &["--cluster-compact-every", "0"]).unwrap();
        let never = never.config.cluster.cluster_config().unwrap().unwrap();
        assert_eq!(never.compact_every, 0);
        // In memory: the cluster is the store.
        assert_eq!(settings.storage, Storage::Memory);
        // The flag alone, over no file.
        let flags = serve(&["--cluster", "nats://c:4222,nats://d:4222"])
            .validate()
            .unwrap();
        let cluster = flags.config.cluster.cluster_config().unwrap().unwrap();
        assert_eq!(cluster.urls, ["nats://c:4222", "nats://d:4222"]);
        // Two kinds of credentials, a user without a password: refused.
        let two = "[cluster]\nurls = [\"nats://a:4222\"]\ntoken = \"t\"\nnkey = \"SU\"\n";
        let two = with_file(two, &[]).unwrap().config.cluster.cluster_config();
        assert!(matches!(two, Err(ConfigError::Cluster(_))));
        let user = "[cluster]\nurls = [\"nats://a:4222\"]\nuser = \"u\"\n";
        let user = with_file(user, &[])
            .unwrap()
            .config
            .cluster
            .cluster_config();
        assert!(matches!(user, Err(ConfigError::Cluster(_))));
        // TLS: the CA and the client certificate, from the file or the flags.
        let tls = "[cluster]\nurls = [\"tls://a:4222\"]\ntls_ca = \"/etc/ca.pem\"\n";
        let tls = with_file(
            tls,
            &["--cluster-tls-cert", "c.pem", "--cluster-tls-key", "c.key"],
        );
        let tls = tls
            .unwrap()
            .config
            .cluster
            .cluster_config()
            .unwrap()
            .unwrap()
            .tls;
        assert_eq!(tls.ca, Some("/etc/ca.pem".into()));
        assert_eq!(tls.client, Some(("c.pem".into(), "c.key".into())));
        // A certificate without its key, a key without its certificate: refused.
        for half in ["--cluster-tls-cert", "--cluster-tls-key"] {
            let half = serve(&["--cluster", "tls://a:4222", half, "c.pem"]);
            let half = half.validate().unwrap().config.cluster.cluster_config();
            assert!(
                matches!(&half, Err(ConfigError::Cluster(why)) if why.contains("needs its key")),
                "{half:?}"
            );
        }
        // A data directory, for checkpoints.
        let dir = serve(&["--cluster", "nats://a:4222", "--data-dir", "/tmp/x"]).validate();
        assert_eq!(dir.unwrap().storage, Storage::Dir("/tmp/x".into()));
        // Settings only a cluster uses, without one: refused, naming them.
        let alone = serve(&["--cluster-tls-ca", "ca.pem", "--cluster-member", "s0"]);
        let alone = alone.validate().unwrap().config.cluster.cluster_config();
        assert!(
            matches!(&alone, Err(ConfigError::Cluster(why)) if why.starts_with("member, tls_ca given without")),
            "{alone:?}"
        );
        // Without urls, no cluster.
        assert!(serve(&[])
            .validate()
            .unwrap()
            .config
            .cluster
            .cluster_config()
            .unwrap()
            .is_none());
    }

    fn with_file(text: &str, args: &[&str]) -> Result<Settings, ConfigError> {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        let path = file.path().to_str().unwrap();
        let argv: Vec<&str> = ["--config", path].iter().chain(args).copied().collect();
        serve(&argv).validate()
    }

    #[test]
    fn a_flag_overrides_the_file() {
        let file = "resp = \"127.0.0.1:9000\"\nfsync = \"always\"\n[limits]\nmax_args = 7\nmax_arg_bytes = 16\nmax_pools_per_account = 4\nmax_numbers_per_pool = 9";
        let settings = with_file(
            file,
            &[
                "--max-args",
                "3",
                "--resp",
                "127.0.0.1:9001",
                "--max-numbers-per-pool",
                "8",
            ],
        )
        .unwrap();
        assert_eq!(settings.config.limits.max_args, 3);
        let account = settings.config.limits.account();
        assert_eq!((account.pools, account.numbers_per_pool), (4, 8));
        assert_eq!(
            settings.config.resp,
            SocketAddr::from(([127, 0, 0, 1], 9001))
        );
        // A flag that repeats the default still wins over the file.
        let settings = with_file(file, &["--max-args", "1024", "--fsync", "everysec"]).unwrap();
        assert_eq!(settings.config.limits.max_args, 1024);
        assert_eq!(settings.config.fsync, FsyncPolicy::Everysec);
    }

    #[test]
    fn the_file_value_stays_where_no_flag_is_given() {
        let file = "fsync = \"always\"\nsnapshot_interval_seconds = 5\n[limits]\nmax_arg_bytes = 16\n[[accounts]]\napi_key = \"abcd1234\"\napi_secret = \"a\"";
        let settings = with_file(file, &["--max-args", "3"]).unwrap();
        let config = &settings.config;
        assert_eq!(config.limits.max_arg_bytes, 16);
        assert_eq!(config.limits.max_args, 3);
        assert_eq!(config.fsync, FsyncPolicy::Always);
        assert_eq!(config.snapshot_interval_seconds, 5);
        // Keys neither gives keep their defaults; the file's accounts survive the flags.
        assert_eq!(config.limits.max_connections, 10_000);
        assert_eq!(config.resp, SocketAddr::from(([127, 0, 0, 1], 7400)));
        assert_eq!(settings.accounts[0].id.as_str(), "abcd1234");
        assert!(!settings.demo);
    }

    #[test]
    fn no_file_gives_the_defaults_and_the_flags() {
        let settings = serve(&["--max-body-bytes", "10", "--data-dir", "/tmp/np"])
            .validate()
            .unwrap();
        assert_eq!(settings.config.limits.max_body_bytes, 10);
        assert_eq!(
            settings.config.limits.account(),
            crate::engine::AccountLimits {
                pools: 10_000,
                numbers: 1_000_000,
                numbers_per_pool: 100_000,
                opt_outs_per_pool: 10_000_000,
            }
        );
        assert_eq!(settings.config.data_dir, Some(PathBuf::from("/tmp/np")));
        assert_eq!(settings.config.snapshot_journal_bytes, 64 * 1024 * 1024);
        assert!(settings.accounts.is_empty());
    }

    #[test]
    fn the_metrics_token_is_file_only_survives_the_flags_and_never_shows() {
        let file = "metrics_token = \"scrape-me\"\n[limits]\nauth_failure_delay_ms = 50";
        let settings = with_file(file, &["--metrics-per-account", "--max-args", "3"]).unwrap();
        let config = &settings.config;
        let token = config.metrics_token.as_ref().expect("kept over the flags");
        assert!(token.matches("scrape-me"));
        assert!(!token.matches("scrape-m"));
        assert!(!format!("{config:?}").contains("scrape-me"));
        assert!(config.metrics_per_account);
        assert_eq!(config.limits.auth_failure_delay_ms, 50);
        assert_eq!(config.limits.auth_failure_max_delay_ms, 5_000);
        assert!(matches!(
            with_file("metrics_token = \"\"", &[]),
            Err(ConfigError::Parse { .. })
        ));
        let defaults = Config::default();
        assert!(defaults.metrics_token.is_none() && !defaults.metrics_per_account);
        assert_eq!(defaults.metrics_listen, None);
    }

    #[test]
    fn an_unknown_key_is_refused() {
        for text in [
            "bogus = 1",
            "[limits]\nbogus = 1",
            "[[accounts]]\napi_key = \"abcd1234\"\nbogus = 1",
        ] {
            assert!(
                matches!(with_file(text, &[]), Err(ConfigError::Parse { .. })),
                "{text}"
            );
        }
    }

    #[test]
    fn the_sidecar_account_is_checked_after_the_demo_account_is_added() {
        let settings = serve(&["--demo", "--sidecar-account", demo::DEMO_KEY])
            .validate()
            .unwrap();
        assert!(settings.demo);
        assert_eq!(settings.accounts[0].id.as_str(), demo::DEMO_KEY);
        assert!(matches!(
            serve(&["--sidecar-account", demo::DEMO_KEY]).validate(),
            Err(ConfigError::UnknownSidecarAccount(_))
        ));
        assert!(matches!(
            serve(&["--demo", "--sidecar-account", "zzzz9999"]).validate(),
            Err(ConfigError::UnknownSidecarAccount(_))
        ));
        let file = format!("sidecar_account = \"{}\"", demo::DEMO_KEY);
        assert!(with_file(&file, &["--demo"]).is_ok());
        assert!(matches!(
            with_file(&file, &["--demo", "--resp", "0.0.0.0:7400"]),
            Err(ConfigError::SidecarNotLoopback(_))
        ));
    }

    #[test]
    fn state_persists_unless_told_otherwise() {
        let account = "[[accounts]]\napi_key = \"abcd1234\"\napi_secret = \"s\"\n";
        let storage = |args: &[&str]| with_file(account, args).map(|s| s.storage);
        assert_eq!(
            storage(&[]).unwrap(),
            Storage::Dir(PathBuf::from(DEFAULT_DATA_DIR))
        );
        assert_eq!(
            storage(&["--data-dir", "/tmp/np"]).unwrap(),
            Storage::Dir(PathBuf::from("/tmp/np"))
        );
        assert_eq!(storage(&["--in-memory"]).unwrap(), Storage::Memory);
        assert_eq!(storage(&["--demo"]).unwrap(), Storage::Memory);
        assert_eq!(
            storage(&["--demo", "--data-dir", "/tmp/np"]).unwrap(),
            Storage::Dir(PathBuf::from("/tmp/np"))
        );
        assert!(matches!(
            with_file(
                &format!("in_memory = true\n{account}"),
                &["--data-dir", "/tmp/np"]
            ),
            Err(ConfigError::StorageConflict)
        ));
    }
}
