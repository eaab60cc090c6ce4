//! Set-up shared by the integration tests (each test file includes it with `mod common;`).

pub mod sklearn;
pub mod spec;
