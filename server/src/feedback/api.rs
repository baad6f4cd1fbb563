//! The HTTP handlers: the public `POST /api/feedback` and the admin routes behind
//! [`super::admin`]. Bodies are read as bytes and parsed here (not by axum's `Json`) so that
//! every refusal uses the one JSON error shape of [`ApiError`].

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::insights::Insights;
use super::record::Submission;
use super::store::{FeedbackRow, Stored};
use super::Api;

/// The acknowledgement: once the client has it, the record is durably stored.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Ack {
    pub id: Uuid,
    /// When the server first stored it (ms since the Unix epoch).
    pub received_ms: i64,
    /// `true` when this was a retry of a submission already stored (or stored and since
    /// deleted: then nothing is stored again).
    pub duplicate: bool,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Store one piece of feedback.
#[utoipa::path(
    post,
    path = "/api/feedback",
    tag = "feedback",
    request_body(content = Submission, content_type = "application/json"),
    responses(
        (status = 201, description = "Stored (durably committed)", body = Ack),
        (status = 200, description = "A retry of a stored (or stored and since deleted) submission: nothing new was written", body = Ack),
        (status = 400, description = "Not JSON, wrong types, unknown fields, or arrays (objects only)", body = ErrorBody),
        (status = 408, description = "The body did not arrive in time (30 s by default)", body = ErrorBody),
        (status = 409, description = "The id was used before for a different submission", body = ErrorBody),
        (status = 413, description = "Body larger than 64 KB (any valid submission is smaller, even with every character \\u-escaped)", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "Out of range, too long, or not exactly one of result/visit", body = ErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
        (status = 503, description = "The store is unavailable; retry later", body = ErrorBody),
    )
)]
pub async fn submit(State(api): State<Api>, req: Request) -> Result<Response, ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::NotJson);
    }
    // The whole body within the deadline: a client trickling it would hold the connection.
    let body = tokio::time::timeout(api.body_read, Bytes::from_request(req, &()))
        .await
        .map_err(|_| ApiError::BodyTimeout(api.body_read))??;
    let submission = Submission::parse(&body).map_err(ApiError::Malformed)?;
    submission.validate()?;
    submission.check_against(&api.catalogue)?;
    let (status, received_ms, duplicate) = match api.store.insert(&submission, now_ms()).await? {
        Stored::New { received_ms } => (StatusCode::CREATED, received_ms, false),
        Stored::Repeat { received_ms } => (StatusCode::OK, received_ms, true),
        // Deleted since: acknowledged, so the visitor's outbox stops retrying; nothing stored.
        Stored::Deleted { received_ms } => (StatusCode::OK, received_ms, true),
        Stored::Conflict => return Err(ApiError::KeyReused),
    };
    api.metrics.stored(duplicate);
    let ack = Ack {
        id: submission.id,
        received_ms,
        duplicate,
    };
    Ok((status, Json(ack)).into_response())
}

/// Aggregates for the insights page.
#[utoipa::path(
    get,
    path = "/api/insights",
    tag = "admin",
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Insights),
        (status = 401, description = "No or wrong admin token", body = ErrorBody),
        (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn insights(State(api): State<Api>) -> Result<Json<Insights>, ApiError> {
    Ok(Json(api.store.insights(now_ms()).await?))
}

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Json,
    Csv,
    /// The corrections as labelled training rows, `text<TAB>label` (with `kind=corrections`).
    Tsv,
}

/// Which records an export holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportKind {
    /// Every record.
    #[default]
    All,
    /// Thumbs-down answers with the visitor's consented text and the label they gave.
    Corrections,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default), `csv`, or `tsv` (the corrections' training file: needs
    /// `kind=corrections`).
    #[serde(default)]
    #[param(inline)]
    pub format: Format,
    /// `all` (default) or `corrections`.
    #[serde(default)]
    #[param(inline)]
    pub kind: ExportKind,
    /// With `kind=corrections`: only this model's (a catalogue id).
    pub model: Option<String>,
}

/// Every stored record, or the corrections (`kind=corrections`), as a download.
#[utoipa::path(
    get,
    path = "/api/feedback/export",
    tag = "admin",
    params(ExportQuery),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "JSON array, CSV with a header row, or (kind=corrections, format=tsv) `text<TAB>label` rows after a header line", content(
            (Vec<FeedbackRow> = "application/json"),
            (String = "text/csv"),
            (String = "text/tab-separated-values"),
        )),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn export(
    State(api): State<Api>,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let corrections = query.kind == ExportKind::Corrections;
    if matches!(query.format, Format::Tsv) && !corrections {
        return Err(ApiError::BadExport(
            "format=tsv is the corrections' training file: add kind=corrections",
        ));
    }
    if query.model.is_some() && !corrections {
        return Err(ApiError::BadExport("model= goes with kind=corrections"));
    }
    let model = query.model.as_deref();
    let mut rows = api.store.all().await?;
    if corrections {
        rows.retain(|r| super::corrections::is_correction(r, model));
    }
    let (mut res, disposition) = match query.format {
        Format::Json => (
            Json(rows).into_response(),
            "attachment; filename=\"feedback.json\"",
        ),
        Format::Csv => (
            (
                [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
                super::csv_export::to_csv(&rows)?,
            )
                .into_response(),
            "attachment; filename=\"feedback.csv\"",
        ),
        Format::Tsv => (
            (
                [(
                    header::CONTENT_TYPE,
                    "text/tab-separated-values; charset=utf-8",
                )],
                super::corrections::to_tsv(&rows),
            )
                .into_response(),
            "attachment; filename=\"corrections.tsv\"",
        ),
    };
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(disposition),
    );
    Ok(res)
}

/// Delete one record (e.g. on a visitor's request). Its id is remembered (nothing else), so a
/// late retry of the submission is acknowledged without storing it again.
#[utoipa::path(
    delete,
    path = "/api/feedback/{id}",
    tag = "admin",
    params(("id" = String, Path, description = "The record's id (UUID)")),
    security(("admin_token" = [])),
    responses(
        (status = 204, description = "Deleted; a later retry of the submission is acknowledged as a duplicate and not stored"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn delete(
    State(api): State<Api>,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    // A path that does not even decode (`%FF`) is as much a bad id as `not-a-uuid`.
    let Path(id) = id.map_err(|e| ApiError::BadId(e.body_text()))?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::BadId(id.clone()))?;
    if api.store.delete(&id.to_string(), now_ms()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
