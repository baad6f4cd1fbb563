//! Link previews (Open Graph and Twitter cards) need the picture's address in full:
//! `og:image` with a path alone is ignored by Slack, LinkedIn, Facebook and others.
//!
//! The built `index.html` says `content="/og-image.png"`, because the site does not know where
//! it will be deployed. Each page response gets the origin from [`crate::public_origin`]
//! (configured, a trusted proxy's, or the listening address), never one a visitor chose.

/// `page` with every `content="/…"` (the meta tags' site paths; Trunk's minifier drops the
/// quotes: `content=/…`) made absolute for `origin`; unchanged without one.
pub fn absolute_preview_urls(page: &str, origin: Option<&str>) -> String {
    match origin {
        Some(origin) => page
            .replace("content=\"/", &format!("content=\"{origin}/"))
            .replace("content=/", &format!("content={origin}/")),
        None => page.to_owned(),
    }
}

/// `page` with `<link rel="canonical">` and `og:url` for `origin` + `path`, placed after the
/// title (whose closing tag, unlike `</head>`, a minifier may not drop); unchanged if the page
/// has no title.
pub fn with_canonical(page: &str, origin: &str, path: &str) -> String {
    // The service worker's copy of the app page is the home page.
    let path = if path == "/index.html" { "/" } else { path };
    let url = escape_attribute(&format!("{origin}{path}"));
    match page.split_once("</title>") {
        Some((head, rest)) => format!(
            "{head}</title><link rel=\"canonical\" href=\"{url}\">\
             <meta property=\"og:url\" content=\"{url}\">{rest}"
        ),
        None => page.to_owned(),
    }
}

/// The path comes from the request: nothing in it may end the attribute.
fn escape_attribute(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str =
        r#"<title>V</title><meta property="og:image" content="/og-image.png"><a href="/tour">"#;

    #[test]
    fn meta_paths_become_absolute_and_links_stay_relative() {
        let page = absolute_preview_urls(PAGE, Some("https://vitrine.example:8443"));
        assert!(page.contains(r#"content="https://vitrine.example:8443/og-image.png""#));
        assert!(page.contains(r#"href="/tour""#), "links stay relative");
        assert_eq!(absolute_preview_urls(PAGE, None), PAGE);
    }

    #[test]
    fn minified_unquoted_attributes_too() {
        assert_eq!(
            absolute_preview_urls(
                "<meta content=/og-image.png property=og:image>",
                Some("http://127.0.0.1:8080")
            ),
            "<meta content=http://127.0.0.1:8080/og-image.png property=og:image>"
        );
    }

    #[test]
    fn the_canonical_link_follows_the_title_and_escapes_the_path() {
        let page = with_canonical(PAGE, "https://v.example", "/tour/3");
        assert!(page.starts_with(
            r#"<title>V</title><link rel="canonical" href="https://v.example/tour/3"><meta property="og:url" content="https://v.example/tour/3">"#
        ), "{page}");
        let page = with_canonical(PAGE, "https://v.example", "/tour/\"><script>");
        assert!(page.contains("/tour/&quot;&gt;&lt;script&gt;"), "{page}");
        assert!(with_canonical(PAGE, "https://v.example", "/index.html")
            .contains(r#"href="https://v.example/""#));
        assert_eq!(
            with_canonical("<p>no title</p>", "https://v.example", "/"),
            "<p>no title</p>"
        );
    }
}
