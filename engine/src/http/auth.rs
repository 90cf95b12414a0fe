//! HTTP Basic authentication (DESIGN §5): the [`Caller`] extractor checks the credentials with
//! the engine and that the path's `account_id` is the caller's own account.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};

use super::problem::Problem;
use crate::engine::Engine;
use crate::model::AccountId;

/// The authenticated account that a request's path names. A handler that takes it runs only
/// for a caller with valid credentials acting on its own account.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The account the credentials belong to, which is also the path's `account_id`.
    pub account: AccountId,
}

impl FromRequest for Caller {
    type Error = Problem;
    type Future = Ready<Result<Caller, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Caller, Problem> {
    let engine = req
        .app_data::<web::Data<Engine>>()
        .expect("the app registers the engine");
    let (key, secret) = basic_credentials(req).ok_or_else(Problem::unauthorized)?;
    let account = engine
        .authenticate(&key, &secret)
        .ok_or_else(Problem::unauthorized)?;
    // Someone else's account answers exactly like a missing one: no hint that it exists.
    let path_account = req.match_info().get("account_id").unwrap_or_default();
    if path_account != account.as_str() {
        return Err(Problem::not_found(path_account));
    }
    Ok(Caller { account })
}

/// The key and secret of an `Authorization: Basic` header, if well formed.
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let text = String::from_utf8(decode_base64(encoded.trim())?).ok()?;
    let (key, secret) = text.split_once(':')?;
    Some((key.to_owned(), secret.to_owned()))
}

/// Decodes standard base64 (RFC 4648 §4, padding optional): the one use of base64 here does
/// not justify a dependency.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let digits = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    for byte in digits.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::decode_base64;

    #[test]
    fn decodes_with_and_without_padding() {
        assert_eq!(
            decode_base64("YWJjZDEyMzQ6czNjcmV0").unwrap(),
            b"abcd1234:s3cret"
        );
        assert_eq!(decode_base64("YQ==").unwrap(), b"a");
        assert_eq!(decode_base64("YWI").unwrap(), b"ab");
        assert_eq!(decode_base64("YW*"), None);
    }
}
