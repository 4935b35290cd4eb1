//! [`PublicKeySource`] on CloudTrail's `ListPublicKeys` through the AWS SDK.
//! The IAM permission is `cloudtrail:ListPublicKeys` (no resource-level
//! permissions exist for it).

use std::future::Future;
use std::pin::Pin;

use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::Client;

use crate::ports::{PublicKey, PublicKeySource, Result};
use crate::s3::classify;

/// CloudTrail's public keys for the function's region (digests are signed
/// by the key of the region they cover, and read in that region).
#[derive(Clone, Debug)]
pub struct CloudTrailKeys {
    client: Client,
}

impl CloudTrailKeys {
    pub fn new(client: Client) -> Self {
        CloudTrailKeys { client }
    }
}

impl PublicKeySource for CloudTrailKeys {
    fn public_keys(&self, start: i64, end: i64) -> Pin<Box<dyn Future<Output = Result<Vec<PublicKey>>> + Send + '_>> {
        Box::pin(async move {
            let mut keys = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let out = self
                    .client
                    .list_public_keys()
                    .start_time(DateTime::from_secs(start))
                    .end_time(DateTime::from_secs(end))
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(|e| classify("ListPublicKeys", e))?;
                for key in out.public_key_list() {
                    if let (Some(value), Some(fingerprint)) = (key.value(), key.fingerprint()) {
                        keys.push(PublicKey { fingerprint: fingerprint.to_string(), der: value.as_ref().to_vec() });
                    }
                }
                match out.next_token() {
                    Some(next) if !next.is_empty() => token = Some(next.to_string()),
                    _ => return Ok(keys),
                }
            }
        })
    }
}
