//! The aggregates the product team reads on `/insights`. Each is one portable SQL query; the
//! casts to DOUBLE PRECISION make PostgreSQL's AVG return float8 (not NUMERIC), which the
//! `Any` driver decodes the same way as SQLite's REAL.

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::display_text::neutralised;
use super::store::{Store, StoreError};

const DAY_MS: i64 = 86_400_000;
/// How many recent comments the page shows.
const RECENT_COMMENTS: i64 = 50;
/// How many days the time series covers.
const SERIES_DAYS: i64 = 90;

#[derive(Debug, Serialize, ToSchema)]
pub struct Insights {
    pub total: i64,
    /// The three visit ratings averaged over all visits.
    pub ratings: Ratings,
    /// One entry per UTC day with any feedback, oldest first (last 90 days).
    pub days: Vec<Day>,
    pub accuracy: Vec<ModelAccuracy>,
    pub confusion: Vec<Confusion>,
    pub latency: Vec<BackendLatency>,
    pub comments: Vec<Comment>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ratings {
    pub visits: i64,
    pub speed: Option<f64>,
    pub stability: Option<f64>,
    pub usability: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub results: i64,
    pub visits: i64,
    pub speed: Option<f64>,
    pub stability: Option<f64>,
    pub usability: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelAccuracy {
    pub model: String,
    pub up: i64,
    pub down: i64,
    /// `up / (up + down)`: the share of answers visitors called right.
    pub accuracy: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Confusion {
    pub model: String,
    pub predicted: String,
    pub corrected: String,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BackendLatency {
    pub backend: String,
    pub count: i64,
    pub mean_ms: f64,
    pub max_ms: f64,
}

/// Visitors' text here (comments, labels) has bidirectional overrides and other invisible
/// format characters removed; the export keeps them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Comment {
    pub id: String,
    pub received_ms: i64,
    pub comment: String,
}

impl Store {
    pub async fn insights(&self, now_ms: i64) -> Result<Insights, StoreError> {
        let pool = self.pool();
        let total = self.count().await?;

        let r = sqlx::query(
            "SELECT COUNT(*) AS n, AVG(CAST(speed AS DOUBLE PRECISION)) AS speed, \
             AVG(CAST(stability AS DOUBLE PRECISION)) AS stability, \
             AVG(CAST(usability AS DOUBLE PRECISION)) AS usability \
             FROM feedback WHERE kind = 'visit'",
        )
        .fetch_one(pool)
        .await?;
        let ratings = Ratings {
            visits: r.try_get("n")?,
            speed: r.try_get("speed")?,
            stability: r.try_get("stability")?,
            usability: r.try_get("usability")?,
        };

        let since = (now_ms / DAY_MS - SERIES_DAYS + 1) * DAY_MS;
        let days = sqlx::query(
            "SELECT received_ms / 86400000 AS day, \
             SUM(CASE WHEN kind = 'result' THEN 1 ELSE 0 END) AS results, \
             SUM(CASE WHEN kind = 'visit' THEN 1 ELSE 0 END) AS visits, \
             AVG(CAST(speed AS DOUBLE PRECISION)) AS speed, \
             AVG(CAST(stability AS DOUBLE PRECISION)) AS stability, \
             AVG(CAST(usability AS DOUBLE PRECISION)) AS usability \
             FROM feedback WHERE received_ms >= $1 GROUP BY received_ms / 86400000 ORDER BY day",
        )
        .bind(since)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Day {
                day: civil_date(r.try_get("day")?),
                results: r.try_get("results")?,
                visits: r.try_get("visits")?,
                speed: r.try_get("speed")?,
                stability: r.try_get("stability")?,
                usability: r.try_get("usability")?,
            })
        })
        .collect::<Result<_, StoreError>>()?;

        let accuracy = sqlx::query(
            "SELECT model, SUM(CASE WHEN verdict = 'up' THEN 1 ELSE 0 END) AS up, \
             SUM(CASE WHEN verdict = 'down' THEN 1 ELSE 0 END) AS down \
             FROM feedback WHERE kind = 'result' GROUP BY model ORDER BY model",
        )
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            let up: i64 = r.try_get("up")?;
            let down: i64 = r.try_get("down")?;
            Ok(ModelAccuracy {
                model: r.try_get("model")?,
                up,
                down,
                accuracy: up as f64 / (up + down).max(1) as f64,
            })
        })
        .collect::<Result<_, StoreError>>()?;

        let confusion = sqlx::query(
            "SELECT model, predicted, corrected, COUNT(*) AS n FROM feedback \
             WHERE kind = 'result' AND corrected IS NOT NULL \
             GROUP BY model, predicted, corrected ORDER BY n DESC, model, predicted, corrected \
             LIMIT 200",
        )
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Confusion {
                model: r.try_get("model")?,
                predicted: shown(r.try_get("predicted")?),
                corrected: shown(r.try_get("corrected")?),
                count: r.try_get("n")?,
            })
        })
        .collect::<Result<_, StoreError>>()?;

        let latency = sqlx::query(
            "SELECT backend, COUNT(*) AS n, AVG(latency_ms) AS mean_ms, MAX(latency_ms) AS max_ms \
             FROM feedback WHERE backend IS NOT NULL GROUP BY backend ORDER BY backend",
        )
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(BackendLatency {
                backend: r.try_get("backend")?,
                count: r.try_get("n")?,
                mean_ms: r.try_get("mean_ms")?,
                max_ms: r.try_get("max_ms")?,
            })
        })
        .collect::<Result<_, StoreError>>()?;

        let comments = sqlx::query(
            "SELECT id, received_ms, comment FROM feedback WHERE comment IS NOT NULL \
             ORDER BY received_ms DESC, id LIMIT $1",
        )
        .bind(RECENT_COMMENTS)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Comment {
                id: r.try_get("id")?,
                received_ms: r.try_get("received_ms")?,
                comment: shown(r.try_get("comment")?),
            })
        })
        .collect::<Result<_, StoreError>>()?;

        Ok(Insights {
            total,
            ratings,
            days,
            accuracy,
            confusion,
            latency,
            comments,
        })
    }
}

/// Visitors' text as the page shows it (see `display_text`).
fn shown(text: String) -> String {
    neutralised(&text).into_owned()
}

/// Days since 1970-01-01 → `YYYY-MM-DD` (proleptic Gregorian; Howard Hinnant's algorithm),
/// so the server needs no date crate for one label.
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::civil_date;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(civil_date(20_415), "2025-11-23");
        assert_eq!(civil_date(-1), "1969-12-31");
    }
}
