//! numpool's pool settings beyond Vonage's as JSON (DESIGN §3.2, §3.4): `health`,
//! `type_priority` and `geomatch`, read into checked values and written back.

use serde_json::{json, Map, Value};

use super::body::FieldValue;
use numpool_core::delivery::{Thresholds, ThresholdsPatch};
use numpool_core::model::{Country, Geomatch, NumberType, OutagePolicy, TypePriority};

/// The members a `health` object may have.
const HEALTH_MEMBERS: [&str; 4] = [
    "min_receipts",
    "min_deliverability",
    "max_spam_ratio",
    "probation_seconds",
];

impl FieldValue for ThresholdsPatch {
    /// An object of some of the four thresholds; any other member is refused, so a misspelt
    /// threshold is not silently ignored.
    fn from_json(value: &Value) -> Result<Self, String> {
        let object = value.as_object().ok_or("Must be a JSON object")?;
        if let Some(other) = object
            .keys()
            .find(|k| !HEALTH_MEMBERS.contains(&k.as_str()))
        {
            return Err(format!(
                "Has no member {other:?}: the members are {}",
                HEALTH_MEMBERS.join(", ")
            ));
        }
        let integer = |name: &str| match object.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("{name} must be a non-negative integer")),
        };
        let ratio = |name: &str| match object.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| format!("{name} must be a number")),
        };
        ThresholdsPatch::new(
            integer("min_receipts")?,
            ratio("min_deliverability")?,
            ratio("max_spam_ratio")?,
            integer("probation_seconds")?,
        )
        .map_err(|e| e.to_string())
    }
}

impl FieldValue for TypePriority {
    /// An object from a country code (or `*`, every other country) to a list of type names.
    fn from_json(value: &Value) -> Result<Self, String> {
        let object = value.as_object().ok_or("Must be a JSON object")?;
        let entries = object
            .iter()
            .map(|(key, types)| {
                let country = match key.as_str() {
                    "*" => None,
                    code => Some(Country::new(code).map_err(|_| {
                        format!("Key {key:?} must be an ISO 3166-1 alpha-2 country code or \"*\"")
                    })?),
                };
                let types = types
                    .as_array()
                    .ok_or_else(|| format!("{key} must be an array of number types"))?
                    .iter()
                    .map(|t| NumberType::from_json(t).map_err(|e| format!("{key}: {e}")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((country, types))
            })
            .collect::<Result<Vec<_>, String>>()?;
        TypePriority::new(entries).map_err(|e| e.to_string())
    }
}

impl FieldValue for Geomatch {
    fn from_json(value: &Value) -> Result<Self, String> {
        value
            .as_str()
            .and_then(Geomatch::from_name)
            .ok_or_else(|| "Must be one of area, region, off".into())
    }
}

impl FieldValue for OutagePolicy {
    fn from_json(value: &Value) -> Result<Self, String> {
        value
            .as_str()
            .and_then(OutagePolicy::from_name)
            .ok_or_else(|| "Must be one of retry, local".into())
    }
}

/// A pool's thresholds as its `health` object.
pub(crate) fn health_json(health: &Thresholds) -> Value {
    json!({
        "min_receipts": health.min_receipts,
        "min_deliverability": health.min_deliverability,
        "max_spam_ratio": health.max_spam_ratio,
        "probation_seconds": health.probation_seconds,
    })
}

/// A type priority as its object (`{}` when there is none).
pub(crate) fn type_priority_json(priority: &TypePriority) -> Value {
    let entries: Map<String, Value> = priority
        .entries()
        .map(|(country, types)| {
            let key = country.map_or_else(|| "*".to_owned(), |c| c.as_str().to_owned());
            (key, json!(types))
        })
        .collect();
    Value::Object(entries)
}
