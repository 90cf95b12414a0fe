//! HTTP Basic authentication (DESIGN §5): the [`Caller`] extractor checks the credentials with
//! the engine and that the path's `account_id` is the caller's own account. A client address
//! whose credentials failed waits for its turn before its next ones are judged
//! ([`AuthThrottle`]): on a timer in the request's own future, so other clients are not slowed.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

use super::problem::Problem;
use crate::engine::{AccountHandle, Engine};
use crate::throttle::{AuthThrottle, Interface};

/// The authenticated account that a request's path names. A handler that takes it runs only
/// for a caller with valid credentials acting on its own account.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    /// The account the credentials belong to, which is also the path's `account_id`: the
    /// handle every engine call of the request takes.
    pub(crate) account: AccountHandle,
}

impl FromRequest for Caller {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, Problem>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

async fn authenticate(req: HttpRequest) -> Result<Caller, Problem> {
    let engine = req
        .app_data::<web::Data<Engine>>()
        .expect("the app registers the engine");
    let throttle = req
        .app_data::<web::Data<AuthThrottle>>()
        .expect("the app registers the throttle");
    // No credentials guess nothing: answered at once, not counted.
    let (key, secret) = basic_credentials(&req).ok_or_else(Problem::unauthorized)?;
    let verdict = throttle.judge(peer(&req), Interface::Http, &key, || {
        engine.authenticate(&key, &secret)
    });
    let Some(account) = verdict.await else {
        return Err(Problem::unauthorized());
    };
    // Someone else's account answers exactly like a missing one: no hint that it exists.
    let path_account = req.match_info().get("account_id").unwrap_or_default();
    if path_account != account.id().as_str() {
        return Err(Problem::not_found(path_account));
    }
    Ok(Caller { account })
}

/// The client's address and port (what the throttle keys on and logs); unspecified when actix
/// does not know it.
pub(crate) fn peer(req: &HttpRequest) -> SocketAddr {
    req.peer_addr()
        .unwrap_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
}

/// Standard base64 that takes credentials with or without their `=` padding, as curl and every
/// HTTP library send them padded but hand-made headers sometimes are not.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The key and secret of an `Authorization: Basic` header, if well formed.
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASE64.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (key, secret) = text.split_once(':')?;
    Some((key.to_owned(), secret.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_with_and_without_padding() {
        assert_eq!(
            BASE64.decode("YWJjZDEyMzQ6czNjcmV0").unwrap(),
            b"abcd1234:s3cret"
        );
        assert_eq!(BASE64.decode("YQ==").unwrap(), b"a");
        assert_eq!(BASE64.decode("YWI").unwrap(), b"ab");
        assert!(BASE64.decode("YW*").is_err());
    }
}
