//! Feedback settings from the environment:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `DATABASE_URL` | a `postgres://` URL: store in PostgreSQL | unset: SQLite |
//! | `VITRINE_DB` | the SQLite file | `vitrine-feedback.db` |
//! | `VITRINE_ADMIN_TOKEN` | Bearer token for the admin routes (≥ 16 characters) | unset: admin routes answer 401 |
//! | `VITRINE_RETENTION_DAYS` | purge records older than this many days (checked hourly) | unset: keep |
//! | `VITRINE_CORS_ORIGINS` | comma-separated origins allowed to call the API cross-origin | none |
//! | `VITRINE_RATE_LIMIT` | API requests per minute per client address | 120 |

use std::num::NonZeroU32;
use std::path::PathBuf;

use axum::http::HeaderValue;

use super::admin::MIN_TOKEN_CHARS;
use super::store::Database;

#[derive(Debug, Clone)]
pub struct Settings {
    pub database: Database,
    pub admin_token: Option<String>,
    pub retention_days: Option<u32>,
    pub cors_origins: Vec<HeaderValue>,
    pub rate_limit_per_minute: NonZeroU32,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("DATABASE_URL must start with postgres:// or postgresql:// (use VITRINE_DB for an SQLite file)")]
    NotPostgres,
    #[error(
        "VITRINE_ADMIN_TOKEN must be at least {MIN_TOKEN_CHARS} characters (leading and \
         trailing whitespace is not counted: it is removed)"
    )]
    ShortToken,
    #[error("{name}={value:?} is not a positive whole number")]
    NotANumber { name: &'static str, value: String },
    #[error("VITRINE_CORS_ORIGINS: {0:?} is not an origin like https://example.org")]
    BadOrigin(String),
}

impl Settings {
    /// SQLite at `path`, no admin token, no retention, no CORS, the default rate limit.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        Self {
            database: Database::Sqlite(path.into()),
            admin_token: None,
            retention_days: None,
            cors_origins: Vec::new(),
            rate_limit_per_minute: NonZeroU32::new(120).unwrap_or(NonZeroU32::MIN),
        }
    }

    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// `from_env` over any lookup, so tests need not mutate the process environment.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut s =
            Self::sqlite(var("VITRINE_DB").unwrap_or_else(|| "vitrine-feedback.db".to_owned()));
        if let Some(url) = var("DATABASE_URL") {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(SettingsError::NotPostgres);
            }
            s.database = Database::Postgres(url);
        }
        if let Some(token) = var("VITRINE_ADMIN_TOKEN") {
            // A token read from a file often ends in a newline; no client could ever send it
            // (the header value is trimmed), so it would silently never match.
            let token = token.trim();
            if token.chars().count() < MIN_TOKEN_CHARS {
                return Err(SettingsError::ShortToken);
            }
            s.admin_token = Some(token.to_owned());
        }
        let number = |name: &'static str| -> Result<Option<NonZeroU32>, SettingsError> {
            var(name)
                .map(|value| {
                    value
                        .trim()
                        .parse::<NonZeroU32>()
                        .map_err(|_| SettingsError::NotANumber { name, value })
                })
                .transpose()
        };
        s.retention_days = number("VITRINE_RETENTION_DAYS")?.map(NonZeroU32::get);
        if let Some(n) = number("VITRINE_RATE_LIMIT")? {
            s.rate_limit_per_minute = n;
        }
        if let Some(list) = var("VITRINE_CORS_ORIGINS") {
            for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                let ok = (origin.starts_with("http://") || origin.starts_with("https://"))
                    && !origin.trim_end_matches('/').contains(['?', '#'])
                    && origin.matches('/').count() == 2;
                let value = HeaderValue::from_str(origin)
                    .ok()
                    .filter(|_| ok)
                    .ok_or_else(|| SettingsError::BadOrigin(origin.to_owned()))?;
                s.cors_origins.push(value);
            }
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_to_sqlite_without_admin() {
        let s = from(&[]).unwrap();
        assert_eq!(s.database, Database::Sqlite("vitrine-feedback.db".into()));
        assert!(s.admin_token.is_none());
        assert!(s.cors_origins.is_empty());
    }

    #[test]
    fn the_admin_token_is_trimmed() {
        let s = from(&[("VITRINE_ADMIN_TOKEN", "  correct-horse-battery-staple\n")]).unwrap();
        assert_eq!(
            s.admin_token.as_deref(),
            Some("correct-horse-battery-staple")
        );
    }

    #[test]
    fn database_url_selects_postgres_and_bad_values_are_refused() {
        let s = from(&[("DATABASE_URL", "postgres://u@localhost/db")]).unwrap();
        assert!(matches!(s.database, Database::Postgres(_)));
        assert!(matches!(
            from(&[("DATABASE_URL", "mysql://x")]),
            Err(SettingsError::NotPostgres)
        ));
        assert!(matches!(
            from(&[("VITRINE_ADMIN_TOKEN", "short")]),
            Err(SettingsError::ShortToken)
        ));
        assert!(matches!(
            from(&[("VITRINE_RETENTION_DAYS", "-3")]),
            Err(SettingsError::NotANumber { .. })
        ));
        assert!(matches!(
            from(&[("VITRINE_CORS_ORIGINS", "https://a.org/path")]),
            Err(SettingsError::BadOrigin(_))
        ));
        assert!(matches!(
            from(&[("VITRINE_ADMIN_TOKEN", "   short-token   \n")]),
            Err(SettingsError::ShortToken)
        ));
        let s = from(&[(
            "VITRINE_CORS_ORIGINS",
            "https://a.org, http://localhost:3000",
        )])
        .unwrap();
        assert_eq!(s.cors_origins.len(), 2);
    }
}
