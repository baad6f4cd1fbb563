//! The walkthrough's script, written in the content files as `[[tour.steps]]` tables:
//!
//! ```toml
//! [[tour.steps]]
//! demo = "sentiment"          # "none", or a model id from the catalogue
//! input = "Not bad at all."   # the sentence to type, or a sample photo's name
//! title = "…"
//! narration = "…"
//! ```
//!
//! Steps are numbered from 1 in content keys (`tour.steps.2.title`) and URLs (`/tour/2`).
//! A step names its model by catalogue id, so a tour can show any model the site ships; which
//! ids exist is only known once the catalogue is in, so the page says so when one is missing.

use crate::i18n::{try_lookup, Locale};

/// What a step puts on screen next to its narration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Narration only.
    Narration,
    /// The demo of catalogue model `model`, given `input` (a sentence, or a sample photo's
    /// name).
    Demo {
        model: &'static str,
        input: &'static str,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub title: &'static str,
    pub narration: &'static str,
    pub stage: Stage,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScriptError {
    #[error("tour step {step} has no `{field}`")]
    Missing { step: usize, field: &'static str },
    #[error("tour step {step}: the {model} demo needs an `input` (a sentence or a sample photo)")]
    EmptyInput { step: usize, model: &'static str },
}

/// How many steps the script has (the same in every language: the build checks the keys).
pub fn step_count(locale: Locale) -> usize {
    (1..)
        .take_while(|n| try_lookup(locale, &format!("tour.steps.{n}.title")).is_some())
        .count()
}

/// Step `n` (1-based) in `locale`.
pub fn step(locale: Locale, n: usize) -> Result<Step, ScriptError> {
    let field = |field: &'static str| {
        try_lookup(locale, &format!("tour.steps.{n}.{field}"))
            .ok_or(ScriptError::Missing { step: n, field })
    };
    let input = field("input")?;
    let stage = match field("demo")?.trim() {
        "none" => Stage::Narration,
        model if input.trim().is_empty() => return Err(ScriptError::EmptyInput { step: n, model }),
        model => Stage::Demo { model, input },
    };
    Ok(Step {
        title: field("title")?,
        narration: field("narration")?,
        stage,
    })
}

/// The step a `/tour/:step` address means: missing or unreadable is the first step, past the
/// end is the last, so an old or mistyped link still lands somewhere sensible.
pub fn step_from_param(param: Option<&str>, count: usize) -> usize {
    let wanted = param.and_then(|p| p.parse::<usize>().ok()).unwrap_or(1);
    wanted.clamp(1, count.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_script_is_valid_in_every_language() {
        for locale in [Locale::En, Locale::Zh] {
            let count = step_count(locale);
            assert!(count >= 5, "{locale:?} has only {count} steps");
            for n in 1..=count {
                let step = step(locale, n).unwrap_or_else(|e| panic!("{locale:?}: {e}"));
                assert!(!step.title.is_empty() && !step.narration.is_empty());
            }
            // The sales story shows both shipped models.
            for shipped in ["sentiment", "image"] {
                assert!((1..=count).any(|n| matches!(
                    step(locale, n),
                    Ok(Step { stage: Stage::Demo { model, .. }, .. }) if model == shipped
                )));
            }
        }
        assert_eq!(step_count(Locale::En), step_count(Locale::Zh));
    }

    #[test]
    fn a_step_past_the_end_reports_what_is_missing() {
        let past = step_count(Locale::En) + 1;
        assert_eq!(
            step(Locale::En, past),
            Err(ScriptError::Missing {
                step: past,
                field: "input"
            })
        );
    }

    #[test]
    fn addresses_map_to_a_real_step() {
        assert_eq!(step_from_param(None, 7), 1);
        assert_eq!(step_from_param(Some("3"), 7), 3);
        assert_eq!(step_from_param(Some("0"), 7), 1);
        assert_eq!(step_from_param(Some("99"), 7), 7);
        assert_eq!(step_from_param(Some("two"), 7), 1);
    }
}
