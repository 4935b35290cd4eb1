//! `trailwatch validate s3://…` against a real S3 emulator (moto server):
//! the signed sample chain in events/digest uploaded to the bucket its
//! digests name, the newest digest's signature as the object's metadata (as
//! CloudTrail writes it), checked against the same chain read locally; then
//! a denied, a modified and a deleted log object.

use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;
use trailwatch_aws::testing::Moto;

use super::bucket::{between, iam, run};
use crate::common::{repo, text, trailwatch};

/// The bucket the sample digests were written to (their `digestS3Bucket`).
const BUCKET: &str = "example-trail-bucket";
const LOGS: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20";

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Every file of the sample chain as an object at its key below the chain
/// directory; a `.signature` sidecar becomes its digest's metadata.
async fn upload_chain(moto: &Moto) {
    let s3 = moto.s3();
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let chain = repo().join("events/digest/chain");
    let mut all = Vec::new();
    files(&chain, &mut all);
    for path in all.iter().filter(|p| p.extension().is_some_and(|e| e != "signature")) {
        let key = path.strip_prefix(&chain).unwrap().to_str().unwrap().to_string();
        let mut put = s3.put_object().bucket(BUCKET).key(key).body(ByteStream::from(std::fs::read(path).unwrap()));
        let mut sidecar = path.as_os_str().to_owned();
        sidecar.push(".signature");
        if let Ok(signature) = std::fs::read_to_string(&sidecar) {
            put = put.metadata("signature", signature.trim()).metadata("signature-algorithm", "SHA256withRSA");
        }
        put.send().await.unwrap();
    }
}

fn log_key(n: u32) -> String {
    let time = ["0910", "0945", "1115"][n as usize - 1];
    format!("{LOGS}/123456789012_CloudTrail_us-east-1_20261120T{time}Z_Sample0Log00000{n}.json.gz")
}

/// (digest file name, its problems), (log file name, its status), the totals.
type Verdicts = (Vec<(String, String)>, Vec<(String, Value)>, Value);

/// The verdicts of a JSON run, with where each thing was found left out
/// (a path locally, an `s3://` URI from the bucket).
fn verdicts(stdout: &[u8]) -> Verdicts {
    let doc: Value = serde_json::from_slice(stdout).unwrap();
    let name = |v: &Value| v.as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let digests =
        doc["digests"].as_array().unwrap().iter().map(|d| (name(&d["location"]), d["problems"].to_string())).collect();
    let logs = doc["log_files"].as_array().unwrap().iter().map(|l| (name(&l["file"]), l["status"].clone())).collect();
    (digests, logs, doc["totals"].clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn validates_the_sample_chain_in_its_bucket_as_it_does_a_local_copy() {
    let moto = Moto::start().await;
    upload_chain(&moto).await;
    let testing = ("testing", "testing");
    let keys = repo().join("events/digest/public-keys.json").display().to_string();
    let uri = format!("s3://{BUCKET}/");

    // GIVEN the chain in its bucket and in a local copy WHEN validated, whole
    // and for a time range, THEN the verdicts are the same.
    for range in [&[][..], &["--since", "2026-11-20T10:30:00Z", "--until", "2026-11-20T11:30:00Z"][..]] {
        let local_args =
            [&["validate", "events/digest/chain", "--public-keys", &keys, "--format", "json"], range].concat();
        let local = trailwatch(&local_args);
        let remote_args = [&["validate", &uri, "--public-keys", &keys, "--format", "json"], range].concat();
        let remote = run(&moto.endpoint, testing, &remote_args);
        assert_eq!(local.status.code(), Some(0), "{}", text(&local.stderr));
        assert_eq!(remote.status.code(), Some(0), "{}", text(&remote.stderr));
        assert_eq!(verdicts(&remote.stdout), verdicts(&local.stdout), "{range:?}");
    }
    let out = run(&moto.endpoint, testing, &["validate", &uri, "--public-keys", &keys]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(all.matches("digest  valid").count(), 3, "{all}");
    assert!(all.contains(&format!("log     valid                  s3://{BUCKET}/{}", log_key(1))), "{all}");
    assert!(all.contains("3 digests: 3 valid, 0 failed, 0 not verified; 0 gaps; 3 log files: 3 valid"), "{all}");

    // GIVEN one log object rewritten and another deleted WHEN validated THEN
    // each is named, modified and deleted, and the status is 4 (tampered).
    let s3 = moto.s3();
    let other = std::fs::read(repo().join("events/digest/chain").join(log_key(3))).unwrap();
    s3.put_object().bucket(BUCKET).key(log_key(1)).body(ByteStream::from(other)).send().await.unwrap();
    s3.delete_object().bucket(BUCKET).key(log_key(2)).send().await.unwrap();
    let out = run(&moto.endpoint, testing, &["validate", &uri, "--public-keys", &keys, "--quiet"]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(4), "{all}");
    assert!(all.contains(&format!("log     modified               s3://{BUCKET}/{}\n", log_key(1))), "{all}");
    assert!(all.contains(&format!("log     deleted                s3://{BUCKET}/{}\n", log_key(2))), "{all}");
    assert!(all.contains("3 log files: 1 valid, 2 failed, 0 unreadable."), "{all}");

    // GIVEN a reader denied the third log object WHEN it validates THEN that
    // object is named unreadable (not deleted) and the rest is checked.
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:*","Resource":"*"}},{{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::{BUCKET}/{}"}}]}}"#,
        log_key(3)
    );
    iam(&moto.endpoint, &[("Action", "CreateUser"), ("UserName", "auditor")]).await;
    let form =
        [("Action", "PutUserPolicy"), ("UserName", "auditor"), ("PolicyName", "read"), ("PolicyDocument", &policy)];
    iam(&moto.endpoint, &form).await;
    let created = iam(&moto.endpoint, &[("Action", "CreateAccessKey"), ("UserName", "auditor")]).await;
    let auditor = (between(&created, "AccessKeyId").to_string(), between(&created, "SecretAccessKey").to_string());
    let enforced = reqwest::Client::new().post(format!("{}/moto-api/reset-auth", moto.endpoint)).body("0").send().await;
    assert!(enforced.unwrap().status().is_success());
    let out = run(&moto.endpoint, (&auditor.0, &auditor.1), &["validate", &uri, "--public-keys", &keys]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(4), "{all}");
    assert!(
        all.contains(&format!("log     unreadable             s3://{BUCKET}/{}  (GetObject: ", log_key(3))),
        "{all}"
    );
    assert!(all.contains("3 log files: 0 valid, 2 failed, 1 unreadable."), "{all}");
}
