//! Where feedback lives: SQLite by default, PostgreSQL when `DATABASE_URL` is set. Both go
//! through sqlx's `Any` driver so there is one set of migrations and one set of queries; the
//! SQL sticks to what both engines read the same way (`$n` parameters, BIGINT, DOUBLE
//! PRECISION, TEXT, `ON CONFLICT … DO NOTHING`).
//!
//! Durability: `insert` returns only after the row is committed. On SQLite the connection runs
//! in WAL mode with `synchronous=FULL`, so a commit is fsynced before it returns; PostgreSQL's
//! default `synchronous_commit=on` gives the same guarantee. The HTTP acknowledgement is sent
//! after `insert` returns, so an acknowledged record survives a kill -9 or a power cut.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use super::record::{Backend, DeviceClass, Submission, Verdict};

/// Which database to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file, created (with its folder) if missing.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the folder for the SQLite database {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the feedback database ({what}): {source}")]
    Connect { what: String, source: sqlx::Error },
    #[error("cannot apply the feedback database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("feedback database error: {0}")]
    Query(#[from] sqlx::Error),
    #[error("cannot write the export: {0}")]
    Export(String),
}

/// The outcome of storing a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// A new row, committed.
    New { received_ms: i64 },
    /// The same submission was stored before (a retry): nothing was written.
    Repeat { received_ms: i64 },
    /// The key was used before with a different body.
    Conflict,
    /// A record with this id was stored and then deleted: nothing was written (a late retry
    /// must not bring it back).
    Deleted { received_ms: i64 },
}

/// One stored row, as exported.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct FeedbackRow {
    pub id: String,
    pub received_ms: i64,
    pub kind: String,
    pub model: Option<String>,
    pub verdict: Option<String>,
    pub predicted: Option<String>,
    pub corrected: Option<String>,
    pub input_text: Option<String>,
    pub speed: Option<i64>,
    pub stability: Option<i64>,
    pub usability: Option<i64>,
    pub comment: Option<String>,
    pub email: Option<String>,
    pub backend: Option<String>,
    pub latency_ms: Option<f64>,
    pub device: Option<String>,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
}

const COLUMNS: &str = "id, received_ms, kind, model, verdict, predicted, corrected, input_text, \
                       speed, stability, usability, comment, email, backend, latency_ms, device";

