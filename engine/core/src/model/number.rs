//! Owned numbers: the account's inventory, the only numbers a pool may hold (DESIGN §3.1).

use serde::{Deserialize, Serialize};

use super::ids::{Country, Network};
use super::limits::{Limits, Mps};
use super::msisdn::Msisdn;
use super::regions::RegionId;
use super::status::NumberStatus;
use super::InvalidInput;
use crate::model::classify::classifier;

/// What kind of line a number is; informational, reported back as given.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberType {
    /// A mobile number.
    Mobile,
    /// A fixed-line number.
    Landline,
    /// A toll-free number.
    TollFree,
    /// A short code.
    ShortCode,
}

impl NumberType {
    /// Every type, for parsing and error messages.
    pub const ALL: [NumberType; 4] = [
        NumberType::Mobile,
        NumberType::Landline,
        NumberType::TollFree,
        NumberType::ShortCode,
    ];

    /// The API name (`mobile`, `landline`, `toll_free`, `short_code`).
    pub fn as_str(self) -> &'static str {
        match self {
            NumberType::Mobile => "mobile",
            NumberType::Landline => "landline",
            NumberType::TollFree => "toll_free",
            NumberType::ShortCode => "short_code",
        }
    }

    /// The type with API name `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// A number in the account's inventory, with what selection needs to know about it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OwnedNumber {
    /// The number itself.
    pub number: Msisdn,
    /// Derived from the number with libphonenumber's data; the localized tiers key on it.
    pub country: Country,
    /// The NANP area code (derived, +1 only); the most specific localized tier keys on it.
    pub(crate) area: Option<u16>,
    /// The geocoding region of its prefix (derived, where the data has one: a US state, a UK
    /// city…); the region tiers key on it.
    pub(crate) region: Option<RegionId>,
    /// The mobile network the number is on, if the owner said; a localized tier keys on it.
    pub network: Option<Network>,
    /// Informational line type.
    pub kind: Option<NumberType>,
    /// Relative share of new assignments among equal candidates (1 to [`MAX_WEIGHT`]).
    pub weight: u32,
    /// Whether the operator lets it take new conversations and keep existing ones.
    pub status: NumberStatus,
    /// How fast it may send and how many new conversations it may start a day.
    pub limits: Limits,
}

/// Largest weight a number may carry. The consistent-hash ring gives each number points in
/// proportion to its weight, so the bound keeps one number's points (and the ring) small.
pub const MAX_WEIGHT: u32 = 100;

/// What a caller supplies to put a number in the inventory, before validation.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberSpec {
    /// E.164 digits, with or without `+`.
    pub number: String,
    /// Optional network token (e.g. MCC-MNC).
    #[serde(default)]
    pub network: Option<String>,
    /// Optional line type.
    #[serde(default, rename = "type")]
    pub kind: Option<NumberType>,
    /// Optional weight, default 1.
    #[serde(default)]
    pub weight: Option<u32>,
    /// Optional status, default active.
    #[serde(default)]
    pub status: Option<NumberStatus>,
    /// Optional messages per second, default unlimited.
    #[serde(default)]
    pub mps: Option<f64>,
    /// Optional burst, default 1.
    #[serde(default)]
    pub burst: Option<u32>,
    /// Optional daily allowance of new conversations, default unlimited.
    #[serde(default)]
    pub daily_new_conversations: Option<u32>,
}

/// A partial update of an owned number (REST `PATCH`): each field given replaces the number's,
/// each absent one keeps it. `Some(None)` clears an optional detail.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct NumberPatch {
    /// New network, or `Some(None)` to clear it.
    pub network: Option<Option<Network>>,
    /// New line type, or `Some(None)` to clear it.
    pub kind: Option<Option<NumberType>>,
    /// New weight, already checked against [`MAX_WEIGHT`].
    pub weight: Option<u32>,
    /// New status.
    pub status: Option<NumberStatus>,
    /// New rate, or `Some(None)` for unlimited.
    pub mps: Option<Option<Mps>>,
    /// New burst, already checked.
    pub burst: Option<u32>,
    /// New daily allowance, or `Some(None)` for unlimited.
    pub daily_new_conversations: Option<Option<u32>>,
}

