//! Any bytes as a digest file (gzip or JSON), then checked as a chain of one
//! found in a local copy, and its listed log files placed; and any bytes as
//! the public keys `aws cloudtrail list-public-keys` prints.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailwatch_core::digest::chain::{check, FoundDigest};
use trailwatch_core::digest::listing::{listed_logs, unlisted};
use trailwatch_core::digest::{trail_key, DigestFile, PublicKeys};

fuzz_target!(|data: &[u8]| {
    let _ = PublicKeys::from_list_json(data);
    if let Ok(file) = DigestFile::parse(data) {
        let location = format!("copy/{}", file.digest.digest_s3_object);
        let _ = trail_key(&location);
        let found = [FoundDigest { location, file, signature: Some(("00".into(), None)) }];
        let _ = check(&found, Some(&PublicKeys::default()));
        let listed = listed_logs(&found);
        let present: Vec<&str> = listed.iter().filter_map(|l| l.location.as_deref()).collect();
        let _ = unlisted(&present, &listed, &found);
    }
});