impl Store {
    pub async fn connect(db: &Database) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (url, what, max) = match db {
            Database::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                        path: path.clone(),
                        source,
                    })?;
                }
                // SQLite serialises writers anyway; a few connections let reads (insights)
                // run beside a write thanks to WAL.
                (
                    format!("sqlite://{}?mode=rwc", path.display()),
                    format!("SQLite file {}", path.display()),
                    4,
                )
            }
            Database::Postgres(url) => (url.clone(), "PostgreSQL".to_owned(), 10),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(|source| StoreError::Connect {
            what: what.clone(),
            source,
        })?;
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name() == "SQLite" {
                        // WAL: readers do not block the writer. FULL: a commit is fsynced
                        // (WAL's default NORMAL may lose the last commits on power loss).
                        // busy_timeout: concurrent writers wait instead of failing.
                        for pragma in [
                            "PRAGMA journal_mode=WAL",
                            "PRAGMA synchronous=FULL",
                            "PRAGMA busy_timeout=10000",
                        ] {
                            sqlx::query(pragma).execute(&mut *conn).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect { what, source })?;
        super::migrations::migrator().await?.run(&pool).await?;
        Ok(Self { pool })
    }

    /// Stores `s` (already validated) unless its id is known; see [`Stored`].
    pub async fn insert(&self, s: &Submission, received_ms: i64) -> Result<Stored, StoreError> {
        let digest = s.canonical_sha256();
        let r = s.result.as_ref();
        let v = s.visit.as_ref();
        let t = s.telemetry.as_ref();
        let inserted = sqlx::query(
            "INSERT INTO feedback (id, received_ms, kind, model, verdict, predicted, corrected, \
             input_text, speed, stability, usability, comment, email, backend, latency_ms, \
             device, body_sha256) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17 \
             WHERE NOT EXISTS (SELECT 1 FROM feedback_tombstone WHERE id = $1) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(s.id.to_string())
        .bind(received_ms)
        .bind(if r.is_some() { "result" } else { "visit" })
        .bind(r.map(|r| r.model.as_str()))
        .bind(r.map(|r| verdict_name(r.verdict)))
        .bind(r.map(|r| r.predicted.clone()))
        .bind(r.and_then(|r| r.corrected.clone()))
        .bind(r.and_then(|r| r.input_text.clone()))
        .bind(v.map(|v| i64::from(v.speed)))
        .bind(v.map(|v| i64::from(v.stability)))
        .bind(v.map(|v| i64::from(v.usability)))
        .bind(v.and_then(|v| v.comment.clone()))
        .bind(s.contact.as_ref().map(|c| c.email.clone()))
        .bind(t.map(|t| backend_name(t.backend)))
        .bind(t.map(|t| t.latency_ms))
        .bind(t.map(|t| device_name(t.device)))
        .bind(digest.clone())
        .execute(&self.pool)
        .await?;
        let id = s.id.to_string();
        if inserted.rows_affected() == 1 {
            // PostgreSQL: a delete committed while this insert waited on the old row lets the
            // insert through although the tombstone now exists. Look again, and undo.
            if let Some(received_ms) = self.tombstone(&id).await? {
                sqlx::query("DELETE FROM feedback WHERE id = $1")
                    .bind(&id)
                    .execute(&self.pool)
                    .await?;
                return Ok(Stored::Deleted { received_ms });
            }
            return Ok(Stored::New { received_ms });
        }
        let row = sqlx::query("SELECT received_ms, body_sha256 FROM feedback WHERE id = $1")
            .bind(&id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) if row.try_get::<String, _>("body_sha256")? == digest => Ok(Stored::Repeat {
                received_ms: row.try_get("received_ms")?,
            }),
            Some(_) => Ok(Stored::Conflict),
            // No row and nothing inserted: the tombstone stopped it (or a delete committed
            // between the two statements).
            None => match self.tombstone(&id).await? {
                Some(received_ms) => Ok(Stored::Deleted { received_ms }),
                None => Ok(Stored::Conflict),
            },
        }
    }

    /// When the deleted record `id` was first received, if `id` was deleted.
    async fn tombstone(&self, id: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT received_ms FROM feedback_tombstone WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("received_ms")).transpose()?)
    }

    pub async fn count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM feedback")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    pub async fn all(&self) -> Result<Vec<FeedbackRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM feedback ORDER BY received_ms, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(feedback_row).collect()
    }

    /// Removes one record and leaves its tombstone, in one transaction; `false` if there was
    /// no record.
    pub async fn delete(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query("DELETE FROM feedback WHERE id = $1 RETURNING received_ms")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = deleted else {
            return Ok(false); // dropping `tx` rolls back
        };
        let received_ms: i64 = row.try_get("received_ms")?;
        sqlx::query(
            "INSERT INTO feedback_tombstone (id, received_ms, deleted_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(received_ms)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes every record received before `cutoff_ms`, and the tombstones of deleted ones
    /// as old; returns how many records.
    pub async fn purge_before(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM feedback WHERE received_ms < $1")
            .bind(cutoff_ms)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM feedback_tombstone WHERE received_ms < $1")
            .bind(cutoff_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// How many tombstones there are (for tests and operators).
    pub async fn tombstones(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM feedback_tombstone")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

fn feedback_row(row: &AnyRow) -> Result<FeedbackRow, StoreError> {
    Ok(FeedbackRow {
        id: row.try_get("id")?,
        received_ms: row.try_get("received_ms")?,
        kind: row.try_get("kind")?,
        model: row.try_get("model")?,
        verdict: row.try_get("verdict")?,
        predicted: row.try_get("predicted")?,
        corrected: row.try_get("corrected")?,
        input_text: row.try_get("input_text")?,
        speed: row.try_get("speed")?,
        stability: row.try_get("stability")?,
        usability: row.try_get("usability")?,
        comment: row.try_get("comment")?,
        email: row.try_get("email")?,
        backend: row.try_get("backend")?,
        latency_ms: row.try_get("latency_ms")?,
        device: row.try_get("device")?,
    })
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Up => "up",
        Verdict::Down => "down",
    }
}

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Webgpu => "webgpu",
        Backend::WasmSimd => "wasm-simd",
    }
}

fn device_name(d: DeviceClass) -> &'static str {
    match d {
        DeviceClass::Mobile => "mobile",
        DeviceClass::Tablet => "tablet",
        DeviceClass::Desktop => "desktop",
    }
}
