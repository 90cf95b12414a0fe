//! RFC 3339 timestamps for the API's `created_at` / `updated_at` (the engine keeps Unix seconds;
//! JSON clients read dates more easily, and Vonage's other APIs use the same form).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC). Seconds beyond what a date can hold
/// (year 9999) cannot come from the engine's clock; they show as the epoch rather than fail.
pub(crate) fn rfc3339(unix_seconds: u64) -> String {
    i64::try_from(unix_seconds)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// Formats Unix milliseconds as `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC): a pick's `send_after`, where
/// the milliseconds matter.
pub(crate) fn rfc3339_ms(unix_ms: u64) -> String {
    let seconds = rfc3339(unix_ms / 1_000);
    let whole = seconds.strip_suffix('Z').unwrap_or(&seconds);
    format!("{whole}.{:03}Z", unix_ms % 1_000)
}

#[cfg(test)]
mod tests {
    use super::{rfc3339, rfc3339_ms};

    #[test]
    fn formats_milliseconds() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_700_000_000_042), "2023-11-14T22:13:20.042Z");
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
