//! CloudTrail log file integrity: digest files, their signatures, and the
//! hashes of the log files they list. Pure: bytes and keys in, verdicts out.
//!
//! Every hour CloudTrail writes a digest per account and region: the log
//! files it delivered in that hour with the SHA-256 of each (uncompressed),
//! and the previous digest's object, hash and signature. The digest itself
//! is signed (RSA PKCS #1 v1.5 over SHA-256) by a regional key; the hex
//! signature is the object's `x-amz-meta-signature` metadata, not part of the
//! file. The signed text is
//!
//! ```text
//! digestEndTime \n digestS3Bucket/digestS3Object \n hex(SHA-256(uncompressed digest)) \n previousDigestSignature
//! ```
//!
//! with the literal `null` for a first digest. Public keys come from
//! CloudTrail's `ListPublicKeys` and are matched by fingerprint.
//!
//! - [`chain`]: a set of digests and log files checked together (order,
//!   gaps, deletions, files no digest lists).
//! - [`listing`]: which local file is the one a digest lists (by its key
//!   below the trail root, never by name alone).
//! - [`delivered`]: one digest checked as it arrives in S3, and its alert.
//! - `forge` (feature `test-support`): writes signed chains exactly as
//!   CloudTrail does, for tests.

pub mod chain;
pub mod delivered;
#[cfg(any(test, feature = "test-support"))]
pub mod forge;
pub mod listing;

use std::collections::HashMap;
use std::io::Read;

use base64::Engine as _;
use flate2::read::MultiGzDecoder;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, ErrorKind, Result};
use crate::limits::{read_at_most, MAX_DIGEST_BYTES};

fn bad(message: String) -> Error {
    Error::new(ErrorKind::Integrity(message))
}

/// The only signature algorithm CloudTrail uses.
pub const SIGNATURE_ALGORITHM: &str = "SHA256withRSA";

/// One log file a digest lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogFileEntry {
    pub s3_bucket: String,
    pub s3_object: String,
    pub hash_value: String,
    #[serde(default)]
    pub hash_algorithm: Option<String>,
    #[serde(default)]
    pub newest_event_time: Option<String>,
    #[serde(default)]
    pub oldest_event_time: Option<String>,
}

/// A digest file's content, with AWS's field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Digest {
    pub aws_account_id: String,
    pub digest_start_time: String,
    pub digest_end_time: String,
    pub digest_s3_bucket: String,
    pub digest_s3_object: String,
    pub digest_public_key_fingerprint: String,
    pub digest_signature_algorithm: String,
    #[serde(default)]
    pub newest_event_time: Option<String>,
    #[serde(default)]
    pub oldest_event_time: Option<String>,
    #[serde(default)]
    pub previous_digest_s3_bucket: Option<String>,
    #[serde(default)]
    pub previous_digest_s3_object: Option<String>,
    #[serde(default)]
    pub previous_digest_hash_value: Option<String>,
    #[serde(default)]
    pub previous_digest_hash_algorithm: Option<String>,
    #[serde(default)]
    pub previous_digest_signature: Option<String>,
    #[serde(default)]
    pub log_files: Vec<LogFileEntry>,
}

/// A digest as read: its content and the hex SHA-256 of its uncompressed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestFile {
    pub digest: Digest,
    pub sha256: String,
}

/// Decompresses a file if it is gzip (by its magic bytes), refusing more
/// than [`MAX_DIGEST_BYTES`] either way: a gzip bomb stops there.
fn inflate(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        read_at_most(MultiGzDecoder::new(bytes), MAX_DIGEST_BYTES)
    } else {
        read_at_most(bytes, MAX_DIGEST_BYTES)
    }
}

impl DigestFile {
    /// Parses a digest file (gzip or plain JSON) of at most
    /// [`MAX_DIGEST_BYTES`], compressed and inflated.
    pub fn parse(bytes: &[u8]) -> Result<DigestFile> {
        let inflated = inflate(bytes).map_err(|e| bad(format!("not a readable digest file: {e}")))?;
        let digest: Digest =
            serde_json::from_slice(&inflated).map_err(|e| bad(format!("not a CloudTrail digest: {e}")))?;
        Ok(DigestFile { digest, sha256: hex::encode(Sha256::digest(&inflated)) })
    }

    /// The text CloudTrail signs (see the module docs).
    pub fn signing_string(&self) -> String {
        let d = &self.digest;
        format!(
            "{}\n{}/{}\n{}\n{}",
            d.digest_end_time,
            d.digest_s3_bucket,
            d.digest_s3_object,
            self.sha256,
            d.previous_digest_signature.as_deref().unwrap_or("null")
        )
    }

