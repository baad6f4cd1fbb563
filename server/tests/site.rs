//! The server's static-site behaviour, driven in-process (no port, no browser).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use server::public_origin::PublicOrigin;
use tower::ServiceExt;

const INDEX: &str =
    "<!doctype html><html><head><script type=module>boot()</script></head><body></body></html>";

async fn site() -> (tempfile::TempDir, axum::Router) {
    site_with(PublicOrigin::Listening(None), INDEX).await
}

async fn site_with(origin: PublicOrigin, index: &str) -> (tempfile::TempDir, axum::Router) {
    let dir = tempfile::tempdir().expect("temp dir");
    let dist = dir.path();
    std::fs::write(dist.join("index.html"), index).unwrap();
    std::fs::write(
        dist.join("app-0123456789abcdef_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .unwrap();
    std::fs::write(dist.join("app-0123456789abcdef_bg.wasm.br"), b"brotli!").unwrap();
    std::fs::create_dir(dist.join("sdk")).unwrap();
    std::fs::write(dist.join("sdk/vitrine.js"), "export {}").unwrap();
    let (mut config, store) = config_and_store(dist.to_owned(), dir.path()).await;
    config.public_origin = origin;
    let router = server::router(&config, store).expect("router");
    (dir, router)
}

/// A config serving `dist_dir`, with its feedback database in `data`.
async fn config_and_store(
    dist_dir: std::path::PathBuf,
    data: &std::path::Path,
) -> (server::Config, server::feedback::Store) {
    let feedback = server::feedback::Settings::sqlite(data.join("feedback.db"));
    let store = server::feedback::Store::connect(&feedback.database)
        .await
        .expect("store");
    let config = server::Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        dist_dir,
        feedback,
        connections: Default::default(),
        public_origin: PublicOrigin::Listening(None),
    };
    (config, store)
}

async fn get(
    router: &axum::Router,
    uri: &str,
    accept_encoding: Option<&str>,
) -> axum::response::Response {
    let mut req = Request::get(uri);
    if let Some(enc) = accept_encoding {
        req = req.header(header::ACCEPT_ENCODING, enc);
    }
    router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn header_of(res: &axum::response::Response, name: header::HeaderName) -> &str {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

#[tokio::test]
async fn client_routes_get_the_app_and_are_revalidated() {
    let (_dir, router) = site().await;
    for route in [
        "/",
        "/kiosk",
        "/tour",
        "/tour/3",
        "/insights",
        "/embed/sentiment",
        "/embed/image",
    ] {
        let res = get(&router, route, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{route}");
        assert_eq!(
            header_of(&res, header::CACHE_CONTROL),
            "no-cache",
            "{route}"
        );
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, INDEX.as_bytes(), "{route}");
    }
}

#[tokio::test]
async fn unknown_pages_get_the_app_with_404_and_missing_files_a_plain_404() {
    let (_dir, router) = site().await;
    let page = get(&router, "/no/such/page", None).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(header_of(&page, header::CONTENT_TYPE).starts_with("text/html"));
    let file = get(&router, "/missing.js", None).await;
    assert_eq!(file.status(), StatusCode::NOT_FOUND);
    assert!(!header_of(&file, header::CONTENT_TYPE).starts_with("text/html"));
}

#[tokio::test]
async fn hashed_wasm_is_immutable_typed_and_served_precompressed() {
    let (_dir, router) = site().await;
    let res = get(&router, "/app-0123456789abcdef_bg.wasm", Some("br, gzip")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header_of(&res, header::CONTENT_TYPE), "application/wasm");
    assert_eq!(header_of(&res, header::CONTENT_ENCODING), "br");
    assert!(header_of(&res, header::CACHE_CONTROL).contains("immutable"));
    let plain = get(&router, "/app-0123456789abcdef_bg.wasm", None).await;
    assert_eq!(header_of(&plain, header::CONTENT_ENCODING), "");
    let sdk = get(&router, "/sdk/vitrine.js", None).await;
    assert_eq!(header_of(&sdk, header::CACHE_CONTROL), "no-cache");
    assert!(header_of(&sdk, header::CONTENT_TYPE).contains("javascript"));
}

#[tokio::test]
async fn security_headers_allow_framing_only_for_embeds() {
    let (_dir, router) = site().await;
    let page = get(&router, "/", None).await;
    let csp = header_of(&page, header::CONTENT_SECURITY_POLICY).to_owned();
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    // The inline bootstrap Trunk writes is allowed by its hash, not by 'unsafe-inline'.
    assert!(csp.contains("'sha256-"), "{csp}");
    assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
    assert_eq!(header_of(&page, header::X_FRAME_OPTIONS), "DENY");
    assert_eq!(header_of(&page, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert!(!header_of(&page, header::REFERRER_POLICY).is_empty());
    assert!(!header_of(&page, header::HeaderName::from_static("x-request-id")).is_empty());

    let embed = get(&router, "/embed/image", None).await;
    assert!(header_of(&embed, header::CONTENT_SECURITY_POLICY).contains("frame-ancestors *"));
    assert_eq!(header_of(&embed, header::X_FRAME_OPTIONS), "");
}

#[tokio::test]
async fn the_main_site_and_its_workers_are_cross_origin_isolated_and_embeds_are_not() {
    let (_dir, router) = site().await;
    let coop = header::HeaderName::from_static("cross-origin-opener-policy");
    let coep = header::HeaderName::from_static("cross-origin-embedder-policy");
    for route in ["/", "/kiosk", "/tour/3", "/sdk/vitrine.js"] {
        let res = get(&router, route, None).await;
        assert_eq!(header_of(&res, coop.clone()), "same-origin", "{route}");
        assert_eq!(header_of(&res, coep.clone()), "require-corp", "{route}");
        // The thread pool's workers are started from blob: URLs.
        let csp = header_of(&res, header::CONTENT_SECURITY_POLICY);
        assert!(csp.contains("worker-src 'self' blob:"), "{route}: {csp}");
    }
    for route in ["/embed/sentiment", "/embed/image"] {
        let res = get(&router, route, None).await;
        assert_eq!(header_of(&res, coop.clone()), "", "{route}");
        assert_eq!(header_of(&res, coep.clone()), "", "{route}");
    }
}

#[tokio::test]
async fn health_answers_ok() {
    let (_dir, router) = site().await;
    let res = get(&router, "/healthz", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["status"], "ok");
}

#[tokio::test]
async fn a_missing_build_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let (config, store) = config_and_store(dir.path().join("dist"), dir.path()).await;
    let err = match server::router(&config, store) {
        Ok(_) => panic!("no dist must be an error"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("cargo xtask serve"), "{err}");
}

/// Counts ERROR events, to show a request logged none.
#[derive(Clone, Default)]
struct ErrorCount(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ErrorCount {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::ERROR {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn paths_no_file_could_have_are_a_quiet_404() {
    use tracing_subscriber::layer::SubscriberExt;
    let errors = ErrorCount::default();
    // A current-thread runtime polls every request on this thread, under this subscriber.
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(errors.clone()));
    let (_dir, router) = site().await;
    let long_segment = format!("/{}", "a".repeat(256));
    let with_br_suffix = format!("/{}", "a".repeat(253));
    let encoded = format!("/sdk/{}.js", "%61".repeat(300));
    let long_path = "/abcdefghij".repeat(500);
    for (path, encoding) in [
        (long_segment.as_str(), None),
        (with_br_suffix.as_str(), Some("br, gzip")),
        (encoded.as_str(), Some("gzip")),
        (long_path.as_str(), None),
    ] {
        let res = get(&router, path, encoding).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{} bytes", path.len());
    }
    // The file next to them still works.
    assert_eq!(
        get(&router, "/sdk/vitrine.js", None).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        errors.0.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "ERROR lines logged"
    );
}

const PREVIEW_PAGE: &str = r#"<!doctype html><title>Vitrine</title><meta property="og:image" content="/og-image.png"><body>"#;

/// The page for `uri` sent with a hostile `Host` and forwarded headers: (body, Vary).
async fn page_with_hostile_headers(router: &axum::Router, uri: &str) -> (String, String) {
    let req = Request::get(uri)
        .header(header::HOST, "evil.example")
        .header("x-forwarded-host", "attacker.example")
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let vary = res
        .headers()
        .get_all(header::VARY)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(", ");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (String::from_utf8(body.to_vec()).unwrap(), vary)
}

#[tokio::test]
async fn pages_never_name_a_host_the_request_chose() {
    // No settings, listening on all interfaces: no usable origin, paths stay relative.
    let (_dir, router) = site_with(PublicOrigin::Listening(None), PREVIEW_PAGE).await;
    let (page, _) = page_with_hostile_headers(&router, "/").await;
    assert!(page.contains(r#"content="/og-image.png""#), "{page}");
    assert!(
        !page.contains("evil.example") && !page.contains("attacker.example"),
        "{page}"
    );

    // No settings, listening on one address: that address.
    let listening = PublicOrigin::Listening(Some("http://127.0.0.1:8080".into()));
    let (_dir, router) = site_with(listening, PREVIEW_PAGE).await;
    let (page, _) = page_with_hostile_headers(&router, "/kiosk").await;
    assert!(
        page.contains(r#"content="http://127.0.0.1:8080/og-image.png""#),
        "{page}"
    );
    assert!(
        !page.contains("evil.example") && !page.contains("attacker.example"),
        "{page}"
    );

    // VITRINE_PUBLIC_URL: that origin, and a canonical link for the page.
    let configured = PublicOrigin::Configured("https://vitrine.example.org".into());
    let (_dir, router) = site_with(configured, PREVIEW_PAGE).await;
    let (page, vary) = page_with_hostile_headers(&router, "/tour/3").await;
    assert!(
        page.contains(r#"content="https://vitrine.example.org/og-image.png""#),
        "{page}"
    );
    assert!(
        page.contains(r#"<link rel="canonical" href="https://vitrine.example.org/tour/3">"#),
        "{page}"
    );
    assert!(
        !page.contains("evil.example") && !page.contains("attacker.example"),
        "{page}"
    );
    assert!(!vary.contains("host"), "{vary}");
}

#[tokio::test]
async fn a_trusted_proxy_names_the_origin_and_caches_are_told() {
    let (_dir, router) = site_with(PublicOrigin::FromProxy, PREVIEW_PAGE).await;
    let (page, vary) = page_with_hostile_headers(&router, "/").await;
    assert!(
        page.contains(r#"content="https://attacker.example/og-image.png""#),
        "{page}"
    );
    assert!(vary.contains("x-forwarded-host"), "{vary}");
    assert!(
        vary.contains("accept-encoding"),
        "compression's Vary is kept: {vary}"
    );
}
