//! Inbound messages in (numpool extension, DESIGN §3.6, §5): Vonage's SMS API inbound webhook
//! exactly as Vonage sends it (a GET query string, or a POST form or JSON body) and the
//! Messages API inbound JSON. `200` with the conversations the message belongs to and what its
//! keyword did; a malformed message is `400 #validation` naming its field, a number the account
//! does not own `404`; neither changes anything.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::auth::Caller;
use super::body::{BodyLimit, FieldValue, Fields};
use super::problem::Problem;
use super::time::rfc3339;
use super::webhook::{self, Posted};
use super::AnswerResult;
use crate::engine::{Engine, Inbound, InboundOutcome, Part, Thread};

/// `GET …/inbound?msisdn=…&to=…&text=…`: an SMS API inbound message.
pub(crate) async fn get(
    engine: web::Data<Engine>,
    caller: Caller,
    request: HttpRequest,
) -> AnswerResult {
    resolve(&engine, &caller, sms_inbound(&webhook::query(&request)?)?).await
}

/// `POST …/inbound`: an SMS API inbound message as a form or JSON, or a Messages API inbound
/// message (JSON with `message_uuid` or `channel`).
pub(crate) async fn post(
    engine: web::Data<Engine>,
    caller: Caller,
    request: HttpRequest,
    limit: web::Data<BodyLimit>,
    payload: web::Payload,
) -> AnswerResult {
    let message = match webhook::posted(&request, payload, **limit).await? {
        Posted::Form(fields) => sms_inbound(&fields)?,
        Posted::Json(value) if value.get("message_uuid").is_some() => messages_api_inbound(&value)?,
        Posted::Json(value) if value.get("channel").is_some() => messages_api_inbound(&value)?,
        Posted::Json(value) => sms_inbound(&value)?,
    };
    resolve(&engine, &caller, message).await
}

async fn resolve(engine: &Engine, caller: &Caller, message: Inbound) -> AnswerResult {
    let outcome = engine.inbound(&caller.account, message).await?;
    Ok(HttpResponse::Ok().json(outcome_json(&outcome)))
}

/// The answer: `{"conversations": […], "action", "keyword"}`, and `parts` for a part of a
/// concatenated message.
fn outcome_json(outcome: &InboundOutcome) -> Value {
    let mut answer = json!({
        "conversations": outcome.threads.iter().map(thread_json).collect::<Vec<_>>(),
        "action": outcome.action.map_or("none", |a| a.as_str()),
        "keyword": outcome.keyword.map(|k| k.word),
    });
    if let Some((received, total)) = outcome.parts {
        answer["parts"] = json!({ "received": received, "total": total });
    }
    answer
}

/// One conversation: `since` and `last_use` are `null` for a pool that holds the number but
/// had no conversation with the writer.
fn thread_json(thread: &Thread) -> Value {
    json!({
        "pool_id": thread.pool_id.as_str(),
        "sender": thread.sender.to_string(),
        "since": thread.mapping.map(|m| rfc3339(m.since.into())),
        "last_use": thread.mapping.map(|m| rfc3339(m.last_use.into())),
    })
}

/// A small count as the SMS API sends it (a string of digits) or as JSON may (a number):
/// `concat-total` and `concat-part`, 1 to 255 (a concatenated SMS has at most 255 parts).
struct PartCount(u8);

impl FieldValue for PartCount {
    fn from_json(value: &Value) -> Result<Self, String> {
        webhook::small_integer(value, 3)
            .and_then(|n| u8::try_from(n).ok())
            .filter(|&n| n >= 1)
            .map(PartCount)
            .ok_or_else(|| "Must be an integer from 1 to 255".into())
    }
}

/// Whether the SMS API's `concat` says the message is a part: `"true"` (or JSON `true`).
struct Flag(bool);

impl FieldValue for Flag {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Bool(b) => Ok(Flag(*b)),
            Value::String(text) if text == "true" => Ok(Flag(true)),
            Value::String(text) if text == "false" => Ok(Flag(false)),
            _ => Err("Must be true or false".into()),
        }
    }
}

/// An SMS API inbound message: `msisdn` (the writer), `to` (our number), `text`, and for a
/// part of a long message `concat`, `concat-ref`, `concat-total`, `concat-part`; Vonage's
/// other fields (`messageId`, `type`, `keyword`, `message-timestamp`, …) are not needed.
fn sms_inbound(value: &Value) -> Result<Inbound, Problem> {
    let mut fields = Fields::of(value)?;
    let theirs = fields.required("msisdn");
    let ours = fields.required("to");
    let text: Option<String> = fields.optional("text");
    let concat = fields.optional::<Flag>("concat").is_some_and(|f| f.0);
    let part = if concat {
        let reference: Option<String> = fields.required("concat-ref");
        let total = fields.required::<PartCount>("concat-total");
        let index = fields.required::<PartCount>("concat-part");
        if let (Some(total), Some(index)) = (&total, &index) {
            if index.0 > total.0 {
                fields.fail(
                    "concat-part",
                    format!("Must be at most concat-total ({})", total.0),
                );
            }
        }
        match (reference, total, index) {
            (Some(reference), Some(total), Some(index)) if total.0 > 1 => Some(Part {
                reference,
                total: total.0,
                index: index.0,
            }),
            _ => None,
        }
    } else {
        None
    };
    fields.finish()?;
    let (Some(theirs), Some(ours)) = (theirs, ours) else {
        unreachable!("finish() refuses a message without them")
    };
    Ok(Inbound {
        ours,
        theirs,
        text,
        part,
    })
}

/// A Messages API inbound message: `from` (the writer), `to` (our number), `text`, and
/// `channel`, which must be `sms` or `mms` (the channels whose ends are phone numbers).
/// The Messages API hands a long SMS over whole, so it is judged as one text.
fn messages_api_inbound(value: &Value) -> Result<Inbound, Problem> {
    let mut fields = Fields::of(value)?;
    let theirs = fields.required("from");
    let ours = fields.required("to");
    let text: Option<String> = fields.optional("text");
    let channel: Option<String> = fields.optional("channel");
    if channel.as_deref().is_some_and(|c| c != "sms" && c != "mms") {
        fields.fail("channel", "Must be sms or mms".into());
    }
    fields.finish()?;
    let (Some(theirs), Some(ours)) = (theirs, ours) else {
        unreachable!("finish() refuses a message without them")
    };
    Ok(Inbound {
        ours,
        theirs,
        text,
        part: None,
    })
}
