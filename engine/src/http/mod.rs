//! The REST API of DESIGN §5: starts the actix-web server and wires every route to its handler.
//! The Vonage Number Pools operations live under `/v2/numberpools/accounts/{account_id}/pools`;
//! numpool's extensions (inventory, picks, sticky, health, metrics) follow the same conventions.
//! `docs/openapi.json` describes every route here and is served at `/openapi.json`.
//! Every error, including the router's and the extractors', is an RFC 7807 problem.

mod auth;
mod body;
mod inbound;
mod inventory;
mod numbers;
mod ops;
mod optouts;
mod paging;
mod picks;
mod pool_settings;
mod pools;
mod problem;
mod receipts;
mod sticky;
mod time;
mod webhook;

use std::future::ready;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::middleware::Compress;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, Resource};

use self::ops::MetricsSettings;
use self::problem::{Problem, NOT_FOUND};
use crate::config::Config;
use crate::engine::Engine;
use crate::throttle::AuthThrottle;
use numpool_core::model::{AccountId, Msisdn};

/// What every handler returns: a response, or a problem.
type AnswerResult = Result<HttpResponse, Problem>;

/// The account-scoped prefix of every management path.
const ACCOUNT_SCOPE: &str = "/v2/numberpools/accounts/{account_id}";

/// Starts the REST API on `listener` (already bound) for `engine`, failed credentials costing
/// time through `throttle`; `/metrics` is served there, or on `metrics_listener` alone when the
/// operator gave it an address of its own (`metrics_listen`). One server per listener.
///
/// Signals are left to the caller (the binary stops the servers itself on SIGINT/SIGTERM).
pub(crate) fn start(
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    engine: Engine,
    throttle: Arc<AuthThrottle>,
    config: &Config,
) -> std::io::Result<Vec<Server>> {
    let engine = web::Data::new(engine);
    let throttle = web::Data::from(throttle);
    let settings = web::Data::new(MetricsSettings {
        token: config.metrics_token.clone(),
        per_account: config.metrics_per_account,
    });
    let max_body_bytes = config.limits.max_body_bytes;
    let metrics_here = metrics_listener.is_none();
    let api = {
        let (engine, throttle, settings) = (engine.clone(), throttle.clone(), settings.clone());
        HttpServer::new(move || {
            App::new()
                .wrap(Compress::default())
                .app_data(engine.clone())
                .app_data(throttle.clone())
                .app_data(settings.clone())
                .app_data(body::json_config(max_body_bytes))
                .app_data(web::Data::new(body::BodyLimit(max_body_bytes)))
                .app_data(web::PathConfig::default().error_handler(|error, req| {
                    Problem::not_found(req.path())
                        .detail(format!("Malformed path '{}': {error}", req.path()))
                        .into()
                }))
                .configure(|cfg| routes(cfg, metrics_here))
        })
        .workers(config.worker_count())
        .disable_signals()
        .shutdown_timeout(5)
        .listen(listener)?
        .run()
    };
    let mut servers = vec![api];
    if let Some(listener) = metrics_listener {
        let metrics = HttpServer::new(move || {
            App::new()
                .wrap(Compress::default())
                .app_data(engine.clone())
                .app_data(throttle.clone())
                .app_data(settings.clone())
                .service(resource("/metrics", "GET").route(web::get().to(ops::metrics)))
                .default_service(web::to(no_resource))
        })
        // A scrape now and then needs no thread per core.
        .workers(1)
        .disable_signals()
        .shutdown_timeout(5)
        .listen(listener)?
        .run();
        servers.push(metrics);
    }
    Ok(servers)
}

/// The 404 problem of a path that matches no route.
async fn no_resource(req: HttpRequest) -> Result<HttpResponse, Problem> {
    Err(Problem::new(StatusCode::NOT_FOUND, NOT_FOUND)
        .detail(format!("No resource at '{}'", req.path())))
}

