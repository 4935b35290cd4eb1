//! The webhook output: each alert POSTed as one JSON document, signed.
//!
//! Body (schema `trailwatch.alert.v1`, documented in the README):
//! `{"schema": "trailwatch.alert.v1", "delivery_id": "...", "alert": {...}}`
//! where `alert` is [`Alert`] as JSON. Headers:
//!
//! - `X-Trailwatch-Delivery`: the delivery id, stable across retries (a
//!   receiver drops a repeat it already has);
//! - `X-Trailwatch-Timestamp`: seconds since the epoch at sending;
//! - `X-Trailwatch-Signature`: `sha256=` and the hex HMAC-SHA256, keyed with
//!   the shared secret, of `<timestamp>.<body>`. A receiver recomputes it
//!   over the raw body, compares in constant time, and refuses timestamps
//!   more than five minutes old (replays).

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use trailwatch_core::alert::Alert;

use super::http::{json_body, Endpoint, Request};
use super::{Message, Output, Sent};
use crate::ports::Result;

pub const SCHEMA: &str = "trailwatch.alert.v1";

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    delivery_id: &'a str,
    alert: &'a Alert,
}

/// The body of one delivery.
pub fn render(message: &Message) -> Result<Vec<u8>> {
    let document = Document { schema: SCHEMA, delivery_id: &message.delivery_id, alert: &message.alert };
    json_body("webhook", &document)
}

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts to one webhook endpoint with a shared signing secret.
#[derive(Clone)]
pub struct WebhookOutput {
    endpoint: Endpoint,
    secret: Vec<u8>,
}

impl std::fmt::Debug for WebhookOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookOutput({:?}, secret: {} bytes)", self.endpoint, self.secret.len())
    }
}

impl WebhookOutput {
    pub fn new(endpoint: Endpoint, secret: impl Into<Vec<u8>>) -> Self {
        WebhookOutput { endpoint, secret: secret.into() }
    }

    /// The body and the signed headers of one delivery, now.
    fn signed(&self, message: &Message) -> Result<Request> {
        let body = render(message)?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let headers = vec![
            ("x-trailwatch-delivery", message.delivery_id.clone()),
            ("x-trailwatch-timestamp", now.to_string()),
            ("x-trailwatch-signature", signature(&self.secret, now, &body)),
        ];
        Ok((body, headers))
    }
}

impl Output for WebhookOutput {
    fn name(&self) -> &str {
        "webhook"
    }

    fn send<'a>(&'a self, messages: &'a [Message]) -> Sent<'a> {
        Box::pin(self.endpoint.post_each(messages, |m: &Message| self.signed(m)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        let sig = signature(b"Jefe", 1_700_000_000, b"{}");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64, "{sig}");
        assert_ne!(sig, signature(b"Jefe", 1_700_000_001, b"{}"), "the timestamp is signed");
        assert_ne!(sig, signature(b"jefe", 1_700_000_000, b"{}"), "the key matters");
        // Known answer, computed independently (Python: hmac.new(b"Jefe", b"1700000000.{}", "sha256")).
        assert_eq!(sig, "sha256=d3793e2b4103edfbd98cc19591832f5fad701d413db9fcae0ae7dab8184ed207");
    }
}
