//! Model files are verified before use: a truncated download or a tampered cache entry must
//! fail loudly rather than produce confident nonsense.

use sha2::{Digest, Sha256};

use crate::ModelError;

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Checks `bytes` against the expected lower-case hex sha256.
pub fn verify(name: &str, bytes: &[u8], expected: &str) -> Result<(), ModelError> {
    let actual = sha256_hex(bytes);
    if actual.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(ModelError::ChecksumMismatch {
            name: name.to_owned(),
            expected: expected.to_owned(),
            actual,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_matching_digest_in_any_case() {
        let digest = sha256_hex(b"vitrine");
        assert_eq!(digest.len(), 64);
        verify("m.bin", b"vitrine", &digest.to_uppercase()).unwrap();
    }

    #[test]
    fn rejects_a_single_flipped_byte_with_a_readable_message() {
        let digest = sha256_hex(b"vitrine");
        let err = verify("m.bin", b"vitrinf", &digest).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("m.bin") && msg.contains("damaged"), "{msg}");
    }
}
