//! The kiosk's staff exit: press and hold the corner mark (mouse, touch, or Enter/Space held on
//! the keyboard), then type the PIN from the kiosk config on a big keypad. A visitor tapping the
//! corner gets nothing; staff get back to the normal site.

use std::time::Duration;

use leptos::ev;
use leptos::prelude::*;

use crate::i18n::use_i18n;

#[derive(Clone, Debug, PartialEq)]
enum Dialog {
    Closed,
    Open { wrong: bool },
}

#[component]
pub fn StaffExit(
    /// The PIN to accept; `None` when no config could be read (then holding is enough).
    #[prop(into)]
    pin: Signal<Option<String>>,
    /// How long to hold the corner mark.
    #[prop(into)]
    hold: Signal<Duration>,
    /// Called with a correct PIN.
    on_exit: Callback<()>,
) -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let dialog = RwSignal::new(Dialog::Closed);
    let entered = RwSignal::new(String::new());
    let timer = StoredValue::new(None::<TimeoutHandle>);
    let pin_input = NodeRef::<leptos::html::Input>::new();
    // The keypad dialog appears on demand, where `autofocus` does nothing: focus by hand.
    Effect::new(move |_| {
        if let Some(input) = pin_input.get() {
            let _ = input.focus();
        }
    });

    let cancel_hold = move || {
        if let Some(handle) = timer.try_update_value(Option::take).flatten() {
            handle.clear();
        }
    };
    let begin_hold = move || {
        if timer.with_value(Option::is_some) || dialog.get_untracked() != Dialog::Closed {
            return; // keyboard auto-repeat sends keydown again and again while held
        }
        let fire = move || {
            timer.set_value(None);
            if pin.get_untracked().is_none() {
                on_exit.run(());
            } else {
                entered.set(String::new());
                dialog.set(Dialog::Open { wrong: false });
            }
        };
        timer.set_value(set_timeout_with_handle(fire, hold.get_untracked()).ok());
    };
    on_cleanup(cancel_hold);

    let submit = move || {
        let ok = pin.with_untracked(|p| p.as_deref() == Some(entered.get_untracked().as_str()));
        if ok {
            dialog.set(Dialog::Closed);
            on_exit.run(());
        } else {
            entered.set(String::new());
            dialog.set(Dialog::Open { wrong: true });
        }
    };
    let close = move || {
        entered.set(String::new());
        dialog.set(Dialog::Closed);
    };
    let press = move |digit: char| {
        entered.update(|e| {
            if e.len() < 8 {
                e.push(digit);
            }
        });
    };

    view! {
        <button type="button" class="staff-mark" data-testid="staff-mark"
            aria-label=t("kiosk.staff_label")
            on:pointerdown=move |_| begin_hold()
            on:pointerup=move |_| cancel_hold()
            on:pointerleave=move |_| cancel_hold()
            on:pointercancel=move |_| cancel_hold()
            on:contextmenu=|e: ev::MouseEvent| e.prevent_default()
            on:keydown=move |e: ev::KeyboardEvent| {
                if e.key() == "Enter" || e.key() == " " {
                    e.prevent_default();
                    e.stop_propagation();
                    begin_hold();
                }
            }
            on:keyup=move |_| cancel_hold()>
            <span class="brand-mark" aria-hidden="true"></span>
        </button>
        <Show when=move || dialog.get() != Dialog::Closed>
            <div class="staff-backdrop">
                <div class="staff-dialog" role="dialog" aria-modal="true" aria-labelledby="staff-title"
                    data-testid="staff-dialog"
                    on:keydown=move |e: ev::KeyboardEvent| {
                        // Keys typed here are the PIN, not a visitor's activity on the attract loop.
                        e.stop_propagation();
                        if e.key() == "Escape" { close(); }
                        crate::dom::keep_tab_inside(&e);
                    }>
                    <h2 id="staff-title">{t("kiosk.staff_title")}</h2>
                    <form on:submit=move |e: ev::SubmitEvent| { e.prevent_default(); submit(); }>
                        <label for="staff-pin" class="field-label">{t("kiosk.pin_label")}</label>
                        <input id="staff-pin" class="pin-input" data-testid="staff-pin" type="password"
                            inputmode="numeric" autocomplete="off" maxlength="8" node_ref=pin_input
                            prop:value=move || entered.get()
                            on:input=move |e| entered.set(event_target_value(&e).chars().filter(char::is_ascii_digit).take(8).collect())/>
                        {move || matches!(dialog.get(), Dialog::Open { wrong: true }).then(|| view! {
                            <p class="error-text" role="alert" data-testid="staff-wrong">{t("kiosk.pin_wrong")}</p>
                        })}
                        <div class="keypad" role="group" aria-label=t("kiosk.keypad")>
                            {"123456789".chars().map(|d| view! {
                                <button type="button" class="key" on:click=move |_| press(d)>{d.to_string()}</button>
                            }).collect_view()}
                            <button type="button" class="key key-muted" aria-label=t("kiosk.pin_clear")
                                on:click=move |_| entered.set(String::new())>"C"</button>
                            <button type="button" class="key" on:click=move |_| press('0')>"0"</button>
                            <button type="submit" class="key key-ok" data-testid="staff-submit">{t("kiosk.pin_ok")}</button>
                        </div>
                        <button type="button" class="btn btn-ghost" on:click=move |_| close()>{t("kiosk.cancel")}</button>
                    </form>
                </div>
            </div>
        </Show>
    }
}
