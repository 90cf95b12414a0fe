//! Conversions between the model and the persisted images. Reading an image re-validates
//! everything, so a damaged but checksum-valid file still cannot put an invalid value in memory.

use thiserror::Error;

use super::image::{HealthImage, NumberImage, OptOutImage, PoolHeader, StickyImage};
use numpool_core::delivery::Thresholds;
use numpool_core::model::{
    Country, CustomFrom, Fallback, Geomatch, Msisdn, NumberSpec, NumberStatus, NumberType, OptOut,
    OptOutReason, OutagePolicy, OwnedNumber, PoolId, PoolSettings, TypePriority,
};
use numpool_core::select::Conversation;

/// A persisted value that does not pass the model's validation.
#[derive(Debug, Error)]
#[error("invalid {what} in stored state: {detail}")]
pub struct InvalidImage {
    /// Which kind of value.
    pub(crate) what: &'static str,
    /// What was wrong.
    pub(crate) detail: String,
}

fn invalid(what: &'static str, detail: impl ToString) -> InvalidImage {
    InvalidImage {
        what,
        detail: detail.to_string(),
    }
}

/// An owned number as persisted.
pub fn number_image(number: &OwnedNumber) -> NumberImage {
    NumberImage {
        number: number.number.get(),
        network: number.network.as_ref().map(|n| n.as_str().to_owned()),
        kind: number.kind.map(|k| k.as_str().to_owned()),
        weight: number.weight,
        status: number.status.as_str().to_owned(),
        mps_bits: number.limits.mps.map(|mps| mps.get().to_bits()),
        burst: number.limits.burst,
        daily_new_conversations: number.limits.daily_new_conversations,
    }
}

/// A persisted number, validated again.
pub(crate) fn owned_number(image: &NumberImage) -> Result<OwnedNumber, InvalidImage> {
    let kind = image
        .kind
        .as_deref()
        .map(|k| NumberType::from_name(k).ok_or_else(|| invalid("number type", k)))
        .transpose()?;
    let status = NumberStatus::from_name(&image.status)
        .ok_or_else(|| invalid("number status", &image.status))?;
    OwnedNumber::from_spec(&NumberSpec {
        number: image.number.to_string(),
        network: image.network.clone(),
        kind,
        weight: Some(image.weight),
        status: Some(status),
        mps: image.mps_bits.map(f64::from_bits),
        burst: Some(image.burst),
        daily_new_conversations: image.daily_new_conversations,
    })
    .map_err(|e| invalid("number", e))
}

/// A pool's header as persisted.
pub fn pool_header(
    uid: u64,
    id: &PoolId,
    settings: &PoolSettings,
    created_at: u64,
    updated_at: u64,
) -> PoolHeader {
    PoolHeader {
        uid,
        id: id.as_str().to_owned(),
        fallback: settings.fallback.as_str().to_owned(),
        localized: settings.localized_sender_preferred,
        predictable: settings.predictable_sender_preferred,
        custom_from: settings.custom_from.as_ref().map(|c| c.as_str().to_owned()),
        sticky_ttl_seconds: settings.sticky_ttl_seconds,
        created_at,
        updated_at,
        skip_unhealthy: settings.skip_unhealthy,
        health: health_image(&settings.health),
        type_priority: settings
            .type_priority
            .entries()
            .map(|(country, types)| {
                let key = country.map_or_else(|| "*".to_owned(), |c| c.as_str().to_owned());
                (key, types.iter().map(|t| t.as_str().to_owned()).collect())
            })
            .collect(),
        geomatch: settings.geomatch.as_str().to_owned(),
    }
}

/// A pool's health thresholds as persisted.
pub(crate) fn health_image(health: &Thresholds) -> HealthImage {
    HealthImage {
        min_receipts: health.min_receipts,
        min_deliverability_bits: health.min_deliverability.to_bits(),
        max_spam_ratio_bits: health.max_spam_ratio.to_bits(),
        probation_seconds: health.probation_seconds,
    }
}

