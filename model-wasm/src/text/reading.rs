//! Whether a model can read a text, and which model of the catalogue should answer it.
//!
//! A WordPiece model given a script it never saw turns it into `[UNK]` pieces and still answers
//! with a confident label, right about half the time. So before any label:
//! - the text's main script must be one of the scripts of the model's `languages`;
//! - fewer than half its word pieces may be unknown to the vocabulary.
//!
//! The worker routes by the same rules ([`route`]), and so does `cargo xtask eval-sentiment`.

use serde::Serialize;
use wire::catalog::{ModelManifest, TaskKind};
pub use wire::engine::{Unreadable, UnreadableReason};

/// The writing systems told apart. Japanese is `Kana` when a fifth of its letters are kana:
/// it mixes Han characters with kana, and a Chinese model does not read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Script {
    Latin,
    Han,
    Kana,
    Hangul,
    Cyrillic,
    Greek,
    Arabic,
    Hebrew,
    Devanagari,
    Thai,
    Other,
}

/// The share of word pieces that may be unknown before a text counts as unreadable.
pub const MAX_UNKNOWN_SHARE: f32 = 0.5;

impl Script {
    /// The script of one character, for letters only (digits, punctuation, spaces, emoji and
    /// symbols belong to none).
    pub fn of(c: char) -> Option<Script> {
        let code = c as u32;
        let script = match code {
            0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2CEAF | 0xF900..=0xFAFF => Script::Han,
            0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => Script::Kana,
            0xAC00..=0xD7AF | 0x1100..=0x11FF | 0x3130..=0x318F => Script::Hangul,
            _ if !c.is_alphabetic() => return None,
            0x0041..=0x024F | 0x1E00..=0x1EFF | 0xFF21..=0xFF5A => Script::Latin,
            0x0400..=0x052F => Script::Cyrillic,
            0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
            0x0600..=0x06FF | 0x0750..=0x077F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => Script::Arabic,
            0x0590..=0x05FF => Script::Hebrew,
            0x0900..=0x097F => Script::Devanagari,
            0x0E00..=0x0E7F => Script::Thai,
            _ => Script::Other,
        };
        Some(script)
    }

    pub fn name(self) -> &'static str {
        match self {
            Script::Latin => "latin",
            Script::Han => "han",
            Script::Kana => "kana",
            Script::Hangul => "hangul",
            Script::Cyrillic => "cyrillic",
            Script::Greek => "greek",
            Script::Arabic => "arabic",
            Script::Hebrew => "hebrew",
            Script::Devanagari => "devanagari",
            Script::Thai => "thai",
            Script::Other => "other",
        }
    }

    /// The scripts a language (ISO 639-1 code, as in a manifest's `languages`) is written in.
    pub fn of_language(language: &str) -> &'static [Script] {
        match language {
            "en" | "fr" | "de" | "es" | "it" | "pt" | "nl" | "sv" | "da" | "no" | "fi" | "pl"
            | "cs" | "ro" | "hu" | "tr" | "id" | "ms" | "vi" | "tl" | "sw" => &[Script::Latin],
            "zh" => &[Script::Han],
            "ja" => &[Script::Kana, Script::Han],
            "ko" => &[Script::Hangul],
            "ru" | "uk" | "bg" | "sr" | "kk" => &[Script::Cyrillic],
            "el" => &[Script::Greek],
            "ar" | "fa" | "ur" => &[Script::Arabic],
            "he" => &[Script::Hebrew],
            "hi" | "mr" | "ne" => &[Script::Devanagari],
            "th" => &[Script::Thai],
            _ => &[],
        }
    }
}

/// The script most of the text's letters are in, or `None` for a text without letters.
pub fn main_script(text: &str) -> Option<Script> {
    let mut counts: Vec<(Script, usize)> = Vec::new();
    let mut letters = 0;
    for script in text.chars().filter_map(Script::of) {
        letters += 1;
        match counts.iter_mut().find(|(s, _)| *s == script) {
            Some((_, n)) => *n += 1,
            None => counts.push((script, 1)),
        }
    }
    let kana = counts
        .iter()
        .find(|(s, _)| *s == Script::Kana)
        .map_or(0, |(_, n)| *n);
    if kana > 0 && kana * 5 >= letters {
        return Some(Script::Kana);
    }
    // Ties go to the script seen first.
    let most = counts.iter().map(|(_, n)| *n).max()?;
    counts.iter().find(|(_, n)| *n == most).map(|(s, _)| *s)
}

