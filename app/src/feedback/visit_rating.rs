//! The visit rating: speed, stability and usability from 1 to 5, and an optional comment of at
//! most 2000 characters with a live counter. Goes through the consent step the first time.

use leptos::prelude::*;

use super::consent::{choice, Agreement, Choice, ConsentDialog};
use super::outbox::{self, Submission, VisitPart};
use crate::i18n::use_i18n;

const MAX_COMMENT: usize = 2000;
const ASPECTS: [(&str, &str); 3] = [
    ("speed", "feedback.speed"),
    ("stability", "feedback.stability"),
    ("usability", "feedback.usability"),
];

#[derive(Clone, Debug, PartialEq)]
enum Status {
    Editing,
    Asking,
    Queued,
    NotSent,
    Failed(String),
}

#[component]
pub fn VisitRating() -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let ratings = [RwSignal::new(0u8), RwSignal::new(0u8), RwSignal::new(0u8)];
    let comment = RwSignal::new(String::new());
    let status = RwSignal::new(Status::Editing);
    outbox::prepare();

    let count = move || comment.with(|c| c.chars().count());
    let too_long = move || count() > MAX_COMMENT;
    let complete = move || ratings.iter().all(|r| r.get() > 0) && count() <= MAX_COMMENT;
    let send = move |agreement: Option<Agreement>| {
        if !matches!(choice().get_untracked(), Choice::Agreed(_)) {
            status.set(Status::NotSent);
            return;
        }
        let text = comment.get_untracked().trim().to_owned();
        let mut s = Submission::new();
        s.visit = Some(VisitPart {
            speed: ratings[0].get_untracked(),
            stability: ratings[1].get_untracked(),
            usability: ratings[2].get_untracked(),
            comment: (!text.is_empty()).then_some(text),
        });
        outbox::submit(s, agreement.and_then(|a| a.email), move |queued| {
            status.set(match queued {
                Ok(()) => Status::Queued,
                Err(e) => Status::Failed(e),
            });
        });
    };
    let submit = move |_| {
        if !complete() {
            return;
        }
        match choice().get_untracked() {
            Choice::Agreed(_) => send(None),
            Choice::Undecided => status.set(Status::Asking),
            Choice::Declined => status.set(Status::NotSent),
        }
    };
    let on_consent = Callback::new(move |agreement: Option<Agreement>| match agreement {
        Some(a) => send(Some(a)),
        None => status.set(if choice().get_untracked() == Choice::Declined {
            Status::NotSent
        } else {
            Status::Editing
        }),
    });

    view! {
        <section class="card visit-rating" data-testid="visit-rating" aria-labelledby="visit-rating-title">
            <h2 id="visit-rating-title">{t("feedback.rate_title")}</h2>
            {move || match status.get() {
                Status::Queued => view! {
                    <p role="status" data-testid="visit-queued">{t("feedback.thanks")}</p>
                }.into_any(),
                Status::NotSent => view! {
                    <p class="muted" role="status" data-testid="visit-not-sent">{t("feedback.not_sent")}</p>
                    <button type="button" class="btn btn-small btn-ghost"
                        on:click=move |_| status.set(Status::Asking)>{t("feedback.change")}</button>
                }.into_any(),
                Status::Failed(e) => view! {
                    <p class="error-text" role="alert">{t("feedback.failed")}" "{e}</p>
                }.into_any(),
                Status::Editing | Status::Asking => ().into_any(),
            }}
            <Show when=move || matches!(status.get(), Status::Editing | Status::Asking)>
                {ASPECTS.iter().zip(ratings).map(|(&(name, key), value)| view! {
                    <fieldset class="rating" data-testid=format!("rating-{name}")>
                        <legend>{t(key)}</legend>
                        {(1..=5u8).map(|n| view! {
                            <label class="rating-option">
                                <input type="radio" name=format!("rating-{name}") value=n.to_string()
                                    data-testid=format!("rating-{name}-{n}")
                                    prop:checked=move || value.get() == n
                                    on:change=move |_| value.set(n)/>
                                <span>{n.to_string()}</span>
                            </label>
                        }).collect_view()}
                    </fieldset>
                }).collect_view()}
                <p class="muted small">{t("feedback.scale")}</p>
                <label class="field-label" for="visit-comment">{t("feedback.comment_label")}</label>
                <textarea id="visit-comment" class="text-input" rows="3" data-testid="visit-comment"
                    aria-describedby="visit-comment-count"
                    prop:value=move || comment.get()
                    on:input=move |e| comment.set(event_target_value(&e))></textarea>
                <p id="visit-comment-count" class:error-text=too_long class="small"
                    aria-live="polite" data-testid="visit-comment-count">
                    {move || format!("{} / {MAX_COMMENT}", count())}
                </p>
                <button type="button" class="btn" data-testid="visit-send"
                    disabled=move || !complete() on:click=submit>{t("feedback.send")}</button>
            </Show>
            <Show when=move || status.get() == Status::Asking>
                <ConsentDialog on_close=on_consent/>
            </Show>
        </section>
    }
}
