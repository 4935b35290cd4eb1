//! CloudTrail's public keys, kept for the life of the function instance:
//! fetched once per cold start, again only for a fingerprint not yet seen.

use std::sync::{Arc, Mutex};

use tracing::warn;
use trailwatch_aws::ports::{Failure, PublicKeySource};
use trailwatch_core::digest::{DigestFile, PublicKeys};

/// The keys fetched so far, and where to fetch more.
pub struct KeyCache {
    source: Arc<dyn PublicKeySource>,
    keys: Mutex<PublicKeys>,
}

impl KeyCache {
    pub fn new(source: Arc<dyn PublicKeySource>) -> Self {
        KeyCache { source, keys: Mutex::new(PublicKeys::default()) }
    }

    fn cached(&self) -> PublicKeys {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The keys, with the one that signed `file` (a digest of `region`) if
    /// CloudTrail has it.
    pub async fn for_digest(&self, file: &DigestFile, region: &str) -> Result<PublicKeys, Failure> {
        let keys = self.cached();
        if keys.contains(&file.digest.digest_public_key_fingerprint) {
            return Ok(keys);
        }
        let at = |text: &str| {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .map_or_else(|_| time::OffsetDateTime::now_utc().unix_timestamp(), |t| t.unix_timestamp())
        };
        let start = at(&file.digest.digest_start_time) - 86_400;
        let end = at(&file.digest.digest_end_time) + 3_600;
        let fetched = self.source.public_keys(region, start, end).await?;
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        for key in fetched {
            if let Err(e) = keys.add_der(&key.fingerprint, &key.der) {
                warn!(fingerprint = %key.fingerprint, error = %e, "unusable public key from ListPublicKeys");
            }
        }
        Ok(keys.clone())
    }
}
