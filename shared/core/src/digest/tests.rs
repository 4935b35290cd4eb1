//! Digest checks on chains signed in the test, one case per way a log
//! archive can be tampered with.

use std::sync::OnceLock;

use time::macros::datetime;

use super::chain::{check, DigestProblem, FoundDigest};
use super::forge::{ChainWriter, Forged, Signer};
use super::listing::{listed_logs, unlisted, LogStatus};
use super::*;

fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| Signer::new(7))
}

const RECORD: &str = r#"{"eventName":"ConsoleLogin","eventTime":"2026-11-20T09:05:06Z"}"#;

/// Three hourly digests (09:00-12:00), the middle one listing no log file.
fn chain(org: Option<&str>) -> (Vec<Forged>, Vec<super::forge::ForgedLog>) {
    let mut w = ChainWriter::new(signer(), "trail-bucket", "123456789012", "us-east-1", org);
    let a = w.log(datetime!(2026-11-20 09:10 UTC), "AaAaAaAaAaAaAaAa", RECORD);
    let b = w.log(datetime!(2026-11-20 09:40 UTC), "BbBbBbBbBbBbBbBb", RECORD);
    let c = w.log(datetime!(2026-11-20 11:20 UTC), "CcCcCcCcCcCcCcCc", RECORD);
    let digests = vec![
        w.digest(datetime!(2026-11-20 09:00 UTC), &[&a, &b]),
        w.digest(datetime!(2026-11-20 10:00 UTC), &[]),
        w.digest(datetime!(2026-11-20 11:00 UTC), &[&c]),
    ];
    (digests, vec![a, b, c])
}

/// As found in a local copy: no metadata, except for the newest if `newest_signed`.
fn local(digests: &[Forged], newest_signed: bool) -> Vec<FoundDigest> {
    digests
        .iter()
        .enumerate()
        .map(|(i, d)| FoundDigest {
            location: format!("copy/{}", d.key),
            file: DigestFile::parse(&d.gz).unwrap(),
            signature: (newest_signed && i + 1 == digests.len()).then(|| (d.signature.clone(), None)),
        })
        .collect()
}

fn statuses(found: &[FoundDigest]) -> Vec<&'static str> {
    let (reports, _) = check(found, Some(&signer().public_keys()));
    reports.iter().map(|r| r.status()).collect()
}

#[test]
fn the_signing_string_is_the_documented_one() {
    let file = DigestFile {
        digest: Digest {
            aws_account_id: "111122223333".into(),
            digest_start_time: "2015-08-17T14:01:31Z".into(),
            digest_end_time: "2015-08-17T15:01:31Z".into(),
            digest_s3_bucket: "amzn-s3-demo-bucket".into(),
            digest_s3_object: "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz".into(),
            digest_public_key_fingerprint: "31e8b5433410dfb61a9dc45cc65b22ff".into(),
            digest_signature_algorithm: "SHA256withRSA".into(),
            newest_event_time: None,
            oldest_event_time: None,
            previous_digest_s3_bucket: None,
            previous_digest_s3_object: None,
            previous_digest_hash_value: None,
            previous_digest_hash_algorithm: None,
            previous_digest_signature: None,
            log_files: Vec::new(),
        },
        sha256: "4ff0a1bd1c9e61a21ef3b7e10a5d7bd4fe2e8ab7e01c57cde2e7c0ab20b9cdf0".into(),
    };
    assert_eq!(
        file.signing_string(),
        "2015-08-17T15:01:31Z\n\
         amzn-s3-demo-bucket/AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz\n\
         4ff0a1bd1c9e61a21ef3b7e10a5d7bd4fe2e8ab7e01c57cde2e7c0ab20b9cdf0\n\
         null"
    );
}

