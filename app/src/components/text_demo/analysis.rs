//! What the demo knows about the text in its box: the text, the answer for it, the words behind
//! the answer, and the debounce that keeps typing from queueing a request per key. Inference
//! runs in the worker, so typing never waits; an answer for an older text is dropped when it
//! arrives.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::engine::{
    classify_text, explain_text, ExplainAnswer, Model, TextAnswer, TextResult, Unreadable,
    WordContribution,
};

const DEBOUNCE: Duration = Duration::from_millis(250);

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Nothing typed: show a hint, not an error.
    Empty,
    /// Only whitespace: a clear, friendly error.
    Blank,
    Answer(TextResult),
    /// The model cannot read this text (another script, or mostly unknown words): no label.
    Unreadable(Unreadable),
    Failed(String),
}

impl Outcome {
    /// The result box's `data-state`, for tests and styles.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Empty => "empty",
            Outcome::Blank => "blank",
            Outcome::Answer(_) => "answer",
            Outcome::Unreadable(_) => "unreadable",
            Outcome::Failed(_) => "error",
        }
    }
}

/// The explained text, the label its words point towards, and the words.
pub type Explained = (String, String, Vec<WordContribution>);

#[derive(Clone, Copy)]
pub struct Analysis {
    pub text: RwSignal<String>,
    pub outcome: RwSignal<Outcome>,
    pub words: RwSignal<Option<Explained>>,
    pub busy: RwSignal<bool>,
    seq: StoredValue<u64>,
    timer: StoredValue<Option<TimeoutHandle>>,
}

impl Analysis {
    pub fn new() -> Self {
        let analysis = Self {
            text: RwSignal::new(String::new()),
            outcome: RwSignal::new(Outcome::Empty),
            words: RwSignal::new(None),
            busy: RwSignal::new(false),
            seq: StoredValue::new(0),
            timer: StoredValue::new(None),
        };
        on_cleanup(move || {
            if let Some(Some(handle)) = analysis.timer.try_get_value() {
                handle.clear();
            }
        });
        analysis
    }

    /// Puts `value` in the box and analyses it at once (an example chip, a share link, a tour
    /// step), with `model`.
    pub fn set_now(self, model: Model, value: String) {
        self.cancel_timer();
        self.text.set(value.clone());
        self.run(model, value);
    }

    /// The visitor typed: analyse once they pause.
    pub fn typed(self, model: Model, value: String) {
        self.text.set(value.clone());
        self.cancel_timer();
        if value.trim().is_empty() {
            self.run(model, value);
        } else {
            let handle = set_timeout_with_handle(move || self.run(model, value), DEBOUNCE).ok();
            self.timer.set_value(handle);
        }
    }

    fn cancel_timer(self) {
        if let Some(handle) = self.timer.try_update_value(Option::take).flatten() {
            handle.clear();
        }
    }

    fn run(self, model: Model, input: String) {
        let my = self.seq.get_value() + 1;
        self.seq.set_value(my);
        if input.trim().is_empty() {
            let empty = if input.is_empty() {
                Outcome::Empty
            } else {
                Outcome::Blank
            };
            self.settle(empty);
            return;
        }
        self.busy.set(true);
        spawn_local(async move {
            let answer = classify_text(model, &input).await;
            // A newer request won, or the demo is gone (kiosk reset, next tour step): drop it.
            if self.seq.try_get_value() != Some(my) {
                return;
            }
            match answer {
                Ok(TextAnswer::Label(answer)) => {
                    self.busy.set(false);
                    self.outcome.set(Outcome::Answer(answer));
                }
                Ok(TextAnswer::Unreadable(unreadable)) => {
                    return self.settle(Outcome::Unreadable(unreadable))
                }
                Err(e) => return self.settle(Outcome::Failed(e)),
            }
            if let Ok(ExplainAnswer::Explained(explained)) = explain_text(model, &input).await {
                if self.seq.try_get_value() == Some(my) {
                    self.words
                        .set(Some((input, explained.target, explained.words)));
                }
            }
        });
    }

    /// An outcome with no words to show.
    fn settle(self, outcome: Outcome) {
        self.busy.set(false);
        self.words.set(None);
        self.outcome.set(outcome);
    }
}
