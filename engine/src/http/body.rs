//! Request bodies: the JSON extractor's limits and error answers, and [`Fields`], which reads a
//! JSON object field by field and reports every invalid one at once (`#validation`), so a bad
//! request is refused whole before anything is applied.

use actix_web::error::JsonPayloadError;
use actix_web::{web, HttpRequest};
use serde_json::{Map, Value};

use super::problem::{InvalidParam, Problem};
use numpool_core::model::{
    CustomFrom, Fallback, Mps, Msisdn, Network, NumberStatus, NumberType, PoolId,
};

/// The JSON extractor's configuration: bodies up to `max_body_bytes`, and a problem for every
/// way a body can fail to parse. Bodies are parsed as JSON whatever their `Content-Type` (every
/// body of this API is JSON, and `curl -d` sends a form type), so only the content decides.
pub(crate) fn json_config(max_body_bytes: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(max_body_bytes)
        .content_type_required(false)
        .error_handler(|error, _: &HttpRequest| json_error(error).into())
}

/// The largest body a handler that reads raw bytes takes (the same `max_body_bytes` as JSON
/// bodies), kept in the app's data since [`web::JsonConfig`] does not say its limit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyLimit(pub(crate) usize);

/// Reads a raw body of at most `limit` bytes; a longer one is `400 #validation` naming `body`
/// before any of it is kept.
pub(crate) async fn read_limited(
    payload: web::Payload,
    limit: BodyLimit,
) -> Result<web::Bytes, Problem> {
    match payload.to_bytes_limited(limit.0).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => Err(Problem::invalid_field("body", error.to_string())),
        Err(_) => Err(Problem::invalid_field(
            "body",
            format!("Is larger than the limit of {} bytes", limit.0),
        )),
    }
}

fn json_error(error: JsonPayloadError) -> Problem {
    match error {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => Problem::invalid_json(format!(
            "request body is larger than the limit of {limit} bytes"
        )),
        JsonPayloadError::Deserialize(e) => Problem::invalid_json(e.to_string()),
        other => Problem::invalid_json(other.to_string()),
    }
}

/// A value a body field can hold, with the check that turns JSON into it.
pub(crate) trait FieldValue: Sized {
    /// Converts `value`, or says what the field must be.
    fn from_json(value: &Value) -> Result<Self, String>;
}

impl FieldValue for bool {
    fn from_json(value: &Value) -> Result<Self, String> {
        value
            .as_bool()
            .ok_or_else(|| "Must be a boolean value".into())
    }
}

impl FieldValue for u32 {
    fn from_json(value: &Value) -> Result<Self, String> {
        value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("Must be an integer from 0 to {}", u32::MAX))
    }
}

impl FieldValue for f64 {
    fn from_json(value: &Value) -> Result<Self, String> {
        value.as_f64().ok_or_else(|| "Must be a number".into())
    }
}

impl FieldValue for Mps {
    fn from_json(value: &Value) -> Result<Self, String> {
        Mps::new(f64::from_json(value)?).map_err(|e| e.to_string())
    }
}

impl FieldValue for String {
    fn from_json(value: &Value) -> Result<Self, String> {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "Must be a string".into())
    }
}

impl FieldValue for Vec<Value> {
    fn from_json(value: &Value) -> Result<Self, String> {
        value
            .as_array()
            .cloned()
            .ok_or_else(|| "Must be an array".into())
    }
}

impl FieldValue for Fallback {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value.as_str() {
            Some("Pool") => Ok(Fallback::Pool),
            Some("CustomFrom") => Ok(Fallback::CustomFrom),
            Some("Reject") => Ok(Fallback::Reject),
            _ => Err("Must be one of Pool, CustomFrom, Reject".into()),
        }
    }
}

impl FieldValue for NumberType {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value.as_str() {
            Some("mobile") => Ok(NumberType::Mobile),
            Some("landline") => Ok(NumberType::Landline),
            Some("toll_free") => Ok(NumberType::TollFree),
            Some("short_code") => Ok(NumberType::ShortCode),
            _ => Err("Must be one of mobile, landline, toll_free, short_code".into()),
        }
    }
}

impl FieldValue for NumberStatus {
    fn from_json(value: &Value) -> Result<Self, String> {
        value
            .as_str()
            .and_then(NumberStatus::from_name)
            .ok_or_else(|| "Must be one of active, draining, suspended".into())
    }
}

impl FieldValue for Network {
    fn from_json(value: &Value) -> Result<Self, String> {
        let text = String::from_json(value)?;
        Network::new(&text).map_err(|e| e.to_string())
    }
}

impl FieldValue for PoolId {
    fn from_json(value: &Value) -> Result<Self, String> {
        let text = String::from_json(value)?;
        PoolId::new(&text).map_err(|e| e.to_string())
    }
}