#[test]
fn the_documented_example_digest_parses() {
    let text = include_str!("../../../../events/digest/aws-documented-example.json");
    let file = DigestFile::parse(text.as_bytes()).unwrap();
    let d = &file.digest;
    assert_eq!(d.aws_account_id, "111122223333");
    assert_eq!(d.digest_public_key_fingerprint, "31e8b5433410dfb61a9dc45cc65b22ff");
    assert_eq!(d.previous_digest_hash_algorithm.as_deref(), Some("SHA-256"));
    assert_eq!(d.log_files.len(), 1);
    assert_eq!(d.log_files[0].hash_algorithm.as_deref(), Some("SHA-256"));
    assert_eq!(
        file.name(),
        "111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz"
    );
    assert_eq!(file.sha256, hex::encode(Sha256::digest(text.as_bytes())), "hash of the uncompressed bytes");
}

#[test]
fn a_valid_chain_verifies_every_digest_from_its_successor_and_the_newest_from_metadata() {
    let (digests, _) = chain(None);
    assert_eq!(statuses(&local(&digests, true)), ["valid", "valid", "valid"]);
    assert_eq!(statuses(&local(&digests, false)), ["valid", "valid", "not verifiable"]);
    let (reports, gaps) = check(&local(&digests, true), Some(&signer().public_keys()));
    assert!(gaps.is_empty(), "{gaps:?}");
    assert_eq!(reports[1].log_files, 0, "an hour with no log file still has a digest");
}

#[test]
fn without_keys_signatures_are_not_checked_but_chains_are() {
    let (digests, _) = chain(None);
    let (reports, _) = check(&local(&digests, true), None);
    assert!(reports.iter().all(|r| r.status() == "signature not checked" && !r.is_failure()));
}

#[test]
fn a_forged_signature_is_invalid() {
    let (mut digests, _) = chain(None);
    let forger = Signer::new(8);
    let last = digests.last_mut().unwrap();
    last.signature = forger.sign(&last.file);
    assert_eq!(statuses(&local(&digests, true)), ["valid", "valid", "invalid signature"]);
}

#[test]
fn an_edited_digest_fails_its_signature_and_breaks_the_next_link() {
    // GIVEN the middle digest rewritten to list a log file with another hash.
    let (mut digests, logs) = chain(None);
    let mut edited = digests[1].file.digest.clone();
    edited.log_files.push(LogFileEntry {
        s3_bucket: "trail-bucket".into(),
        s3_object: logs[0].key.clone(),
        hash_value: "00".repeat(32),
        hash_algorithm: Some("SHA-256".into()),
        newest_event_time: None,
        oldest_event_time: None,
    });
    digests[1].gz = serde_json::to_vec(&edited).unwrap();
    let found = local(&digests, true);
    let (reports, _) = check(&found, Some(&signer().public_keys()));
    assert_eq!(reports[1].problems, [DigestProblem::InvalidSignature]);
    assert!(
        matches!(&reports[2].problems[..], [DigestProblem::BrokenChain(why)] if why.contains("hash")),
        "{:?}",
        reports[2]
    );
    assert!(reports[0].problems.is_empty());
}

#[test]
fn a_deleted_digest_is_missing_and_leaves_a_gap() {
    let (mut digests, _) = chain(None);
    let deleted = digests.remove(1);
    let (reports, gaps) = check(&local(&digests, true), Some(&signer().public_keys()));
    let missing: Vec<&str> = reports.iter().filter(|r| r.status() == "missing").map(|r| r.name.as_str()).collect();
    assert_eq!(missing, [deleted.file.name()]);
    assert_eq!(gaps.len(), 1);
    assert_eq!((gaps[0].from.as_str(), gaps[0].to.as_str()), ("2026-11-20T10:00:00Z", "2026-11-20T11:00:00Z"));
    // Its signature came only from the deleted successor: the first is now the newest verified by nothing.
    assert_eq!(reports.iter().find(|r| r.name == digests[0].file.name()).unwrap().status(), "not verifiable");
}

