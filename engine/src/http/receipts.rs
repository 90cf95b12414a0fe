//! Delivery receipts in (numpool extension, DESIGN §3.4, §5): Vonage's SMS API delivery receipt
//! exactly as Vonage sends it (a GET query string, or a POST form or JSON body) and the Messages
//! API status callback (JSON), one receipt per request; `204` once counted. A malformed receipt
//! is `400 #validation` naming its field, a sender the account does not own `404`; neither
//! changes anything.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::auth::Caller;
use super::body::{BodyLimit, FieldValue, Fields};
use super::problem::Problem;
use super::webhook::{self, Posted};
use super::AnswerResult;
use crate::engine::{Engine, Receipt};
use numpool_core::delivery::{DlrStatus, ReceiptClass};
use numpool_core::model::{Msisdn, SenderId};

/// A receipt's sender as given: one of our numbers, or an alphanumeric sender ID (which no
/// account owns, so its receipt is a 404 rather than malformed).
enum SenderField {
    /// E.164 digits.
    Number(Msisdn),
    /// A valid alphanumeric sender ID.
    Alphanumeric(String),
}

impl FieldValue for SenderField {
    fn from_json(value: &Value) -> Result<Self, String> {
        let text = String::from_json(value)?;
        match Msisdn::parse(&text) {
            Ok(number) => Ok(SenderField::Number(number)),
            Err(_) if SenderId::new(&text).is_ok() => Ok(SenderField::Alphanumeric(text)),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// An SMS API `err-code`: Vonage sends it as a string of digits; JSON may carry a number.
struct ErrCode(u32);

impl FieldValue for ErrCode {
    fn from_json(value: &Value) -> Result<Self, String> {
        // Vonage's codes are small: 1 to 9 digits, so any code taken fits and none is cut.
        webhook::small_integer(value, 9)
            .and_then(|n| u32::try_from(n).ok())
            .map(ErrCode)
            .ok_or_else(|| "Must be a non-negative integer of at most 9 digits".into())
    }
}

impl FieldValue for DlrStatus {
    fn from_json(value: &Value) -> Result<Self, String> {
        value
            .as_str()
            .and_then(DlrStatus::from_name)
            .ok_or_else(|| {
                "Must be one of delivered, expired, failed, rejected, accepted, buffered, unknown"
                    .into()
            })
    }
}

/// `GET …/receipts?msisdn=…&to=…&status=…&err-code=…`: an SMS API delivery receipt.
pub(crate) async fn get(
    engine: web::Data<Engine>,
    caller: Caller,
    request: HttpRequest,
) -> AnswerResult {
    count(&engine, &caller, sms_receipt(&webhook::query(&request)?)?).await
}

/// `POST …/receipts`: an SMS API delivery receipt as a form or JSON, or a Messages API status
/// callback (JSON with `message_uuid`).
pub(crate) async fn post(
    engine: web::Data<Engine>,
    caller: Caller,
    request: HttpRequest,
    limit: web::Data<BodyLimit>,
    payload: web::Payload,
) -> AnswerResult {
    let parsed = match webhook::posted(&request, payload, **limit).await? {
        Posted::Form(fields) => sms_receipt(&fields)?,
        Posted::Json(value) if value.get("message_uuid").is_some() => messages_api_receipt(&value)?,
        Posted::Json(value) => sms_receipt(&value)?,
    };
    count(&engine, &caller, parsed).await
}

/// Counts a parsed receipt: `204`, or `404` for a sender the account does not own.
async fn count(engine: &Engine, caller: &Caller, parsed: Parsed) -> AnswerResult {
    let sender = match parsed.sender {
        SenderField::Number(number) => number,
        SenderField::Alphanumeric(id) => return Err(Problem::not_found(id)),
    };
    let receipt = Receipt {
        sender,
        to: parsed.to,
        class: parsed.class,
    };
    engine.receipt(&caller.account, receipt).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A receipt read and classified, before its sender is looked up.
struct Parsed {
    /// Who sent the message.
    sender: SenderField,
    /// Who it went to.
    to: Msisdn,
    /// What the receipt says.
    class: ReceiptClass,
}

/// An SMS API delivery receipt: `msisdn` (the recipient), `to` (our number), `status` and
/// `err-code`; Vonage's other fields are ignored.
fn sms_receipt(value: &Value) -> Result<Parsed, Problem> {
    let mut fields = Fields::of(value)?;
    let to = fields.required::<Msisdn>("msisdn");
    let sender = fields.required::<SenderField>("to");
    let status = fields.required::<DlrStatus>("status");
    let code = fields.optional::<ErrCode>("err-code");
    fields.finish()?;
    let (Some(to), Some(sender), Some(status)) = (to, sender, status) else {
        unreachable!("finish() refuses a receipt without them")
    };
    Ok(Parsed {
        sender,
        to,
        class: ReceiptClass::of(status, code.map(|c| c.0)),
    })
}

/// A Messages API status callback: `to` (the recipient), `from` (our number), `status`, and
/// for a failure an `error` whose code (its `title`, or the anchor of its `type`) is used when
/// it is one of the SMS API err-codes.
fn messages_api_receipt(value: &Value) -> Result<Parsed, Problem> {
    let mut fields = Fields::of(value)?;
    let to = fields.required::<Msisdn>("to");
    let sender = fields.required::<SenderField>("from");
    let status_name = fields.required::<String>("status");
    let status = status_name.as_deref().and_then(|name| {
        DlrStatus::from_messages_api(name)
            .ok_or_else(|| {
                fields.fail(
                    "status",
                    "Must be one of submitted, delivered, rejected, undeliverable".into(),
                )
            })
            .ok()
    });
    fields.finish()?;
    let (Some(to), Some(sender), Some(status)) = (to, sender, status) else {
        unreachable!("finish() refuses a callback without them")
    };
    Ok(Parsed {
        sender,
        to,
        class: ReceiptClass::of(status, messages_api_code(value.get("error"))),
    })
}

/// The code of a Messages API `error`: its `title` when that is a number, else the anchor of
/// its `type` URL (`…/messages#1320`).
fn messages_api_code(error: Option<&Value>) -> Option<u32> {
    let error = error?;
    let title = error.get("title").and_then(Value::as_str);
    let anchor = error
        .get("type")
        .and_then(Value::as_str)
        .and_then(|t| t.rsplit_once('#'))
        .map(|(_, code)| code);
    [title, anchor]
        .into_iter()
        .flatten()
        .find_map(|code| code.parse().ok())
}
