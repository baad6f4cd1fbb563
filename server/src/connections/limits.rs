//! How long a client may take and how many connections it may hold, from the environment:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `VITRINE_HEADER_TIMEOUT_SECS` | a request's headers must arrive within this (also the wait for the next request on a kept-alive connection) | 10 |
//! | `VITRINE_BODY_TIMEOUT_SECS` | a request body the API reads must arrive within this | 30 |
//! | `VITRINE_IDLE_TIMEOUT_SECS` | a connection on which no byte moves either way for this long is closed | 60 |
//! | `VITRINE_MAX_CONNECTIONS_PER_IP` | open connections per client address | 256 |
//! | `VITRINE_MAX_CONNECTIONS` | open connections in all (never more than the open-file limit allows) | 10 000 |

use std::num::NonZeroU64;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub header_read: Duration,
    pub body_read: Duration,
    pub idle: Duration,
    pub per_address: usize,
    pub total: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(30),
            idle: Duration::from_secs(60),
            // Browsers open up to six connections per site; a conference's NAT puts every
            // visitor behind one address.
            per_address: 256,
            total: 10_000,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{name}={value:?} is not a positive whole number")]
pub struct LimitsError {
    pub name: &'static str,
    pub value: String,
}

impl Limits {
    pub fn from_env() -> Result<Self, LimitsError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// `from_env` over any lookup, so tests need not mutate the process environment.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, LimitsError> {
        let number = |name: &'static str| -> Result<Option<u64>, LimitsError> {
            var(name)
                .map(|value| {
                    value
                        .trim()
                        .parse::<NonZeroU64>()
                        .map(NonZeroU64::get)
                        .map_err(|_| LimitsError { name, value })
                })
                .transpose()
        };
        let mut limits = Self::default();
        let secs = |n: u64| Duration::from_secs(n);
        if let Some(n) = number("VITRINE_HEADER_TIMEOUT_SECS")? {
            limits.header_read = secs(n);
        }
        if let Some(n) = number("VITRINE_BODY_TIMEOUT_SECS")? {
            limits.body_read = secs(n);
        }
        if let Some(n) = number("VITRINE_IDLE_TIMEOUT_SECS")? {
            limits.idle = secs(n);
        }
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        if let Some(n) = number("VITRINE_MAX_CONNECTIONS_PER_IP")? {
            limits.per_address = count(n);
        }
        if let Some(n) = number("VITRINE_MAX_CONNECTIONS")? {
            limits.total = count(n);
        }
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Limits, LimitsError> {
        Limits::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(from(&[]).unwrap(), Limits::default());
        let l = from(&[
            ("VITRINE_HEADER_TIMEOUT_SECS", "5"),
            ("VITRINE_MAX_CONNECTIONS_PER_IP", " 8 "),
        ])
        .unwrap();
        assert_eq!(l.header_read, Duration::from_secs(5));
        assert_eq!(l.per_address, 8);
        assert_eq!(
            from(&[("VITRINE_IDLE_TIMEOUT_SECS", "0")]),
            Err(LimitsError {
                name: "VITRINE_IDLE_TIMEOUT_SECS",
                value: "0".into()
            })
        );
    }
}