#[test]
fn a_missing_hour_and_a_restart_are_gaps() {
    let mut w = ChainWriter::new(signer(), "trail-bucket", "123456789012", "us-east-1", None);
    let first = w.digest(datetime!(2026-11-20 09:00 UTC), &[]);
    let skipped_hour = w.digest(datetime!(2026-11-20 11:00 UTC), &[]);
    w.restart();
    let restarted = w.digest(datetime!(2026-11-20 15:00 UTC), &[]);
    let (reports, gaps) = check(&local(&[first, skipped_hour, restarted], true), Some(&signer().public_keys()));
    let spans: Vec<(&str, &str, bool)> = gaps.iter().map(|g| (g.from.as_str(), g.to.as_str(), g.restarted)).collect();
    assert_eq!(
        spans,
        [
            ("2026-11-20T10:00:00Z", "2026-11-20T11:00:00Z", false),
            ("2026-11-20T12:00:00Z", "2026-11-20T15:00:00Z", true)
        ]
    );
    // The restarted chain's first predecessor has no signature from a successor.
    assert_eq!(reports.iter().map(|r| r.status()).collect::<Vec<_>>(), ["valid", "not verifiable", "valid"]);
}

#[test]
fn a_digest_signed_by_an_unknown_key_or_moved_is_reported() {
    let (digests, _) = chain(None);
    let mut found = local(&digests, true);
    assert_eq!(
        check(&found, Some(&Signer::new(9).public_keys())).0[2].problems,
        [DigestProblem::UnknownKey(signer().fingerprint.clone())]
    );
    found[2].location = "copy/renamed.json.gz".into();
    assert!(check(&found, Some(&signer().public_keys())).0[2]
        .problems
        .iter()
        .any(|p| matches!(p, DigestProblem::Moved(_))));
}

#[test]
fn organization_trail_chains_verify_too() {
    let (digests, _) = chain(Some("o-a1b2c3d4e5"));
    assert!(digests[0].key.starts_with("AWSLogs/o-a1b2c3d4e5/123456789012/CloudTrail-Digest/us-east-1/2026/11/20/"));
    assert_eq!(statuses(&local(&digests, true)), ["valid", "valid", "valid"]);
}

