//! Pools: their settings (Vonage's three plus numpool's extensions) and their admin record.

use serde::{Deserialize, Serialize};

use super::ids::{CustomFrom, PoolId};
use super::type_priority::TypePriority;
use crate::delivery::Thresholds;

/// What a pick does when the pool has no number for the recipient's country (DESIGN §3.2 rule 4).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
pub enum Fallback {
    /// Use any number in the pool.
    #[default]
    Pool,
    /// Use the message's own `from`, else the pool's `custom_from`.
    CustomFrom,
    /// Refuse the pick.
    Reject,
}

impl Fallback {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Fallback::Pool => "Pool",
            Fallback::CustomFrom => "CustomFrom",
            Fallback::Reject => "Reject",
        }
    }

    /// The fallback with API name `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [Fallback::Pool, Fallback::CustomFrom, Fallback::Reject]
            .into_iter()
            .find(|f| f.as_str() == name)
    }
}

/// How finely a localized pick matches the recipient's place (DESIGN §3.2 rule 4).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum Geomatch {
    /// Area tiers only: a NANP area code, then network, then country.
    Area,
    /// Area, then region (a US state, a UK county…), then network and country.
    #[default]
    Region,
    /// Country (and network) only.
    Off,
}

impl Geomatch {
    /// Every setting, for parsing and error messages.
    pub const ALL: [Geomatch; 3] = [Geomatch::Area, Geomatch::Region, Geomatch::Off];

    /// The API name (`area`, `region`, `off`).
    pub fn as_str(self) -> &'static str {
        match self {
            Geomatch::Area => "area",
            Geomatch::Region => "region",
            Geomatch::Off => "off",
        }
    }

    /// The setting with API name `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == name)
    }

    /// Whether the NANP area tiers apply.
    pub fn matches_area(self) -> bool {
        self != Geomatch::Off
    }

    /// Whether the region tiers apply.
    pub fn matches_region(self) -> bool {
        self == Geomatch::Region
    }
}

/// What a pool's new conversations get while the cluster's JetStream is unreachable (cluster
/// mode, DESIGN §10); single-node it means nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum OutagePolicy {
    /// `-TRYAGAIN` / 503: no sender is answered that the cluster did not commit.
    #[default]
    Retry,
    /// The sidecar's own choice, claimed once the cluster answers again; if another sidecar's
    /// claim came first, its sender is adopted (a conflict, counted).
    Local,
}

impl OutagePolicy {
    /// Every policy, for parsing and error messages.
    pub const ALL: [OutagePolicy; 2] = [OutagePolicy::Retry, OutagePolicy::Local];

    /// The API name (`retry`, `local`).
    pub fn as_str(self) -> &'static str {
        match self {
            OutagePolicy::Retry => "retry",
            OutagePolicy::Local => "local",
        }
    }

    /// The policy with API name `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// How a pool selects; what `PATCH` changes.
#[derive(Clone, PartialEq, Debug)]
pub struct PoolSettings {
    /// What to do when no number fits the recipient's country.
    pub fallback: Fallback,
    /// Prefer a number in the recipient's country (then area, then network).
    pub localized_sender_preferred: bool,
    /// Give every recipient the same number each time (sticky sender).
    pub predictable_sender_preferred: bool,
    /// The pool's own alphanumeric sender ID for the `CustomFrom` fallback.
    pub custom_from: Option<CustomFrom>,
    /// Sticky mappings unused for this long expire; 0 keeps them forever.
    pub sticky_ttl_seconds: u32,
    /// Act on health (Telnyx's semantics): unhealthy numbers take nothing, numbers on
    /// probation take new conversations at a tenth of their weight. Off, health is reported
    /// only.
    pub skip_unhealthy: bool,
    /// When this pool judges a number unhealthy, and how long until probation.
    pub health: Thresholds,
    /// Which line types a localized pick tries first, per recipient country.
    pub type_priority: TypePriority,
    /// How finely a localized pick matches the recipient's place.
    pub geomatch: Geomatch,
    /// Cluster mode: what new conversations get while the cluster is unreachable.
    pub cluster_unavailable: OutagePolicy,
}

impl Default for PoolSettings {
    /// Localized and predictable: what users of Twilio's and Telnyx's pools expect by default.
    fn default() -> Self {
        PoolSettings {
            fallback: Fallback::Pool,
            localized_sender_preferred: true,
            predictable_sender_preferred: true,
            custom_from: None,
            sticky_ttl_seconds: 0,
            skip_unhealthy: false,
            health: Thresholds::default(),
            type_priority: TypePriority::default(),
            geomatch: Geomatch::default(),
            cluster_unavailable: OutagePolicy::default(),
        }
    }
}

/// A pool as the management API shows it.
#[derive(Clone, PartialEq, Debug)]
pub struct PoolRecord {
    /// The pool's id within its account.
    pub pool_id: PoolId,
    /// Its selection settings.
    pub settings: PoolSettings,
    /// When it was created, seconds since the Unix epoch.
    pub created_at: u64,
    /// When its settings or numbers last changed, seconds since the Unix epoch.
    pub updated_at: u64,
    /// How many numbers it holds.
    pub number_count: usize,
}
