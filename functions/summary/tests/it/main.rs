#![recursion_limit = "256"]
//! Integration tests, one binary for the crate (each file below was its
//! own binary; linking one instead of several saves minutes on a clean
//! build).

mod common;
mod handler;
mod moto;
