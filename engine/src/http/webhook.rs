//! What Vonage's webhooks send (delivery receipts, inbound messages): a GET query string, or a
//! POST form or JSON body. Each is read into one JSON object (a form's values as strings), so
//! one field reader serves every shape.

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use serde_json::{Map, Value};

use super::body::{read_limited, BodyLimit};
use super::problem::Problem;

/// A POSTed webhook body.
pub(crate) enum Posted {
    /// A form (`application/x-www-form-urlencoded`): the SMS API's shapes.
    Form(Value),
    /// JSON: the SMS API's or the Messages API's.
    Json(Value),
}

/// A GET webhook's query string as an object.
pub(crate) fn query(request: &HttpRequest) -> Result<Value, Problem> {
    form_object(request.query_string(), "query")
}

/// A POST webhook's body, at most `limit` bytes, as a form or JSON by its content type.
pub(crate) async fn posted(
    request: &HttpRequest,
    payload: web::Payload,
    limit: BodyLimit,
) -> Result<Posted, Problem> {
    let body = read_limited(payload, limit).await?;
    let form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form {
        let text = std::str::from_utf8(&body)
            .map_err(|e| Problem::invalid_field("body", e.to_string()))?;
        Ok(Posted::Form(form_object(text, "body")?))
    } else {
        serde_json::from_slice(&body)
            .map(Posted::Json)
            .map_err(|e| Problem::invalid_json(e.to_string()))
    }
}

/// A query string or form body as a JSON object of strings.
fn form_object(text: &str, what: &str) -> Result<Value, Problem> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(text)
        .map_err(|e| Problem::invalid_field(what, e.to_string()))?;
    let object: Map<String, Value> = pairs
        .into_inner()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    Ok(Value::Object(object))
}

/// A count as Vonage's webhooks send it, a string of 1 to `max_digits` digits, or as JSON may
/// carry it, a non-negative number below `10^max_digits`; `None` for anything else.
pub(crate) fn small_integer(value: &Value, max_digits: u32) -> Option<u64> {
    match value {
        Value::String(text) if (1..=max_digits as usize).contains(&text.len()) => text.parse().ok(),
        Value::String(_) => None,
        other => other.as_u64().filter(|n| *n < 10u64.pow(max_digits)),
    }
}
