//! The `--demo` data set (DESIGN §9): an account, an inventory in six countries with networks
//! and two NANP areas, and a pool for each fallback, so a newcomer can try numpool at once.

use crate::engine::{Engine, EngineError, Page};
use numpool_core::model::{
    CustomFrom, Fallback, Msisdn, NumberSpec, OwnedNumber, PoolId, PoolSettings,
};

/// The demo account's key.
pub(crate) const DEMO_KEY: &str = "demo0001";
/// The demo account's secret (printed by `numpool serve --demo`; never use it for real).
pub(crate) const DEMO_SECRET: &str = "demo-secret";

/// The demo inventory: number and network.
const NUMBERS: &[(&str, Option<&str>)] = &[
    ("447700900001", Some("23415")),
    ("447700900002", Some("23410")),
    ("447700900003", None),
    ("12125550101", Some("310260")),
    ("12125550102", None),
    ("14155550101", Some("310260")),
    ("14155550102", Some("311480")),
    ("4915112345001", Some("26202")),
    ("4915112345002", None),
    ("33612345001", Some("20801")),
    ("61412345001", Some("50501")),
    ("14165550101", Some("302720")),
];

/// The demo pools: id, fallback, predictable, custom_from.
const POOLS: &[(&str, Fallback, bool, Option<&str>)] = &[
    ("demo", Fallback::Pool, true, None),
    ("strict", Fallback::Reject, true, None),
    ("brand", Fallback::CustomFrom, true, Some("Numpool")),
    ("random", Fallback::Pool, false, None),
];

/// Fills the demo account: inventory, then each pool with every number except the French and
/// Australian ones in `strict` and `brand`, so their fallbacks show for +33 and +61 recipients.
/// Does nothing when the demo account already has pools (a restart with a data directory).
pub(crate) async fn seed(engine: &Engine) -> Result<(), EngineError> {
    let account = engine
        .account(DEMO_KEY)
        .expect("the demo account is configured before seeding");
    let existing = engine
        .list_pools(
            &account,
            Page {
                offset: 0,
                limit: 1,
            },
        )
        .await?;
    if existing.total > 0 {
        return Ok(());
    }
    let numbers: Vec<OwnedNumber> = NUMBERS
        .iter()
        .map(|(number, network)| {
            OwnedNumber::from_spec(&NumberSpec {
                number: (*number).into(),
                network: network.map(Into::into),
                ..NumberSpec::default()
            })
            .expect("valid demo number")
        })
        .collect();
    engine.upsert_numbers(&account, numbers.clone()).await?;
    for (id, fallback, predictable, custom_from) in POOLS {
        let settings = PoolSettings {
            fallback: *fallback,
            localized_sender_preferred: true,
            predictable_sender_preferred: *predictable,
            custom_from: custom_from.map(|c| CustomFrom::new(c).expect("valid demo sender")),
            ..PoolSettings::default()
        };
        let pool_id = PoolId::new(id).expect("valid demo pool id");
        engine.create_pool(&account, pool_id, settings).await?;
        let members: Vec<Msisdn> = numbers
            .iter()
            .filter(|n| *fallback == Fallback::Pool || !["FR", "AU"].contains(&n.country.as_str()))
            .map(|n| n.number)
            .collect();
        engine.add_numbers(&account, id, &members).await?;
    }
    Ok(())
}

/// Prints the demo account and commands to try against `resp` and `http`.
pub(crate) fn print_help(resp: std::net::SocketAddr, http: std::net::SocketAddr) {
    let (key, secret) = (DEMO_KEY, DEMO_SECRET);
    let cli = format!(
        "redis-cli -p {} --user {key} --pass {secret} --no-auth-warning",
        resp.port()
    );
    println!(
        "\ndemo account: api_key={key} api_secret={secret}\n\
         pools: demo (fallback Pool), strict (Reject), brand (CustomFrom 'Numpool'), random (not sticky)\n\
         try:\n  \
         {cli} PICK demo +447400123459 WITHREASON\n  \
         {cli} PICK demo +14155559999 NETWORK 311480 WITHREASON\n  \
         {cli} PICK strict +33612345678\n  \
         {cli} PICK brand +33612345678 WITHREASON\n  \
         {cli} STICKY.GET demo +447400123459\n  \
         curl -s -u {key}:{secret} http://{http}/v2/numberpools/accounts/{key}/pools\n"
    );
}
