//! Pool management, the spec's `listPools`, `createPool`, `getPool`, `patchPool` and
//! `deletePool`, with numpool's extension fields on the Pool object.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::body::Fields;
use super::paging::PageRequest;
use super::pool_settings::{health_json, type_priority_json};
use super::problem::{Problem, ACCOUNT_ID_MISMATCH};
use super::time::rfc3339;
use super::{pool_href, AnswerResult};
use crate::engine::{Engine, PoolUpdate};
use numpool_core::delivery::ThresholdsPatch;
use numpool_core::model::{AccountId, CustomFrom, OutagePolicy, PoolRecord, PoolSettings};

/// The `{pool_id}` of a pool's path. Not validated: an id that breaks the pattern names no pool,
/// so it is answered 404 like any unknown pool.
#[derive(Deserialize)]
pub(crate) struct PoolPath {
    /// The pool's id as given.
    pub(crate) pool_id: String,
}

/// The Pool object: the spec's fields, then numpool's extensions.
fn pool_json(engine: &Engine, account: &AccountId, record: &PoolRecord) -> Value {
    let href = pool_href(account, record.pool_id.as_str());
    let settings = &record.settings;
    let mut pool = json!({
        "pool_id": record.pool_id,
        "account_id": account,
        "fallback": settings.fallback,
        "localized_sender_preferred": settings.localized_sender_preferred,
        "predictable_sender_preferred": settings.predictable_sender_preferred,
        "custom_from": settings.custom_from.as_ref().map(CustomFrom::as_str),
        "sticky_ttl_seconds": settings.sticky_ttl_seconds,
        "skip_unhealthy": settings.skip_unhealthy,
        "health": health_json(&settings.health),
        "type_priority": type_priority_json(&settings.type_priority),
        "geomatch": settings.geomatch.as_str(),
        "number_count": record.number_count,
        "created_at": rfc3339(record.created_at),
        "updated_at": rfc3339(record.updated_at),
        "_links": {
            "self": { "href": href },
            "numbers": { "href": format!("{href}/numbers") },
        },
    });
    // A setting only a cluster has (docs/cluster.md): shown in cluster mode only.
    if engine.cluster().is_some() {
        pool["cluster_unavailable"] = json!(settings.cluster_unavailable.as_str());
    }
    pool
}

/// `cluster_unavailable` as a request gave it: refused (400, naming it) single-node, where it
/// would mean nothing.
fn outage_policy(
    engine: &Engine,
    given: Option<OutagePolicy>,
) -> Result<Option<OutagePolicy>, Problem> {
    match given {
        Some(_) if engine.cluster().is_none() => Err(Problem::invalid_field(
            "cluster_unavailable",
            "Only a sidecar in cluster mode (--cluster) has this setting".to_owned(),
        )),
        given => Ok(given),
    }
}

/// `GET …/pools`.
pub(crate) async fn list(
    engine: web::Data<Engine>,
    caller: Caller,
    page: PageRequest,
) -> AnswerResult {
    let paged = engine
        .list_pools(&caller.account, page.engine_page())
        .await?;
    let pools = paged
        .items
        .iter()
        .map(|record| pool_json(&engine, caller.account.id(), record))
        .collect();
    Ok(page.respond::<Value>("pools", pools, paged.total))
}

