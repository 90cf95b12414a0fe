//! RFC 7807 problem responses: every error the REST API sends, with the Vonage spec's `type`
//! URLs and titles (see `docs/errors.md`), built in one place so no handler spells them out.

use std::fmt;

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::engine::{EngineError, LimitExceeded, PickFailure};
use numpool_core::select::PickError;

/// The media type of every problem (RFC 7807 §3).
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// Where the Vonage spec's number-pools errors point; numpool's own pool errors use it too.
const POOLS: &str = "https://developer.nexmo.com/api-errors/number-pools";
/// Where Vonage's common (not pool-specific) errors point, a different host (reference §8.3).
const COMMON: &str = "https://developer.vonage.com/api-errors";

/// What identifies a kind of error to a client: its `type` URL, `title` and usual `detail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Kind {
    /// Base URL of the `type` (which host depends on the error family).
    base: &'static str,
    /// The `#anchor` that names the error.
    anchor: &'static str,
    /// The spec's title: fixed per kind so clients may match on it.
    title: &'static str,
    /// The spec's detail, used when the handler has nothing more specific to say.
    detail: &'static str,
}

impl Kind {
    /// The full `type` URL.
    fn type_url(&self) -> String {
        format!("{}#{}", self.base, self.anchor)
    }
}

/// 401: credentials missing or wrong.
pub(crate) const UNAUTHORIZED: Kind = Kind {
    base: COMMON,
    anchor: "unauthorized",
    title: "Invalid credentials supplied",
    detail: "You did not provide correct credentials.",
};
/// 404: unknown or inaccessible account, pool, number or route.
pub(crate) const NOT_FOUND: Kind = Kind {
    base: COMMON,
    anchor: "not-found",
    title: "Not Found",
    detail: "The requested resource does not exist, or you do not have access",
};
/// 405: the path exists but not with this method (Vonage's common `InvalidRequestMethod`).
pub(crate) const WRONG_VERB: Kind = Kind {
    base: COMMON,
    anchor: "wrong-verb",
    title: "Request method not allowed",
    detail: "This resource does not support the request method",
};
/// 503 (numpool extension): the engine is shutting down.
pub(crate) const UNAVAILABLE: Kind = Kind {
    base: COMMON,
    anchor: "unavailable",
    title: "Service Unavailable",
    detail: "The pool is unavailable; the server is shutting down",
};
/// 503 (numpool extension, DESIGN §6): a change could not be made durable, so it was not made;
/// numpool retries the disk by itself and accepts changes again once it can write.
pub(crate) const STORAGE: Kind = Kind {
    base: COMMON,
    anchor: "storage-unavailable",
    title: "Storage Unavailable",
    detail: "The change could not be stored, so it was not made; retry later",
};
/// 503 (numpool extension, DESIGN §10): cluster mode, and JetStream did not answer; the
/// change or new conversation was not made (sticky hits are still answered).
pub(crate) const CLUSTER_UNAVAILABLE: Kind = Kind {
    base: COMMON,
    anchor: "cluster-unavailable",
    title: "Cluster Unavailable",
    detail: "The cluster's JetStream did not answer, so nothing was changed; retry later",
};
/// 409 (numpool extension, DESIGN §10): another sidecar changed the account at the same moment.
pub(crate) const CONFLICT: Kind = Kind {
    base: COMMON,
    anchor: "conflict",
    title: "Concurrent change",
    detail: "Another change to the account reached the cluster first; nothing was changed, retry",
};
/// 400: the body is not JSON (or too large, or not declared as JSON).
pub(crate) const INVALID_JSON: Kind = Kind {
    base: POOLS,
    anchor: "invalid-json",
    title: "Unable to parse incoming request",
    detail: "The request body is not valid JSON",
};
/// 400: JSON that breaks the schema; `invalid_parameters` names each field.
pub(crate) const VALIDATION: Kind = Kind {
    base: POOLS,
    anchor: "validation",
    title: "Bad Request",
    detail: "The request failed due to validation errors",
};
/// 400: more numbers in one bulk request than allowed (the spec's anchor, even for add).
pub(crate) const BULK_LIMIT: Kind = Kind {
    base: POOLS,
    anchor: "bulk-number-delete-limit",
    title: "Bad Request",
    detail: "The request failed due to validation errors",
};
/// 409: create (or rename) to a pool id the account already uses.
pub(crate) const POOL_ID_EXISTS: Kind = Kind {
    base: POOLS,
    anchor: "pool-id-exists",
    title: "Pool ID already exists",
    detail: "A pool with the specified ID already exists",
};
/// 409: a PATCH body whose `account_id` is not the path's.
pub(crate) const ACCOUNT_ID_MISMATCH: Kind = Kind {
    base: POOLS,
    anchor: "account-id-mismatch",
    title: "The Account ID does not match the original Account ID",
    detail: "When updating a number pool, the account ID is read-only and cannot change",
};
/// 400: bulk add where no number could be added.
pub(crate) const ADD_NUMBER_FAILURE: Kind = Kind {
    base: POOLS,
    anchor: "add-number-failure",
    title: "Numbers could not be added to the pool",
    detail: "None of the numbers could be added the pool",
};
/// The `error` of a 207 bulk add.
pub(crate) const ADD_PARTIAL_FAILURE: Kind = Kind {
    base: POOLS,
    anchor: "add-numbers-partial-failure",
    title: "Could not add all numbers to pool",
    detail: "One or more numbers encountered issues being added to the pool",
};
/// Item of `errors[]`: numbers not in the account's inventory.
pub(crate) const MISSING_SUBSCRIPTION: Kind = Kind {
    base: POOLS,
    anchor: "missing-number-subscription",
    title: "No such number subscription",
    detail: "One or more numbers being added are not subscribed to on this account",
};
/// 400: bulk remove where no number could be removed.
pub(crate) const DELETION_FAILURE: Kind = Kind {
    base: POOLS,
    anchor: "number-deletion-failure",
    title: "There were errors removing numbers from the pool",
    detail: "We were unable to remove any of the numbers from the pool.",
};
/// The `error` of a 207 bulk remove.
pub(crate) const DELETE_PARTIAL_FAILURE: Kind = Kind {
    base: POOLS,
    anchor: "delete-numbers-partial-failure",
    title: "Could not remove all numbers to pool",
    detail: "One or more numbers encountered issues being removed from the pool",
};
/// Item of `errors[]`: numbers that were not in the pool.
pub(crate) const MISSING_NUMBER: Kind = Kind {
    base: POOLS,
    anchor: "missing-number",
    title: "Number not found",
    detail: "One or more numbers being deleted are not available in the pool",
};
/// 400: single remove of a number that is not in the pool.
pub(crate) const NUMBER_DELETION_ERROR: Kind = Kind {
    base: POOLS,
    anchor: "number-deletion-error",
    title: "Could not delete number",
    detail: "An error occurred while removing the number from the pool",
};
/// 403 (numpool extension, DESIGN §5): the change would pass one of the account's limits, so
/// none of it was made.
pub(crate) const LIMIT_EXCEEDED: Kind = Kind {
    base: POOLS,
    anchor: "limit-exceeded",
    title: "Limit exceeded",
    detail: "The change would pass one of the account's limits; nothing was changed",
};
/// 422 (numpool extension): the pool's rules refuse a pick.
pub(crate) const REJECTED: Kind = Kind {
    base: POOLS,
    anchor: "rejected",
    title: "Pick rejected",
    detail: "The pool's rules refuse a sender for this recipient",
};
/// 422 (numpool extension): the recipient opted out of the pool (DESIGN §3.2 rule 2).
pub(crate) const OPTED_OUT: Kind = Kind {
    base: POOLS,
    anchor: "opted-out",
    title: "Recipient opted out",
    detail: "The recipient asked this pool to send nothing more; no fallback applies",
};

