//! Accounts and their credentials (DESIGN §3.1, §9): the unit of isolation; nothing crosses them.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;

use super::ids::AccountId;

/// An account as configured: its key (the `account_id` of REST paths) and how to check its secret.
#[derive(Clone)]
pub struct Account {
    /// The public half of the credential pair and the account's identity everywhere.
    pub id: AccountId,
    /// SHA-256 of the secret. Storing only the digest lets the config hold either the secret or
    /// its hash, and makes every comparison the same fixed-length, constant-time one.
    secret_sha256: [u8; 32],
}

/// Why a configured secret digest was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("api_secret_sha256 must be 64 hexadecimal characters")]
pub struct BadSecretDigest;

impl Account {
    /// An account whose secret is given in clear (it is hashed at once and never kept).
    pub fn with_secret(id: AccountId, secret: &str) -> Self {
        Account {
            id,
            secret_sha256: Sha256::digest(secret.as_bytes()).into(),
        }
    }

    /// An account whose secret is given as the hex SHA-256 of the secret.
    pub fn with_secret_sha256(id: AccountId, hex_digest: &str) -> Result<Self, BadSecretDigest> {
        let bytes = hex_digest.as_bytes();
        if bytes.len() != 64 {
            return Err(BadSecretDigest);
        }
        let mut digest = [0u8; 32];
        for (out, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
            let text = std::str::from_utf8(pair).map_err(|_| BadSecretDigest)?;
            *out = u8::from_str_radix(text, 16).map_err(|_| BadSecretDigest)?;
        }
        Ok(Account {
            id,
            secret_sha256: digest,
        })
    }

    /// Whether `secret` is this account's secret, compared in constant time.
    pub fn secret_matches(&self, secret: &str) -> bool {
        let given: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        given.ct_eq(&self.secret_sha256).into()
    }
}

impl fmt::Debug for Account {
    /// Never prints the secret or its digest: accounts end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> AccountId {
        AccountId::new("abcd1234").unwrap()
    }

    #[test]
    fn plain_secret_matches_only_itself() {
        let account = Account::with_secret(id(), "s3cret");
        assert!(account.secret_matches("s3cret"));
        assert!(!account.secret_matches("s3cre"));
        assert!(!account.secret_matches(""));
    }

    #[test]
    fn sha256_secret_matches() {
        // sha256("s3cret")
        let hex = "1c2a8bd0aa4e3ac0e8c3a0c8f1c2e4e2a1b2c3d4e5f60718293a4b5c6d7e8f90";
        let account = Account::with_secret_sha256(id(), hex).unwrap();
        assert!(!account.secret_matches("s3cret"));
        let real: [u8; 32] = Sha256::digest(b"s3cret").into();
        let real_hex: String = real.iter().map(|b| format!("{b:02x}")).collect();
        let account = Account::with_secret_sha256(id(), &real_hex).unwrap();
        assert!(account.secret_matches("s3cret"));
        assert_eq!(
            Account::with_secret_sha256(id(), "zz").unwrap_err(),
            BadSecretDigest
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let account = Account::with_secret(id(), "s3cret");
        let shown = format!("{account:?}");
        assert!(shown.contains("abcd1234"));
        assert!(!shown.contains("secret_sha256"));
    }
}
