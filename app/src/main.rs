//! Vitrine's single-page app. `routes.rs` maps every mode (website, kiosk, embed, tour,
//! insights) to its page; inference happens in a Web Worker reached through `engine.rs`.

mod catalogue;
mod components;
mod dom;
mod embed_frame;
mod engine;
mod feedback;
mod fullscreen;
mod i18n;
mod idle;
mod kiosk_config;
mod offline;
mod pages;
mod routes;
mod tour_script;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(routes::App);
}
