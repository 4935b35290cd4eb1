//! `trailwatch validate` end to end: the sample chain in events/digest, and
//! copies of it tampered with in each way the command must catch.
//!
//! The sample is written by [`write_sample`] with a seeded key, so it is
//! reproducible: the first test regenerates it and requires the committed
//! files to be identical (`UPDATE_SAMPLES=1` rewrites them).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use time::macros::datetime;
use trailwatch_core::digest::forge::{ChainWriter, Forged, ForgedLog, Signer};

use crate::common::{repo, text, trailwatch};

fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| Signer::new(20261120))
}

const LOGIN: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEALICE0001","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","userName":"alice"},"eventTime":"2026-11-20T09:05:06Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.45","userAgent":"Mozilla/5.0","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"Yes"},"eventID":"d1a0b6e4-0001-4c1e-9d55-000000000001","eventType":"AwsConsoleSignIn","recipientAccountId":"123456789012"}"#;
const STOP: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEBOB000001","arn":"arn:aws:iam::123456789012:user/bob","accountId":"123456789012","userName":"bob"},"eventTime":"2026-11-20T11:12:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.200","userAgent":"aws-cli/2.15.0","requestParameters":{"name":"management-events"},"errorCode":"AccessDenied","eventID":"d1a0b6e4-0001-4c1e-9d55-000000000002","eventType":"AwsApiCall","recipientAccountId":"123456789012"}"#;

struct Sample {
    digests: Vec<Forged>,
    logs: Vec<ForgedLog>,
}

/// Three hourly digests of one trail (the middle hour with no log file),
/// the log files they list, the public key, and the newest digest's
/// signature next to it (its metadata, which a local copy loses).
fn write_sample(dir: &Path, keys: &Path, org: Option<&str>) -> Sample {
    let mut w = ChainWriter::new(signer(), "example-trail-bucket", "123456789012", "us-east-1", org);
    let a = w.log(datetime!(2026-11-20 09:10 UTC), "Sample0Log000001", LOGIN);
    let b = w.log(datetime!(2026-11-20 09:45 UTC), "Sample0Log000002", &format!("{LOGIN},{LOGIN}"));
    let c = w.log(datetime!(2026-11-20 11:15 UTC), "Sample0Log000003", STOP);
    let digests = vec![
        w.digest(datetime!(2026-11-20 09:00 UTC), &[&a, &b]),
        w.digest(datetime!(2026-11-20 10:00 UTC), &[]),
        w.digest(datetime!(2026-11-20 11:00 UTC), &[&c]),
    ];
    let logs = vec![a, b, c];
    let put = |key: &str, bytes: &[u8]| put(&dir.join(key), bytes);
    for log in &logs {
        put(&log.key, &log.gz);
    }
    for d in &digests {
        put(&d.key, &d.gz);
    }
    let newest = digests.last().unwrap();
    put(&format!("{}.signature", newest.key), format!("{}\n", newest.signature).as_bytes());
    std::fs::write(keys, signer().list_json()).unwrap();
    Sample { digests, logs }
}