/// Whether a model reading `languages` reads `script`. A model that lists no languages is taken
/// at its word for any script (its vocabulary still has to know the pieces).
pub fn reads(languages: &[String], script: Script) -> bool {
    languages.is_empty()
        || languages
            .iter()
            .any(|l| Script::of_language(l).contains(&script))
}

/// Why a text is not one the model can read, if it is not.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub script: Option<Script>,
    pub unknown_share: f32,
}

/// The readability check, from the text and how many of its word pieces the vocabulary knows.
pub fn refusal(text: &str, languages: &[String], pieces: usize, unknown: usize) -> Option<Refusal> {
    let script = main_script(text);
    let unknown_share = if pieces == 0 {
        0.0
    } else {
        unknown as f32 / pieces as f32
    };
    let foreign = script.is_some_and(|s| !reads(languages, s));
    (foreign || unknown_share >= MAX_UNKNOWN_SHARE).then_some(Refusal {
        script,
        unknown_share,
    })
}

/// The languages in words, for messages ("English and Chinese").
pub fn language_names(languages: &[String]) -> String {
    let names: Vec<&str> = languages
        .iter()
        .map(|l| match l.as_str() {
            "en" => "English",
            "zh" => "Chinese",
            "ja" => "Japanese",
            "ko" => "Korean",
            "fr" => "French",
            "de" => "German",
            "es" => "Spanish",
            "ru" => "Russian",
            other => other,
        })
        .collect();
    match names.as_slice() {
        [] => "its training languages".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Text models of the catalogue that do the same job as `asked` (the same label ids, in order)
/// and read `script`, `asked` first when it reads it.
pub fn readers<'a>(
    catalogue: &'a [ModelManifest],
    asked: &ModelManifest,
    script: Script,
) -> Vec<&'a ModelManifest> {
    let mut found: Vec<&ModelManifest> = catalogue
        .iter()
        .filter(|m| m.task == TaskKind::TextClassification && m.same_job(asked))
        .filter(|m| reads(&m.languages, script))
        .collect();
    found.sort_by_key(|m| (m.id != asked.id, m.order));
    found
}

/// The model that should answer `text` when a visitor asked `asked`: `asked` itself when it reads
/// the text's script (or the text has no letters), else the first catalogue model with the same
/// labels that does, else `asked` (which will then refuse, naming the languages it reads).
pub fn route<'a>(
    text: &str,
    catalogue: &'a [ModelManifest],
    asked: &'a ModelManifest,
) -> &'a ModelManifest {
    let Some(script) = main_script(text) else {
        return asked;
    };
    if reads(&asked.languages, script) {
        return asked;
    }
    readers(catalogue, asked, script)
        .first()
        .copied()
        .unwrap_or(asked)
}

/// The answer the worker and eval give in place of a label, for a
/// [`crate::ModelError::Unreadable`] from model `model` (`None` for any other error).
pub fn unreadable_answer(model: &str, error: &crate::ModelError) -> Option<Unreadable> {
    let crate::ModelError::Unreadable {
        script,
        languages,
        unknown_share,
    } = error
    else {
        return None;
    };
    let foreign = script.is_some_and(|s| !reads(languages, s));
    Some(Unreadable {
        unreadable: true,
        model: model.to_owned(),
        reason: if foreign {
            UnreadableReason::Script
        } else {
            UnreadableReason::UnknownWords
        },
        script: script.map(|s| s.name().to_owned()),
        languages: languages.clone(),
        unknown_share: *unknown_share,
        readers: Vec::new(),
        message: error.to_string(),
    })
}

/// Where a text goes ([`route`]) and who else could read it: what the worker asks before it
/// classifies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Routing {
    /// The model that answers.
    pub model: String,
    /// Other models with the same labels that read the text's script.
    pub readers: Vec<String>,
}