/// One entry of `invalid_parameters`: which field, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct InvalidParam {
    /// The field's name, with its position for array items (`numbers[3]`).
    pub(crate) name: String,
    /// What the value must be.
    pub(crate) reason: String,
}

/// A per-number sub-error of a bulk call: which numbers failed and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct NumbersError {
    /// The sub-error's `type` URL.
    #[serde(rename = "type")]
    type_url: String,
    /// Its title.
    title: &'static str,
    /// Its detail.
    detail: &'static str,
    /// The numbers it concerns.
    numbers: Vec<String>,
}

impl NumbersError {
    /// A sub-error of `kind` for `numbers`.
    pub(crate) fn new(kind: Kind, numbers: Vec<String>) -> Self {
        NumbersError {
            type_url: kind.type_url(),
            title: kind.title,
            detail: kind.detail,
            numbers,
        }
    }
}

/// An item of `errors[]`. The spec nests items of a 207 bulk remove in an `error` key and no
/// others (reference §10.7), so both shapes exist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub(crate) enum ErrorItem {
    /// `{type, title, detail, numbers}`.
    Plain(NumbersError),
    /// `{"error": {type, title, detail, numbers}}`.
    Wrapped {
        /// The sub-error.
        error: NumbersError,
    },
}

/// The JSON of a problem; also the `error` object inside a 207 body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct ProblemBody {
    /// URL naming the kind of error.
    #[serde(rename = "type")]
    type_url: String,
    /// The kind's fixed title.
    title: &'static str,
    /// What went wrong this time.
    detail: String,
    /// A trace id for this occurrence, so a report can be matched with logs.
    instance: String,
    /// Validation failures, one per field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    invalid_parameters: Vec<InvalidParam>,
    /// Per-number failures of a bulk call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<ErrorItem>,
    /// The limit a refused change would have passed (`#limit-exceeded` only).
    #[serde(flatten)]
    limit: Option<LimitMembers>,
}

