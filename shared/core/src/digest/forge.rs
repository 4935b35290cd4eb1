//! Writes signed digest chains exactly as CloudTrail does (field names and
//! order, keys, signing string, metadata), for tests in every crate. Built
//! with the `test-support` feature; never part of a release binary.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use super::{Digest, DigestFile, LogFileEntry, PublicKeys, SIGNATURE_ALGORITHM};

/// A regional signing key.
pub struct Signer {
    key: RsaPrivateKey,
    pub fingerprint: String,
}

impl Signer {
    /// A 2048-bit key from a seed (the same seed gives the same key).
    pub fn new(seed: u64) -> Signer {
        let key = RsaPrivateKey::new(&mut StdRng::seed_from_u64(seed), 2048).expect("RSA key generation");
        let der = key.to_public_key().to_pkcs1_der().expect("public key DER");
        let fingerprint = hex::encode(&Sha256::digest(der.as_bytes())[..16]);
        Signer { key, fingerprint }
    }

    /// The public key, DER (PKCS #1), as `ListPublicKeys` returns it.
    pub fn public_der(&self) -> Vec<u8> {
        self.key.to_public_key().to_pkcs1_der().expect("public key DER").as_bytes().to_vec()
    }

    /// `aws cloudtrail list-public-keys` output holding this key.
    pub fn list_json(&self) -> String {
        use base64::Engine as _;
        serde_json::json!({"PublicKeyList": [{
            "Value": base64::engine::general_purpose::STANDARD.encode(self.public_der()),
            "ValidityStartTime": "2026-01-01T00:00:00Z",
            "ValidityEndTime": "2027-01-01T00:00:00Z",
            "Fingerprint": self.fingerprint,
        }]})
        .to_string()
    }

    pub fn public_keys(&self) -> PublicKeys {
        let mut keys = PublicKeys::default();
        keys.add_der(&self.fingerprint, &self.public_der()).expect("own key");
        keys
    }

    /// The hex signature of a digest, as CloudTrail puts in its metadata.
    pub fn sign(&self, file: &DigestFile) -> String {
        let hashed = Sha256::digest(file.signing_string().as_bytes());
        hex::encode(self.key.sign(Pkcs1v15Sign::new::<Sha256>(), &hashed).expect("signing"))
    }
}

/// One digest written: its key, its file (gzip) and its signature.
#[derive(Debug, Clone)]
pub struct Forged {
    pub key: String,
    pub gz: Vec<u8>,
    pub signature: String,
    pub file: DigestFile,
}

/// A log file written for a digest to list.
#[derive(Debug, Clone)]
pub struct ForgedLog {
    pub key: String,
    pub gz: Vec<u8>,
}

/// Writes a trail's digests hour after hour, each chained to the last.
pub struct ChainWriter<'s> {
    pub signer: &'s Signer,
    pub bucket: String,
    pub account: String,
    pub region: String,
    pub trail: String,
    pub org_id: Option<String>,
    previous: Option<Forged>,
}

fn stamp(t: OffsetDateTime, seconds: bool) -> String {
    let date = format!("{:04}{:02}{:02}T{:02}{:02}", t.year(), t.month() as u8, t.day(), t.hour(), t.minute());
    if seconds {
        format!("{date}{:02}Z", t.second())
    } else {
        format!("{date}Z")
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip")
}

impl<'s> ChainWriter<'s> {
    pub fn new(signer: &'s Signer, bucket: &str, account: &str, region: &str, org_id: Option<&str>) -> Self {
        ChainWriter {
            signer,
            bucket: bucket.into(),
            account: account.into(),
            region: region.into(),
            trail: "management-events".into(),
            org_id: org_id.map(str::to_string),
            previous: None,
        }
    }

    fn root(&self) -> String {
        match &self.org_id {
            Some(org) => format!("AWSLogs/{org}/{}", self.account),
            None => format!("AWSLogs/{}", self.account),
        }
    }

    /// A log file delivered at `at` holding `records` (a JSON array's items).
    pub fn log(&self, at: OffsetDateTime, id: &str, records: &str) -> ForgedLog {
        let day = format!("{:04}/{:02}/{:02}", at.year(), at.month() as u8, at.day());
        let name = format!("{}_CloudTrail_{}_{}_{id}.json.gz", self.account, self.region, stamp(at, false));
        let key = format!("{}/CloudTrail/{}/{day}/{name}", self.root(), self.region);
        ForgedLog { key, gz: gzip(format!("{{\"Records\":[{records}]}}").as_bytes()) }
    }

    /// Forgets the previous digest: the next one starts a new chain, as
    /// after logging was stopped.
    pub fn restart(&mut self) {
        self.previous = None;
    }

    /// The digest for `[start, start + 1h)` listing `logs`, chained to the
    /// previous one written.
    pub fn digest(&mut self, start: OffsetDateTime, logs: &[&ForgedLog]) -> Forged {
        let end = start + time::Duration::HOUR;
        let day = format!("{:04}/{:02}/{:02}", end.year(), end.month() as u8, end.day());
        let name = format!(
            "{}_CloudTrail-Digest_{}_{}_{}_{}.json.gz",
            self.account,
            self.region,
            self.trail,
            self.region,
            stamp(end, true)
        );
        let key = format!("{}/CloudTrail-Digest/{}/{day}/{name}", self.root(), self.region);
        let log_files = logs
            .iter()
            .map(|log| LogFileEntry {
                s3_bucket: self.bucket.clone(),
                s3_object: log.key.clone(),
                hash_value: super::log_file_sha256(log.gz.as_slice()).expect("hash"),
                hash_algorithm: Some("SHA-256".into()),
                newest_event_time: Some(rfc3339(end - time::Duration::minutes(5))),
                oldest_event_time: Some(rfc3339(start + time::Duration::minutes(1))),
            })
            .collect();
        let previous = self.previous.as_ref();
        let digest = Digest {
            aws_account_id: self.account.clone(),
            digest_start_time: rfc3339(start),
            digest_end_time: rfc3339(end),
            digest_s3_bucket: self.bucket.clone(),
            digest_s3_object: key.clone(),
            digest_public_key_fingerprint: self.signer.fingerprint.clone(),
            digest_signature_algorithm: SIGNATURE_ALGORITHM.into(),
            newest_event_time: None,
            oldest_event_time: None,
            previous_digest_s3_bucket: previous.map(|_| self.bucket.clone()),
            previous_digest_s3_object: previous.map(|p| p.key.clone()),
            previous_digest_hash_value: previous.map(|p| p.file.sha256.clone()),
            previous_digest_hash_algorithm: previous.map(|_| "SHA-256".into()),
            previous_digest_signature: previous.map(|p| p.signature.clone()),
            log_files,
        };
        let json = serde_json::to_vec(&digest).expect("digest JSON");
        let file = DigestFile { digest, sha256: hex::encode(Sha256::digest(&json)) };
        let signature = self.signer.sign(&file);
        let forged = Forged { key, gz: gzip(&json), signature, file };
        self.previous = Some(forged.clone());
        forged
    }
}