impl FieldValue for CustomFrom {
    fn from_json(value: &Value) -> Result<Self, String> {
        let text = String::from_json(value)?;
        CustomFrom::new(&text).map_err(|e| e.to_string())
    }
}

impl FieldValue for Msisdn {
    fn from_json(value: &Value) -> Result<Self, String> {
        let text = String::from_json(value)?;
        Msisdn::parse(&text).map_err(|e| e.to_string())
    }
}

/// Reads the fields of one JSON object, collecting every failure. Unknown fields are ignored,
/// as Vonage's server does (the spec's schemas allow additional properties).
pub(crate) struct Fields<'a> {
    /// The object being read.
    object: &'a Map<String, Value>,
    /// Prepended to field names in failures, for objects nested in arrays (`numbers[2].`).
    prefix: String,
    /// Failures so far, in field order.
    invalid: Vec<InvalidParam>,
}

impl<'a> Fields<'a> {
    /// Starts reading `body`, which must be a JSON object.
    pub(crate) fn of(body: &'a Value) -> Result<Self, Problem> {
        Fields::nested(body, "").map_err(Problem::validation)
    }

    /// Starts reading an object found at `prefix` inside a larger body (`numbers[2]`).
    pub(crate) fn nested(value: &'a Value, prefix: &str) -> Result<Self, Vec<InvalidParam>> {
        let name = if prefix.is_empty() { "body" } else { prefix };
        match value.as_object() {
            Some(object) => Ok(Fields {
                object,
                prefix: if prefix.is_empty() {
                    String::new()
                } else {
                    format!("{prefix}.")
                },
                invalid: Vec::new(),
            }),
            None => Err(vec![InvalidParam {
                name: name.into(),
                reason: "Must be a JSON object".into(),
            }]),
        }
    }

    /// A field that must be present.
    pub(crate) fn required<T: FieldValue>(&mut self, name: &str) -> Option<T> {
        if !self.object.contains_key(name) {
            self.fail(name, "Is required".into());
        }
        self.optional(name)
    }

    /// A field that may be absent.
    pub(crate) fn optional<T: FieldValue>(&mut self, name: &str) -> Option<T> {
        let object = self.object;
        let value = object.get(name)?;
        T::from_json(value)
            .map_err(|reason| self.fail(name, reason))
            .ok()
    }

    /// A field that may be absent (`None`) or `null` (`Some(None)`), for values that can be
    /// cleared.
    pub(crate) fn nullable<T: FieldValue>(&mut self, name: &str) -> Option<Option<T>> {
        match self.object.get(name) {
            Some(Value::Null) => Some(None),
            Some(_) => self.optional(name).map(Some),
            None => None,
        }
    }

    /// Records a failure of field `name` found by the caller.
    pub(crate) fn fail(&mut self, name: &str, reason: String) {
        self.invalid.push(InvalidParam {
            name: format!("{}{name}", self.prefix),
            reason,
        });
    }

    /// Whether every field read so far was valid.
    pub(crate) fn is_valid(&self) -> bool {
        self.invalid.is_empty()
    }

    /// The failures, if any.
    pub(crate) fn into_invalid(self) -> Vec<InvalidParam> {
        self.invalid
    }

    /// `Ok` when every field read was valid, else the `#validation` problem naming them.
    pub(crate) fn finish(self) -> Result<(), Problem> {
        if self.is_valid() {
            Ok(())
        } else {
            Err(Problem::validation(self.invalid))
        }
    }
}

/// The `numbers` array of a bulk body, refused whole when it holds more than `limit` entries
/// (Vonage's 50 for pools, numpool's 1,000 for the inventory).
pub(crate) fn bulk_numbers(body: &Value, limit: usize) -> Result<Vec<Value>, Problem> {
    let mut fields = Fields::of(body)?;
    let numbers: Option<Vec<Value>> = fields.required("numbers");
    fields.finish()?;
    let numbers = numbers.unwrap_or_default();
    if numbers.len() > limit {
        return Err(Problem::too_many_numbers(limit));
    }
    Ok(numbers)
}

/// The numbers of a pool's bulk add or remove, each a string of 7 to 15 digits, in order and
/// without repeats (a repeat would otherwise fail as "already removed").
pub(crate) fn pool_numbers(body: &Value, limit: usize) -> Result<Vec<Msisdn>, Problem> {
    let items = bulk_numbers(body, limit)?;
    let mut invalid = Vec::new();
    let mut numbers: Vec<Msisdn> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match Msisdn::from_json(item) {
            Ok(number) if !numbers.contains(&number) => numbers.push(number),
            Ok(_) => {}
            Err(reason) => invalid.push(InvalidParam {
                name: format!("numbers[{index}]"),
                reason,
            }),
        }
    }
    if invalid.is_empty() {
        Ok(numbers)
    } else {
        Err(Problem::validation(invalid))
    }
}
