//! Life inside another site's iframe (`/embed/*`, inserted by `public/embed.js`): the host page
//! chooses theme and language with query parameters (`?theme=light&lang=zh`), and the frame
//! tells its parent how tall its content is whenever that changes, so the host can size the
//! iframe without scrollbars. The message carries only a height: nothing about the visitor.

use wasm_bindgen::prelude::*;

use crate::i18n::Locale;

#[wasm_bindgen(inline_js = r#"
export function reportHeight(element, demo) {
  if (window.parent === window || typeof ResizeObserver === 'undefined') return;
  let last = -1;
  const send = () => {
    const height = Math.ceil(element.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    // The height is not a secret, and the host's origin is unknown here: any parent may read it.
    window.parent.postMessage({ type: 'vitrine:resize', demo, height }, '*');
  };
  new ResizeObserver(send).observe(element);
  send();
}
export function queryParam(name) {
  return new URLSearchParams(window.location.search).get(name);
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = reportHeight)]
    fn report_height_js(element: &web_sys::Element, demo: &str);
    #[wasm_bindgen(js_name = queryParam)]
    fn query_param(name: &str) -> Option<String>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    Dark,
    Light,
}

impl Theme {
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "dark" => Some(Theme::Dark),
            "light" => Some(Theme::Light),
            _ => None,
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            Theme::Dark => "theme-dark",
            Theme::Light => "theme-light",
        }
    }
}

/// `?theme=` (dark by default; unknown values are ignored rather than breaking the host page).
pub fn theme() -> Theme {
    query_param("theme")
        .as_deref()
        .and_then(Theme::parse)
        .unwrap_or(Theme::Dark)
}

/// `?lang=`, if it names a language we have.
pub fn language() -> Option<Locale> {
    query_param("lang").as_deref().and_then(Locale::from_code)
}

/// Starts posting `element`'s height to the parent page (nothing happens outside an iframe).
pub fn report_height(element: &web_sys::Element, demo: &str) {
    report_height_js(element, demo);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_theme_names_loosely_and_ignores_the_rest() {
        assert_eq!(Theme::parse("Light"), Some(Theme::Light));
        assert_eq!(Theme::parse(" dark "), Some(Theme::Dark));
        assert_eq!(Theme::parse("neon"), None);
    }
}
