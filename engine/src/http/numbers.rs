//! A pool's numbers, the spec's `getPoolNumbers`, `addNumbersToPool`, `deleteNumbersFromPool`
//! and `deleteNumberFromPool`, with their partial-success answers (201/207/400, 204/207/400).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::body::pool_numbers;
use super::paging::PageRequest;
use super::pools::PoolPath;
use super::problem::{
    ErrorItem, NumbersError, Problem, ProblemBody, ADD_NUMBER_FAILURE, ADD_PARTIAL_FAILURE,
    DELETE_PARTIAL_FAILURE, DELETION_FAILURE, MISSING_NUMBER, MISSING_SUBSCRIPTION, NOT_FOUND,
    NUMBER_DELETION_ERROR,
};
use super::time::rfc3339;
use super::{parse_path_number, pool_href, AnswerResult};
use crate::engine::{AddOutcome, Engine, RemoveOutcome};
use numpool_core::model::Msisdn;

/// Most numbers one bulk add or remove may carry (the spec's `ErrorTooManyNumbers`).
pub(crate) const BULK_LIMIT: usize = 50;

/// The path of a single pool number.
#[derive(Deserialize)]
pub(crate) struct PoolNumberPath {
    /// The pool's id as given.
    pool_id: String,
    /// The number as given (validated by the handler, so a bad one gets a 400 naming it).
    number: String,
}

/// How a bulk call went: which numbers succeeded and which failed.
struct Split {
    /// Numbers the call applied to.
    done: Vec<String>,
    /// Numbers it could not apply to.
    failed: Vec<String>,
}

impl Split {
    fn new(numbers: &[Msisdn], succeeded: impl Iterator<Item = bool>) -> Self {
        let (done, failed): (Vec<_>, Vec<_>) = numbers.iter().zip(succeeded).partition(|p| p.1);
        let text = |pairs: Vec<(&Msisdn, bool)>| pairs.iter().map(|p| p.0.to_string()).collect();
        Split {
            done: text(done),
            failed: text(failed),
        }
    }

    /// Every number failed (and there was at least one).
    fn all_failed(&self) -> bool {
        self.done.is_empty() && !self.failed.is_empty()
    }
}

/// `GET …/pools/{pool_id}/numbers`: a page of digit strings.
pub(crate) async fn list(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<PoolPath>,
    page: PageRequest,
) -> AnswerResult {
    let paged = engine
        .pool_numbers(&caller.account, &path.pool_id, page.engine_page())
        .await?;
    let numbers = paged.items.iter().map(Msisdn::to_string).collect();
    Ok(page.respond::<String>("numbers", numbers, paged.total))
}

/// `POST …/pools/{pool_id}/numbers`: 201 when every number is now in the pool, 207 when some
/// are not owned, 400 when none could be added. Adding a number already there succeeds.
pub(crate) async fn add(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<PoolPath>,
    body: web::Json<Value>,
) -> AnswerResult {
    let numbers = pool_numbers(&body, BULK_LIMIT)?;
    let outcomes = engine
        .add_numbers(&caller.account, &path.pool_id, &numbers)
        .await?;
    let split = Split::new(
        &numbers,
        outcomes.iter().map(|o| *o != AddOutcome::NotOwned),
    );
    let missing = vec![ErrorItem::Plain(NumbersError::new(
        MISSING_SUBSCRIPTION,
        split.failed.clone(),
    ))];
    if split.all_failed() {
        return Err(Problem::new(StatusCode::BAD_REQUEST, ADD_NUMBER_FAILURE).errors(missing));
    }
    let mut answer = json!({
        "numbers": split.done,
        "_links": { "self": { "href": format!("{}/numbers", pool_href(caller.account.id(), &path.pool_id)) } },
    });
    if split.failed.is_empty() {
        return Ok(HttpResponse::Created().json(answer));
    }
    answer["error"] = json!(ProblemBody::new(ADD_PARTIAL_FAILURE).with_errors(missing));
    Ok(HttpResponse::build(StatusCode::MULTI_STATUS).json(answer))
}

/// `POST …/pools/{pool_id}/numbers/delete`: 204 when every number left the pool, 207 when some
/// were not in it, 400 when none were.
pub(crate) async fn remove_many(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<PoolPath>,
    body: web::Json<Value>,
) -> AnswerResult {
    let numbers = pool_numbers(&body, BULK_LIMIT)?;
    let outcomes = engine
        .remove_numbers(&caller.account, &path.pool_id, &numbers)
        .await?;
    let split = Split::new(
        &numbers,
        outcomes.iter().map(|o| *o == RemoveOutcome::Removed),
    );
    let missing = NumbersError::new(MISSING_NUMBER, split.failed.clone());
    if split.all_failed() {
        return Err(Problem::new(StatusCode::BAD_REQUEST, DELETION_FAILURE)
            .errors(vec![ErrorItem::Plain(missing)]));
    }
    if split.failed.is_empty() {
        return Ok(HttpResponse::NoContent().finish());
    }
    // The spec wraps this 207's items in an `error` key, unlike every other `errors[]`.
    let error = ProblemBody::new(DELETE_PARTIAL_FAILURE)
        .with_errors(vec![ErrorItem::Wrapped { error: missing }]);
    Ok(HttpResponse::build(StatusCode::MULTI_STATUS)
        .json(json!({ "numbers": split.done, "error": error })))
}

/// `GET …/pools/{pool_id}/numbers/{number}` (a numpool extension): the number as the pool sees
/// it: its status, its health state under the thresholds the pool judges by (DESIGN §3.4), and
/// the pool's conversations on it. 404 when the pool does not exist or does not hold it.
pub(crate) async fn get_one(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<PoolNumberPath>,
) -> AnswerResult {
    let number = parse_path_number("number", &path.number)?;
    let member = engine
        .pool_member(&caller.account, &path.pool_id, number)
        .await?
        .ok_or_else(|| {
            Problem::new(StatusCode::NOT_FOUND, NOT_FOUND)
                .detail(format!("Number {number} is not in pool '{}'", path.pool_id))
        })?;
    let owned = engine.get_number(&caller.account, number).await?;
    let pool_href = pool_href(caller.account.id(), &path.pool_id);
    // The path names the pool and the number (and so does the self link): the body is what
    // the pool knows of it.
    Ok(HttpResponse::Ok().json(json!({
        "status": owned.status,
        "health": {
            "state": member.health.as_str(),
            "since": member.since.map(rfc3339),
        },
        "conversations": member.conversations,
        "_links": { "self": { "href": format!("{pool_href}/numbers/{number}") } },
    })))
}

/// `DELETE …/pools/{pool_id}/numbers/{number}`: 204, or 400 `#number-deletion-error` when the
/// number is not in the pool.
pub(crate) async fn remove_one(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<PoolNumberPath>,
) -> AnswerResult {
    let number = parse_path_number("number", &path.number)?;
    let outcomes = engine
        .remove_numbers(&caller.account, &path.pool_id, &[number])
        .await?;
    match outcomes.as_slice() {
        [RemoveOutcome::Removed] => Ok(HttpResponse::NoContent().finish()),
        _ => Err(Problem::new(StatusCode::BAD_REQUEST, NUMBER_DELETION_ERROR)
            .detail(format!("Number {number} is not in pool '{}'", path.pool_id))),
    }
}
