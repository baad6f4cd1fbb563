//! The feedback API, driven in-process, against SQLite and against a real PostgreSQL cluster:
//! every case in `suite!` runs on both.

mod common;

use std::net::SocketAddr;
use std::num::NonZeroU32;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use server::feedback::{Database, Settings, Store};
use tower::ServiceExt;
use uuid::Uuid;

const TOKEN: &str = "test-admin-token-0123456789";
const SCRIPT: &str = "<script>alert('x')</script>";
const INJECTION: &str = "'); DROP TABLE feedback; --";

struct App {
    router: axum::Router,
    store: Store,
    _dist: tempfile::TempDir,
}

impl App {
    async fn new(db: &Database) -> Self {
        Self::with(db, |_| {}).await
    }

    async fn with(db: &Database, tweak: impl FnOnce(&mut Settings)) -> Self {
        let dist = tempfile::tempdir().expect("temp dir");
        std::fs::write(dist.path().join("index.html"), "<!doctype html><p>app</p>").unwrap();
        // A catalogue as the site build writes it: the two shipped models and a third, added
        // as a folder, which the server must accept with no change of its own.
        std::fs::create_dir(dist.path().join("models")).unwrap();
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/manifest.json"),
            dist.path().join("models/manifest.json"),
        )
        .unwrap();
        let mut settings = Settings::sqlite("unused.db");
        settings.database = db.clone();
        settings.admin_token = Some(TOKEN.into());
        settings.rate_limit_per_minute = NonZeroU32::new(100_000).unwrap();
        tweak(&mut settings);
        let store = Store::connect(&settings.database).await.expect("store");
        let config = server::Config {
            addr: "127.0.0.1:0".parse().unwrap(),
            dist_dir: dist.path().to_owned(),
            feedback: settings,
            connections: Default::default(),
            public_origin: server::public_origin::PublicOrigin::Listening(None),
        };
        let router = server::router(&config, store.clone()).expect("router");
        Self {
            router,
            store,
            _dist: dist,
        }
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        (status, headers, body)
    }

    async fn post_raw(&self, body: impl Into<Body>, content_type: &str) -> (StatusCode, Value) {
        let req = Request::post("/api/feedback")
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap();
        let (status, _, body) = self.send(req).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    async fn post(&self, body: &Value) -> (StatusCode, Value) {
        self.post_raw(body.to_string(), "application/json").await
    }

    async fn admin(&self, method: Method, uri: &str, token: Option<&str>) -> (StatusCode, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let (status, _, body) = self.send(req.body(Body::empty()).unwrap()).await;
        (status, body)
    }

    async fn admin_json(&self, uri: &str) -> Value {
        let (status, body) = self.admin(Method::GET, uri, Some(TOKEN)).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{uri}: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).unwrap()
    }

    async fn exported(&self) -> Vec<Value> {
        match self.admin_json("/api/feedback/export?format=json").await {
            Value::Array(rows) => rows,
            other => panic!("export is not an array: {other}"),
        }
    }
}

fn result(model: &str, verdict: &str, predicted: &str, corrected: Option<&str>) -> Value {
    let mut r = json!({ "model": model, "verdict": verdict, "predicted": predicted });
    if let Some(c) = corrected {
        r["corrected"] = json!(c);
    }
    json!({ "id": Uuid::new_v4(), "result": r })
}

fn visit(speed: u8, stability: u8, usability: u8, comment: Option<&str>) -> Value {
    let mut v = json!({ "speed": speed, "stability": stability, "usability": usability });
    if let Some(c) = comment {
        v["comment"] = json!(c);
    }
    json!({ "id": Uuid::new_v4(), "visit": v })
}

/// A visit whose comment is `n` × 😀, each written as the escapes `\ud83d\ude00` (12 bytes).
fn escaped_emoji_visit(n: usize) -> String {
    format!(
        r#"{{"id":"{}","visit":{{"speed":3,"stability":3,"usability":3,"comment":"{}"}}}}"#,
        Uuid::new_v4(),
        r"\ud83d\ude00".repeat(n)
    )
}

