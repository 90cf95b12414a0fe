//! E.164 numbers as compact integers: the key of every table on the hot path.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// An E.164 number (7–15 digits, no `+`), stored as its integer value.
///
/// A `u64` holds 15 digits with room to spare, and E.164 numbers never start with `0`, so the
/// integer loses nothing and makes sticky-table keys 8 bytes instead of a heap string.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Msisdn(u64);

/// Why a string is not an E.164 number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MsisdnError {
    /// Nothing but an optional `+` was given.
    #[error("number is empty")]
    Empty,
    /// A character other than an ASCII digit (after an optional leading `+`).
    #[error("number must contain digits only, found {0:?}")]
    NotDigits(char),
    /// Fewer than 7 or more than 15 digits.
    #[error("number must have 7 to 15 digits, found {0}")]
    Length(usize),
    /// E.164 numbers start with a country calling code, which never starts with 0.
    #[error("number must not start with 0")]
    LeadingZero,
}

impl Msisdn {
    /// Fewest digits in an E.164 number we accept (DESIGN §3.1).
    pub(crate) const MIN_DIGITS: usize = 7;
    /// Most digits in an E.164 number (ITU-T E.164).
    pub(crate) const MAX_DIGITS: usize = 15;

    /// The smallest number (seven digits), for ranges over maps keyed by numbers.
    pub const MIN: Msisdn = Msisdn(1_000_000);
    /// The largest number (fifteen digits).
    pub const MAX: Msisdn = Msisdn(999_999_999_999_999);

    /// Parses `digits` with an optional leading `+`.
    pub fn parse(text: &str) -> Result<Self, MsisdnError> {
        let digits = text.strip_prefix('+').unwrap_or(text);
        if digits.is_empty() {
            return Err(MsisdnError::Empty);
        }
        if let Some(bad) = digits.chars().find(|c| !c.is_ascii_digit()) {
            return Err(MsisdnError::NotDigits(bad));
        }
        if !(Self::MIN_DIGITS..=Self::MAX_DIGITS).contains(&digits.len()) {
            return Err(MsisdnError::Length(digits.len()));
        }
        if digits.starts_with('0') {
            return Err(MsisdnError::LeadingZero);
        }
        let value = digits
            .bytes()
            .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
        Ok(Msisdn(value))
    }

    /// Builds a number from its integer value, checking the digit count.
    pub fn from_u64(value: u64) -> Result<Self, MsisdnError> {
        let len = if value == 0 {
            1
        } else {
            value.ilog10() as usize + 1
        };
        if !(Self::MIN_DIGITS..=Self::MAX_DIGITS).contains(&len) {
            return Err(MsisdnError::Length(len));
        }
        Ok(Msisdn(value))
    }

    /// The number's integer value.
    pub fn get(self) -> u64 {
        self.0
    }

    /// How many digits the number has.
    pub(crate) fn digit_count(self) -> u32 {
        self.0.ilog10() + 1
    }

    /// The first `count` digits as an integer (all of them when `count` exceeds the length).
    pub fn leading_digits(self, count: u32) -> u64 {
        let len = self.digit_count();
        if count >= len {
            self.0
        } else {
            self.0 / 10u64.pow(len - count)
        }
    }

    /// The digits after the first `count` ones, with their length.
    pub(crate) fn trailing_digits(self, count: u32) -> (u64, u32) {
        let len = self.digit_count();
        let rest = len.saturating_sub(count);
        (self.0 % 10u64.pow(rest), rest)
    }
}

impl FromStr for Msisdn {
    type Err = MsisdnError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Msisdn::parse(text)
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_and_without_plus() {
        assert_eq!(Msisdn::parse("+447700900123").unwrap().get(), 447700900123);
        assert_eq!(
            Msisdn::parse("447700900123").unwrap().to_string(),
            "447700900123"
        );
    }

    #[test]
    fn rejects_each_malformation_with_its_own_error() {
        assert_eq!(Msisdn::parse("+"), Err(MsisdnError::Empty));
        assert_eq!(Msisdn::parse("44 7700"), Err(MsisdnError::NotDigits(' ')));
        assert_eq!(Msisdn::parse("123456"), Err(MsisdnError::Length(6)));
        assert_eq!(
            Msisdn::parse("1234567890123456"),
            Err(MsisdnError::Length(16))
        );
        assert_eq!(Msisdn::parse("0447700900"), Err(MsisdnError::LeadingZero));
        assert_eq!(
            Msisdn::parse("++4477009001"),
            Err(MsisdnError::NotDigits('+'))
        );
    }

    #[test]
    fn splits_digits() {
        let n = Msisdn::parse("14165550100").unwrap();
        assert_eq!(n.digit_count(), 11);
        assert_eq!(n.leading_digits(1), 1);
        assert_eq!(n.leading_digits(4), 1416);
        assert_eq!(n.trailing_digits(1), (4165550100, 10));
        assert_eq!(Msisdn::from_u64(n.get()), Ok(n));
        assert_eq!(Msisdn::from_u64(123), Err(MsisdnError::Length(3)));
    }
}
