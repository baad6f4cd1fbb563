//! The consent step. It says what is sent, where and why, with separate boxes for attaching the
//! typed text, for telemetry and for marketing e-mail; nothing is sent before "Agree". The
//! choice lasts for this visit (sessionStorage), so the next visitor at a kiosk is asked again;
//! an e-mail address is never stored, only sent with the submission it was typed for.

use leptos::ev;
use leptos::html;
use leptos::prelude::*;

use crate::i18n::use_i18n;

const STORAGE_KEY: &str = "vitrine.feedback.consent";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Choice {
    /// Not asked yet.
    #[default]
    Undecided,
    Declined,
    Agreed(Permissions),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Permissions {
    /// Attach the sentence the visitor typed (never images).
    pub attach_text: bool,
    /// Latency, backend and device class.
    pub telemetry: bool,
}

impl Choice {
    fn encode(self) -> String {
        match self {
            Choice::Undecided => String::new(),
            Choice::Declined => "declined".into(),
            Choice::Agreed(p) => format!(
                "agreed;text={};telemetry={}",
                u8::from(p.attach_text),
                u8::from(p.telemetry)
            ),
        }
    }

    fn decode(s: &str) -> Self {
        if s == "declined" {
            return Choice::Declined;
        }
        let Some(rest) = s.strip_prefix("agreed") else {
            return Choice::Undecided;
        };
        Choice::Agreed(Permissions {
            attach_text: rest.contains("text=1"),
            telemetry: rest.contains("telemetry=1"),
        })
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

thread_local! {
    // One choice shared by every feedback widget on the page. Reference-counted, not owned by
    // the component that happened to read it first: that one may unmount (a new answer
    // replaces the old one) while others still need the choice.
    static CHOICE: ArcRwSignal<Choice> = ArcRwSignal::new(
        session_storage()
            .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
            .map(|s| Choice::decode(&s))
            .unwrap_or_default(),
    );
}

pub fn choice() -> ArcRwSignal<Choice> {
    CHOICE.with(ArcRwSignal::clone)
}

pub fn set_choice(c: Choice) {
    if let Some(s) = session_storage() {
        let _ = s.set_item(STORAGE_KEY, &c.encode());
    }
    choice().set(c);
    if c == Choice::Declined {
        // Withdrawing also forgets what was queued and not yet sent.
        leptos::task::spawn_local(super::outbox::clear());
    }
}

/// A new visitor (the kiosk's idle reset): ask again. What the last visitor agreed to send and
/// is still queued is delivered all the same; only their choice is forgotten.
pub fn forget_for_next_visitor() {
    if let Some(s) = session_storage() {
        let _ = s.remove_item(STORAGE_KEY);
    }
    choice().set(Choice::Undecided);
}

/// What the visitor agreed to in the dialog, plus an address if they asked for news.
#[derive(Clone, Debug, PartialEq)]
pub struct Agreement {
    pub permissions: Permissions,
    pub email: Option<String>,
}

/// One separately ticked permission of the consent step.
#[component]
fn ConsentOption(
    id: &'static str,
    checked: RwSignal<bool>,
    label: impl Fn() -> &'static str + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <label class="check">
            <input type="checkbox" data-testid=id
                prop:checked=move || checked.get()
                on:change=move |e| checked.set(event_target_checked(&e))/>
            {label}
        </label>
    }
}

/// The consent dialog. `on_close` gets `Some` after "Agree", `None` after "Don't send" or Escape.
#[component]
pub fn ConsentDialog(
    /// Offer the "attach my text" box (sentiment answers only: images are never uploaded).
    #[prop(optional)]
    offer_text: bool,
    on_close: Callback<Option<Agreement>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let current = match choice().get_untracked() {
        Choice::Agreed(p) => p,
        _ => Permissions::default(),
    };
    let attach_text = RwSignal::new(current.attach_text);
    let telemetry = RwSignal::new(current.telemetry);
    let marketing = RwSignal::new(false);
    let email = RwSignal::new(String::new());
    let first = NodeRef::<html::Button>::new();
    // Move focus into the dialog so keyboard and screen-reader users land on it.
    Effect::new(move |_| {
        if let Some(el) = first.get() {
            let _ = el.focus();
        }
    });
    let email_ok = move || {
        !marketing.get() || {
            let e = email.get();
            let e = e.trim();
            e.len() <= 254
                && e.split_once('@')
                    .is_some_and(|(a, d)| !a.is_empty() && d.contains('.'))
        }
    };
    let agree = move |_| {
        if !email_ok() {
            return;
        }
        let permissions = Permissions {
            attach_text: attach_text.get_untracked(),
            telemetry: telemetry.get_untracked(),
        };
        set_choice(Choice::Agreed(permissions));
        on_close.run(Some(Agreement {
            permissions,
            email: marketing
                .get_untracked()
                .then(|| email.get_untracked().trim().to_owned()),
        }));
    };
    let decline = move |_| {
        set_choice(Choice::Declined);
        on_close.run(None);
    };
    let on_key = move |e: ev::KeyboardEvent| {
        if e.key() == "Escape" {
            on_close.run(None);
        }
        crate::dom::keep_tab_inside(&e);
    };
    view! {
        <div class="consent-backdrop">
            <div class="consent-dialog card" role="dialog" aria-modal="true"
                aria-labelledby="consent-title" aria-describedby="consent-what"
                data-testid="consent-dialog" on:keydown=on_key>
                <h2 id="consent-title">{t("feedback.consent_title")}</h2>
                <p id="consent-what">{t("feedback.consent_what")}</p>
                <p>{t("feedback.consent_where")}</p>
                <p>{t("feedback.consent_why")}</p>
                <fieldset class="consent-options">
                    <legend class="sr-only">{t("feedback.consent_options")}</legend>
                    {offer_text.then(|| view! {
                        <ConsentOption id="consent-text" checked=attach_text label=t("feedback.consent_text")/>
                    })}
                    <ConsentOption id="consent-telemetry" checked=telemetry label=t("feedback.consent_telemetry")/>
                    <ConsentOption id="consent-marketing" checked=marketing label=t("feedback.consent_marketing")/>
                    <Show when=move || marketing.get()>
                        <label class="field-label" for="consent-email">{t("feedback.email_label")}</label>
                        <input id="consent-email" class="text-input" type="email" autocomplete="email"
                            maxlength="254" data-testid="consent-email"
                            aria-invalid=move || (!email_ok()).to_string()
                            prop:value=move || email.get()
                            on:input=move |e| email.set(event_target_value(&e))/>
                    </Show>
                </fieldset>
                <div class="consent-actions">
                    <button type="button" class="btn" node_ref=first data-testid="consent-agree"
                        disabled=move || !email_ok() on:click=agree>
                        {t("feedback.consent_agree")}
                    </button>
                    <button type="button" class="btn btn-ghost" data-testid="consent-decline" on:click=decline>
                        {t("feedback.consent_decline")}
                    </button>
                </div>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_survive_storage() {
        for c in [
            Choice::Undecided,
            Choice::Declined,
            Choice::Agreed(Permissions {
                attach_text: true,
                telemetry: false,
            }),
            Choice::Agreed(Permissions {
                attach_text: false,
                telemetry: true,
            }),
        ] {
            assert_eq!(Choice::decode(&c.encode()), c);
        }
        assert_eq!(Choice::decode("garbage"), Choice::Undecided);
    }
}