#[test]
fn log_hashes_are_of_the_uncompressed_content() {
    let (digests, logs) = chain(None);
    let listed = listed_logs(&local(&digests, true));
    assert_eq!(listed.len(), 3);
    let by_name = |name: &str| logs.iter().find(|l| l.key.ends_with(name)).unwrap();
    for l in &listed {
        assert_eq!(log_file_sha256(by_name(&l.name).gz.as_slice()).unwrap(), l.hash);
    }
    let plain = format!(r#"{{"Records":[{RECORD}]}}"#);
    assert_eq!(log_file_sha256(plain.as_bytes()).unwrap(), listed[0].hash, "gzip or not, the same content");
    let mut tampered = plain.clone().into_bytes();
    tampered[20] ^= 1;
    assert_ne!(log_file_sha256(tampered.as_slice()).unwrap(), listed[0].hash);
}

#[test]
fn trail_keys_start_at_the_last_awslogs_component() {
    let cases = [
        ("AWSLogs/123/CloudTrail/x.json.gz", Some("AWSLogs/123/CloudTrail/x.json.gz")),
        ("prefix/AWSLogs/o-1/123/CloudTrail/x.json.gz", Some("AWSLogs/o-1/123/CloudTrail/x.json.gz")),
        ("copy/AWSLogs/old/AWSLogs/123/x.json.gz", Some("AWSLogs/123/x.json.gz")),
        ("copy/NotAWSLogs/123/x.json.gz", None),
        ("x.json.gz", None),
    ];
    for (key, want) in cases {
        assert_eq!(trail_key(key), want, "{key}");
    }
}

#[test]
fn given_a_digest_in_a_copy_when_listing_then_each_log_is_expected_at_its_root_plus_its_trail_key() {
    let (digests, logs) = chain(Some("o-a1b2c3d4e5"));
    let mut found = local(&digests, true);
    let listed = listed_logs(&found);
    assert_eq!(listed[0].location.as_deref(), Some(format!("copy/{}", logs[0].key).as_str()));
    assert_eq!(listed[0].uri, format!("s3://trail-bucket/{}", logs[0].key));
    // A digest that does not lie at its own key places nothing.
    found[0].location = format!("copy/elsewhere/{}", digests[0].file.name());
    assert_eq!(listed_logs(&found[..1])[0].location, None);
    assert!(check(&found, None).0[0].problems.iter().any(|p| matches!(p, DigestProblem::Moved(_))));
}

#[test]
fn given_a_digest_read_from_its_bucket_when_listing_then_each_log_is_the_object_it_names() {
    let (digests, logs) = chain(None);
    let mut found = local(&digests, true);
    found[0].location = format!("s3://trail-bucket/{}", digests[0].key);
    let listed = listed_logs(&found[..1]);
    assert_eq!(listed[0].location.as_deref(), Some(format!("s3://trail-bucket/{}", logs[0].key).as_str()));
    // Another bucket than the one it was written to: moved, it places nothing.
    found[0].location = format!("s3://other-bucket/{}", digests[0].key);
    assert_eq!(listed_logs(&found[..1])[0].location, None);
}

#[test]
fn log_files_no_digest_lists_are_found_inside_the_covered_time_only() {
    let (digests, _) = chain(None);
    let found = local(&digests, true);
    let dir = "copy/AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20";
    let present = [
        format!("{dir}/123456789012_CloudTrail_us-east-1_20261120T0910Z_AaAaAaAaAaAaAaAa.json.gz"),
        format!("{dir}/123456789012_CloudTrail_us-east-1_20261120T1015Z_InjectedInjected.json.gz"),
        format!("{dir}/123456789012_CloudTrail_us-east-1_20261120T1230Z_NotYetDigested00.json.gz"),
        format!("{dir}/123456789012_CloudTrail_eu-west-1_20261120T1015Z_OtherRegion00000.json.gz"),
        "copy/old/123456789012_CloudTrail_us-east-1_20261120T0910Z_AaAaAaAaAaAaAaAa.json.gz".to_string(),
    ];
    let present: Vec<&str> = present.iter().map(String::as_str).collect();
    assert_eq!(
        unlisted(&present, &listed_logs(&found), &found),
        [(present[1], LogStatus::NotListed), (present[4], LogStatus::UnexpectedCopy)]
    );
}

#[test]
fn public_keys_load_from_list_public_keys_output() {
    let keys = PublicKeys::from_list_json(signer().list_json().as_bytes()).unwrap();
    assert!(keys.contains(&signer().fingerprint));
    assert!(PublicKeys::from_list_json(b"{}").is_err());
    assert!(PublicKeys::from_list_json(br#"{"PublicKeyList":[{"Value":"!!","Fingerprint":"x"}]}"#).is_err());
}

#[test]
fn given_a_gzip_bomb_or_a_huge_digest_when_parsed_then_it_is_refused_past_the_bound() {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..=crate::limits::MAX_DIGEST_BYTES >> 20 {
        gz.write_all(&spaces).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 1 << 20, "a small file: {} bytes", bomb.len());
    let e = DigestFile::parse(&bomb).unwrap_err();
    assert!(e.to_string().contains("larger than 64 MiB: refused"), "{e}");
}

#[test]
fn malformed_digests_and_signatures_are_errors_not_panics() {
    assert!(DigestFile::parse(b"not json").is_err());
    assert!(DigestFile::parse(&[0x1f, 0x8b, 0, 1]).is_err());
    let (digests, _) = chain(None);
    let file = DigestFile::parse(&digests[0].gz).unwrap();
    let keys = signer().public_keys();
    assert!(matches!(keys.verify(&file, "zz", None), Signature::Malformed(_)));
    assert!(matches!(keys.verify(&file, &digests[0].signature, Some("SHA1withRSA")), Signature::Malformed(_)));
    assert_eq!(keys.verify(&file, &digests[0].signature, Some("SHA256withRSA")), Signature::Valid);
}
