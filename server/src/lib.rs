//! The Vitrine web server: serves the built site (`dist/`) with the headers a wasm app needs,
//! and stores opt-in feedback (`feedback/`). `router` is the whole app, so tests drive it
//! in-process.

pub mod catalogue;
pub mod config;
pub mod connections;
pub mod feedback;
pub mod fs_path;
pub mod health;
pub mod link_preview;
pub mod metrics;
pub mod public_origin;
pub mod security;
pub mod site;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::{HeaderName, Request};
use axum::Router;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

pub use config::Config;

/// Builds the complete HTTP application for `config`, storing feedback in `store`.
pub fn router(config: &Config, store: feedback::Store) -> anyhow::Result<Router> {
    let site = site::Site::load(&config.dist_dir, config.public_origin.clone())?;
    let catalogue = catalogue::load(&config.dist_dir)?;
    let request_id = HeaderName::from_static("x-request-id");
    Ok(Router::new()
        .merge(health::routes())
        .merge(feedback::routes(
            &config.feedback,
            store,
            catalogue,
            config.connections.body_read,
        ))
        .merge(site.routes())
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(security::Policy::for_site(&site)),
            security::apply_headers,
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::new(
            request_id,
            SequentialRequestId::default(),
        )))
}

/// Request ids unique within this process: enough to correlate a log line with a response.
#[derive(Clone, Default)]
struct SequentialRequestId(Arc<AtomicU64>);

impl MakeRequestId for SequentialRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        format!("{:x}-{n}", std::process::id())
            .parse()
            .ok()
            .map(RequestId::new)
    }
}