/// A persisted pool's id and settings, validated again.
pub(crate) fn pool_settings(header: &PoolHeader) -> Result<(PoolId, PoolSettings), InvalidImage> {
    let id = PoolId::new(&header.id).map_err(|e| invalid("pool id", e))?;
    let fallback = Fallback::from_name(&header.fallback)
        .ok_or_else(|| invalid("fallback", &header.fallback))?;
    let custom_from = header
        .custom_from
        .as_deref()
        .map(CustomFrom::new)
        .transpose()
        .map_err(|e| invalid("custom_from", e))?;
    let health = &header.health;
    let health = Thresholds::new(
        health.min_receipts,
        f64::from_bits(health.min_deliverability_bits),
        f64::from_bits(health.max_spam_ratio_bits),
        health.probation_seconds,
    )
    .map_err(|e| invalid("health", e))?;
    let geomatch = Geomatch::from_name(&header.geomatch)
        .ok_or_else(|| invalid("geomatch", &header.geomatch))?;
    Ok((
        id,
        PoolSettings {
            fallback,
            localized_sender_preferred: header.localized,
            predictable_sender_preferred: header.predictable,
            custom_from,
            sticky_ttl_seconds: header.sticky_ttl_seconds,
            skip_unhealthy: header.skip_unhealthy,
            health,
            type_priority: type_priority(&header.type_priority)?,
            geomatch,
            // Kept by the cluster's admin log only (`Record::PutPoolCluster`).
            cluster_unavailable: OutagePolicy::default(),
        },
    ))
}

/// A persisted type priority, validated again.
fn type_priority(entries: &[(String, Vec<String>)]) -> Result<TypePriority, InvalidImage> {
    let entries = entries
        .iter()
        .map(|(key, types)| {
            let country = match key.as_str() {
                "*" => None,
                code => Some(Country::new(code).map_err(|e| invalid("type_priority", e))?),
            };
            let types = types
                .iter()
                .map(|t| NumberType::from_name(t).ok_or_else(|| invalid("number type", t)))
                .collect::<Result<_, _>>()?;
            Ok((country, types))
        })
        .collect::<Result<Vec<_>, InvalidImage>>()?;
    TypePriority::new(entries).map_err(|e| invalid("type_priority", e))
}

/// A sticky mapping as persisted.
pub(crate) fn sticky_image(mapping: &Conversation) -> StickyImage {
    StickyImage {
        to: mapping.to.get(),
        sender: mapping.sender.get(),
        since: mapping.since,
        last_use: mapping.last_use,
    }
}

/// A persisted sticky mapping as the pool restores it; `None` for digits that are no number.
pub(crate) fn conversation(image: StickyImage) -> Option<Conversation> {
    Some(Conversation {
        to: Msisdn::from_u64(image.to).ok()?,
        sender: Msisdn::from_u64(image.sender).ok()?,
        since: image.since,
        last_use: image.last_use,
    })
}

/// An opt-out as persisted.
pub(crate) fn opt_out_image(to: Msisdn, opt_out: &OptOut) -> OptOutImage {
    let code = OptOutImage::REASONS
        .iter()
        .position(|name| *name == opt_out.reason.as_str())
        .expect("every reason has a stored code");
    OptOutImage {
        to: to.get(),
        at: opt_out.at,
        reason: code as u8,
    }
}

/// A persisted opt-out, validated again.
pub(crate) fn opt_out(image: &OptOutImage) -> Result<(Msisdn, OptOut), InvalidImage> {
    let to = Msisdn::from_u64(image.to).map_err(|e| invalid("opt-out recipient", e))?;
    let reason = OptOutImage::REASONS
        .get(usize::from(image.reason))
        .and_then(|name| OptOutReason::from_name(name))
        .ok_or_else(|| invalid("opt-out reason", image.reason))?;
    Ok((
        to,
        OptOut {
            at: image.at,
            reason,
        },
    ))
}
