//! Picks and sticky inspection over HTTP (numpool extension, DESIGN §5): the same engine calls
//! as the RESP sidecar's `PICK`, `STICKY.GET` and `STICKY.DEL`, for callers without a Redis client.

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::body::Fields;
use super::pools::PoolPath;
use super::problem::{Problem, NOT_FOUND};
use super::time::rfc3339_ms;
use super::{parse_path_number, AnswerResult};
use crate::clock::unix_now_micros;
use numpool_core::model::{Msisdn, Network};
use numpool_core::select::{PickRequest, MAX_SEGMENTS};

use crate::engine::Engine;

/// The path of a sticky mapping.
#[derive(Deserialize)]
pub(crate) struct StickyPath {
    /// The pool's id as given.
    pool_id: String,
    /// The recipient as given (validated by the handler).
    to: String,
}

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

/// The 404 for a recipient without a live mapping.
fn no_mapping(to: Msisdn, pool_id: &str) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, NOT_FOUND)
        .detail(format!("No sticky mapping for {to} in pool '{pool_id}'"))
}

/// `GET …/pools/{pool_id}/sticky/{to}`: 200 `{"to", "from"}`, or 404 when `to` has no live
/// mapping.
pub(crate) async fn sticky_get(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<StickyPath>,
) -> AnswerResult {
    let to = parse_path_number("to", &path.to)?;
    match engine
        .sticky_get(&caller.account, &path.pool_id, to)
        .await?
    {
        Some(from) => Ok(HttpResponse::Ok().json(json!({
            "to": to.to_string(),
            "from": from.to_string(),
        }))),
        None => Err(no_mapping(to, &path.pool_id)),
    }
}

/// `DELETE …/pools/{pool_id}/sticky/{to}`: 204 when a live mapping went, 404 when there was none.
pub(crate) async fn sticky_delete(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<StickyPath>,
) -> AnswerResult {
    let to = parse_path_number("to", &path.to)?;
    if engine
        .sticky_del(&caller.account, &path.pool_id, to)
        .await?
    {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(no_mapping(to, &path.pool_id))
    }
}
