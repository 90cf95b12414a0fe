//! Conversions between the model and the persisted images. Reading an image re-validates
//! everything, so a damaged but checksum-valid file still cannot put an invalid value in memory.

use thiserror::Error;

use super::image::{NumberImage, PoolHeader, StickyImage};
use numpool_core::model::{
    CustomFrom, Fallback, Msisdn, NumberSpec, NumberStatus, NumberType, OwnedNumber, PoolId,
    PoolSettings,
};

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
    Ok((
        id,
        PoolSettings {
            fallback,
            localized_sender_preferred: header.localized,
            predictable_sender_preferred: header.predictable,
            custom_from,
            sticky_ttl_seconds: header.sticky_ttl_seconds,
        },
    ))
}

/// A live sticky mapping as persisted.
pub(crate) fn sticky_image(to: Msisdn, sender: Msisdn, last_use: u32) -> StickyImage {
    StickyImage {
        to: to.get(),
        sender: sender.get(),
        last_use,
    }
}
