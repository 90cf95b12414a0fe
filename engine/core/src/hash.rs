//! Stable hashes: the same input hashes the same on every build, platform and replica, which
//! std's `DefaultHasher` does not promise. xxh3 is specified and fast on 8-byte inputs.

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::model::Msisdn;

/// Seeds of ring points start here so that a number's points never coincide with the hash of
/// the same digits as a recipient (which uses seed 0).
const RING_SEED_BASE: u64 = 0x6e70_6f6f_6c00_0000;

/// A recipient's hash: picks its sticky shard, its slot there, and its position on a
/// consistent-hash ring.
pub(crate) fn recipient(to: Msisdn) -> u64 {
    recipient_digits(to.get())
}

/// [`recipient`] of a number's integer value, for tables that store the digits alone.
pub(crate) fn recipient_digits(digits: u64) -> u64 {
    xxh3_64(&digits.to_le_bytes())
}

/// The position of a number's `replica`-th point on a consistent-hash ring.
pub(crate) fn ring_point(number: Msisdn, replica: u32) -> u64 {
    xxh3_64_with_seed(
        &number.get().to_le_bytes(),
        RING_SEED_BASE + u64::from(replica),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden values: if these change, every deployed predictable pool would assign its new
    /// recipients differently from its replicas and from before the upgrade. Never update
    /// them casually.
    #[test]
    fn hashes_are_stable_across_builds() {
        let n = Msisdn::parse("447700900123").unwrap();
        assert_eq!(recipient(n), GOLDEN_RECIPIENT);
        assert_eq!(ring_point(n, 0), GOLDEN_POINT_0);
        assert_eq!(ring_point(n, 7), GOLDEN_POINT_7);
    }

    const GOLDEN_RECIPIENT: u64 = 0xde16_b019_3494_53c4;
    const GOLDEN_POINT_0: u64 = 0x583d_d21f_675f_08c8;
    const GOLDEN_POINT_7: u64 = 0x65bc_defd_9c11_005f;
}
