//! Opt-in feedback from visitors: the consent step (`consent.rs`), thumbs and a corrected label
//! under each answer (`result_feedback.rs`), the visit rating (`visit_rating.rs`), and the
//! bridge to the IndexedDB outbox in `/sdk/feedback-queue.js` (`outbox.rs`). Nothing leaves
//! the page until the visitor has agreed.

mod consent;
mod outbox;
mod result_feedback;
mod visit_rating;

use leptos::prelude::*;

use wire::catalog::CatalogueEntry;

use crate::engine::{model, ImageResult, TextResult};
pub use consent::forget_for_next_visitor;
pub use result_feedback::ResultFeedback;
pub use visit_rating::VisitRating;

/// "Was this right?" for a text model's answer to `text`: the model's other labels are the
/// corrections on offer. The feedback names the model that answered (the SDK may have sent the
/// text to another model that reads its script; such models share their labels).
pub fn on_text(entry: &CatalogueEntry, answer: &TextResult, text: String) -> impl IntoView {
    let predicted = answer.prediction.label.clone();
    let alternatives = entry
        .manifest
        .labels
        .iter()
        .map(|l| l.id.clone())
        .filter(|l| *l != predicted)
        .collect();
    view! {
        <ResultFeedback model=model(&answer.model).id predicted=predicted
            alternatives=alternatives input_text=text
            ms=answer.ms backend=answer.backend.clone()/>
    }
}

/// "Was this right?" for an image answer: the other top-5 classes are offered as corrections.
/// The image itself is never sent.
pub fn on_image(model: &'static str, result: &ImageResult) -> impl IntoView {
    let predicted = result
        .top
        .first()
        .map(|c| c.label.clone())
        .unwrap_or_default();
    let alternatives = result.top.iter().skip(1).map(|c| c.label.clone()).collect();
    view! {
        <ResultFeedback model=model predicted=predicted alternatives=alternatives
            ms=result.ms backend=result.backend.clone()/>
    }
}
