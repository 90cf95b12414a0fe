//! `loadgen seed`: creates the inventory and the pool a pick run needs, over numpool's REST API
//! (DESIGN §5), or the equivalent keys in a plain Redis for the Lua peer (DESIGN §8 P3). Both
//! targets get the very same numbers, so the two servers answer the same workload.
//!
//! The server side is written concurrently with this tool, so every path and body shape lives in
//! `shapes` and nowhere else.

use crate::client::{connect, ConnConfig};
use crate::countries::{mix_inventory, Country};
use crate::resp::Reply;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use thiserror::Error;

/// One number of the seeded inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryNumber {
    /// E.164 digits, no `+`.
    pub number: String,
    /// ISO country the number belongs to.
    pub country: &'static str,
    /// MCC-MNC given as its network.
    pub(crate) network: &'static str,
    /// Selection weight.
    pub(crate) weight: u32,
    /// Its throughput limit, if the workload has one on every number.
    pub(crate) limits: Option<SeedLimits>,
}

/// A throughput limit put on every seeded number (issue 14's workload with limits): what
/// numpool charges each pick against (DESIGN §3.2 rule 6).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeedLimits {
    /// Messages per second.
    pub mps: f64,
    /// Messages that may go at once.
    pub burst: u32,
}

/// `n` inventory numbers spread evenly over `mix` (interleaved, so any `n` covers every country),
/// each with `limits`.
pub fn inventory(mix: &[Country], n: u64, limits: Option<SeedLimits>) -> Vec<InventoryNumber> {
    (0..n)
        .map(|i| {
            let (c, number) = mix_inventory(mix, i);
            InventoryNumber {
                number,
                country: c.iso,
                network: c.network,
                weight: 1,
                limits,
            }
        })
        .collect()
}

/// Paths, bodies and batch limits of the REST calls: the one place to adjust when the server's
/// shapes settle.
pub(crate) mod shapes {
    use super::InventoryNumber;
    use serde_json::{json, Value};

    /// Numbers per inventory call (DESIGN §5: POST takes up to 1,000).
    pub(crate) const INVENTORY_BATCH: usize = 1_000;
    /// Numbers per add-to-pool call (DESIGN §5: at most 50, 51 rejects the whole call).
    pub(crate) const POOL_BATCH: usize = 50;

    /// Inventory extension: `POST` adds numbers to the account.
    pub(crate) fn inventory_path(key: &str) -> String {
        format!("/v2/numberpools/accounts/{key}/numbers")
    }

    /// Pool collection: `POST` creates a pool.
    pub(crate) fn pools_path(key: &str) -> String {
        format!("/v2/numberpools/accounts/{key}/pools")
    }

    /// A pool's numbers: `POST` adds numbers to the pool.
    pub(crate) fn pool_numbers_path(key: &str, pool: &str) -> String {
        format!("/v2/numberpools/accounts/{key}/pools/{pool}/numbers")
    }

    /// Body adding `numbers` to the inventory.
    pub(crate) fn inventory_body(numbers: &[InventoryNumber]) -> Value {
        let numbers: Vec<Value> = numbers
            .iter()
            .map(|n| {
                let mut number =
                    json!({"number": n.number, "network": n.network, "weight": n.weight});
                if let Some(limits) = n.limits {
                    number["mps"] = json!(limits.mps);
                    number["burst"] = json!(limits.burst);
                }
                number
            })
            .collect();
        json!({ "numbers": numbers })
    }

    /// Body creating a predictable, localized pool that falls back to any pool number.
    pub(crate) fn pool_body(pool: &str) -> Value {
        json!({
            "pool_id": pool,
            "fallback": "Pool",
            "localized_sender_preferred": true,
            "predictable_sender_preferred": true,
        })
    }

    /// Body adding `numbers` (already in the inventory) to a pool.
    pub(crate) fn pool_numbers_body(numbers: &[InventoryNumber]) -> Value {
        let numbers: Vec<&str> = numbers.iter().map(|n| n.number.as_str()).collect();
        json!({ "numbers": numbers })
    }

    /// Statuses that count as success for each call, besides any 2xx: creating a pool that
    /// already exists (409) is fine for a re-run.
    pub(crate) const POOL_EXISTS: u16 = 409;
}

/// One REST call of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// What it is for, for messages.
    pub(crate) what: String,
    /// Path below the base URL.
    pub(crate) path: String,
    /// JSON body (always a `POST`).
    pub(crate) body: Value,
    /// A non-2xx status that is still fine for this call.
    pub(crate) tolerated: Option<u16>,
}

