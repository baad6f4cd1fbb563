//! Link previews (Open Graph and Twitter cards) need the picture's address in full:
//! `og:image` with a path alone is ignored by Slack, LinkedIn, Facebook and others.
//!
//! The built `index.html` says `content="/og-image.png"`, because the site does not know where
//! it will be deployed. Each page response gets the origin the visitor asked for, taken from
//! `X-Forwarded-Proto`/`X-Forwarded-Host` (a TLS proxy in front) or `Host`.

use axum::http::HeaderMap;

/// `page` with every `content="/…"` (the meta tags' site paths; Trunk's minifier drops the
/// quotes: `content=/…`) made absolute for this request's origin; unchanged if the request names
/// no usable host.
pub fn absolute_preview_urls(page: &str, headers: &HeaderMap) -> String {
    match request_origin(headers) {
        Some(origin) => page
            .replace("content=\"/", &format!("content=\"{origin}/"))
            .replace("content=/", &format!("content={origin}/")),
        None => page.to_owned(),
    }
}

fn request_origin(headers: &HeaderMap) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let host = header("x-forwarded-host")
        .or_else(|| header("host"))?
        .split(',')
        .next()?
        .trim();
    // The host lands inside an HTML attribute: allow host names, IPv4/IPv6 and ports only.
    let plausible = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    if !plausible {
        return None;
    }
    let scheme = match header("x-forwarded-proto").map(str::trim) {
        Some("https") => "https",
        _ => "http",
    };
    Some(format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::absolute_preview_urls;

    const PAGE: &str = r#"<meta property="og:image" content="/og-image.png"><a href="/tour">"#;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("test header"));
        }
        map
    }

    #[test]
    fn uses_the_host_the_visitor_asked_for() {
        let page = absolute_preview_urls(PAGE, &headers(&[("host", "vitrine.example:8080")]));
        assert!(page.contains(r#"content="http://vitrine.example:8080/og-image.png""#));
        assert!(page.contains(r#"href="/tour""#), "links stay relative");
    }

    #[test]
    fn minified_unquoted_attributes_too() {
        let page = absolute_preview_urls(
            "<meta content=/og-image.png property=og:image>",
            &headers(&[("host", "127.0.0.1:8080")]),
        );
        assert_eq!(
            page,
            "<meta content=http://127.0.0.1:8080/og-image.png property=og:image>"
        );
    }

    #[test]
    fn a_tls_proxy_in_front_makes_it_https() {
        let page = absolute_preview_urls(
            PAGE,
            &headers(&[
                ("host", "127.0.0.1:3000"),
                ("x-forwarded-host", "demo.example.org"),
                ("x-forwarded-proto", "https"),
            ]),
        );
        assert!(page.contains(r#"content="https://demo.example.org/og-image.png""#));
    }

    #[test]
    fn a_hostile_or_missing_host_leaves_the_page_alone() {
        for bad in [r#"x"><script>alert(1)</script>"#, "", "a b"] {
            assert_eq!(
                absolute_preview_urls(PAGE, &headers(&[("host", bad)])),
                PAGE
            );
        }
        assert_eq!(absolute_preview_urls(PAGE, &HeaderMap::new()), PAGE);
    }
}
