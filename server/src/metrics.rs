//! `/metrics` in the Prometheus (OpenMetrics) text format: request counts and latencies per API
//! route, and stored / duplicate feedback. The registry belongs to the router, not to the
//! process, so several routers (tests) never share counters.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

// Every label value comes from a fixed set, so no request can add a series: a client may
// send any method (`M00042X`) or path, and each new value would be kept for ever.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

/// The API's route templates (as axum matched them); anything else is `other`.
const ROUTES: &[&str] = &[
    "/api/feedback",
    "/api/feedback/{id}",
    "/api/feedback/export",
    "/api/insights",
    "/api/openapi.json",
];

const OTHER: &str = "other";

fn route_label(matched: Option<&str>) -> &'static str {
    matched
        .and_then(|m| ROUTES.iter().find(|r| **r == m))
        .copied()
        .unwrap_or(OTHER)
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => OTHER,
    }
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: HistogramFamily,
    stored: Counter,
    duplicates: Counter,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms … ~4 s: a durable SQLite commit is a few ms, a slow disk a few hundred.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("vitrine");
        let requests = Family::<RequestLabels, Counter>::default();
        let duration: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let stored = Counter::default();
        let duplicates = Counter::default();
        registry.register(
            "http_requests",
            "API requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "API request latency by route",
            duration.clone(),
        );
        registry.register(
            "feedback_stored",
            "Feedback records newly stored",
            stored.clone(),
        );
        registry.register(
            "feedback_duplicates",
            "Retried submissions answered without a new row",
            duplicates.clone(),
        );
        Self {
            registry,
            requests,
            duration,
            stored,
            duplicates,
        }
    }
}

impl Metrics {
    pub fn stored(&self, duplicate: bool) {
        if duplicate {
            self.duplicates.inc();
        } else {
            self.stored.inc();
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Counts and times every request of the routes it wraps (use as a `route_layer`, where the
/// matched route template is known, so ids in paths do not explode the label set).
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = route_label(
        req.extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
    );
    let method = method_label(req.method());
    let start = Instant::now();
    let res = next.run(req).await;
    metrics
        .duration
        .get_or_create(&RouteLabels { route })
        .observe(start.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: res.status().as_u16(),
        })
        .inc();
    res
}

pub async fn serve(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_a_fixed_set() {
        assert_eq!(method_label(&Method::POST), "POST");
        let made_up = Method::from_bytes(b"M00042X").unwrap();
        assert_eq!(method_label(&made_up), "other");
        assert_eq!(
            route_label(Some("/api/feedback/{id}")),
            "/api/feedback/{id}"
        );
        assert_eq!(route_label(Some("/api/{*rest}")), "other");
        assert_eq!(route_label(None), "other");
    }
}