/// The calls that seed `numbers` into the account's inventory and then into pool `pool`.
pub fn plan(key: &str, pool: &str, numbers: &[InventoryNumber]) -> Vec<Call> {
    let mut calls = Vec::new();
    for (i, chunk) in numbers.chunks(shapes::INVENTORY_BATCH).enumerate() {
        calls.push(Call {
            what: format!("inventory batch {} ({} numbers)", i + 1, chunk.len()),
            path: shapes::inventory_path(key),
            body: shapes::inventory_body(chunk),
            tolerated: None,
        });
    }
    calls.push(Call {
        what: format!("create pool {pool}"),
        path: shapes::pools_path(key),
        body: shapes::pool_body(pool),
        tolerated: Some(shapes::POOL_EXISTS),
    });
    for (i, chunk) in numbers.chunks(shapes::POOL_BATCH).enumerate() {
        calls.push(Call {
            what: format!("pool {pool} batch {} ({} numbers)", i + 1, chunk.len()),
            path: shapes::pool_numbers_path(key, pool),
            body: shapes::pool_numbers_body(chunk),
            tolerated: None,
        });
    }
    calls
}

/// The plan as text, for `--dry-run`: one `POST path` line and the JSON body per call.
pub(crate) fn describe(base: &str, calls: &[Call]) -> String {
    let mut out = String::new();
    for c in calls {
        out.push_str(&format!(
            "# {}\nPOST {base}{}\n{}\n\n",
            c.what, c.path, c.body
        ));
    }
    out
}

/// Seeding failed.
#[derive(Debug, Error)]
pub enum SeedError {
    /// The HTTP exchange itself failed.
    #[error("{what}: {source}")]
    Http {
        /// Which call.
        what: String,
        /// The client's error.
        source: reqwest::Error,
    },
    /// The server answered with a failure status.
    #[error("{what}: HTTP {status}: {body}")]
    Status {
        /// Which call.
        what: String,
        /// The status code.
        status: u16,
        /// The response body (an RFC 7807 problem, normally).
        body: String,
    },
    /// Talking to Redis failed.
    #[error("redis: {0}")]
    Redis(String),
}

/// How the calls went: count of each status code seen.
pub(crate) type StatusCounts = BTreeMap<u16, usize>;

/// Runs `calls` in order against `base` with HTTP Basic auth, stopping at the first failure.
pub async fn execute(
    base: &str,
    key: &str,
    secret: &str,
    calls: &[Call],
) -> Result<StatusCounts, SeedError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|source| SeedError::Http {
            what: "building the HTTP client".into(),
            source,
        })?;
    let mut statuses = StatusCounts::new();
    for c in calls {
        let resp = client
            .post(format!("{}{}", base.trim_end_matches('/'), c.path))
            .basic_auth(key, Some(secret))
            .json(&c.body)
            .send()
            .await
            .map_err(|source| SeedError::Http {
                what: c.what.clone(),
                source,
            })?;
        let status = resp.status().as_u16();
        *statuses.entry(status).or_default() += 1;
        if !(resp.status().is_success() || c.tolerated == Some(status)) {
            return Err(SeedError::Status {
                what: c.what.clone(),
                status,
                body: resp.text().await.unwrap_or_default(),
            });
        }
    }
    Ok(statuses)
}

/// Redis key names shared with `benches/peers/pick.lua`.
pub(crate) mod redis_keys {
    /// Hash `to → sender`.
    pub(crate) fn sticky(pool: &str) -> String {
        format!("pool:{pool}:sticky")
    }
    /// List of the pool's numbers in one country.
    pub(crate) fn country(pool: &str, iso: &str) -> String {
        format!("pool:{pool}:country:{iso}")
    }
    /// List of all the pool's numbers (the `Pool` fallback).
    pub(crate) fn all(pool: &str) -> String {
        format!("pool:{pool}:all")
    }
}

