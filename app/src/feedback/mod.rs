//! Opt-in feedback from visitors: the consent step (`consent.rs`), thumbs and a corrected label
//! under each answer (`result_feedback.rs`), the visit rating (`visit_rating.rs`), and the
//! bridge to the IndexedDB outbox in `/sdk/feedback-queue.js` (`outbox.rs`). Nothing leaves
//! the page until the visitor has agreed.

mod consent;
mod outbox;
mod result_feedback;
mod visit_rating;

use leptos::prelude::*;

use crate::engine::{ImageResult, SentimentResult};
pub use consent::forget_for_next_visitor;
pub use result_feedback::ResultFeedback;
pub use visit_rating::VisitRating;

/// "Was this right?" for a sentiment answer to `text` (the only correction is the other label).
pub fn on_sentiment(answer: &SentimentResult, text: String) -> impl IntoView {
    let other = if answer.label == "positive" {
        "negative"
    } else {
        "positive"
    };
    view! {
        <ResultFeedback model="sentiment" predicted=answer.label.clone()
            alternatives=vec![other.to_owned()] input_text=text
            ms=answer.ms backend=answer.backend.clone()/>
    }
}

/// "Was this right?" for an image answer: the other top-5 classes are offered as corrections.
/// The image itself is never sent.
pub fn on_image(result: &ImageResult) -> impl IntoView {
    let predicted = result
        .top
        .first()
        .map(|c| c.label.clone())
        .unwrap_or_default();
    let alternatives = result.top.iter().skip(1).map(|c| c.label.clone()).collect();
    view! {
        <ResultFeedback model="image" predicted=predicted alternatives=alternatives
            ms=result.ms backend=result.backend.clone()/>
    }
}