/// The extension members of a `#limit-exceeded` problem (RFC 7807 §3.2): which limit, its
/// value and the account it holds, so a client need not parse the detail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct LimitMembers {
    /// The configuration key of the limit (`max_numbers_per_pool`…).
    limit: &'static str,
    /// Its configured value.
    limit_value: usize,
    /// The account it holds.
    account_id: String,
}

impl ProblemBody {
    /// A body of `kind` with its usual detail.
    pub(crate) fn new(kind: Kind) -> Self {
        ProblemBody {
            type_url: kind.type_url(),
            title: kind.title,
            detail: kind.detail.to_owned(),
            instance: format!("{:032x}", fastrand::u128(..)),
            invalid_parameters: Vec::new(),
            errors: Vec::new(),
            limit: None,
        }
    }

    /// The same with per-number `errors`.
    pub(crate) fn with_errors(mut self, errors: Vec<ErrorItem>) -> Self {
        self.errors = errors;
        self
    }
}

/// An error answer: a status, a problem body and, for some statuses, a header the HTTP spec
/// requires with it.
#[derive(Clone, Debug)]
pub(crate) struct Problem {
    /// The HTTP status.
    status: StatusCode,
    /// The JSON body, boxed so that `Result<_, Problem>` stays small on the happy path.
    body: Box<ProblemBody>,
    /// `WWW-Authenticate` for 401, `Allow` for 405 (RFC 9110 requires both).
    header: Option<(HeaderName, HeaderValue)>,
}

impl Problem {
    /// A problem of `kind` with `status` and the kind's usual detail.
    pub(crate) fn new(status: StatusCode, kind: Kind) -> Self {
        Problem {
            status,
            body: Box::new(ProblemBody::new(kind)),
            header: None,
        }
    }

    /// Replaces the detail with something specific to this occurrence.
    pub(crate) fn detail(mut self, detail: impl Into<String>) -> Self {
        self.body.detail = detail.into();
        self
    }

    /// Adds per-number errors.
    pub(crate) fn errors(mut self, errors: Vec<ErrorItem>) -> Self {
        self.body.errors = errors;
        self
    }