pub fn routing(text: &str, catalogue: &[ModelManifest], asked: &ModelManifest) -> Routing {
    let answering = route(text, catalogue, asked);
    let readers = main_script(text)
        .map(|script| readers(catalogue, asked, script))
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.id != answering.id)
        .map(|m| m.id.clone())
        .collect();
    Routing {
        model: answering.id.clone(),
        readers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn langs(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn main_script_of_everyday_texts() {
        assert_eq!(main_script("A dull, lifeless film."), Some(Script::Latin));
        assert_eq!(main_script("这个产品很好，我非常喜欢"), Some(Script::Han));
        assert_eq!(
            main_script("この映画は本当に素晴らしかった"),
            Some(Script::Kana)
        );
        assert_eq!(main_script("이 영화 정말 좋았어요"), Some(Script::Hangul));
        assert_eq!(main_script("Отличный фильм"), Some(Script::Cyrillic));
        assert_eq!(main_script("فيلم رائع"), Some(Script::Arabic));
        assert_eq!(main_script("12345 !!! 😀"), None);
        // Mixed: the brand name does not make a Chinese review Latin.
        assert_eq!(main_script("iPhone 的屏幕真的很好看"), Some(Script::Han));
    }

    #[test]
    fn a_model_refuses_scripts_outside_its_languages_and_mostly_unknown_pieces() {
        let en = langs(&["en"]);
        assert!(refusal("great film", &en, 2, 0).is_none());
        let r = refusal("这个产品很好", &en, 6, 6).expect("Chinese is not English");
        assert_eq!(r.script, Some(Script::Han));
        assert!((r.unknown_share - 1.0).abs() < 1e-6);
        assert!(refusal("这个产品很好", &langs(&["en", "zh"]), 6, 0).is_none());
        // Latin letters, but most pieces unknown (e.g. a script mix the vocabulary lacks).
        assert!(refusal("ʘʘʘ ok", &en, 4, 3).is_some());
        // No letters at all: only the vocabulary decides.
        assert!(refusal("😀😀", &en, 2, 2).is_some());
        assert!(refusal("10/10", &en, 3, 0).is_none());
    }

    #[test]
    fn the_answer_says_why() {
        let answer = |script, unknown_share| {
            let error = crate::ModelError::Unreadable {
                script,
                languages: langs(&["en"]),
                unknown_share,
            };
            unreadable_answer("m", &error).expect("an unreadable answer")
        };
        assert_eq!(
            answer(Some(Script::Han), 1.0).reason,
            UnreadableReason::Script
        );
        assert_eq!(
            answer(Some(Script::Latin), 0.6).reason,
            UnreadableReason::UnknownWords
        );
        assert_eq!(answer(None, 1.0).reason, UnreadableReason::UnknownWords);
        assert!(unreadable_answer("m", &crate::ModelError::EmptyText).is_none());
    }

    #[test]
    fn languages_in_words() {
        assert_eq!(language_names(&langs(&["en"])), "English");
        assert_eq!(language_names(&langs(&["en", "zh"])), "English and Chinese");
    }

    fn manifest(id: &str, languages: &[&str], labels: &[&str], order: u32) -> ModelManifest {
        let labels = labels
            .iter()
            .map(|l| format!("[[labels]]\nid = \"{l}\"\nen = \"{l}\"\nzh = \"{l}\"\n"))
            .collect::<String>();
        let toml = format!(
            "id = \"{id}\"\ntask = \"text-classification\"\norder = {order}\ncard = \"MODEL_CARD.md\"\n\
             languages = {languages:?}\nfiles = []\n[name]\nen = \"{id}\"\nzh = \"{id}\"\n[description]\nen = \"d\"\nzh = \"d\"\n\
             [quantization]\nen = \"q\"\nzh = \"q\"\n{labels}[examples]\nen = []\nzh = []\n[architecture]\n[preprocessing]\n"
        );
        match toml::from_str::<ModelManifest>(&toml) {
            Ok(m) => m,
            Err(e) => panic!("test manifest: {e}\n{toml}"),
        }
    }

    #[test]
    fn routing_follows_the_script_to_a_model_with_the_same_labels() {
        let en = manifest("sentiment", &["en"], &["negative", "positive"], 1);
        let zh = manifest("sentiment-zh", &["zh"], &["negative", "positive"], 3);
        let topics = manifest("topics", &["zh"], &["sport", "news"], 2);
        let catalogue = vec![en.clone(), topics, zh.clone()];
        assert_eq!(route("a great film", &catalogue, &en).id, "sentiment");
        assert_eq!(route("这个产品很好", &catalogue, &en).id, "sentiment-zh");
        assert_eq!(route("great value", &catalogue, &zh).id, "sentiment");
        // Nobody reads Japanese: the asked model answers (and refuses).
        assert_eq!(route("素晴らしかったです", &catalogue, &en).id, "sentiment");
        assert_eq!(route("!!!", &catalogue, &zh).id, "sentiment-zh");
        let readers: Vec<&str> = readers(&catalogue, &en, Script::Han)
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        assert_eq!(readers, ["sentiment-zh"]);
    }
}