async fn stores_and_acknowledges(db: &Database) {
    let app = App::new(db).await;
    let mut r = result("sentiment", "down", "positive", Some("negative"));
    r["result"]["input_text"] = json!("Not my cup of tea.");
    r["telemetry"] = json!({ "latency_ms": 12.5, "backend": "wasm-simd", "device": "desktop" });
    let (status, ack) = app.post(&r).await;
    assert_eq!(status, StatusCode::CREATED, "{ack}");
    assert_eq!(ack["id"], r["id"]);
    assert_eq!(ack["duplicate"], false);
    let mut v = visit(5, 4, 3, Some("Fast!"));
    v["contact"] = json!({ "email": "visitor@example.org", "marketing_consent": true });
    assert_eq!(app.post(&v).await.0, StatusCode::CREATED);

    let rows = app.exported().await;
    assert_eq!(rows.len(), 2);
    let row = rows
        .iter()
        .find(|x| x["id"] == r["id"])
        .expect("result row");
    assert_eq!(row["kind"], "result");
    assert_eq!(row["model"], "sentiment");
    assert_eq!(row["corrected"], "negative");
    assert_eq!(row["input_text"], "Not my cup of tea.");
    assert_eq!(row["backend"], "wasm-simd");
    assert_eq!(row["latency_ms"], 12.5);
    let row = rows.iter().find(|x| x["id"] == v["id"]).expect("visit row");
    assert_eq!(
        (row["speed"].clone(), row["usability"].clone()),
        (json!(5), json!(3))
    );
    assert_eq!(row["email"], "visitor@example.org");
    assert_eq!(row["input_text"], Value::Null);
}

async fn a_retry_is_acknowledged_once_and_stored_once(db: &Database) {
    let app = App::new(db).await;
    let v = visit(4, 4, 4, Some("same"));
    let (first, ack1) = app.post(&v).await;
    assert_eq!(first, StatusCode::CREATED);
    // The same submission with its keys in another order and other spacing: still a retry.
    let reordered = format!(
        "{{ \"visit\": {{\"comment\":\"same\",\"usability\":4,\"stability\":4,\"speed\":4}}, \"id\": {} }}",
        v["id"]
    );
    for _ in 0..3 {
        let (again, ack) = app.post_raw(reordered.clone(), "application/json").await;
        assert_eq!(again, StatusCode::OK, "{ack}");
        assert_eq!(ack["duplicate"], true);
        assert_eq!(ack["received_ms"], ack1["received_ms"]);
    }
    assert_eq!(app.store.count().await.unwrap(), 1);
    // The same key with a different body is not a retry.
    let mut other = v.clone();
    other["visit"]["speed"] = json!(1);
    let (status, err) = app.post(&other).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"], "key_reused");
    assert_eq!(app.store.count().await.unwrap(), 1);
}

