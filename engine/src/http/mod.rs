//! The REST API of DESIGN §5: starts the actix-web server and wires every route to its handler.
//! The Vonage Number Pools operations live under `/v2/numberpools/accounts/{account_id}/pools`;
//! numpool's extensions (inventory, picks, sticky, health, metrics) follow the same conventions.
//! `docs/openapi.json` describes every route here and is served at `/openapi.json`.
//! Every error, including the router's and the extractors', is an RFC 7807 problem.

mod auth;
mod body;
mod inventory;
mod numbers;
mod ops;
mod paging;
mod picks;
mod pools;
mod problem;
mod time;

use std::future::ready;
use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::middleware::Compress;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, Resource};

use self::problem::{Problem, NOT_FOUND};
use crate::config::Limits;
use crate::engine::Engine;
use numpool_core::model::{AccountId, Msisdn};

/// What every handler returns: a response, or a problem.
type AnswerResult = Result<HttpResponse, Problem>;

/// The account-scoped prefix of every management path.
const ACCOUNT_SCOPE: &str = "/v2/numberpools/accounts/{account_id}";

/// Starts the REST API on `listener` (already bound) for `engine`.
///
/// Signals are left to the caller (the binary stops the server itself on SIGINT/SIGTERM).
pub(crate) fn start(
    listener: TcpListener,
    engine: Engine,
    limits: &Limits,
) -> std::io::Result<Server> {
    let engine = web::Data::new(engine);
    let max_body_bytes = limits.max_body_bytes;
    let server = HttpServer::new(move || {
        App::new()
            .wrap(Compress::default())
            .app_data(engine.clone())
            .app_data(body::json_config(max_body_bytes))
            .app_data(web::PathConfig::default().error_handler(|error, req| {
                Problem::not_found(req.path())
                    .detail(format!("Malformed path '{}': {error}", req.path()))
                    .into()
            }))
            .configure(routes)
    })
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Every route. Methods a path lacks get a 405 problem; paths that match nothing, a 404 one.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz", "GET").route(web::get().to(ops::healthz)))
        .service(resource("/metrics", "GET").route(web::get().to(ops::metrics)))
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
                    resource("/pools/{pool_id}/numbers/{number}", "DELETE")
                        .route(web::delete().to(numbers::remove_one)),
                )
                .service(
                    resource("/pools/{pool_id}/pick", "POST").route(web::post().to(picks::pick)),
                )
                .service(
                    resource("/pools/{pool_id}/sticky/{to}", "GET, DELETE")
                        .route(web::get().to(picks::sticky_get))
                        .route(web::delete().to(picks::sticky_delete)),
                )
                .service(
                    resource("/numbers", "GET, POST")
                        .route(web::get().to(inventory::list))
                        .route(web::post().to(inventory::upsert_many)),
                )
                .service(
                    resource("/numbers/{number}", "GET, PUT, DELETE")
                        .route(web::get().to(inventory::get))
                        .route(web::put().to(inventory::put))
                        .route(web::delete().to(inventory::delete)),
                ),
        )
        .default_service(web::to(|req: HttpRequest| {
            ready(Err::<HttpResponse, _>(
                Problem::new(StatusCode::NOT_FOUND, NOT_FOUND)
                    .detail(format!("No resource at '{}'", req.path())),
            ))
        }));
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
