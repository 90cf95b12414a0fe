//! A pool's opt-outs (DESIGN §3.5, §5 extension): `GET …/pools/{pool_id}/optouts` (paged, in
//! recipient order) and `GET|PUT|DELETE …/optouts/{to}`. Each entry says when and why.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::paging::PageRequest;
use super::pools::PoolPath;
use super::problem::{Problem, NOT_FOUND};
use super::time::rfc3339;
use super::{parse_path_number, AnswerResult};
use crate::engine::Engine;
use numpool_core::model::{Msisdn, OptOut, OptOutReason};

/// The path of one opt-out.
#[derive(Deserialize)]
pub(crate) struct OptOutPath {
    /// The pool's id as given.
    pool_id: String,
    /// The recipient as given (validated by the handler).
    to: String,
}

/// The OptOut object.
fn opt_out_json(to: Msisdn, opt_out: &OptOut) -> Value {
    json!({
        "to": to.to_string(),
        "since": rfc3339(opt_out.at),
        "reason": opt_out.reason.as_str(),
    })
}

/// The 404 for a recipient who has not opted out.
fn not_opted_out(to: Msisdn, pool_id: &str) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, NOT_FOUND)
        .detail(format!("{to} has not opted out of pool '{pool_id}'"))
}

/// `GET …/pools/{pool_id}/optouts`: a page of OptOut objects under `_embedded.optouts`.
pub(crate) async fn list(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<PoolPath>,
    page: PageRequest,
) -> AnswerResult {
    let paged = engine
        .opt_outs(&caller.account, &path.pool_id, page.engine_page())
        .await?;
    let items = paged
        .items
        .iter()
        .map(|(to, opt_out)| opt_out_json(*to, opt_out))
        .collect();
    Ok(page.respond::<Value>("optouts", items, paged.total))
}

/// `GET …/optouts/{to}`: 200 with the OptOut, 404 when `to` has not opted out.
pub(crate) async fn get(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<OptOutPath>,
) -> AnswerResult {
    let to = parse_path_number("to", &path.to)?;
    match engine.opted_out(&caller.account, &path.pool_id, to).await? {
        Some(opt_out) => Ok(HttpResponse::Ok().json(opt_out_json(to, &opt_out))),
        None => Err(not_opted_out(to, &path.pool_id)),
    }
}

/// `PUT …/optouts/{to}`: opts `to` out (reason `api`), fsynced; 201 when new, 200 when it
/// was opted out already (its time and reason are now the API's). No body is read.
pub(crate) async fn put(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<OptOutPath>,
) -> AnswerResult {
    let to = parse_path_number("to", &path.to)?;
    let (new, opt_out) = engine
        .opt_out(&caller.account, &path.pool_id, to, OptOutReason::Api)
        .await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(opt_out_json(to, &opt_out)))
}

/// `DELETE …/optouts/{to}`: 204 when an opt-out was lifted, 404 when there was none.
pub(crate) async fn delete(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<OptOutPath>,
) -> AnswerResult {
    let to = parse_path_number("to", &path.to)?;
    if engine.opt_in(&caller.account, &path.pool_id, to).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(not_opted_out(to, &path.pool_id))
    }
}
