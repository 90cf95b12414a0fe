//! Picks over HTTP (numpool extension, DESIGN §5): the same engine call as the RESP sidecar's
//! `PICK`, for callers without a Redis client.

use std::time::Instant;

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::auth::Caller;
use super::body::Fields;
use super::pools::PoolPath;
use super::time::rfc3339_ms;
use super::AnswerResult;
use crate::clock::unix_now_micros;
use numpool_core::model::{Msisdn, Network};
use numpool_core::select::{PickRequest, MAX_SEGMENTS};

use crate::engine::Engine;

/// `POST …/pools/{pool_id}/pick` `{"to", "from"?, "network"?, "segments"?}`: 200 `{"from",
/// "reason", "wait_ms", "send_after"}`, 422 `#rejected` when the pool's rules refuse, 400 for an
/// invalid recipient, sender or segment count.
pub async fn pick(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<PoolPath>,
    body: web::Json<Value>,
) -> AnswerResult {
    let mut fields = Fields::of(&body)?;
    let to: Option<Msisdn> = fields.required("to");
    let from: Option<String> = fields.optional("from");
    let network: Option<String> = fields.optional("network");
    if let Some(Err(e)) = network.as_deref().map(Network::new) {
        fields.fail("network", e.to_string());
    }
    let segments: u32 = fields.optional("segments").unwrap_or(1);
    if !(1..=MAX_SEGMENTS).contains(&segments) {
        fields.fail(
            "segments",
            format!("Must be an integer from 1 to {MAX_SEGMENTS}"),
        );
    }
    fields.finish()?;
    let Some(to) = to else {
        unreachable!("finish() refuses a body without `to`")
    };
    let request = PickRequest {
        to,
        from: from.as_deref(),
        network: network.as_deref(),
        segments,
    };
    // Latency as the RESP server measures it: from request parsed to answer ready.
    let started = Instant::now();
    let answer = engine.pick(&caller.account, &path.pool_id, request).await;
    engine.record_picks(&caller.account, started.elapsed(), 1);
    let pick = answer?;
    let send_after = unix_now_micros() / 1_000 + u64::from(pick.wait_ms);
    Ok(HttpResponse::Ok().json(json!({
        "from": pick.sender.to_string(),
        "reason": pick.reason.as_str(),
        "wait_ms": pick.wait_ms,
        "send_after": rfc3339_ms(send_after),
    })))
}
