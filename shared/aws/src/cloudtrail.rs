//! [`PublicKeySource`] on CloudTrail's `ListPublicKeys` through the AWS SDK.
//! The IAM permission is `cloudtrail:ListPublicKeys` (no resource-level
//! permissions exist for it).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use aws_config::SdkConfig;
use aws_sdk_cloudtrail::config::Region;
use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::Client;

use crate::ports::{PublicKey, PublicKeySource, Result};
use crate::s3::classify;

/// CloudTrail's public keys. Each region signs its digests with its own
/// key and lists only its own keys, so a multi-region trail needs a client
/// per region: made on first use, then kept.
#[derive(Debug)]
pub struct CloudTrailKeys {
    config: SdkConfig,
    clients: Mutex<HashMap<String, Client>>,
}

impl CloudTrailKeys {
    pub fn new(config: &SdkConfig) -> Self {
        CloudTrailKeys { config: config.clone(), clients: Mutex::default() }
    }

    fn client(&self, region: &str) -> Client {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let config = aws_sdk_cloudtrail::config::Builder::from(&self.config)
                    .region(Region::new(region.to_string()))
                    .build();
                Client::from_conf(config)
            })
            .clone()
    }
}

impl PublicKeySource for CloudTrailKeys {
    fn public_keys<'a>(
        &'a self,
        region: &'a str,
        start: i64,
        end: i64,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<PublicKey>>> + Send + 'a>> {
        Box::pin(async move {
            let client = self.client(region);
            let mut keys = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let out = client
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