    /// 401, with the Basic challenge.
    pub(crate) fn unauthorized() -> Self {
        let mut problem = Problem::new(StatusCode::UNAUTHORIZED, UNAUTHORIZED);
        problem.header = Some((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"numpool\""),
        ));
        problem
    }

    /// 401 for `/metrics` without its bearer token, with the Bearer challenge.
    pub(crate) fn bearer_unauthorized() -> Self {
        let mut problem = Problem::new(StatusCode::UNAUTHORIZED, UNAUTHORIZED);
        problem.header = Some((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"numpool metrics\""),
        ));
        problem
    }

    /// 503 `#storage-unavailable`, with `Retry-After`: the fault is the operator's to read in
    /// the log (logged once when it began), so the body names no path or OS error.
    pub(crate) fn cluster_unavailable() -> Self {
        let mut problem = Problem::new(StatusCode::SERVICE_UNAVAILABLE, CLUSTER_UNAVAILABLE);
        problem.header = Some((header::RETRY_AFTER, HeaderValue::from_static("1")));
        problem
    }

    pub(crate) fn storage_unavailable() -> Self {
        let mut problem = Problem::new(StatusCode::SERVICE_UNAVAILABLE, STORAGE);
        problem.header = Some((header::RETRY_AFTER, HeaderValue::from_static("1")));
        problem
    }

    /// 404 for an id that does not exist or belongs to someone else; the wording never tells
    /// the two apart.
    pub(crate) fn not_found(id: impl fmt::Display) -> Self {
        Problem::new(StatusCode::NOT_FOUND, NOT_FOUND).detail(format!(
            "ID '{id}' does not exist, or you do not have access"
        ))
    }

    /// 405 for `method` on a known path, listing the methods it has.
    pub(crate) fn method_not_allowed(method: &str, allow: &'static str) -> Self {
        let mut problem = Problem::new(StatusCode::METHOD_NOT_ALLOWED, WRONG_VERB)
            .detail(format!("Request method '{method}' not supported"));
        problem.header = Some((header::ALLOW, HeaderValue::from_static(allow)));
        problem
    }

    /// 400 `#invalid-json` with what the parser said.
    pub(crate) fn invalid_json(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, INVALID_JSON).detail(detail)
    }

    /// 400 `#validation` naming each invalid field.
    pub(crate) fn validation(params: Vec<InvalidParam>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, VALIDATION).invalid_parameters(params)
    }

    /// 400 `#validation` for one field.
    pub(crate) fn invalid_field(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Problem::validation(vec![InvalidParam {
            name: name.into(),
            reason: reason.into(),
        }])
    }

    /// 400 `#bulk-number-delete-limit`: `numbers` holds more than `limit` entries.
    pub(crate) fn too_many_numbers(limit: usize) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, BULK_LIMIT).invalid_parameters(vec![InvalidParam {
            name: "numbers".into(),
            reason: format!("Limit of {limit} numbers exceeded"),
        }])
    }

    /// 403 `#limit-exceeded`: naming the limit, its value and the account.
    pub(crate) fn limit_exceeded(exceeded: &LimitExceeded) -> Self {
        let mut problem =
            Problem::new(StatusCode::FORBIDDEN, LIMIT_EXCEEDED).detail(exceeded.to_string());
        problem.body.limit = Some(LimitMembers {
            limit: exceeded.limit.key(),
            limit_value: exceeded.value,
            account_id: exceeded.account.to_string(),
        });
        problem
    }

    fn invalid_parameters(mut self, params: Vec<InvalidParam>) -> Self {
        self.body.invalid_parameters = params;
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.body.title, self.body.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.content_type(PROBLEM_JSON);
        if let Some(header) = &self.header {
            response.insert_header(header.clone());
        }
        response.json(&self.body)
    }
}

impl From<EngineError> for Problem {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::NoSuchPool(id) => Problem::not_found(id),
            EngineError::NumberNotOwned(number) => Problem::not_found(number),
            EngineError::PoolExists(id) => Problem::new(StatusCode::CONFLICT, POOL_ID_EXISTS)
                .detail(format!("A pool with the ID '{id}' already exists")),
            EngineError::Unavailable(_) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
            }
            EngineError::Storage(_) => Problem::storage_unavailable(),
            EngineError::Limit(exceeded) => Problem::limit_exceeded(&exceeded),
            EngineError::ClusterUnavailable => Problem::cluster_unavailable(),
            EngineError::Conflict => Problem::new(StatusCode::CONFLICT, CONFLICT),
        }
    }
}

impl From<PickFailure> for Problem {
    fn from(failure: PickFailure) -> Self {
        match failure {
            PickFailure::NoSuchPool(id) => Problem::not_found(id),
            PickFailure::Unavailable(_) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
            }
            PickFailure::Storage(_) => Problem::storage_unavailable(),
            PickFailure::ClusterUnavailable => Problem::cluster_unavailable(),
            PickFailure::Pick(PickError::InvalidRecipient(e)) => {
                Problem::invalid_field("to", e.to_string())
            }
            PickFailure::Pick(PickError::InvalidSender(e)) => {
                Problem::invalid_field("from", e.to_string())
            }
            PickFailure::Pick(PickError::Rejected(why)) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, REJECTED).detail(why.to_string())
            }
            PickFailure::Pick(PickError::OptedOut) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, OPTED_OUT)
            }
        }
    }
}