/// `POST …/pools`: 201 with the new pool.
pub(crate) async fn create(
    engine: web::Data<Engine>,
    caller: Caller,
    body: web::Json<Value>,
) -> AnswerResult {
    let mut fields = Fields::of(&body)?;
    let pool_id = fields.required("pool_id");
    let fallback = fields.required("fallback");
    let localized = fields.required("localized_sender_preferred");
    let predictable = fields.required("predictable_sender_preferred");
    let custom_from = fields.nullable("custom_from");
    let sticky_ttl_seconds = fields.optional("sticky_ttl_seconds");
    let skip_unhealthy = fields.optional("skip_unhealthy");
    let health: Option<ThresholdsPatch> = fields.optional("health");
    let type_priority = fields.nullable("type_priority");
    let geomatch = fields.optional("geomatch");
    let cluster_unavailable = fields.optional("cluster_unavailable");
    fields.finish()?;
    let cluster_unavailable = outage_policy(&engine, cluster_unavailable)?;
    let (Some(pool_id), Some(fallback), Some(localized), Some(predictable)) =
        (pool_id, fallback, localized, predictable)
    else {
        unreachable!("finish() refuses a body that lacks a required field")
    };
    let defaults = PoolSettings::default();
    let settings = PoolSettings {
        fallback,
        localized_sender_preferred: localized,
        predictable_sender_preferred: predictable,
        custom_from: custom_from.flatten(),
        sticky_ttl_seconds: sticky_ttl_seconds.unwrap_or(0),
        skip_unhealthy: skip_unhealthy.unwrap_or(defaults.skip_unhealthy),
        health: health.map_or(defaults.health, |patch| patch.apply(&defaults.health)),
        type_priority: type_priority.flatten().unwrap_or_default(),
        geomatch: geomatch.unwrap_or(defaults.geomatch),
        cluster_unavailable: cluster_unavailable.unwrap_or_default(),
    };
    let record = engine
        .create_pool(&caller.account, pool_id, settings)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            pool_href(caller.account.id(), record.pool_id.as_str()),
        ))
        .json(pool_json(&engine, caller.account.id(), &record)))
}

/// `GET …/pools/{pool_id}`.
pub(crate) async fn get(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<PoolPath>,
) -> AnswerResult {
    let record = engine.get_pool(&caller.account, &path.pool_id).await?;
    Ok(HttpResponse::Ok().json(pool_json(&engine, caller.account.id(), &record)))
}

/// `PATCH …/pools/{pool_id}`: 201 (the spec's code) with the changed pool. A `pool_id` renames
/// the pool; an `account_id` other than the path's is a 409.
pub(crate) async fn patch(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<PoolPath>,
    body: web::Json<Value>,
) -> AnswerResult {
    let mut fields = Fields::of(&body)?;
    let update = PoolUpdate {
        pool_id: fields.optional("pool_id"),
        fallback: fields.optional("fallback"),
        localized_sender_preferred: fields.optional("localized_sender_preferred"),
        predictable_sender_preferred: fields.optional("predictable_sender_preferred"),
        custom_from: fields.nullable("custom_from"),
        sticky_ttl_seconds: fields.optional("sticky_ttl_seconds"),
        skip_unhealthy: fields.optional("skip_unhealthy"),
        health: fields.optional("health"),
        type_priority: fields
            .nullable("type_priority")
            .map(Option::unwrap_or_default),
        geomatch: fields.optional("geomatch"),
        cluster_unavailable: fields.optional("cluster_unavailable"),
    };
    let account_id: Option<String> = fields.optional("account_id");
    fields.finish()?;
    let update = PoolUpdate {
        cluster_unavailable: outage_policy(&engine, update.cluster_unavailable)?,
        ..update
    };
    if account_id.is_some_and(|id| id != caller.account.id().as_str()) {
        return Err(Problem::new(StatusCode::CONFLICT, ACCOUNT_ID_MISMATCH));
    }
    let record = engine
        .update_pool(&caller.account, &path.pool_id, &update)
        .await?;
    Ok(HttpResponse::Created().json(pool_json(&engine, caller.account.id(), &record)))
}

/// `DELETE …/pools/{pool_id}`: 200 with the pool as it was.
pub(crate) async fn delete(
    engine: web::Data<Engine>,
    caller: Caller,
    path: web::Path<PoolPath>,
) -> AnswerResult {
    let record = engine.delete_pool(&caller.account, &path.pool_id).await?;
    Ok(HttpResponse::Ok().json(pool_json(&engine, caller.account.id(), &record)))
}
