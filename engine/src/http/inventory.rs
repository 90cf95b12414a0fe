//! The account's inventory of owned numbers (numpool extension, DESIGN §5): list, bulk upsert,
//! and one number's read, upsert and release. A number must be here before a pool can hold it.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, HttpResponseBuilder};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::body::{bulk_numbers, Fields};
use super::paging::PageRequest;
use super::problem::{InvalidParam, Problem};
use super::time::rfc3339;
use super::{account_href, parse_path_number, AnswerResult};
use crate::engine::{Engine, NumberHealth, PerPool};
use numpool_core::model::{
    AccountId, InvalidInput, Limits, Mps, Msisdn, Network, NumberPatch, NumberSpec, NumberStatus,
    NumberType, OwnedNumber,
};

/// Most numbers one inventory upsert may carry: bulk loads, but bounded work per request.
pub(crate) const UPSERT_LIMIT: usize = 1_000;

/// The `{number}` of an inventory path.
#[derive(Deserialize)]
pub(crate) struct NumberPath {
    /// The number as given (validated by the handler, so a bad one gets a 400 naming it).
    number: String,
}

/// What the inventory shows of a number beyond its details: the conversations each pool still
/// has on it, and its health.
struct Live {
    /// Conversations per pool holding it.
    conversations: PerPool,
    /// Its receipts over the health window.
    health: NumberHealth,
}

/// The [`Live`] figures of each of `numbers`, read now.
async fn live(engine: &Engine, caller: &Caller, numbers: &[Msisdn]) -> Result<Vec<Live>, Problem> {
    let conversations = engine.conversations(&caller.account, numbers).await?;
    let health = engine.health(&caller.account, numbers).await;
    Ok(conversations
        .into_iter()
        .zip(health)
        .map(|(conversations, health)| Live {
            conversations,
            health,
        })
        .collect())
}

/// An owned number as the API shows it.
fn number_json(account: &AccountId, owned: &OwnedNumber, live: &Live) -> Value {
    let window = &live.health.window;
    json!({
        "number": owned.number.to_string(),
        "country": owned.country,
        "network": owned.network,
        "type": owned.kind,
        "weight": owned.weight,
        "status": owned.status,
        "mps": owned.limits.mps,
        "burst": owned.limits.burst,
        "daily_new_conversations": owned.limits.daily_new_conversations,
        "conversations": live.conversations,
        "health": {
            "state": live.health.state.as_str(),
            "since": live.health.since.map(rfc3339),
            "deliverability": window.deliverability(),
            "spam_ratio": window.spam_ratio(),
            "receipts": window.receipts(),
            "opt_out_signals": live.health.opted_out,
        },
        "_links": { "self": { "href": format!("{}/numbers/{}", account_href(account), owned.number) } },
    })
}

/// `builder`'s answer: `owned` as the API shows it, its live figures read now.
async fn respond_number(
    engine: &Engine,
    caller: &Caller,
    owned: &OwnedNumber,
    mut builder: HttpResponseBuilder,
) -> AnswerResult {
    let live = live(engine, caller, &[owned.number]).await?;
    Ok(builder.json(number_json(caller.account.id(), owned, &live[0])))
}

/// Reads a `PATCH` body: each field given is validated and changes, the others stay.
fn number_patch(body: &Value) -> Result<NumberPatch, Problem> {
    let mut fields = Fields::of(body)?;
    let network = fields.nullable::<Network>("network");
    let kind = fields.nullable::<NumberType>("type");
    let status = fields.optional::<NumberStatus>("status");
    let weight = fields.optional::<u32>("weight").and_then(|weight| {
        OwnedNumber::check_weight(weight)
            .map_err(|e| fields.fail("weight", e.to_string()))
            .ok()
    });
    let mps = fields.nullable::<Mps>("mps");
    let burst = fields.optional::<u32>("burst").and_then(|burst| {
        Limits::check_burst(burst)
            .map_err(|e| fields.fail("burst", e.to_string()))
            .ok()
    });
    let daily_new_conversations = fields.nullable::<u32>("daily_new_conversations");
    fields.finish()?;
    Ok(NumberPatch {
        network,
        kind,
        weight,
        status,
        mps,
        burst,
        daily_new_conversations,
    })
}

/// Reads the number details of one JSON object; `number` comes from the body or the path.
/// Failures are named under `prefix` (`numbers[3].weight`).
fn number_spec(
    item: &Value,
    prefix: &str,
    path_number: Option<&str>,
) -> Result<OwnedNumber, Vec<InvalidParam>> {
    let mut fields = Fields::nested(item, prefix)?;
    let number = match path_number {
        Some(number) => Some(number.to_owned()),
        None => fields.required("number"),
    };
    let spec = NumberSpec {
        number: number.unwrap_or_default(),
        network: fields.optional("network"),
        kind: fields.optional("type"),
        weight: fields.optional("weight"),
        status: fields.optional("status"),
        // `null` is the default, as an absent field is: unlimited.
        mps: fields.nullable("mps").flatten(),
        burst: fields.optional("burst"),
        daily_new_conversations: fields.nullable("daily_new_conversations").flatten(),
    };
    if fields.is_valid() {
        match OwnedNumber::from_spec(&spec) {
            Ok(owned) => return Ok(owned),
            Err(error) => {
                let field = match &error {
                    InvalidInput::Number { .. } | InvalidInput::UnknownCallingCode(_) => "number",
                    InvalidInput::Weight(_) => "weight",
                    InvalidInput::Mps(_) => "mps",
                    InvalidInput::Burst(_) => "burst",
                    // The only identifier a number carries.
                    InvalidInput::Id(_) => "network",
                    // A pool's, never a number's.
                    InvalidInput::Threshold { field, .. } => field,
                    InvalidInput::TypePriority { .. } | InvalidInput::UnknownRegion(_) => {
                        "type_priority"
                    }
                };
                fields.fail(field, error.to_string());
            }
        }
    }
    Err(fields.into_invalid())
}

