//! Every API failure as one JSON shape, `{"error": code, "message": sentence}`, with a status
//! that says whose fault it is. Database details are logged, never sent.

use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::record::Invalid;
use super::store::StoreError;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable code, e.g. `invalid_json`.
    pub error: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the body must be JSON (Content-Type: application/json)")]
    NotJson,
    #[error("{0}")]
    Body(#[from] BytesRejection),
    #[error("{0}")]
    Query(#[from] QueryRejection),
    #[error("the body did not arrive within {} s", .0.as_secs())]
    BodyTimeout(std::time::Duration),
    #[error("the body is not a valid submission: {0}")]
    Malformed(serde_json::Error),
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("{0}")]
    BadExport(&'static str),
    #[error("`{0}` is not a feedback id (a UUID)")]
    BadId(String),
    #[error("this idempotency key was already used for a different submission")]
    KeyReused,
    #[error("no feedback with this id")]
    NotFound,
    #[error("no API route here; see /api/openapi.json")]
    NoSuchRoute,
    #[error("this API route does not accept this method; see the Allow header")]
    MethodNotAllowed,
    #[error("the request was refused ({0})")]
    Http(StatusCode),
    #[error("an admin token is required (Authorization: Bearer …)")]
    Unauthorized,
    #[error("too many requests from this address; retry in {0} s")]
    RateLimited(u64),
    #[error("the feedback store is unavailable; the submission was not stored")]
    Store(#[from] StoreError),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::NotJson => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_json"),
            Self::Body(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
            }
            Self::Body(r) => (r.status(), "unreadable_body"),
            Self::BodyTimeout(_) => (StatusCode::REQUEST_TIMEOUT, "body_timeout"),
            Self::Query(_) => (StatusCode::BAD_REQUEST, "bad_query"),
            Self::Malformed(_) => (StatusCode::BAD_REQUEST, "invalid_json"),
            Self::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_submission"),
            Self::BadId(_) => (StatusCode::BAD_REQUEST, "bad_id"),
            Self::BadExport(_) => (StatusCode::BAD_REQUEST, "bad_query"),
            Self::KeyReused => (StatusCode::CONFLICT, "key_reused"),
            Self::NotFound | Self::NoSuchRoute => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Http(status) => (*status, "http_error"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let Self::Store(e) = &self {
            tracing::error!("feedback store: {e}");
        }
        let body = ErrorBody {
            error: code,
            message: self.to_string(),
        };
        let mut res = (status, Json(body)).into_response();
        match self {
            Self::Unauthorized => {
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"vitrine-insights\""),
                );
            }
            Self::RateLimited(secs) => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            // The rest of the body may still be on its way: this connection cannot be reused.
            Self::BodyTimeout(_) => {
                res.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        res
    }
}

/// The one error shape for everything under `/api`, also for refusals that come from axum or a
/// layer rather than from a handler (a 405 has an empty body there): any error response that
/// is not JSON already gets an [`ErrorBody`], its status and other headers (`Allow`) kept.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let error = match status {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::NOT_FOUND => ApiError::NoSuchRoute,
        other => ApiError::Http(other),
    };
    let (mut parts, _) = res.into_parts();
    let json = error.into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in json.headers() {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, json.into_body())
}
