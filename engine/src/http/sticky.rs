//! A pool's conversations (numpool extension, DESIGN §3.6, §5): `GET …/pools/{pool_id}/sticky`
//! pages through its live sticky mappings (`?sender=` for one number's), and
//! `GET|DELETE …/sticky/{to}` reads or ends one, as the RESP sidecar's `STICKY.GET` and
//! `STICKY.DEL` do.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::paging::PageRequest;
use super::pools::PoolPath;
use super::problem::{Problem, NOT_FOUND};
use super::time::rfc3339;
use super::{parse_path_number, AnswerResult};
use crate::engine::Engine;
use numpool_core::model::Msisdn;
use numpool_core::select::Conversation;

/// The path of a sticky mapping.
#[derive(Deserialize)]
pub(crate) struct StickyPath {
    /// The pool's id as given.
    pool_id: String,
    /// The recipient as given (validated by the handler).
    to: String,
}

/// The Conversation object: who, on which number, since when, last used when.
pub(crate) fn conversation_json(conversation: &Conversation) -> Value {
    json!({
        "to": conversation.to.to_string(),
        "from": conversation.sender.to_string(),
        "since": rfc3339(conversation.since.into()),
        "last_use": rfc3339(conversation.last_use.into()),
    })
}

/// The 404 for a recipient without a live mapping.
fn no_mapping(to: Msisdn, pool_id: &str) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, NOT_FOUND)
        .detail(format!("No sticky mapping for {to} in pool '{pool_id}'"))
}

/// `GET …/pools/{pool_id}/sticky[?sender=…]`: a page of Conversation objects under
/// `_embedded.conversations`, in a stable order (docs/api.md); `sender` must be a valid number
/// (one the pool does not hold has no conversations).
pub(crate) async fn list(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<PoolPath>,
    request: HttpRequest,
    page: PageRequest,
) -> AnswerResult {
    let query = web::Query::<Vec<(String, String)>>::from_query(request.query_string())
        .map_err(|e| Problem::invalid_field("query", e.to_string()))?;
    let sender = match query.iter().find(|(name, _)| name == "sender") {
        Some((_, text)) => Some(parse_path_number("sender", text)?),
        None => None,
    };
    let page = match sender {
        Some(number) => page.keeping("sender", number.to_string()),
        None => page,
    };
    let paged = engine
        .conversation_page(&caller.account, &path.pool_id, sender, page.engine_page())
        .await?;
    let items = paged.items.iter().map(conversation_json).collect();
    Ok(page.respond::<Value>("conversations", items, paged.total))
}

/// `GET …/pools/{pool_id}/sticky/{to}`: 200 with the Conversation, or 404 when `to` has no
/// live mapping.
pub(crate) async fn get(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<StickyPath>,
) -> AnswerResult {
    let to = parse_path_number("to", &path.to)?;
    match engine
        .sticky_get(&caller.account, &path.pool_id, to)
        .await?
    {
        Some(conversation) => Ok(HttpResponse::Ok().json(conversation_json(&conversation))),
        None => Err(no_mapping(to, &path.pool_id)),
    }
}

/// `DELETE …/pools/{pool_id}/sticky/{to}`: 204 when a live mapping went, 404 when there was none.
pub(crate) async fn delete(
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
