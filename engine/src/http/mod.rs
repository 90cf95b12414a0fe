//! The REST API of DESIGN §5 (under construction).

use std::net::TcpListener;

use actix_web::dev::Server;

use crate::config::Limits;
use crate::engine::Engine;

/// Starts the REST API on `listener` (already bound) for `engine`.
pub fn start(listener: TcpListener, engine: Engine, limits: &Limits) -> std::io::Result<Server> {
    let _ = (&engine, limits);
    Ok(actix_web::HttpServer::new(actix_web::App::new)
        .listen(listener)?
        .run())
}
