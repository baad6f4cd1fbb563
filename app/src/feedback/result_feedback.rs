//! "Was this right?" under an answer: thumbs up sends at once, thumbs down first offers an
//! optional corrected label. Either goes through the consent step the first time.

use leptos::prelude::*;

use super::consent::{choice, Agreement, Choice, ConsentDialog};
use super::outbox::{self, ResultPart, Submission};
use crate::i18n::use_i18n;

#[derive(Clone, Debug, PartialEq)]
enum Status {
    Idle,
    /// Thumbs down: choosing a corrected label.
    Correcting,
    Asking(&'static str),
    Queued,
    /// Declined; keeps the verdict in case the visitor changes their mind.
    NotSent(&'static str),
    Failed(String),
}

/// Feedback on one answer of catalogue model `model`.
#[component]
pub fn ResultFeedback(
    model: &'static str,
    predicted: String,
    /// Labels offered as the correction (a text model's other labels, or the other top-5 classes).
    alternatives: Vec<String>,
    /// The visitor's sentence (text models only); sent only if they ticked "attach my text".
    #[prop(optional)]
    input_text: Option<String>,
    ms: f64,
    backend: String,
) -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let status = RwSignal::new(Status::Idle);
    let corrected = RwSignal::new(String::new());
    outbox::prepare();

    let offer_text = input_text.is_some();
    let predicted_label = predicted.clone();
    let send = move |verdict: &'static str, agreement: Option<Agreement>| {
        let Choice::Agreed(perm) = choice().get_untracked() else {
            status.set(Status::NotSent(verdict));
            return;
        };
        let fix = corrected.get_untracked().trim().to_owned();
        let mut s = Submission::new();
        s.result = Some(ResultPart {
            model,
            verdict,
            predicted: predicted_label.clone(),
            corrected: (verdict == "down" && !fix.is_empty() && fix != predicted_label)
                .then_some(fix),
            input_text: input_text
                .clone()
                .filter(|_| perm.attach_text)
                .map(|t| t.chars().take(2000).collect()),
        });
        if perm.telemetry {
            s.telemetry = outbox::telemetry(ms, &backend);
        }
        outbox::submit(s, agreement.and_then(|a| a.email), move |queued| {
            status.set(match queued {
                Ok(()) => Status::Queued,
                Err(e) => Status::Failed(e),
            });
        });
    };
    let send = StoredValue::new(send);
    let submit = move |verdict: &'static str| match choice().get_untracked() {
        Choice::Agreed(_) => send.with_value(|f| f(verdict, None)),
        Choice::Undecided => status.set(Status::Asking(verdict)),
        Choice::Declined => status.set(Status::NotSent(verdict)),
    };
    let on_consent = Callback::new(move |agreement: Option<Agreement>| {
        let Status::Asking(verdict) = status.get_untracked() else {
            return;
        };
        match agreement {
            Some(a) => send.with_value(|f| f(verdict, Some(a))),
            None => status.set(if choice().get_untracked() == Choice::Declined {
                Status::NotSent(verdict)
            } else {
                Status::Idle
            }),
        }
    });

    let alternatives = StoredValue::new(alternatives);
    // A two-label model has one possible correction: send it straight away.
    let thumbs_down = move || {
        if alternatives.with_value(|a| a.len() == 1) {
            corrected.set(alternatives.with_value(|a| a.first().cloned().unwrap_or_default()));
            submit("down");
        } else {
            status.set(Status::Correcting);
        }
    };
    let list_id = format!("fix-{model}");
    let list_id_for_input = list_id.clone();
    view! {
        <div class="result-feedback" data-testid=format!("feedback-{model}") role="group"
            aria-label=t("feedback.was_right")>
            {move || match status.get() {
                Status::Idle | Status::Asking(_) => view! {
                    <span class="muted small">{t("feedback.was_right")}</span>
                    <button type="button" class="btn btn-small thumb-btn" data-testid="thumb-up"
                        aria-label=t("feedback.thumb_up") on:click=move |_| submit("up")><ThumbIcon/></button>
                    <button type="button" class="btn btn-small thumb-btn" data-testid="thumb-down"
                        aria-label=t("feedback.thumb_down") on:click=move |_| thumbs_down()><ThumbIcon down=true/></button>
                }.into_any(),
                Status::Correcting => {
                    let list_id = list_id.clone();
                    let input_list = list_id_for_input.clone();
                    view! {
                        <label class="small" for=format!("{list_id}-input")>{t("feedback.should_be")}</label>
                        <input id=format!("{list_id}-input") class="text-input fix-input" list=input_list
                            maxlength="80" data-testid="corrected-label"
                            prop:value=move || corrected.get()
                            on:input=move |e| corrected.set(event_target_value(&e))/>
                        <datalist id=list_id>
                            {alternatives.get_value().into_iter().map(|l| view! { <option value=l></option> }).collect_view()}
                        </datalist>
                        <button type="button" class="btn btn-small" data-testid="send-correction"
                            on:click=move |_| submit("down")>{t("feedback.send")}</button>
                    }.into_any()
                }
                Status::Queued => view! {
                    <span class="small" role="status" data-testid="feedback-queued">{t("feedback.thanks")}</span>
                }.into_any(),
                Status::NotSent(verdict) => view! {
                    <span class="small muted" role="status" data-testid="feedback-not-sent">{t("feedback.not_sent")}</span>
                    <button type="button" class="btn btn-small btn-ghost" data-testid="feedback-change"
                        on:click=move |_| status.set(Status::Asking(verdict))>{t("feedback.change")}</button>
                }.into_any(),
                Status::Failed(e) => view! {
                    <span class="small error-text" role="alert">{t("feedback.failed")}" "{e}</span>
                }.into_any(),
            }}
            <Show when=move || matches!(status.get(), Status::Asking(_))>
                <ConsentDialog offer_text=offer_text on_close=on_consent/>
            </Show>
        </div>
    }
}

/// A thumb drawn as an outline, not an emoji: kiosks and some Linux desktops have no colour-emoji
/// font and would show an empty box.
#[component]
fn ThumbIcon(#[prop(optional)] down: bool) -> impl IntoView {
    view! {
        <svg class="thumb-icon" class:thumb-down=down viewBox="0 0 24 24" aria-hidden="true">
            <path d="M7 10v12M15 5.88 14 10h5.83a2 2 0 0 1 1.92 2.56l-2.33 8A2 2 0 0 1 17.5 22H4a2 2 0 0 1-2-2v-8a2 2 0 0 1 2-2h2.76a2 2 0 0 0 1.79-1.11L12 2a3.13 3.13 0 0 1 3 3.88Z"/>
        </svg>
    }
}