async fn bad_bodies_get_clear_4xx_and_store_nothing(db: &Database) {
    let app = App::new(db).await;
    let id = Uuid::new_v4().to_string();
    let ok_visit = json!({ "speed": 3, "stability": 3, "usability": 3 });
    let cases: Vec<(&str, Vec<u8>, &str, StatusCode, &str)> = vec![
        ("not JSON content type", visit(3, 3, 3, None).to_string().into_bytes(), "text/plain", StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_json"),
        ("truncated JSON", b"{\"id\":".to_vec(), "application/json", StatusCode::BAD_REQUEST, "invalid_json"),
        ("not an object", b"[1,2,3]".to_vec(), "application/json", StatusCode::BAD_REQUEST, "invalid_json"),
        ("invalid UTF-8", [b"{\"id\":\"".as_slice(), &[0xff, 0xfe], b"\"}"].concat(), "application/json", StatusCode::BAD_REQUEST, "invalid_json"),
        ("id not a UUID", json!({ "id": "42", "visit": ok_visit }).to_string().into_bytes(), "application/json", StatusCode::BAD_REQUEST, "invalid_json"),
        ("rating as a string", json!({ "id": id, "visit": { "speed": "5", "stability": 3, "usability": 3 } }).to_string().into_bytes(), "application/json", StatusCode::BAD_REQUEST, "invalid_json"),
        ("rating too big for a byte", json!({ "id": id, "visit": { "speed": 300, "stability": 3, "usability": 3 } }).to_string().into_bytes(), "application/json", StatusCode::BAD_REQUEST, "invalid_json"),
        ("unknown top-level field", json!({ "id": id, "visit": ok_visit, "admin": true }).to_string().into_bytes(), "application/json", StatusCode::BAD_REQUEST, "invalid_json"),
        ("unknown nested field", json!({ "id": id, "visit": { "speed": 3, "stability": 3, "usability": 3, "image": "data:" } }).to_string().into_bytes(), "application/json", StatusCode::BAD_REQUEST, "invalid_json"),
        ("unknown model", json!({ "id": id, "result": { "model": "gpt", "verdict": "up", "predicted": "positive" } }).to_string().into_bytes(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "invalid_submission"),
        ("unknown backend", json!({ "id": id, "visit": ok_visit, "telemetry": { "latency_ms": 1, "backend": "cuda", "device": "desktop" } }).to_string().into_bytes(), "application/json", StatusCode::BAD_REQUEST, "invalid_json"),
        ("rating 0", json!({ "id": id, "visit": { "speed": 0, "stability": 3, "usability": 3 } }).to_string().into_bytes(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "invalid_submission"),
        ("rating 6", json!({ "id": id, "visit": { "speed": 3, "stability": 6, "usability": 3 } }).to_string().into_bytes(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "invalid_submission"),
        ("neither result nor visit", json!({ "id": id }).to_string().into_bytes(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "invalid_submission"),
        ("both result and visit", json!({ "id": id, "visit": ok_visit, "result": { "model": "image", "verdict": "up", "predicted": "tabby" } }).to_string().into_bytes(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "invalid_submission"),
        ("comment of 2001 characters", visit(3, 3, 3, Some(&"x".repeat(2001))).to_string().into_bytes(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "invalid_submission"),
        ("NUL in a comment", visit(3, 3, 3, Some("a\u{0}b")).to_string().into_bytes(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "invalid_submission"),
        ("sentiment label outside the model", result("sentiment", "down", "positive", Some("neutral")).to_string().into_bytes(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "invalid_submission"),
        ("text attached to an image", json!({ "id": id, "result": { "model": "image", "verdict": "up", "predicted": "tabby", "input_text": "x" } }).to_string().into_bytes(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "invalid_submission"),
        ("e-mail without marketing consent", json!({ "id": id, "visit": ok_visit, "contact": { "email": "a@example.org", "marketing_consent": false } }).to_string().into_bytes(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "invalid_submission"),
        ("negative latency", json!({ "id": id, "visit": ok_visit, "telemetry": { "latency_ms": -1, "backend": "webgpu", "device": "mobile" } }).to_string().into_bytes(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "invalid_submission"),
        ("body over 64 KB", visit(3, 3, 3, Some(&"x".repeat(65 * 1024))).to_string().into_bytes(), "application/json", StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        ("a struct written as an array", format!(r#"["{id}", null, [1, 2, 3]]"#).into_bytes(), "application/json", StatusCode::BAD_REQUEST, "invalid_json"),
        ("a nested struct written as an array", format!(r#"{{"id": "{id}", "visit": [3, 3, 3]}}"#).into_bytes(), "application/json", StatusCode::BAD_REQUEST, "invalid_json"),
        ("2001 escaped emoji", escaped_emoji_visit(2001).into_bytes(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "invalid_submission"),
    ];
    for (what, body, content_type, expected, code) in cases {
        let (status, err) = app.post_raw(body, content_type).await;
        assert_eq!(status, expected, "{what}: {err}");
        assert_eq!(err["error"], code, "{what}: {err}");
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {err}"
        );
    }
    assert_eq!(app.store.count().await.unwrap(), 0);
}

async fn hostile_strings_are_stored_verbatim(db: &Database) {
    let app = App::new(db).await;
    for text in [
        SCRIPT,
        INJECTION,
        "Robert'); DROP TABLE feedback;--\n\"quoted\" 好",
    ] {
        let v = visit(3, 3, 3, Some(text));
        assert_eq!(app.post(&v).await.0, StatusCode::CREATED, "{text}");
        let mut r = result("sentiment", "up", "positive", None);
        r["result"]["input_text"] = json!(text);
        assert_eq!(app.post(&r).await.0, StatusCode::CREATED, "{text}");
        let rows = app.exported().await;
        let row = rows.iter().find(|x| x["id"] == v["id"]).expect("row");
        assert_eq!(row["comment"], text);
        let row = rows.iter().find(|x| x["id"] == r["id"]).expect("row");
        assert_eq!(row["input_text"], text);
    }
    // The table is still there and whole.
    assert_eq!(app.store.count().await.unwrap(), 6);
    let insights = app.admin_json("/api/insights").await;
    let comments: Vec<&str> = insights["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["comment"].as_str())
        .collect();
    assert!(comments.contains(&SCRIPT), "{comments:?}");
    assert!(comments.contains(&INJECTION), "{comments:?}");
}

async fn admin_routes_need_the_token(db: &Database) {
    let app = App::new(db).await;
    let id = Uuid::new_v4();
    for (method, uri) in [
        (Method::GET, "/api/insights".to_owned()),
        (Method::GET, "/api/feedback/export?format=csv".to_owned()),
        (Method::DELETE, format!("/api/feedback/{id}")),
    ] {
        for token in [
            None,
            Some("wrong-token-0123456789"),
            Some(""),
            Some(&TOKEN[1..]),
        ] {
            let (status, body) = app.admin(method.clone(), &uri, token).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri} {token:?}");
            let err: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(err["error"], "unauthorized");
        }
    }
    // A non-Bearer scheme is not accepted either.
    let req = Request::get("/api/insights")
        .header(header::AUTHORIZATION, format!("Basic {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = app.send(req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(
        app.admin(Method::GET, "/api/insights", Some(TOKEN)).await.0,
        StatusCode::OK
    );
    // The scheme is case-insensitive (RFC 9110).
    for scheme in ["bearer", "BEARER"] {
        let req = Request::get("/api/insights")
            .header(header::AUTHORIZATION, format!("{scheme} {TOKEN}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.send(req).await.0, StatusCode::OK, "{scheme}");
    }
}

async fn without_a_configured_token_admin_is_closed(db: &Database) {
    let app = App::with(db, |s| s.admin_token = None).await;
    assert_eq!(
        app.admin(Method::GET, "/api/insights", Some(TOKEN)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn insights_aggregate_what_was_sent(db: &Database) {
    let app = App::new(db).await;
    let with_latency = |mut v: Value, ms: f64, backend: &str| {
        v["telemetry"] = json!({ "latency_ms": ms, "backend": backend, "device": "mobile" });
        v
    };
    for body in [
        with_latency(
            result("sentiment", "up", "positive", None),
            10.0,
            "wasm-simd",
        ),
        with_latency(
            result("sentiment", "up", "negative", None),
            30.0,
            "wasm-simd",
        ),
        with_latency(
            result("sentiment", "down", "positive", Some("negative")),
            8.0,
            "webgpu",
        ),
        result("image", "down", "tabby", Some("tiger cat")),
        result("image", "down", "tabby", Some("tiger cat")),
        visit(4, 5, 2, Some("first")),
        visit(2, 3, 4, None),
    ] {
        assert_eq!(app.post(&body).await.0, StatusCode::CREATED);
    }
    let i = app.admin_json("/api/insights").await;
    assert_eq!(i["total"], 7);
    assert_eq!(i["ratings"]["visits"], 2);
    assert_eq!(i["ratings"]["speed"], 3.0);
    assert_eq!(i["ratings"]["stability"], 4.0);
    assert_eq!(i["ratings"]["usability"], 3.0);
    let days = i["days"].as_array().unwrap();
    assert_eq!(days.len(), 1, "{days:?}");
    assert_eq!(days[0]["results"], 5);
    assert_eq!(days[0]["visits"], 2);
    assert_eq!(days[0]["speed"], 3.0);
    assert_eq!(days[0]["day"].as_str().unwrap().len(), 10);
    assert_eq!(
        i["accuracy"],
        json!([
            { "model": "image", "up": 0, "down": 2, "accuracy": 0.0 },
            { "model": "sentiment", "up": 2, "down": 1, "accuracy": 2.0 / 3.0 },
        ])
    );
    assert_eq!(
        i["confusion"],
        json!([
            { "model": "image", "predicted": "tabby", "corrected": "tiger cat", "count": 2 },
            { "model": "sentiment", "predicted": "positive", "corrected": "negative", "count": 1 },
        ])
    );
    assert_eq!(
        i["latency"],
        json!([
            { "backend": "wasm-simd", "count": 2, "mean_ms": 20.0, "max_ms": 30.0 },
            { "backend": "webgpu", "count": 1, "mean_ms": 8.0, "max_ms": 8.0 },
        ])
    );
    assert_eq!(i["comments"].as_array().unwrap().len(), 1);
    assert_eq!(i["comments"][0]["comment"], "first");
}

async fn csv_export_has_a_header_and_defuses_formulas(db: &Database) {
    let app = App::new(db).await;
    let v = visit(1, 2, 3, Some("=HYPERLINK(\"http://evil\")"));
    assert_eq!(app.post(&v).await.0, StatusCode::CREATED);
    let req = Request::get("/api/feedback/export?format=csv")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = app.send(req).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("feedback.csv"));
    let text = String::from_utf8(body).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("id,received_ms,kind,"));
    let row = lines.next().unwrap();
    assert!(row.starts_with(v["id"].as_str().unwrap()), "{row}");
    assert!(row.contains(",1,2,3,"), "{row}");
    assert!(
        row.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
        "{row}"
    );
    assert_eq!(lines.next(), None);
    let (status, _) = app
        .admin(Method::GET, "/api/feedback/export?format=xml", Some(TOKEN))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Thumbs-down corrections with the visitor's text export as the labelled TSV the eval and
/// training commands read; nothing else does (thumbs up, no text, no correction, visits).
async fn corrections_export_as_labelled_training_rows(db: &Database) {
    let app = App::new(db).await;
    let with_text = |model: &str, verdict: &str, corrected: Option<&str>, text: &str| {
        let mut r = result(model, verdict, "positive", corrected);
        r["result"]["input_text"] = json!(text);
        r
    };
    for body in [
        with_text("sentiment", "down", Some("negative"), "Not bad?\tNo:\nbad."),
        with_text("sentiment", "up", None, "Lovely."),
        with_text("reviews", "down", Some("neutral"), "It arrived."),
        result("sentiment", "down", "positive", Some("negative")),
        visit(2, 2, 2, Some("slow")),
    ] {
        assert_eq!(app.post(&body).await.0, StatusCode::CREATED, "{body}");
    }
    let tsv = |query: &str| {
        Request::get(format!("/api/feedback/export?{query}"))
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, headers, body) = app.send(tsv("format=tsv&kind=corrections")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/tab-separated-values"));
    assert!(headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("corrections.tsv"));
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "text\tlabel\nNot bad? No: bad.\tnegative\nIt arrived.\tneutral\n"
    );
    let (_, _, body) = app
        .send(tsv("format=tsv&kind=corrections&model=reviews"))
        .await;
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "text\tlabel\nIt arrived.\tneutral\n"
    );
    let rows = app
        .admin_json("/api/feedback/export?kind=corrections")
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
    for query in [
        "format=tsv",
        "model=reviews",
        "kind=every",
        "format=tsv&kind=corrections&x=1",
    ] {
        let (status, _, body) = app.send(tsv(query)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"], "bad_query", "{query}: {body}");
    }
}

async fn delete_removes_one_record(db: &Database) {
    let app = App::new(db).await;
    let keep = visit(3, 3, 3, None);
    let gone = visit(1, 1, 1, None);
    app.post(&keep).await;
    app.post(&gone).await;
    let uri = format!("/api/feedback/{}", gone["id"].as_str().unwrap());
    assert_eq!(
        app.admin(Method::DELETE, &uri, Some(TOKEN)).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.admin(Method::DELETE, &uri, Some(TOKEN)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.admin(Method::DELETE, "/api/feedback/not-a-uuid", Some(TOKEN))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let rows = app.exported().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], keep["id"]);
}

async fn a_deleted_record_is_not_stored_again_by_a_retry(db: &Database) {
    let app = App::new(db).await;
    let v = visit(2, 2, 2, Some("please forget me"));
    let (status, first) = app.post(&v).await;
    assert_eq!(status, StatusCode::CREATED);
    let uri = format!("/api/feedback/{}", v["id"].as_str().unwrap());
    assert_eq!(
        app.admin(Method::DELETE, &uri, Some(TOKEN)).await.0,
        StatusCode::NO_CONTENT
    );
    // The visitor's outbox retries (its acknowledgement was lost): a duplicate, not a new row.
    let (status, ack) = app.post(&v).await;
    assert_eq!(status, StatusCode::OK, "{ack}");
    assert_eq!(ack["duplicate"], true);
    assert_eq!(ack["received_ms"], first["received_ms"]);
    // Whatever the body: the id is gone for good.
    let mut changed = v.clone();
    changed["visit"]["speed"] = json!(5);
    assert_eq!(app.post(&changed).await.0, StatusCode::OK);
    assert_eq!(app.store.count().await.unwrap(), 0);
    assert!(app.exported().await.is_empty());
    assert_eq!(app.admin_json("/api/insights").await["total"], 0);
    assert_eq!(app.store.tombstones().await.unwrap(), 1);
    // Deleting it again finds nothing.
    assert_eq!(
        app.admin(Method::DELETE, &uri, Some(TOKEN)).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn retention_purges_tombstones_with_the_records(db: &Database) {
    let app = App::new(db).await;
    let day = 86_400_000i64;
    let now = 1_800_000_000_000i64;
    for (age, comment) in [(31, "old"), (29, "recent")] {
        let s: server::feedback::record::Submission =
            serde_json::from_value(visit(2, 2, 2, Some(comment))).unwrap();
        app.store.insert(&s, now - age * day).await.unwrap();
        assert!(app.store.delete(&s.id.to_string(), now).await.unwrap());
    }
    assert_eq!(app.store.tombstones().await.unwrap(), 2);
    server::feedback::retention::purge(&app.store, 30, now)
        .await
        .unwrap();
    assert_eq!(app.store.tombstones().await.unwrap(), 1);
}

async fn retention_purges_only_old_records(db: &Database) {
    let app = App::new(db).await;
    let day = 86_400_000i64;
    let now = 1_800_000_000_000i64;
    let old: server::feedback::record::Submission =
        serde_json::from_value(visit(2, 2, 2, Some("old"))).unwrap();
    let recent: server::feedback::record::Submission =
        serde_json::from_value(visit(4, 4, 4, Some("recent"))).unwrap();
    app.store.insert(&old, now - 31 * day).await.unwrap();
    app.store.insert(&recent, now - 29 * day).await.unwrap();
    let purged = server::feedback::retention::purge(&app.store, 30, now)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let rows = app.exported().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["comment"], "recent");
}

async fn rate_limit_is_per_address(db: &Database) {
    let app = App::with(db, |s| {
        s.rate_limit_per_minute = NonZeroU32::new(3).unwrap()
    })
    .await;
    let from = |ip: [u8; 4]| {
        let mut req = Request::post("/api/feedback")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(visit(3, 3, 3, None).to_string()))
            .unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
        req
    };
    for _ in 0..3 {
        assert_eq!(app.send(from([10, 0, 0, 1])).await.0, StatusCode::CREATED);
    }
    let (status, headers, body) = app.send(from([10, 0, 0, 1])).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key(header::RETRY_AFTER));
    let err: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["error"], "rate_limited");
    assert_eq!(app.send(from([10, 0, 0, 2])).await.0, StatusCode::CREATED);
    assert_eq!(app.store.count().await.unwrap(), 4);
}

async fn a_comment_of_escaped_emoji_fits_and_counts_in_characters(db: &Database) {
    let app = App::new(db).await;
    let body = escaped_emoji_visit(2000);
    assert!(body.len() > 24_000, "{} bytes", body.len());
    let (status, ack) = app.post_raw(body, "application/json").await;
    assert_eq!(status, StatusCode::CREATED, "{ack}");
    let rows = app.exported().await;
    let comment = rows[0]["comment"].as_str().unwrap();
    assert_eq!(comment.chars().count(), 2000);
    assert!(comment.chars().all(|c| c == '😀'));
}

async fn format_characters_are_neutralised_where_people_read_them(db: &Database) {
    let app = App::new(db).await;
    let sneaky = "nice\u{202E}gnp.exe\u{200B} demo\u{2028}\u{FEFF}bye";
    let v = visit(4, 4, 4, Some(sneaky));
    assert_eq!(app.post(&v).await.0, StatusCode::CREATED);
    let insights = app.admin_json("/api/insights").await;
    assert_eq!(insights["comments"][0]["comment"], "nicegnp.exe demo\nbye");
    // The CSV a spreadsheet opens is neutralised too; the JSON export keeps what was sent.
    let (_, csv) = app
        .admin(Method::GET, "/api/feedback/export?format=csv", Some(TOKEN))
        .await;
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.contains("nicegnp.exe demo"), "{csv}");
    assert!(
        !csv.contains('\u{202E}') && !csv.contains('\u{200B}'),
        "{csv}"
    );
    assert_eq!(app.exported().await[0]["comment"], sneaky);
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    let db = super::Database::Sqlite(dir.path().join("feedback.db"));
                    super::$case(&db).await;
                }
            )*
        }

        /// One cluster for all cases (initdb takes seconds); a fresh database per case.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres_runs_the_same_suite() {
            let Some(cluster) = common::postgres::Cluster::start() else { return };
            $(
                eprintln!("postgres: {}", stringify!($case));
                let db = Database::Postgres(cluster.create_database(stringify!($case)));
                $case(&db).await;
            )*
        }
    };
}

/// A model that joined the catalogue as a folder (`reviews`, three labels, in the fixture's
/// manifest) is accepted with its own labels; a label of another model is not.
async fn a_model_added_to_the_catalogue_is_accepted_with_its_labels(db: &Database) {
    let app = App::new(db).await;
    let (status, ack) = app
        .post(&result("reviews", "down", "positive", Some("neutral")))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ack}");
    let (status, body) = app
        .post(&result("sentiment", "down", "positive", Some("neutral")))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.to_string().contains("not a label of the model"),
        "{body}"
    );
    assert_eq!(app.exported().await.len(), 1);
}

suite!(
    a_model_added_to_the_catalogue_is_accepted_with_its_labels,
    stores_and_acknowledges,
    a_retry_is_acknowledged_once_and_stored_once,
    bad_bodies_get_clear_4xx_and_store_nothing,
    hostile_strings_are_stored_verbatim,
    admin_routes_need_the_token,
    without_a_configured_token_admin_is_closed,
    insights_aggregate_what_was_sent,
    csv_export_has_a_header_and_defuses_formulas,
    corrections_export_as_labelled_training_rows,
    delete_removes_one_record,
    retention_purges_only_old_records,
    a_deleted_record_is_not_stored_again_by_a_retry,
    retention_purges_tombstones_with_the_records,
    rate_limit_is_per_address,
    a_comment_of_escaped_emoji_fits_and_counts_in_characters,
    format_characters_are_neutralised_where_people_read_them,
);

#[tokio::test]
async fn openapi_document_describes_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(&Database::Sqlite(dir.path().join("f.db"))).await;
    let (status, _, body) = app
        .send(
            Request::get("/api/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/feedback",
        "/api/insights",
        "/api/feedback/export",
        "/api/feedback/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    let submit = &doc["paths"]["/api/feedback"]["post"]["responses"];
    assert!(
        submit["408"].is_object(),
        "the body timeout is described: {submit}"
    );
    assert!(
        submit["413"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("64 KB")),
        "{submit}"
    );
    let submission = &doc["components"]["schemas"]["Submission"];
    assert_eq!(submission["additionalProperties"], false, "{submission}");
    assert!(doc["components"]["securitySchemes"]["admin_token"].is_object());
}

#[tokio::test]
async fn metrics_count_stored_feedback_and_unknown_api_paths_are_json_404() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(&Database::Sqlite(dir.path().join("f.db"))).await;
    let v = visit(3, 3, 3, None);
    app.post(&v).await;
    app.post(&v).await;
    let (status, headers, body) = app
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .contains("openmetrics"));
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("vitrine_feedback_stored_total 1"), "{text}");
    assert!(
        text.contains("vitrine_feedback_duplicates_total 1"),
        "{text}"
    );
    assert!(text.contains("route=\"/api/feedback\""), "{text}");
    let (status, _, body) = app
        .send(Request::get("/api/nothing").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let err: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["error"], "not_found");
}

#[tokio::test]
async fn cors_answers_only_configured_origins() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::with(&Database::Sqlite(dir.path().join("f.db")), |s| {
        s.cors_origins = vec!["https://booth.example.org".parse().unwrap()];
    })
    .await;
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/feedback")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .body(Body::empty())
            .unwrap()
    };
    let (_, headers, _) = app.send(preflight("https://booth.example.org")).await;
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://booth.example.org"
    );
    let (_, headers, _) = app.send(preflight("https://evil.example.com")).await;
    assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}

#[tokio::test]
async fn metrics_series_do_not_grow_with_made_up_methods_or_paths() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(&Database::Sqlite(dir.path().join("f.db"))).await;
    let series = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("vitrine_http_request"))
            .count()
    };
    let metrics = || async {
        let (_, _, body) = app
            .send(Request::get("/metrics").body(Body::empty()).unwrap())
            .await;
        String::from_utf8(body).unwrap()
    };
    let send_made_up = |n: usize| {
        let method = Method::from_bytes(format!("M{n:05}X").as_bytes()).unwrap();
        let uri = format!("/api/x{n}");
        app.send(
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .unwrap(),
        )
    };
    for n in 0..10 {
        send_made_up(n).await;
    }
    let before = series(&metrics().await);
    for n in 10..300 {
        send_made_up(n).await;
    }
    let text = metrics().await;
    assert_eq!(series(&text), before, "{text}");
    assert!(text.contains("method=\"other\""), "{text}");
    assert!(!text.contains("M000"), "{text}");
}

fn from_address(mut req: Request<Body>, ip: [u8; 4]) -> Request<Body> {
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    req
}

fn submission_from(ip: [u8; 4]) -> Request<Body> {
    let req = Request::post("/api/feedback")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(visit(3, 3, 3, None).to_string()))
        .unwrap();
    from_address(req, ip)
}

fn insights_from(ip: [u8; 4]) -> Request<Body> {
    let req = Request::get("/api/insights")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    from_address(req, ip)
}

#[tokio::test]
async fn a_client_that_waits_retry_after_seconds_gets_through() {
    let dir = tempfile::tempdir().unwrap();
    // 40 a minute: one more every 1.5 s, so the wait is never whole seconds.
    let app = App::with(&Database::Sqlite(dir.path().join("f.db")), |s| {
        s.rate_limit_per_minute = NonZeroU32::new(40).unwrap()
    })
    .await;
    let ip = [10, 1, 0, 1];
    let mut retry_after = None;
    for _ in 0..41 {
        let (status, headers, _) = app.send(submission_from(ip)).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            let secs: u64 = headers[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            retry_after = Some(secs);
            break;
        }
    }
    let secs = retry_after.expect("the limit was reached");
    assert!((1..=2).contains(&secs), "Retry-After: {secs}");
    tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
    assert_eq!(app.send(submission_from(ip)).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn admins_and_visitors_have_separate_rate_limits() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::with(&Database::Sqlite(dir.path().join("f.db")), |s| {
        s.rate_limit_per_minute = NonZeroU32::new(3).unwrap()
    })
    .await;
    let ip = [10, 2, 0, 1];
    for _ in 0..3 {
        assert_eq!(app.send(submission_from(ip)).await.0, StatusCode::CREATED);
    }
    assert_eq!(
        app.send(submission_from(ip)).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The same address still reaches the insights: the admin bucket is full.
    for _ in 0..3 {
        assert_eq!(app.send(insights_from(ip)).await.0, StatusCode::OK);
    }
    let (status, headers, _) = app.send(insights_from(ip)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn admin_responses_are_never_cached() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(&Database::Sqlite(dir.path().join("f.db"))).await;
    app.post(&visit(3, 3, 3, None)).await;
    for (uri, token, expected) in [
        ("/api/insights", Some(TOKEN), StatusCode::OK),
        (
            "/api/feedback/export?format=csv",
            Some(TOKEN),
            StatusCode::OK,
        ),
        (
            "/api/feedback/export?format=json",
            Some(TOKEN),
            StatusCode::OK,
        ),
        ("/api/insights", None, StatusCode::UNAUTHORIZED),
    ] {
        let mut req = Request::get(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let (status, headers, _) = app.send(req.body(Body::empty()).unwrap()).await;
        assert_eq!(status, expected, "{uri}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store", "{uri}");
    }
}

#[tokio::test]
async fn everything_under_api_answers_in_one_json_error_shape() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(&Database::Sqlite(dir.path().join("f.db"))).await;
    let admin = format!("Bearer {TOKEN}");
    for (method, uri, expected, code) in [
        (
            Method::PUT,
            "/api/feedback",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::GET,
            "/api/feedback",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::POST,
            "/api/openapi.json",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (Method::GET, "/api/nope", StatusCode::NOT_FOUND, "not_found"),
        (Method::GET, "/api", StatusCode::NOT_FOUND, "not_found"),
        (Method::GET, "/api/", StatusCode::NOT_FOUND, "not_found"),
        (
            Method::DELETE,
            "/api/feedback/%FF",
            StatusCode::BAD_REQUEST,
            "bad_id",
        ),
    ] {
        let req = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(header::AUTHORIZATION, &admin)
            .body(Body::empty())
            .unwrap();
        let (status, headers, body) = app.send(req).await;
        assert_eq!(status, expected, "{method} {uri}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{method} {uri}"
        );
        let err: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{method} {uri}: {e}: {body:?}"));
        assert_eq!(err["error"], code, "{method} {uri}: {err}");
        let message = err["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{method} {uri}");
        assert!(
            !message.contains("no feedback with this id"),
            "{method} {uri}: {message}"
        );
        if status == StatusCode::METHOD_NOT_ALLOWED {
            assert!(headers.contains_key(header::ALLOW), "{method} {uri}");
        }
    }
}
