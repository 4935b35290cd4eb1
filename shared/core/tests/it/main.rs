//! Integration tests, one binary for the crate (each file below was its
//! own binary; linking one instead of several saves minutes on a clean
//! build).

mod benign_week;
mod properties;
mod samples;
mod stratus;