/// 201 when the upsert created a number, 200 when it only replaced details.
fn upsert_status(created: &[bool]) -> HttpResponseBuilder {
    HttpResponse::build(if created.contains(&true) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    })
}

/// `GET …/numbers`: a page of owned numbers with their details.
pub(crate) async fn list(
    engine: web::Data<Engine>,
    caller: Caller,
    page: PageRequest,
) -> AnswerResult {
    let paged = engine
        .list_numbers(&caller.account, page.engine_page())
        .await?;
    let listed: Vec<_> = paged.items.iter().map(|owned| owned.number).collect();
    let live = live(&engine, &caller, &listed).await?;
    let numbers = paged
        .items
        .iter()
        .zip(&live)
        .map(|(owned, live)| number_json(caller.account.id(), owned, live))
        .collect();
    Ok(page.respond::<Value>("numbers", numbers, paged.total))
}

/// `POST …/numbers`: adds or replaces up to [`UPSERT_LIMIT`] numbers; all or nothing.
pub(crate) async fn upsert_many(
    engine: web::Data<Engine>,
    caller: Caller,
    body: web::Json<Value>,
) -> AnswerResult {
    let items = bulk_numbers(&body, UPSERT_LIMIT)?;
    let mut invalid = Vec::new();
    let mut numbers = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match number_spec(item, &format!("numbers[{index}]"), None) {
            Ok(owned) => numbers.push(owned),
            Err(mut failures) => invalid.append(&mut failures),
        }
    }
    if !invalid.is_empty() {
        return Err(Problem::validation(invalid));
    }
    let names: Vec<String> = numbers.iter().map(|n| n.number.to_string()).collect();
    let created = engine.upsert_numbers(&caller.account, numbers).await?;
    let (new, replaced): (Vec<_>, Vec<_>) = names.into_iter().zip(&created).partition(|p| *p.1);
    let names = |pairs: Vec<(String, &bool)>| pairs.into_iter().map(|p| p.0).collect::<Vec<_>>();
    Ok(upsert_status(&created).json(json!({
        "created": names(new),
        "updated": names(replaced),
        "_links": { "self": { "href": format!("{}/numbers", account_href(caller.account.id())) } },
    })))
}

/// `GET …/numbers/{number}`.
pub(crate) async fn get(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<NumberPath>,
) -> AnswerResult {
    let number = parse_path_number("number", &path.number)?;
    let owned = engine.get_number(&caller.account, number).await?;
    respond_number(&engine, &caller, &owned, HttpResponse::Ok()).await
}

/// `PUT …/numbers/{number}`: adds the number or replaces its details (`network`, `type`,
/// `weight`, `status`, `mps`, `burst`, `daily_new_conversations`; an absent one takes its
/// default); pools holding it see the new details.
pub(crate) async fn put(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<NumberPath>,
    body: web::Json<Value>,
) -> AnswerResult {
    let owned = number_spec(&body, "", Some(&path.number)).map_err(Problem::validation)?;
    let created = engine
        .upsert_numbers(&caller.account, vec![owned.clone()])
        .await?;
    respond_number(&engine, &caller, &owned, upsert_status(&created)).await
}

/// `PATCH …/numbers/{number}`: changes only the details the body names (`network`, `type`,
/// `weight`, `status`, `mps`, `burst`, `daily_new_conversations`) of a number already owned;
/// 200 with the number as it now is.
pub(crate) async fn patch(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<NumberPath>,
    body: web::Json<Value>,
) -> AnswerResult {
    let number = parse_path_number("number", &path.number)?;
    let patch = number_patch(&body)?;
    let owned = engine.patch_number(&caller.account, number, &patch).await?;
    respond_number(&engine, &caller, &owned, HttpResponse::Ok()).await
}

/// `DELETE …/numbers/{number}`: releases the number from the inventory and every pool; 200
/// with the number as it was.
pub(crate) async fn delete(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<NumberPath>,
) -> AnswerResult {
    let number = parse_path_number("number", &path.number)?;
    let owned = engine.delete_number(&caller.account, number).await?;
    let released = Live {
        conversations: PerPool::new(),
        health: NumberHealth::default(),
    };
    Ok(HttpResponse::Ok().json(number_json(caller.account.id(), &owned, &released)))
}
