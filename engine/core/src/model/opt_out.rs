//! Opt-outs (DESIGN §3.5): a recipient who asked a pool for nothing more, with when and why.

/// Why a recipient is opted out.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum OptOutReason {
    /// An inbound message whose text was an opt-out keyword (STOP, …).
    Keyword,
    /// A delivery receipt with Vonage's opt-out signal (err-code 9).
    Receipt,
    /// The API (`PUT …/optouts/{to}`, `OPTOUT.ADD`).
    Api,
}

impl OptOutReason {
    /// Every reason, for parsing.
    pub const ALL: [OptOutReason; 3] = [
        OptOutReason::Keyword,
        OptOutReason::Receipt,
        OptOutReason::Api,
    ];

    /// The API name (`keyword`, `receipt`, `api`).
    pub fn as_str(self) -> &'static str {
        match self {
            OptOutReason::Keyword => "keyword",
            OptOutReason::Receipt => "receipt",
            OptOutReason::Api => "api",
        }
    }

    /// The reason with API name `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// One recipient's opt-out of one pool.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OptOut {
    /// When, Unix seconds.
    pub at: u64,
    /// Why.
    pub reason: OptOutReason,
}
