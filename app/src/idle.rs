//! Notices when nobody has touched the page for a while (kiosk idle reset). Any pointer, key,
//! wheel or text input counts as activity; a one-second tick compares against the limit, so a
//! changed limit (the kiosk config arrives after mount) applies without re-arming anything.

use std::time::Duration;

use leptos::ev;
use leptos::prelude::*;

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Calls `on_idle` once each time the page has been left alone for `limit`, as long as
/// `armed` is true (the kiosk disarms it while the attract loop is already showing).
/// Everything is removed when the calling component unmounts.
pub fn watch_idle(
    limit: Signal<Duration>,
    armed: Signal<bool>,
    on_idle: impl Fn() + Clone + Send + Sync + 'static,
) {
    let last = StoredValue::new(now_ms());
    let touch = move || last.set_value(now_ms());
    let listeners = [
        window_event_listener(ev::pointerdown, move |_| touch()),
        window_event_listener(ev::keydown, move |_| touch()),
        window_event_listener(ev::input, move |_| touch()),
        window_event_listener(ev::wheel, move |_| touch()),
    ];
    let tick = set_interval_with_handle(
        move || {
            if !armed.get_untracked() {
                last.set_value(now_ms());
                return;
            }
            let idle_for = now_ms() - last.get_value();
            if idle_for >= limit.get_untracked().as_millis() as f64 {
                last.set_value(now_ms());
                on_idle();
            }
        },
        Duration::from_secs(1),
    )
    .ok();
    on_cleanup(move || {
        for listener in listeners {
            listener.remove();
        }
        if let Some(tick) = tick {
            tick.clear();
        }
    });
}
