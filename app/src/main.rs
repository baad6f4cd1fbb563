//! Vitrine's single-page app. `routes.rs` maps every mode (website, kiosk, embed, tour,
//! insights) to its page; inference happens in a Web Worker reached through `engine.rs`.

mod components;
mod dom;
mod engine;
mod feedback;
mod i18n;
mod pages;
mod routes;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(routes::App);
}
