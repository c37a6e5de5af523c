//! Link tokens and the randomness they come from.
//!
//! A token is 32 bytes (256 bits) from a cryptographically secure generator, written as
//! unpadded base64url: 43 characters of `A–Z a–z 0–9 - _`, URL-safe as they are (spec
//! decision 6). Tokens are compared in constant time ([`LinkToken::ct_eq`]) and stores key them
//! by their SHA-256 digest, so a lookup's timing says nothing about a token's characters.
//!
//! Randomness is injected through [`RandomSource`]: [`SystemRandom`] (the operating system's
//! CSPRNG) in production, [`SeededRandom`] for deterministic tests.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::rngs::{StdRng, SysRng};
use rand::{Rng, SeedableRng, TryRng};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

/// Where random bytes come from. Implementations must be safe to share between threads.
pub trait RandomSource: Send + Sync + fmt::Debug {
    /// Fills `dest` with random bytes, or fails with [`Error::Randomness`].
    fn fill(&self, dest: &mut [u8]) -> Result<()>;
}

/// The operating system's cryptographically secure generator (`getrandom(2)` on Linux).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRandom;

impl RandomSource for SystemRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<()> {
        SysRng.try_fill_bytes(dest).map_err(|_| Error::Randomness)
    }
}

/// A deterministic generator seeded from a number (ChaCha12). **For tests only**: anyone who
/// knows the seed knows every token.
#[derive(Debug)]
pub struct SeededRandom {
    rng: Mutex<StdRng>,
}

impl SeededRandom {
    /// A generator that yields the same bytes for the same seed.
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom {
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }
}

impl RandomSource for SeededRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<()> {
        // A panic elsewhere while holding the lock leaves the generator usable.
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        rng.fill_bytes(dest);
        Ok(())
    }
}

/// The token that identifies one link session.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LinkToken(String);

impl LinkToken {
    /// Random bytes in a token.
    pub const BYTES: usize = 32;
    /// Characters in a token's text.
    pub const LEN: usize = 43;

    /// A new token from `random`.
    pub fn generate(random: &dyn RandomSource) -> Result<LinkToken> {
        let mut bytes = [0u8; Self::BYTES];
        random.fill(&mut bytes)?;
        Ok(LinkToken(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Accepts text that has the shape of a token (43 base64url characters); `None` otherwise.
    pub fn parse(text: &str) -> Option<LinkToken> {
        let well_formed = text.len() == Self::LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| LinkToken(text.to_owned()))
    }

    /// The token's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares with presented text in constant time (for equal lengths).
    pub fn ct_eq(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }

    /// The SHA-256 digest of the token's text, the key stores index sessions by.
    pub fn digest(&self) -> [u8; 32] {
        token_digest(&self.0)
    }
}

/// SHA-256 of a presented token's text, for looking it up without comparing the text itself.
pub fn token_digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

impl fmt::Debug for LinkToken {
    // A token is a bearer secret: debug output shows only its start.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let start = self.0.get(..6).unwrap_or_default();
        write!(f, "LinkToken({start}…)")
    }
}

impl fmt::Display for LinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[test]
    fn system_tokens_are_43_url_safe_characters() {
        let token = LinkToken::generate(&SystemRandom).unwrap();
        assert_eq!(token.as_str().len(), LinkToken::LEN);
        assert_eq!(LinkToken::parse(token.as_str()), Some(token.clone()));
        assert!(token.ct_eq(token.as_str()));
        assert!(!token.ct_eq(&token.as_str()[..42]));
        assert!(!format!("{token:?}").contains(token.as_str()));
    }

    #[test]
    fn seeded_random_is_deterministic() {
        let a = LinkToken::generate(&SeededRandom::new(7)).unwrap();
        let b = LinkToken::generate(&SeededRandom::new(7)).unwrap();
        let c = LinkToken::generate(&SeededRandom::new(8)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in [
            "",
            "abc",
            &"a".repeat(44),
            &format!("{}=", "a".repeat(42)),
            &"é".repeat(22),
        ] {
            assert_eq!(LinkToken::parse(bad), None, "{bad:?}");
        }
    }

    #[derive(Debug)]
    struct FailingRandom;
    impl RandomSource for FailingRandom {
        fn fill(&self, _: &mut [u8]) -> Result<()> {
            Err(Error::Randomness)
        }
    }

    #[test]
    fn a_failing_generator_is_an_error_not_a_weak_token() {
        assert_eq!(LinkToken::generate(&FailingRandom), Err(Error::Randomness));
    }

    proptest! {
        #[test]
        fn tokens_have_the_alphabet_and_length(seed in any::<u64>()) {
            let random = SeededRandom::new(seed);
            let token = LinkToken::generate(&random).unwrap();
            prop_assert_eq!(token.as_str().len(), 43);
            prop_assert!(token.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            // 43 base64url characters carry 258 bits, of which 256 are the random bytes.
            prop_assert_eq!(URL_SAFE_NO_PAD.decode(token.as_str()).unwrap().len(), 32);
        }

        #[test]
        fn tokens_do_not_repeat(seed in any::<u64>()) {
            let random = SeededRandom::new(seed);
            let tokens: HashSet<_> = (0..200).map(|_| LinkToken::generate(&random).unwrap()).collect();
            prop_assert_eq!(tokens.len(), 200);
        }
    }
}