impl OwnedNumber {
    /// Validates a [`NumberSpec`], deriving country, area and region.
    pub fn from_spec(spec: &NumberSpec) -> Result<Self, InvalidInput> {
        let number = Msisdn::parse(&spec.number).map_err(|e| InvalidInput::Number {
            number: spec.number.clone(),
            reason: e,
        })?;
        let place = classifier().classify(number)?;
        let network = spec.network.as_deref().map(Network::new).transpose()?;
        let weight = Self::check_weight(spec.weight.unwrap_or(1))?;
        let limits = Limits {
            mps: spec.mps.map(Mps::new).transpose()?,
            burst: Limits::check_burst(spec.burst.unwrap_or(1))?,
            daily_new_conversations: spec.daily_new_conversations,
        };
        Ok(OwnedNumber {
            number,
            country: place.country,
            area: place.area,
            region: place.region,
            network,
            kind: spec.kind,
            weight,
            status: spec.status.unwrap_or_default(),
            limits,
        })
    }

    /// The number with `patch` applied; its number and what derives from it never change.
    pub fn patched(&self, patch: &NumberPatch) -> OwnedNumber {
        OwnedNumber {
            network: patch
                .network
                .clone()
                .unwrap_or_else(|| self.network.clone()),
            kind: patch.kind.unwrap_or(self.kind),
            weight: patch.weight.unwrap_or(self.weight),
            status: patch.status.unwrap_or(self.status),
            limits: Limits {
                mps: patch.mps.unwrap_or(self.limits.mps),
                burst: patch.burst.unwrap_or(self.limits.burst),
                daily_new_conversations: patch
                    .daily_new_conversations
                    .unwrap_or(self.limits.daily_new_conversations),
            },
            ..self.clone()
        }
    }

    /// Checks a weight a caller supplies (1 to [`MAX_WEIGHT`]).
    pub fn check_weight(weight: u32) -> Result<u32, InvalidInput> {
        if (1..=MAX_WEIGHT).contains(&weight) {
            Ok(weight)
        } else {
            Err(InvalidInput::Weight(weight))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MsisdnError;

    fn spec(number: &str) -> NumberSpec {
        NumberSpec {
            number: number.into(),
            ..NumberSpec::default()
        }
    }

    #[test]
    fn derives_country_and_area() {
        let n = OwnedNumber::from_spec(&spec("+14165550100")).unwrap();
        assert_eq!(n.country.as_str(), "CA");
        assert_eq!(n.area, Some(416));
        assert_eq!(n.region.map(RegionId::name), Some("ON"));
        assert_eq!(n.weight, 1);
        assert_eq!(n.status, NumberStatus::Active);
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let n = OwnedNumber::from_spec(&NumberSpec {
            network: Some("23415".into()),
            weight: Some(5),
            ..spec("447700900123")
        })
        .unwrap();
        let patched = n.patched(&NumberPatch {
            status: Some(NumberStatus::Draining),
            ..NumberPatch::default()
        });
        assert_eq!(patched.status, NumberStatus::Draining);
        assert_eq!((patched.network, patched.weight), (n.network.clone(), 5));
        let cleared = n.patched(&NumberPatch {
            network: Some(None),
            ..NumberPatch::default()
        });
        assert_eq!(
            (cleared.network, cleared.status),
            (None, NumberStatus::Active)
        );
    }

    #[test]
    fn each_bad_field_has_its_error() {
        assert!(matches!(
            OwnedNumber::from_spec(&spec("12ab")),
            Err(InvalidInput::Number {
                reason: MsisdnError::NotDigits('a'),
                ..
            })
        ));
        assert!(matches!(
            OwnedNumber::from_spec(&spec("9991234567")),
            Err(InvalidInput::UnknownCallingCode(_))
        ));
        let mut s = spec("447700900123");
        s.weight = Some(0);
        assert_eq!(OwnedNumber::from_spec(&s), Err(InvalidInput::Weight(0)));
        s.weight = Some(MAX_WEIGHT + 1);
        assert_eq!(
            OwnedNumber::from_spec(&s),
            Err(InvalidInput::Weight(MAX_WEIGHT + 1))
        );
        s.weight = None;
        s.network = Some("bad network".into());
        assert!(matches!(
            OwnedNumber::from_spec(&s),
            Err(InvalidInput::Id(_))
        ));
    }
}
