//! Security headers. The Content-Security-Policy allows exactly what the app needs:
//! its own scripts (plus the hashes of the inline bootstrap Trunk writes into index.html),
//! compiling WebAssembly (`'wasm-unsafe-eval'`), same-origin fetches (models, API), and
//! images from blobs (photos the visitor drops never leave the page), and workers from blobs
//! (the multi-threaded engine's thread pool, see [`isolate`]). Only `/embed/*` may be framed by
//! other sites.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::site::Site;

pub struct Policy {
    csp_page: HeaderValue,
    csp_embed: HeaderValue,
}

impl Policy {
    pub fn for_site(site: &Site) -> Self {
        let script_hashes: String = inline_scripts(site.index_html())
            .map(|body| {
                format!(
                    " 'sha256-{}'",
                    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))
                )
            })
            .collect();
        let base = format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{script_hashes}; \
             style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; \
             connect-src 'self'; worker-src 'self' blob:; font-src 'self'; manifest-src 'self'; \
             object-src 'none'; base-uri 'none'; form-action 'self'"
        );
        let header = |s: String| HeaderValue::from_str(&s).expect("CSP contains only ASCII");
        Self {
            csp_page: header(format!("{base}; frame-ancestors 'none'")),
            csp_embed: header(format!("{base}; frame-ancestors *")),
        }
    }
}

/// Bodies of `<script>` elements without `src` in `html`.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script").skip(1).filter_map(|tail| {
        let (attrs, rest) = tail.split_once('>')?;
        if attrs.contains("src=") {
            return None;
        }
        rest.split_once("</script>").map(|(body, _)| body)
    })
}

pub async fn apply_headers(
    State(policy): State<Arc<Policy>>,
    req: Request,
    next: Next,
) -> Response {
    let embed = req.uri().path().starts_with("/embed/");
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    let csp = if embed {
        &policy.csp_embed
    } else {
        &policy.csp_page
    };
    h.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    // The image demo may use the camera; nothing else is ever needed.
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static(
            "camera=(self), microphone=(), geolocation=(), interest-cohort=()",
        ),
    );
    if !embed {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        isolate(h);
    }
    response
}

/// Cross-origin isolation for the main site: with these two headers a page (and the workers it
/// starts, whose scripts get them too) may share memory between threads (`SharedArrayBuffer`),
/// which the multi-threaded engine needs (`public/sdk/worker.js` checks
/// `self.crossOriginIsolated`). They only take effect on documents and workers.
///
/// Never on `/embed/*`: an isolated page may only embed or load cross-origin content that opts
/// in, and COOP would sever the embed from the host page it lives in; embeds run the
/// single-thread engine. The main site itself loads nothing cross-origin, so `require-corp`
/// costs it nothing.
fn isolate(h: &mut axum::http::HeaderMap) {
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("cross-origin-embedder-policy"),
        HeaderValue::from_static("require-corp"),
    );
}

#[cfg(test)]
mod tests {
    use super::inline_scripts;

    #[test]
    fn finds_only_inline_script_bodies() {
        let html = r#"<script src="/a.js"></script><script type="module">boot()</script><p>x</p>"#;
        assert_eq!(inline_scripts(html).collect::<Vec<_>>(), vec!["boot()"]);
    }
}