/// Loads `numbers` into a Redis at `addr` as the Lua peer expects: one list per country and one of
/// all numbers, after dropping the pool's previous lists and sticky hash. Returns the number of
/// list entries written.
pub async fn seed_redis(
    addr: &str,
    pool: &str,
    numbers: &[InventoryNumber],
) -> Result<usize, SeedError> {
    let cfg = ConnConfig {
        addr: addr.to_string(),
        auth: None,
        pipeline: 1,
        timeout: Duration::from_secs(10),
    };
    let mut conn = connect(&cfg)
        .await
        .map_err(|e| SeedError::Redis(e.to_string()))?;
    let mut del = redis::cmd("DEL");
    del.arg(redis_keys::sticky(pool)).arg(redis_keys::all(pool));
    for c in crate::countries::COUNTRIES {
        del.arg(redis_keys::country(pool, c.iso));
    }
    let mut commands = vec![del.get_packed_command()];
    let mut by_country: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for n in numbers {
        by_country.entry(n.country).or_default().push(&n.number);
    }
    let mut lists: Vec<(String, Vec<&str>)> = by_country
        .into_iter()
        .map(|(iso, nums)| (redis_keys::country(pool, iso), nums))
        .collect();
    lists.push((
        redis_keys::all(pool),
        numbers.iter().map(|n| n.number.as_str()).collect(),
    ));
    let mut written = 0;
    for (key, nums) in &lists {
        for chunk in nums.chunks(shapes::INVENTORY_BATCH) {
            commands.push(redis::cmd("RPUSH").arg(key).arg(chunk).get_packed_command());
            written += chunk.len();
        }
    }
    for cmd in commands {
        match conn.request(&cmd, cfg.timeout).await {
            Ok(Reply::Value(_)) => {}
            Ok(Reply::Error { code, detail }) => {
                return Err(SeedError::Redis(format!(
                    "{code} {}",
                    detail.unwrap_or_default()
                )))
            }
            Err(e) => return Err(SeedError::Redis(e)),
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::countries::parse_mix;

    #[test]
    fn plan_batches_within_the_limits() {
        let mix = parse_mix("GB,US,DE,FR").unwrap();
        let numbers = inventory(&mix, 2_120, None);
        let calls = plan("abcd1234", "main", &numbers);
        // 3 inventory calls (1000+1000+120), 1 pool creation, 43 pool calls (42×50 + 20).
        assert_eq!(calls.len(), 3 + 1 + 43);
        assert_eq!(calls[0].path, "/v2/numberpools/accounts/abcd1234/numbers");
        assert_eq!(calls[0].body["numbers"].as_array().unwrap().len(), 1_000);
        assert_eq!(calls[2].body["numbers"].as_array().unwrap().len(), 120);
        assert_eq!(
            calls[0].body["numbers"][0],
            serde_json::json!({"number": numbers[0].number, "network": "23415", "weight": 1})
        );
        assert_eq!(calls[3].path, "/v2/numberpools/accounts/abcd1234/pools");
        assert_eq!(calls[3].body["pool_id"], "main");
        assert_eq!(calls[3].body["fallback"], "Pool");
        assert_eq!(calls[3].body["localized_sender_preferred"], true);
        assert_eq!(calls[3].body["predictable_sender_preferred"], true);
        assert_eq!(calls[3].tolerated, Some(409));
        let pool_calls = &calls[4..];
        assert!(pool_calls
            .iter()
            .all(|c| c.path == "/v2/numberpools/accounts/abcd1234/pools/main/numbers"));
        assert!(pool_calls
            .iter()
            .all(|c| c.body["numbers"].as_array().unwrap().len() <= 50));
        let limited = inventory(
            &mix,
            1,
            Some(SeedLimits {
                mps: 10.0,
                burst: 10,
            }),
        );
        let body = &plan("abcd1234", "main", &limited)[0].body["numbers"][0];
        assert_eq!(
            (&body["mps"], &body["burst"]),
            (&serde_json::json!(10.0), &serde_json::json!(10))
        );
        let added: Vec<&str> = pool_calls
            .iter()
            .flat_map(|c| c.body["numbers"].as_array().unwrap().iter())
            .map(|v| v.as_str().unwrap())
            .collect();
        let expected: Vec<&str> = numbers.iter().map(|n| n.number.as_str()).collect();
        assert_eq!(added, expected);
    }

    #[test]
    fn inventory_covers_the_mix_evenly() {
        let mix = parse_mix("GB,US,FR").unwrap();
        let numbers = inventory(&mix, 9, None);
        let isos: Vec<&str> = numbers.iter().map(|n| n.country).collect();
        assert_eq!(isos, ["GB", "US", "FR"].repeat(3));
        let describe = describe("http://h", &plan("k", "p", &numbers[..1]));
        assert!(describe.contains("POST http://h/v2/numberpools/accounts/k/numbers"));
        assert!(describe.contains(&numbers[0].number));
    }
}