/// Every route (`/metrics` only when it has no listener of its own). Methods a path lacks get
/// a 405 problem; paths that match nothing, a 404 one.
fn routes(cfg: &mut web::ServiceConfig, metrics_here: bool) {
    if metrics_here {
        cfg.service(resource("/metrics", "GET").route(web::get().to(ops::metrics)));
    }
    cfg.service(resource("/healthz", "GET").route(web::get().to(ops::healthz)))
        .service(resource("/openapi.json", "GET").route(web::get().to(ops::openapi)))
        .service(
            web::scope(ACCOUNT_SCOPE)
                .service(
                    resource("/pools", "GET, POST")
                        .route(web::get().to(pools::list))
                        .route(web::post().to(pools::create)),
                )
                .service(
                    resource("/pools/{pool_id}", "GET, PATCH, DELETE")
                        .route(web::get().to(pools::get))
                        .route(web::patch().to(pools::patch))
                        .route(web::delete().to(pools::delete)),
                )
                .service(
                    resource("/pools/{pool_id}/numbers", "GET, POST")
                        .route(web::get().to(numbers::list))
                        .route(web::post().to(numbers::add)),
                )
                // Before `{number}`, which would otherwise take "delete" for a number.
                .service(
                    resource("/pools/{pool_id}/numbers/delete", "POST")
                        .route(web::post().to(numbers::remove_many)),
                )
                .service(
                    resource("/pools/{pool_id}/numbers/{number}", "GET, DELETE")
                        .route(web::get().to(numbers::get_one))
                        .route(web::delete().to(numbers::remove_one)),
                )
                .service(
                    resource("/pools/{pool_id}/pick", "POST").route(web::post().to(picks::pick)),
                )
                .service(
                    resource("/pools/{pool_id}/optouts", "GET").route(web::get().to(optouts::list)),
                )
                .service(
                    resource("/pools/{pool_id}/optouts/{to}", "GET, PUT, DELETE")
                        .route(web::get().to(optouts::get))
                        .route(web::put().to(optouts::put))
                        .route(web::delete().to(optouts::delete)),
                )
                .service(
                    resource("/pools/{pool_id}/sticky", "GET").route(web::get().to(sticky::list)),
                )
                .service(
                    resource("/pools/{pool_id}/sticky/{to}", "GET, DELETE")
                        .route(web::get().to(sticky::get))
                        .route(web::delete().to(sticky::delete)),
                )
                .service(
                    resource("/numbers", "GET, POST")
                        .route(web::get().to(inventory::list))
                        .route(web::post().to(inventory::upsert_many)),
                )
                .service(
                    resource("/inbound", "GET, POST")
                        .route(web::get().to(inbound::get))
                        .route(web::post().to(inbound::post)),
                )
                .service(
                    resource("/receipts", "GET, POST")
                        .route(web::get().to(receipts::get))
                        .route(web::post().to(receipts::post)),
                )
                .service(
                    resource("/numbers/{number}", "GET, PUT, PATCH, DELETE")
                        .route(web::get().to(inventory::get))
                        .route(web::put().to(inventory::put))
                        .route(web::patch().to(inventory::patch))
                        .route(web::delete().to(inventory::delete)),
                ),
        )
        .default_service(web::to(no_resource));
}

/// A resource whose other methods answer 405 with `Allow: allow`.
fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| {
        ready(Err::<HttpResponse, _>(Problem::method_not_allowed(
            req.method().as_str(),
            allow,
        )))
    }))
}

/// The path of an account's resources.
fn account_href(account: &AccountId) -> String {
    format!("/v2/numberpools/accounts/{account}")
}

/// The path of a pool.
fn pool_href(account: &AccountId, pool_id: &str) -> String {
    format!("{}/pools/{pool_id}", account_href(account))
}

/// A number from a path segment, or a 400 `#validation` naming the segment.
fn parse_path_number(name: &str, text: &str) -> Result<Msisdn, Problem> {
    Msisdn::parse(text).map_err(|e| Problem::invalid_field(name, e.to_string()))
}
