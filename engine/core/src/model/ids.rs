//! Validated identifiers and short strings of the model (DESIGN §3.1): each type can only hold a
//! value that passed its check, so code past the API boundary never re-validates.

use std::fmt;
use std::sync::Arc;

use thiserror::Error;

/// Why an identifier or short string was refused; the message names the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    /// `account_id` / `api_key` must match `^[a-z0-9]{8}$`.
    #[error("account id {0:?} must be 8 characters of a-z and 0-9")]
    AccountId(String),
    /// `pool_id` must match `^[A-Za-z0-9_-]{1,64}$`.
    #[error("pool id {0:?} must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'")]
    PoolId(String),
    /// `custom_from` must be 1–11 characters of `[A-Za-z0-9 ]`.
    #[error("custom_from {0:?} must be 1 to 11 characters of A-Z, a-z, 0-9 and space")]
    CustomFrom(String),
    /// A message's own sender: an alphanumeric ID (as `custom_from`) or up to 15 digits.
    #[error(
        "sender {0:?} must be 1 to 11 characters of A-Z, a-z, 0-9 and space, or 1 to 15 digits"
    )]
    Sender(String),
    /// A network is an opaque token such as an MCC-MNC: 1–32 printable ASCII, no spaces.
    #[error("network {0:?} must be 1 to 32 printable ASCII characters without spaces")]
    Network(String),
    /// Countries are ISO 3166-1 alpha-2 codes in capitals.
    #[error("country {0:?} must be two capital letters (ISO 3166-1 alpha-2)")]
    Country(String),
}

/// Implements the shared plumbing of a validated string newtype around `Arc<str>`: cheap clones
/// (ids travel in every actor message), `Display`, `as_str`, serde through the validating
/// constructor, and `Borrow<str>` so maps keyed by the id can be probed with a `&str`.
macro_rules! validated_str {
    ($name:ident, $check:expr, $err:path) => {
        impl $name {
            /// Validates `text` and wraps it.
            pub fn new(text: &str) -> Result<Self, IdError> {
                let check: fn(&str) -> bool = $check;
                if check(text) {
                    Ok($name(Arc::from(text)))
                } else {
                    Err($err(text.to_owned()))
                }
            }

            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                $name::new(text)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::new(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// An account's public key, which is also its `account_id` in REST paths.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct AccountId(Arc<str>);
validated_str!(
    AccountId,
    |t| t.len() == 8
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
    IdError::AccountId
);

/// A pool's id, chosen by the caller and unique within its account.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct PoolId(Arc<str>);
validated_str!(
    PoolId,
    |t| (1..=64).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
    IdError::PoolId
);

/// An alphanumeric sender ID, the pool's `custom_from` for the `CustomFrom` fallback.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct CustomFrom(Arc<str>);
validated_str!(CustomFrom, is_alphanumeric_sender, IdError::CustomFrom);

/// The sender a message carries itself (`FROM` of a pick): used as-is by the `CustomFrom` fallback.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct SenderId(Arc<str>);
validated_str!(
    SenderId,
    |t| is_alphanumeric_sender(t) || {
        let digits = t.strip_prefix('+').unwrap_or(t);
        (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    },
    IdError::Sender
);

/// A mobile network, opaque to numpool (typically an MCC-MNC such as `23415`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Network(Arc<str>);
validated_str!(
    Network,
    |t| (1..=32).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_graphic()),
    IdError::Network
);

fn is_alphanumeric_sender(text: &str) -> bool {
    (1..=11).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
}

impl From<CustomFrom> for SenderId {
    fn from(custom: CustomFrom) -> Self {
        // Every valid custom_from is a valid sender ID.
        SenderId(custom.0)
    }
}

/// An ISO 3166-1 alpha-2 country code, two bytes so that indexes keyed by country stay small.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Country {
    /// Parses two capital ASCII letters.
    pub fn new(text: &str) -> Result<Self, IdError> {
        match text.as_bytes() {
            [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok(Country([*a, *b])),
            _ => Err(IdError::Country(text.to_owned())),
        }
    }

    /// The code as text, e.g. `"GB"`.
    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII capitals.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country({})", self.as_str())
    }
}

impl serde::Serialize for Country {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Country {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Country::new(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_id_pattern() {
        assert!(AccountId::new("abcd1234").is_ok());
        assert!(matches!(
            AccountId::new("ABCD1234"),
            Err(IdError::AccountId(_))
        ));
        assert!(AccountId::new("abc123").is_err());
    }

    #[test]
    fn pool_id_pattern() {
        assert!(PoolId::new("uk-retail_2").is_ok());
        assert!(PoolId::new(&"p".repeat(64)).is_ok());
        assert!(matches!(
            PoolId::new(&"p".repeat(65)),
            Err(IdError::PoolId(_))
        ));
        assert!(PoolId::new("").is_err());
        assert!(PoolId::new("a b").is_err());
        assert!(PoolId::new("a/b").is_err());
    }

    #[test]
    fn custom_from_and_sender_rules() {
        assert!(CustomFrom::new("Acme Shop").is_ok());
        assert!(matches!(
            CustomFrom::new("Acme Shop Ltd"),
            Err(IdError::CustomFrom(_))
        ));
        assert!(CustomFrom::new("Acme!").is_err());
        assert!(SenderId::new("447700900123").is_ok());
        assert!(SenderId::new("+447700900123").is_ok());
        assert!(matches!(
            SenderId::new("1234567890123456"),
            Err(IdError::Sender(_))
        ));
    }

    #[test]
    fn network_and_country_rules() {
        assert!(Network::new("23415").is_ok());
        assert!(matches!(Network::new("234 15"), Err(IdError::Network(_))));
        assert!(Network::new("").is_err());
        assert_eq!(Country::new("GB").unwrap().to_string(), "GB");
        assert!(matches!(Country::new("gb"), Err(IdError::Country(_))));
    }

    #[test]
    fn serde_goes_through_validation() {
        let id: PoolId = serde_json_like("\"ok-pool\"");
        assert_eq!(id.as_str(), "ok-pool");
    }

    /// Minimal JSON string decoding via serde's value deserializer, to keep serde_json out of the
    /// engine's dependencies.
    fn serde_json_like(quoted: &str) -> PoolId {
        use serde::de::value::{Error, StrDeserializer};
        use serde::de::IntoDeserializer;
        let inner = quoted.trim_matches('"');
        let d: StrDeserializer<'_, Error> = inner.into_deserializer();
        serde::Deserialize::deserialize(d).unwrap()
    }
}
