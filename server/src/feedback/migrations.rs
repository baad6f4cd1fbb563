//! The feedback database's schema migrations, compiled into the binary. They are listed here
//! rather than found by `sqlx::migrate!`: that macro needs sqlx's `macros` feature, which
//! compiles sqlx and both its drivers a second time for the compiler (SQLite's C source
//! included), minutes of a newcomer's first build. `Migration::new` checksums the SQL exactly as
//! the macro does, so databases migrated before this change validate unchanged.

use std::borrow::Cow;

use futures_core::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};

/// `(version, description, SQL)`, oldest first: one row per file in `server/migrations/`.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        20261123000001,
        "feedback",
        include_str!("../../migrations/20261123000001_feedback.sql"),
    ),
    (
        20261202000001,
        "feedback tombstones",
        include_str!("../../migrations/20261202000001_feedback_tombstones.sql"),
    ),
];

/// The migrations above, as sqlx runs them.
pub async fn migrator() -> Result<Migrator, MigrateError> {
    Migrator::new(Embedded).await
}

#[derive(Debug)]
struct Embedded;

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    /// A migration file that is not listed would silently never run.
    #[test]
    fn every_file_in_the_migrations_folder_is_listed_in_order() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("server/migrations exists")
            .map(|e| {
                e.expect("readable")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS
            .iter()
            .map(|(version, description, _)| {
                format!("{version}_{}.sql", description.replace(' ', "_"))
            })
            .collect();
        assert_eq!(files, listed);
        assert!(MIGRATIONS.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
