//! The shapes Vitrine's parts exchange, with serde and nothing else, so the browser app, the
//! inference crate, the server and xtask agree on them without pulling in each other's
//! dependencies.
//!
//! - [`catalog`]: a model's manifest (`assets/models/<id>/model.toml`) and the catalogue the
//!   site ships as `/models/manifest.json`.

pub mod catalog;
pub mod engine;
