//! Shared by the integration tests that need a database.
#![allow(dead_code)] // each test crate uses a different part

pub mod postgres;