/// Writes a file, with the directories above it.
fn put(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trailwatch-validate-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn validate(dir: &Path, extra: &[&str]) -> (Option<i32>, String) {
    validate_with(dir, &dir.join("public-keys.json"), extra)
}

fn validate_with(dir: &Path, keys: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let dir_arg = dir.display().to_string();
    let keys = keys.display().to_string();
    let mut args = vec!["validate", dir_arg.as_str(), "--public-keys", keys.as_str()];
    args.extend_from_slice(extra);
    let out = trailwatch(&args);
    (out.status.code(), format!("{}{}", text(&out.stdout), text(&out.stderr)))
}

#[test]
fn the_committed_sample_chain_is_what_the_forger_writes_and_validates() {
    let fresh = temp_dir("fresh");
    let fresh_keys = fresh.join("public-keys.json");
    write_sample(&fresh.join("chain"), &fresh_keys, None);
    let committed = repo().join("events/digest");
    if std::env::var_os("UPDATE_SAMPLES").is_some() {
        let _ = std::fs::remove_dir_all(committed.join("chain"));
        write_sample(&committed.join("chain"), &committed.join("public-keys.json"), None);
    }
    for entry in walk(&fresh) {
        let relative = entry.strip_prefix(&fresh).unwrap();
        let want = std::fs::read(&entry).unwrap();
        let have = std::fs::read(committed.join(relative))
            .unwrap_or_else(|_| panic!("{} missing (UPDATE_SAMPLES=1 rewrites the sample)", relative.display()));
        assert!(want == have, "{} differs from what the forger writes", relative.display());
    }
    let out = trailwatch(&["validate", "events/digest/chain", "--public-keys", "events/digest/public-keys.json"]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert_eq!(all.matches("digest  valid").count(), 3, "{all}");
    assert_eq!(all.matches("log     valid").count(), 3, "{all}");
    assert!(all.contains("3 digests: 3 valid, 0 failed, 0 not verified; 0 gaps; 3 log files: 3 valid"), "{all}");
    std::fs::remove_dir_all(&fresh).unwrap();
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn each_kind_of_tampering_is_reported_with_exit_status_4() {
    type Tamper = fn(&Path, &Sample);
    let cases: &[(&str, Tamper, &[&str])] = &[
        (
            "modified log",
            |dir, s| {
                // The record rewritten with another source address (plain JSON or gzip: the same hash).
                let edited = format!(r#"{{"Records":[{}]}}"#, LOGIN.replace("203.0.113.45", "198.51.100.1"));
                std::fs::write(dir.join(&s.logs[0].key), edited).unwrap();
            },
            &["log     modified"],
        ),
        ("deleted log", |dir, s| std::fs::remove_file(dir.join(&s.logs[2].key)).unwrap(), &["log     deleted"]),
        (
            "log added",
            |dir, s| {
                let extra = s.logs[1].key.replace("Sample0Log000002", "Injected00000001").replace("T0945Z", "T1030Z");
                std::fs::write(dir.join(extra), &s.logs[1].gz).unwrap();
            },
            &["log     not listed in any digest"],
        ),
        (
            "forged signature",
            |dir, s| {
                let newest = s.digests.last().unwrap();
                let forged = Signer::new(1).sign(&newest.file);
                std::fs::write(dir.join(format!("{}.signature", newest.key)), forged).unwrap();
            },
            &["digest  invalid signature"],
        ),
        (
            "edited digest",
            |dir, s| {
                let path = dir.join(&s.digests[0].key);
                let mut digest = s.digests[0].file.digest.clone();
                digest.log_files.pop();
                std::fs::write(path, serde_json::to_vec(&digest).unwrap()).unwrap();
            },
            &["digest  invalid signature", "digest  broken chain"],
        ),
        (
            "deleted digest",
            |dir, s| std::fs::remove_file(dir.join(&s.digests[1].key)).unwrap(),
            &["digest  missing", "gap     2026-11-20T10:00:00Z to 2026-11-20T11:00:00Z"],
        ),
    ];
    for (name, tamper, wants) in cases {
        let dir = temp_dir(&name.replace(' ', "-"));
        let sample = write_sample(&dir, &dir.join("public-keys.json"), None);
        tamper(&dir, &sample);
        let (code, out) = validate(&dir, &[]);
        assert_eq!(code, Some(4), "{name}: {out}");
        assert!(wants.iter().any(|w| out.contains(w)), "{name}: want one of {wants:?} in\n{out}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn organization_trails_json_output_and_missing_keys() {
    let dir = temp_dir("org");
    let sample = write_sample(&dir, &dir.join("public-keys.json"), Some("o-a1b2c3d4e5"));
    assert!(sample.digests[0].key.starts_with("AWSLogs/o-a1b2c3d4e5/123456789012/CloudTrail-Digest/"));
    let (code, out) = validate(&dir, &["--format", "json"]);
    assert_eq!(code, Some(0), "{out}");
    let json_end = out.rfind('}').unwrap();
    let doc: serde_json::Value = serde_json::from_str(&out[..=json_end]).unwrap();
    assert_eq!(doc["totals"]["digests_valid"], 3);
    assert_eq!(doc["totals"]["log_files_valid"], 3);
    assert_eq!(doc["log_files"][0]["status"], "valid");

    // No public keys: signatures are not checked, which is said, and is not a failure.
    let out = trailwatch(&["validate", &dir.display().to_string()]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert_eq!(all.matches("signature not checked").count(), 3, "{all}");

    // Without the newest digest's metadata, the newest is not verifiable; the rest still are.
    let newest = sample.digests.last().unwrap();
    std::fs::remove_file(dir.join(format!("{}.signature", newest.key))).unwrap();
    let (code, out) = validate(&dir, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("digest  not verifiable"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn since_and_until_select_digests_and_nothing_found_is_an_error() {
    let (code, out) = validate_with(
        &repo().join("events/digest/chain"),
        &repo().join("events/digest/public-keys.json"),
        &["--since", "2026-11-20T10:30:00Z"],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("2 digests:"), "{out}");
    let out = trailwatch(&["validate", "events/cloudtrail"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no CloudTrail digest files"), "{}", text(&out.stderr));
}

#[test]
fn the_summary_counts_the_log_files_the_local_digests_vouch_for() {
    let out = trailwatch(&["summary", "events/digest/chain", "--at", "2026-11-21T00:05:00Z"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("Log files delivered: 3   processed: 3"), "digests are not scanned as logs: {stdout}");
    assert!(stdout.contains("Verified by a digest: 3 of 3 log files"), "{stdout}");
}

#[test]
fn given_an_altered_log_and_its_original_kept_elsewhere_when_validating_then_the_copy_never_stands_for_it() {
    // WHEN the listed file is altered and the original is kept under the same
    // name in another place (before and after the real path in walk order,
    // another date, region, account, or a second trail root), THEN the
    // altered file is "modified", the original an "unexpected copy", exit 4.
    type Place = fn(&str) -> String;
    let decoys: &[(&str, Place)] = &[
        ("before in walk order", |key| format!("AAA/{}", file_name(key))),
        ("after in walk order", |key| format!("zzz/{}", file_name(key))),
        ("another date", |key| key.replace("/2026/11/20/", "/2026/11/19/")),
        ("another region", |key| key.replace("/us-east-1/", "/eu-west-1/")),
        ("another account", |key| key.replace("AWSLogs/123456789012/", "AWSLogs/999999999999/")),
        ("another trail root", |key| format!("old/{key}")),
    ];
    for (name, place) in decoys {
        let dir = temp_dir(&name.replace(' ', "-"));
        let sample = write_sample(&dir, &dir.join("public-keys.json"), None);
        let listed = &sample.logs[0];
        let decoy = dir.join(place(&listed.key));
        put(&decoy, &listed.gz);
        let edited = format!(r#"{{"Records":[{}]}}"#, LOGIN.replace("203.0.113.45", "198.51.100.1"));
        std::fs::write(dir.join(&listed.key), edited).unwrap();
        let (code, out) = validate(&dir, &[]);
        assert_eq!(code, Some(4), "{name}: {out}");
        assert!(
            out.contains(&format!("log     modified               {}", dir.join(&listed.key).display())),
            "{name}: {out}"
        );
        assert!(out.contains(&format!("log     unexpected copy        {}", decoy.display())), "{name}: {out}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn given_an_intact_tree_when_a_copy_is_added_or_the_listed_file_deleted_then_both_are_reported() {
    let dir = temp_dir("copy-added");
    let sample = write_sample(&dir, &dir.join("public-keys.json"), None);
    let listed = &sample.logs[2];
    let decoy = dir.join("backup").join(file_name(&listed.key));
    put(&decoy, &listed.gz);
    let (code, out) = validate(&dir, &[]);
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("log     unexpected copy"), "{out}");
    assert!(out.contains("4 log files: 3 valid, 1 failed"), "the listed files are intact: {out}");

    std::fs::remove_file(dir.join(&listed.key)).unwrap();
    let (code, out) = validate(&dir, &[]);
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("log     deleted"), "the copy does not stand for the deleted file: {out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn given_a_digest_copied_to_another_place_when_validating_then_it_is_moved() {
    let dir = temp_dir("digest-copy");
    let sample = write_sample(&dir, &dir.join("public-keys.json"), None);
    let digest = &sample.digests[0];
    let copy = dir.join("elsewhere").join(file_name(&digest.key));
    put(&copy, &digest.gz);
    std::fs::remove_file(dir.join(&digest.key)).unwrap();
    let (code, out) = validate(&dir, &[]);
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("digest  moved"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn file_name(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}
