//! Set-up shared by the integration tests: each test file that needs a part declares `mod common;` and uses the
//! submodule it needs.

// Each test crate uses only some of the helpers.
#![allow(dead_code)]

pub mod cli;
pub mod gui;
pub mod mlflow;
pub mod registry;
pub mod serve;
pub mod sklearn;
pub mod spec;
pub mod xvfb;