    /// The object name this digest says it was written to (the last part of `digestS3Object`).
    pub fn name(&self) -> &str {
        file_name(&self.digest.digest_s3_object)
    }
}

/// The last part of an S3 key or path.
pub fn file_name(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// The part of an S3 key or local path below its trail root: from its last
/// `AWSLogs` component on (`AWSLogs/<account>/…` or
/// `AWSLogs/o-…/<account>/…`), whatever prefix the trail writes under.
/// `None` when it has no such component.
pub fn trail_key(key: &str) -> Option<&str> {
    match key.rfind("/AWSLogs/") {
        Some(i) => Some(&key[i + 1..]),
        None => key.starts_with("AWSLogs/").then_some(key),
    }
}

/// The outcome of checking one digest's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    Valid,
    /// The signature does not match: the digest (or its signature) was changed.
    Invalid,
    /// No known public key has the digest's fingerprint.
    UnknownKey(String),
    /// The signature is not hex, or the algorithm is not SHA256withRSA.
    Malformed(String),
}

/// CloudTrail's public keys, by fingerprint.
#[derive(Debug, Clone, Default)]
pub struct PublicKeys {
    keys: HashMap<String, RsaPublicKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListedKey {
    value: String,
    fingerprint: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PublicKeyList {
    public_key_list: Vec<ListedKey>,
}

impl PublicKeys {
    /// Adds a key: DER bytes (PKCS #1 `RSAPublicKey`, as `ListPublicKeys`
    /// returns them, or an X.509 `SubjectPublicKeyInfo`).
    pub fn add_der(&mut self, fingerprint: &str, der: &[u8]) -> Result<()> {
        let key = RsaPublicKey::from_pkcs1_der(der)
            .or_else(|_| RsaPublicKey::from_public_key_der(der))
            .map_err(|e| bad(format!("public key {fingerprint}: not an RSA public key: {e}")))?;
        self.keys.insert(fingerprint.to_ascii_lowercase(), key);
        Ok(())
    }

    /// Keys from the JSON that `aws cloudtrail list-public-keys` prints
    /// (`{"PublicKeyList": [{"Value": base64 DER, "Fingerprint": ...}]}`).
    pub fn from_list_json(json: &[u8]) -> Result<PublicKeys> {
        let list: PublicKeyList = serde_json::from_slice(json)
            .map_err(|e| bad(format!("not the output of list-public-keys ({{\"PublicKeyList\": [...]}}): {e}")))?;
        let mut keys = PublicKeys::default();
        for listed in list.public_key_list {
            let der = base64::engine::general_purpose::STANDARD
                .decode(listed.value.trim())
                .map_err(|e| bad(format!("public key {}: value is not base64: {e}", listed.fingerprint)))?;
            keys.add_der(&listed.fingerprint, &der)?;
        }
        Ok(keys)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn contains(&self, fingerprint: &str) -> bool {
        self.keys.contains_key(&fingerprint.to_ascii_lowercase())
    }

    /// Checks a digest's signature (hex, as in the object's metadata).
    pub fn verify(&self, file: &DigestFile, signature_hex: &str, algorithm: Option<&str>) -> Signature {
        let algorithm = algorithm.unwrap_or(&file.digest.digest_signature_algorithm);
        if algorithm != SIGNATURE_ALGORITHM {
            return Signature::Malformed(format!("unsupported signature algorithm '{algorithm}'"));
        }
        let fingerprint = file.digest.digest_public_key_fingerprint.to_ascii_lowercase();
        let Some(key) = self.keys.get(&fingerprint) else { return Signature::UnknownKey(fingerprint) };
        let Ok(signature) = hex::decode(signature_hex.trim()) else {
            return Signature::Malformed("the signature is not hex".into());
        };
        let hashed = Sha256::digest(file.signing_string().as_bytes());
        match key.verify(Pkcs1v15Sign::new::<Sha256>(), &hashed, &signature) {
            Ok(()) => Signature::Valid,
            Err(_) => Signature::Invalid,
        }
    }
}

/// Hex SHA-256 of a log file's uncompressed content (gzip detected by its
/// magic bytes), streamed: memory does not grow with the file.
pub fn log_file_sha256(mut input: impl Read) -> std::io::Result<String> {
    let mut head = [0u8; 2];
    let mut filled = 0;
    while filled < 2 {
        let n = input.read(&mut head[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    let chained = std::io::Cursor::new(head[..filled].to_vec()).chain(input);
    let mut hasher = Sha256::new();
    if head[..filled] == [0x1f, 0x8b] {
        std::io::copy(&mut MultiGzDecoder::new(std::io::BufReader::new(chained)), &mut hasher)?;
    } else {
        std::io::copy(&mut std::io::BufReader::new(chained), &mut hasher)?;
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests;
