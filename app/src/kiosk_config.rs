//! Booth settings for kiosk mode, read from `/kiosk.json` (shipped from `public/kiosk.json`, so
//! staff change them without rebuilding the app):
//!
//! ```json
//! { "pin": "2468", "idle_seconds": 60, "slide_seconds": 5, "hold_seconds": 3 }
//! ```
//!
//! The PIN keeps visitors from leaving the kiosk by accident; it is not access control (the file
//! is public, like everything the page loads).

use std::time::Duration;

use serde::Deserialize;

use crate::dom::fetch_json;

pub const CONFIG_URL: &str = "/kiosk.json";

/// The file as written; every field is optional and falls back to a sensible default.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub pin: Option<String>,
    pub idle_seconds: Option<u32>,
    pub slide_seconds: Option<u32>,
    pub hold_seconds: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct KioskConfig {
    /// The staff PIN; `None` when the file could not be read (staff can then leave without one
    /// rather than be locked out of their own booth).
    pub pin: Option<String>,
    /// No touch or key for this long: clear the visitor's work and start the attract loop.
    pub idle: Duration,
    /// How long each attract-loop slide stays up.
    pub slide: Duration,
    /// How long staff press the corner mark to open the exit dialog.
    pub hold: Duration,
}

impl Default for KioskConfig {
    fn default() -> Self {
        Self {
            pin: None,
            idle: Duration::from_secs(60),
            slide: Duration::from_secs(5),
            hold: Duration::from_secs(3),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("{CONFIG_URL} could not be read: {0}")]
    Unreadable(String),
    #[error("{CONFIG_URL} is not a valid kiosk configuration: {0}")]
    Invalid(String),
    #[error("the PIN in {CONFIG_URL} must be 4 to 8 digits")]
    BadPin,
    #[error("{field} in {CONFIG_URL} must be between {min} and {max} seconds, not {value}")]
    OutOfRange {
        field: &'static str,
        value: u32,
        min: u32,
        max: u32,
    },
}

impl TryFrom<RawConfig> for KioskConfig {
    type Error = ConfigError;

    fn try_from(raw: RawConfig) -> Result<Self, ConfigError> {
        let defaults = KioskConfig::default();
        let pin = match raw.pin {
            Some(pin)
                if (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Some(pin)
            }
            Some(_) => return Err(ConfigError::BadPin),
            None => None,
        };
        let seconds = |field, value: Option<u32>, default: Duration, min, max| match value {
            None => Ok(default),
            Some(v) if (min..=max).contains(&v) => Ok(Duration::from_secs(v.into())),
            Some(v) => Err(ConfigError::OutOfRange {
                field,
                value: v,
                min,
                max,
            }),
        };
        Ok(Self {
            pin,
            // Under 5 s a visitor could be wiped out mid-sentence; over an hour is no reset at all.
            idle: seconds("idle_seconds", raw.idle_seconds, defaults.idle, 5, 3600)?,
            slide: seconds("slide_seconds", raw.slide_seconds, defaults.slide, 2, 60)?,
            hold: seconds("hold_seconds", raw.hold_seconds, defaults.hold, 1, 10)?,
        })
    }
}

/// Fetches and checks `/kiosk.json`.
pub async fn load() -> Result<KioskConfig, ConfigError> {
    let value = fetch_json(CONFIG_URL)
        .await
        .map_err(ConfigError::Unreadable)?;
    let raw: RawConfig =
        serde_wasm_bindgen::from_value(value).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    KioskConfig::try_from(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_in_defaults() {
        let config = KioskConfig::try_from(RawConfig {
            pin: Some("2468".into()),
            ..RawConfig::default()
        });
        assert_eq!(
            config,
            Ok(KioskConfig {
                pin: Some("2468".into()),
                ..KioskConfig::default()
            })
        );
    }

    #[test]
    fn rejects_pins_that_a_keypad_cannot_type() {
        for pin in ["12", "12a4", "123456789", ""] {
            let raw = RawConfig {
                pin: Some(pin.into()),
                ..RawConfig::default()
            };
            assert_eq!(
                KioskConfig::try_from(raw),
                Err(ConfigError::BadPin),
                "{pin}"
            );
        }
    }

    #[test]
    fn rejects_idle_times_that_would_wipe_a_visitor_mid_sentence() {
        let raw = RawConfig {
            idle_seconds: Some(2),
            ..RawConfig::default()
        };
        assert!(matches!(
            KioskConfig::try_from(raw),
            Err(ConfigError::OutOfRange {
                field: "idle_seconds",
                value: 2,
                ..
            })
        ));
        let raw = RawConfig {
            idle_seconds: Some(30),
            slide_seconds: Some(4),
            hold_seconds: Some(2),
            pin: None,
        };
        let config = KioskConfig::try_from(raw).expect("valid");
        assert_eq!(config.idle, Duration::from_secs(30));
        assert_eq!(config.slide, Duration::from_secs(4));
        assert_eq!(config.hold, Duration::from_secs(2));
    }
}
