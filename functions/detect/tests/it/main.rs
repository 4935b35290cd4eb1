#![recursion_limit = "256"]
//! Integration tests, one binary for the crate (each file below was its
//! own binary; linking one instead of several saves minutes on a clean
//! build).

mod cross_lane;
mod exactly_once;
mod first_seen;
mod handler;
mod integrity;
mod load;
mod moto;
mod outputs;
mod properties;
mod sigma;
mod teams;
mod thresholds;
mod time_to_alert;
