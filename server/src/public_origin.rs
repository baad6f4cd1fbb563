//! Where the site says it lives, for link previews (`og:image` needs a full URL) and the
//! canonical link. Never taken from a request unless the operator says a proxy sets it:
//! a `Host` or `X-Forwarded-Host` sent by anyone would otherwise land in the page, and a shared
//! cache that keys on the path could hand that page to everyone (cache poisoning).
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `VITRINE_PUBLIC_URL` | the site's origin, e.g. `https://vitrine.example.org`: used for every page | unset |
//! | `VITRINE_TRUST_PROXY` | `true`: a reverse proxy in front sets `X-Forwarded-Proto`/`X-Forwarded-Host` (or passes `Host`), and its values are used | `false` |
//!
//! With neither, the origin is the listening address when it is a specific one
//! (`http://127.0.0.1:8080`); when listening on all interfaces (`0.0.0.0`, `::`) there is no
//! usable origin and the page keeps its relative paths (previews then show no picture).

use std::net::SocketAddr;

use axum::http::HeaderMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicOrigin {
    /// `VITRINE_PUBLIC_URL`, normalised to `scheme://host[:port]`.
    Configured(String),
    /// `VITRINE_TRUST_PROXY=true`: from the proxy's headers, per request.
    FromProxy,
    /// Neither: the listening address, if it names one host.
    Listening(Option<String>),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PublicOriginError {
    #[error(
        "VITRINE_PUBLIC_URL={0:?} is not an origin like https://vitrine.example.org \
         (http or https, a host, an optional port, no path)"
    )]
    NotAnOrigin(String),
    #[error("VITRINE_TRUST_PROXY={0:?} must be true or false")]
    NotABoolean(String),
}

impl PublicOrigin {
    /// From the two variables (through `var`) and the address the server listens on.
    pub fn from_lookup(
        var: impl Fn(&str) -> Option<String>,
        listening: SocketAddr,
    ) -> Result<Self, PublicOriginError> {
        let trust_proxy = match var("VITRINE_TRUST_PROXY").map(|v| v.trim().to_ascii_lowercase()) {
            None => false,
            Some(v) if matches!(v.as_str(), "true" | "1" | "yes") => true,
            Some(v) if matches!(v.as_str(), "false" | "0" | "no") => false,
            Some(v) => return Err(PublicOriginError::NotABoolean(v)),
        };
        if let Some(url) = var("VITRINE_PUBLIC_URL") {
            return parse_origin(url.trim())
                .map(Self::Configured)
                .ok_or(PublicOriginError::NotAnOrigin(url));
        }
        if trust_proxy {
            return Ok(Self::FromProxy);
        }
        let specific = !listening.ip().is_unspecified();
        Ok(Self::Listening(
            specific.then(|| format!("http://{listening}")),
        ))
    }

    /// The origin for a request with `headers`, if there is a usable one.
    pub fn for_request(&self, headers: &HeaderMap) -> Option<String> {
        match self {
            Self::Configured(origin) => Some(origin.clone()),
            Self::Listening(origin) => origin.clone(),
            Self::FromProxy => proxy_origin(headers),
        }
    }

    /// Whether pages differ by request headers (then caches must be told, with `Vary`).
    pub fn varies_by_request(&self) -> bool {
        matches!(self, Self::FromProxy)
    }

    /// Only a configured origin is canonical: the others are guesses.
    pub fn canonical(&self) -> Option<&str> {
        match self {
            Self::Configured(origin) => Some(origin),
            _ => None,
        }
    }
}

/// `scheme://host[:port]` from `url` (a trailing `/` allowed), or `None`.
fn parse_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    plausible_host(authority).then(|| format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// The origin the proxy says the visitor asked for.
fn proxy_origin(headers: &HeaderMap) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let first = |v: &str| {
        v.split(',')
            .next()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };
    let host = first(header("x-forwarded-host").or_else(|| header("host"))?);
    if !plausible_host(&host) {
        return None;
    }
    let scheme = match header("x-forwarded-proto").map(first).as_deref() {
        Some("https") => "https",
        _ => "http",
    };
    Some(format!("{scheme}://{host}"))
}

/// Host names, IPv4/IPv6 and ports only: the value lands inside an HTML attribute.
fn plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn origin(pairs: &[(&str, &str)], listening: &str) -> Result<PublicOrigin, PublicOriginError> {
        PublicOrigin::from_lookup(
            |name| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            },
            listening.parse().unwrap(),
        )
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    const HOSTILE: &[(&str, &str)] = &[
        ("host", "evil.example"),
        ("x-forwarded-host", "attacker.example"),
        ("x-forwarded-proto", "https"),
    ];

    #[test]
    fn a_configured_url_wins_and_requests_change_nothing() {
        let o = origin(
            &[
                ("VITRINE_PUBLIC_URL", "https://Vitrine.example.org/"),
                ("VITRINE_TRUST_PROXY", "true"),
            ],
            "0.0.0.0:8080",
        )
        .unwrap();
        assert_eq!(
            o.for_request(&headers(HOSTILE)).as_deref(),
            Some("https://vitrine.example.org")
        );
        assert_eq!(o.canonical(), Some("https://vitrine.example.org"));
        assert!(!o.varies_by_request());
    }

    #[test]
    fn without_settings_the_listening_address_is_used_never_the_request() {
        let o = origin(&[], "127.0.0.1:8080").unwrap();
        assert_eq!(
            o.for_request(&headers(HOSTILE)).as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(o.canonical(), None);
        let all_interfaces = origin(&[], "0.0.0.0:8080").unwrap();
        assert_eq!(all_interfaces.for_request(&headers(HOSTILE)), None);
    }

    #[test]
    fn a_trusted_proxy_names_the_origin() {
        let o = origin(&[("VITRINE_TRUST_PROXY", "true")], "127.0.0.1:3000").unwrap();
        assert_eq!(
            o.for_request(&headers(&[
                ("host", "127.0.0.1:3000"),
                ("x-forwarded-host", "demo.example.org"),
                ("x-forwarded-proto", "https"),
            ]))
            .as_deref(),
            Some("https://demo.example.org")
        );
        assert!(o.varies_by_request());
        for bad in [r#"x"><script>alert(1)</script>"#, "", "a b"] {
            assert_eq!(o.for_request(&headers(&[("host", bad)])), None, "{bad}");
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        for bad in [
            "vitrine.example.org",
            "ftp://vitrine.example.org",
            "https://vitrine.example.org/shop",
            "https://",
            "https://a\"b",
        ] {
            assert!(
                matches!(
                    origin(&[("VITRINE_PUBLIC_URL", bad)], "127.0.0.1:1"),
                    Err(PublicOriginError::NotAnOrigin(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            origin(&[("VITRINE_TRUST_PROXY", "maybe")], "127.0.0.1:1"),
            Err(PublicOriginError::NotABoolean(_))
        ));
    }
}
