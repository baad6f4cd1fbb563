//! Landing copy in English and Chinese. The text lives in `assets/content/*.toml`; `build.rs`
//! compiles it into sorted tables, looked up here by dotted key (`"hero.title"`).

use leptos::prelude::*;

mod content {
    include!(concat!(env!("OUT_DIR"), "/content.rs"));
}

const STORAGE_KEY: &str = "vitrine.locale";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locale {
    En,
    Zh,
}

impl Locale {
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Zh => "zh",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        let code = code.to_ascii_lowercase();
        if code.starts_with("zh") {
            Some(Locale::Zh)
        } else if code.starts_with("en") {
            Some(Locale::En)
        } else {
            None
        }
    }

    fn table(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Locale::En => content::EN,
            Locale::Zh => content::ZH,
        }
    }

    pub fn other(self) -> Self {
        match self {
            Locale::En => Locale::Zh,
            Locale::Zh => Locale::En,
        }
    }
}

/// The text for `key`; the key itself if the content files lack it (build.rs makes that rare).
pub fn lookup(locale: Locale, key: &str) -> &'static str {
    let table = locale.table();
    match table.binary_search_by(|(k, _)| (*k).cmp(key)) {
        Ok(i) => table[i].1,
        Err(_) => {
            leptos::logging::warn!("missing content key {key}");
            ""
        }
    }
}

/// The text for `key` if the content files define it: for keys built at run time (tour steps).
pub fn try_lookup(locale: Locale, key: &str) -> Option<&'static str> {
    let table = locale.table();
    table
        .binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .map(|i| table[i].1)
}

#[derive(Clone, Copy)]
pub struct I18n {
    pub locale: RwSignal<Locale>,
}

impl I18n {
    /// A reactive text: re-renders when the language changes.
    pub fn text(
        self,
        key: &'static str,
    ) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
        move || lookup(self.locale.get(), key)
    }

    /// The text in the page's language from a catalogue entry (reactive: call it in a closure).
    pub fn pick(self, text: &wire::catalog::Localized) -> String {
        match self.locale.get() {
            Locale::En => text.en.clone(),
            Locale::Zh => text.zh.clone(),
        }
    }

    /// A label's display name in the page's language.
    pub fn label_name(self, label: &wire::catalog::Label) -> String {
        match self.locale.get() {
            Locale::En => label.en.clone(),
            Locale::Zh => label.zh.clone(),
        }
    }

    /// Example inputs for the page's language.
    pub fn examples(self, examples: &wire::catalog::LocalizedList) -> Vec<String> {
        match self.locale.get() {
            Locale::En => examples.en.clone(),
            Locale::Zh => examples.zh.clone(),
        }
    }

    /// "English", "English or Chinese": the languages a text model reads, named in the page's
    /// language (`[languages]` in the content files; an unknown code is shown as it is).
    pub fn language_names(self, codes: &[String]) -> String {
        let locale = self.locale.get();
        let names: Vec<&str> = codes
            .iter()
            .map(|code| try_lookup(locale, &format!("languages.{code}")).unwrap_or(code))
            .collect();
        names.join(lookup(locale, "languages.or"))
    }

    /// A script as the engine names it (`han`, `latin`, …), in the page's language
    /// (`[scripts]` in the content files; `other` for one they do not name).
    pub fn script_name(self, script: &str) -> &'static str {
        let locale = self.locale.get();
        try_lookup(locale, &format!("scripts.{script}"))
            .unwrap_or_else(|| lookup(locale, "scripts.other"))
    }

    /// Switches the language for this page only: embeds (a host page's choice, and no storage
    /// written from inside someone else's page) and kiosks (the next visitor gets the default).
    pub fn set_for_page(self, locale: Locale) {
        self.locale.set(locale);
    }

    pub fn set(self, locale: Locale) {
        self.locale.set(locale);
        if let Some(storage) = local_storage() {
            let _ = storage.set_item(STORAGE_KEY, locale.code());
        }
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Chooses the language (saved choice, else the browser's, else English), shares it with every
/// component, and keeps `<html lang>` in step for screen readers and search engines.
pub fn provide_i18n() {
    let saved = local_storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
    let browser = web_sys::window().and_then(|w| w.navigator().language());
    let initial = saved
        .as_deref()
        .and_then(Locale::from_code)
        .or_else(|| browser.as_deref().and_then(Locale::from_code))
        .unwrap_or(Locale::En);
    let i18n = I18n {
        locale: RwSignal::new(initial),
    };
    Effect::new(move |_| {
        let code = i18n.locale.get().code();
        if let Some(html) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = html.set_attribute("lang", code);
        }
    });
    provide_context(i18n);
}

pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_sorted_for_binary_search() {
        for locale in [Locale::En, Locale::Zh] {
            let t = locale.table();
            assert!(
                t.windows(2).all(|w| w[0].0 < w[1].0),
                "{locale:?} table unsorted"
            );
        }
    }

    /// Every key of both content files is found with its own text, and a key they do not define
    /// is not (independent of what the copy says, which marketing edits).
    #[test]
    fn finds_every_key_and_nothing_else() {
        for locale in [Locale::En, Locale::Zh] {
            for (key, text) in locale.table() {
                assert_eq!(lookup(locale, key), *text, "{locale:?} {key}");
            }
            assert_eq!(try_lookup(locale, "no.such.key"), None);
        }
    }

    #[test]
    fn parses_browser_language_tags() {
        assert_eq!(Locale::from_code("zh-CN"), Some(Locale::Zh));
        assert_eq!(Locale::from_code("en-GB"), Some(Locale::En));
        assert_eq!(Locale::from_code("fr"), None);
    }
}
