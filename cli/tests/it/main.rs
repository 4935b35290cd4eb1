#![recursion_limit = "256"]
//! Integration tests, one binary for the crate (each file below was its
//! own binary; linking one instead of several saves minutes on a clean
//! build).

#[cfg(feature = "s3")]
mod bucket;
#[cfg(feature = "s3")]
mod bucket_validate;
mod cli;
mod common;
mod completions;
mod exit_status;
mod first_seen;
mod hostile;
mod oracle;
mod query;
pub mod readme;
mod realtime;
mod sigma;
mod summary_parity;
mod tune;
mod validate;
