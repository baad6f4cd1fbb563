//! Serving the Trunk-built single-page app from `dist/`.
//!
//! - Client routes (`/kiosk`, `/tour/…`, `/embed/…`, …) get `index.html`; the app routes itself.
//! - Files come pre-compressed (`.br`, `.gz` written by `cargo xtask build`): brotli at maximum
//!   quality is too slow to do per request for multi-megabyte wasm and model files.
//! - Trunk puts a content hash in file names (`app-0123456789abcdef_bg.wasm`, leading zeros dropped); those never change,
//!   so browsers may keep them for a year. Everything else is revalidated on each visit.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;
use tower::ServiceExt;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

use crate::fs_path::could_be_a_file;
use crate::link_preview::{absolute_preview_urls, with_canonical};
use crate::public_origin::PublicOrigin;

/// Paths the app renders itself (see `app/src/routes.rs`). Anything else without a file
/// extension still gets the app, with status 404, so the visitor sees a friendly page.
pub const CLIENT_ROUTES: &[&str] = &[
    "/",
    // The service worker stores the app page under this name (public/sw.js): it must get the
    // same per-request rewriting as every other route (link_preview.rs).
    "/index.html",
    "/kiosk",
    "/tour",
    "/tour/{step}",
    "/insights",
    // Any catalogue model's id (the app shows "not found" for one it does not have).
    "/embed/{model}",
];

/// Fewest hex digits taken as a Trunk content hash (see [`is_content_hashed`]).
const MIN_HASH_DIGITS: usize = 8;
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

#[derive(Clone)]
pub struct Site {
    dist: PathBuf,
    page: AppPage,
}

/// The app page, as each response gets it.
#[derive(Clone)]
struct AppPage {
    html: Arc<str>,
    origin: Arc<PublicOrigin>,
}

impl Site {
    pub fn load(dist: &Path, origin: PublicOrigin) -> Result<Self> {
        let index = dist.join("index.html");
        let index_html = std::fs::read_to_string(&index).with_context(|| {
            format!(
                "{} is missing: build the site first (`cargo xtask serve` builds it)",
                index.display()
            )
        })?;
        Ok(Self {
            dist: dist.to_owned(),
            page: AppPage {
                html: index_html.into(),
                origin: Arc::new(origin),
            },
        })
    }

    pub fn index_html(&self) -> &str {
        &self.page.html
    }

    pub fn routes(&self) -> Router {
        let mut router = Router::new();
        for &route in CLIENT_ROUTES {
            let page = self.page.clone();
            router = router.route(
                route,
                get(move |req: Request| async move { page.render(&req, StatusCode::OK) }),
            );
        }
        let page = self.page.clone();
        let missing = page.clone();
        let files = ServeDir::new(&self.dist)
            .precompressed_br()
            .precompressed_gzip()
            .append_index_html_on_directories(false)
            .fallback(get(move |req: Request| not_found(missing, req)));
        router
            .fallback(move |req: Request| static_file(files.clone(), page.clone(), req))
            .layer(axum::middleware::from_fn(cache_control))
            // Only responses not already compressed on disk (the page itself, JSON) get here.
            .layer(CompressionLayer::new())
    }
}

impl AppPage {
    fn render(&self, req: &Request, status: StatusCode) -> Response {
        let origin = self.origin.for_request(req.headers());
        let mut html = absolute_preview_urls(&self.html, origin.as_deref());
        if status.is_success() {
            if let Some(canonical) = self.origin.canonical() {
                html = with_canonical(&html, canonical, req.uri().path());
            }
        }
        let mut res = (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            html,
        )
            .into_response();
        if self.origin.varies_by_request() {
            // The page names the proxy's origin: a cache must keep one copy per origin.
            res.headers_mut().append(
                header::VARY,
                HeaderValue::from_static("host, x-forwarded-host, x-forwarded-proto"),
            );
        }
        res
    }
}

/// A file from `dist/`, or the site's 404 for a path no file could have (see `fs_path`).
async fn static_file(files: ServeDir<MethodRouter>, page: AppPage, req: Request) -> Response {
    if !could_be_a_file(req.uri().path()) {
        return not_found(page, req).await;
    }
    match files.oneshot(req).await {
        Ok(res) => res.into_response(),
        Err(never) => match never {},
    }
}

async fn not_found(page: AppPage, req: Request) -> Response {
    let last = req.uri().path().rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        // A missing asset: the app page would only confuse a script or image loader.
        (StatusCode::NOT_FOUND, "not found\n").into_response()
    } else {
        page.render(&req, StatusCode::NOT_FOUND)
    }
}

async fn cache_control(req: Request, next: Next) -> Response {
    let immutable = is_content_hashed(req.uri().path());
    let mut response = next.run(req).await;
    let value = if immutable && response.status().is_success() {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(value));
    response
}

/// True for Trunk's hashed outputs: `name-<hash>` followed by `.ext` or `_bg.wasm`.
///
/// Trunk writes the 64-bit hash with `{:x}`, so leading zeros are dropped: one build in sixteen
/// has 15 digits. Eight digits is the floor (one build in four billion has fewer), which still
/// keeps ordinary names such as `cafe-1.png` out.
pub fn is_content_hashed(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or_default();
    let stem = file.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    match stem.rsplit_once('-') {
        Some((name, hash)) => {
            !name.is_empty()
                && (MIN_HASH_DIGITS..=16).contains(&hash.len())
                && hash.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_content_hashed;

    #[test]
    fn recognises_trunk_hashed_names_only() {
        assert!(is_content_hashed("/app-0123456789abcdef.js"));
        assert!(is_content_hashed("/app-0123456789abcdef_bg.wasm"));
        assert!(is_content_hashed("/style-89abcdef01234567.css"));
        // Trunk drops leading zeros: this build's app file had a 15-digit hash.
        assert!(is_content_hashed("/app-17209e2e9329f90.js"));
        assert!(is_content_hashed("/app-17209e2e9329f90_bg.wasm"));
        assert!(!is_content_hashed("/index.html"));
        assert!(!is_content_hashed("/sdk/vitrine.js"));
        assert!(!is_content_hashed("/sdk/model_wasm_bg.wasm"));
        assert!(!is_content_hashed("/app-0123.js"));
        assert!(!is_content_hashed("/app-0123456789abcdef0.js"));
        assert!(!is_content_hashed("/-0123456789abcdef.js"));
    }
}
