//! Opt-in feedback: `POST /api/feedback` for visitors, and the admin routes behind a token
//! (insights, export, delete). See `record.rs` for what may be sent, `store.rs` for how it is
//! kept, and `settings.rs` for the environment variables.

pub mod admin;
pub mod api;
pub mod corrections;
mod csv_export;
pub mod display_text;
pub mod error;
pub mod insights;
mod migrations;
pub mod openapi;
pub mod rate_limit;
pub mod record;
pub mod retention;
pub mod settings;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Method};
use axum::middleware::from_fn_with_state;
use axum::routing::{any, delete, get, post};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::metrics::{self, Metrics};
pub use settings::Settings;
pub use store::{Database, Store};

/// Largest accepted body: generous enough for any valid submission however it is written.
/// The worst is every character `\u`-escaped: 2000 characters outside the BMP at 12 bytes each
/// (a surrogate pair) are 24 000 bytes, the labels and e-mail under 6 000 more.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct Api {
    store: Store,
    admin: Option<admin::AdminToken>,
    metrics: Arc<Metrics>,
    /// The models feedback may name, and their labels.
    catalogue: Arc<crate::catalogue::Catalogue>,
    /// How long a submission's body may take to arrive (a trickled body holds a connection).
    body_read: Duration,
}

/// The `/api/*` routes and `/metrics`.
pub fn routes(
    settings: &Settings,
    store: Store,
    catalogue: crate::catalogue::Catalogue,
    body_read: Duration,
) -> Router {
    let metrics = Arc::new(Metrics::default());
    let api = Api {
        store,
        admin: settings.admin_token.as_deref().map(admin::AdminToken::new),
        metrics: metrics.clone(),
        catalogue: Arc::new(catalogue),
        body_read,
    };
    // Each group has its own rate limiter, applied before anything else it does (the admin
    // token check included, which also slows down guessing).
    let admin_routes = Router::new()
        .route("/api/insights", get(api::insights))
        .route("/api/feedback/export", get(api::export))
        .route("/api/feedback/{id}", delete(api::delete))
        .route_layer(from_fn_with_state(api.clone(), admin::require_token))
        .route_layer(from_fn_with_state(
            Arc::new(rate_limit::PerIp::new(settings.rate_limit_per_minute)),
            rate_limit::limit,
        ))
        // Insights and exports (with e-mail addresses) must never sit in a browser or proxy
        // cache.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let visitor_routes = Router::new()
        .route(
            "/api/feedback",
            post(api::submit).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route("/api/openapi.json", get(openapi::document))
        // Unknown API paths answer in JSON instead of falling through to the app page.
        .route("/api", any(not_found))
        .route("/api/", any(not_found))
        .route("/api/{*rest}", any(not_found))
        .route_layer(from_fn_with_state(
            Arc::new(rate_limit::PerIp::new(settings.rate_limit_per_minute)),
            rate_limit::limit,
        ));
    let mut routes = Router::new()
        .merge(visitor_routes)
        .merge(admin_routes)
        .with_state(api)
        .route_layer(from_fn_with_state(metrics.clone(), metrics::track))
        .layer(axum::middleware::from_fn(error::json_errors));
    if !settings.cors_origins.is_empty() {
        routes = routes.layer(cors(&settings.cors_origins));
    }
    routes.route("/metrics", get(metrics::serve).with_state(metrics))
}

async fn not_found() -> error::ApiError {
    error::ApiError::NoSuchRoute
}

/// Cross-origin calls only from the configured origins (a kiosk shell or a staff dashboard on
/// another host); without any, the browser's same-origin rule stands.
fn cors(origins: &[HeaderValue]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .max_age(std::time::Duration::from_secs(600))
}
