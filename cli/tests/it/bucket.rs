//! `trailwatch query|scan|summary s3://…` against a real S3 emulator (moto
//! server): an organization trail's bucket of 2,400 log files (3 accounts ×
//! 2 regions × 4 days × 100 files), a truncated object, digests and another
//! service's files beside the logs, and an account-day whose objects the
//! reading principal may not get (an IAM deny: moto enforces identity
//! policies, not bucket policies).

use std::io::Write;
use std::process::{Command, Output};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use flate2::write::GzEncoder;
use trailwatch_aws::testing::Moto;

use crate::common::text;

const BUCKET: &str = "org-trail";
const ORG: &str = "o-a1b2c3d4e5";
const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];
const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];
const DAYS: [u8; 4] = [19, 20, 21, 22];
const FILES_PER_DAY: u32 = 100;
/// The file whose object is cut short.
const TRUNCATED: (&str, &str, u8, u32) = ("222222222222", "us-east-1", 20, 7);
/// The account-day the reader is denied GetObject on.
const DENIED: (&str, &str, u8) = ("333333333333", "eu-west-1", 21);

fn key(account: &str, region: &str, day: u8, n: u32) -> String {
    let (hour, minute) = (n * 5 / 60, n * 5 % 60);
    format!(
        "AWSLogs/{ORG}/{account}/CloudTrail/{region}/2026/11/{day:02}/{account}_CloudTrail_{region}_202611{day:02}T{hour:02}{minute:02}Z_F{n:04}.json.gz"
    )
}

/// Two records per file: a read, and every tenth file a console sign-in by alice.
fn log_file(account: &str, region: &str, day: u8, n: u32) -> Vec<u8> {
    let (hour, minute) = (n * 5 / 60, n * 5 % 60);
    let time = format!("2026-11-{day:02}T{hour:02}:{minute:02}:00Z");
    let record = |name: &str, source: &str, user: &str| {
        format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::{account}:user/{user}","accountId":"{account}","userName":"{user}"}},"eventTime":"{time}","eventSource":"{source}","eventName":"{name}","awsRegion":"{region}","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.0","requestParameters":null,"responseElements":null,"eventID":"{account}-{region}-{day}-{n}-{name}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{account}","eventCategory":"Management"}}"#
        )
    };
    let mut records = vec![record("DescribeInstances", "ec2.amazonaws.com", "deploy")];
    if n % 10 == 0 {
        records.push(record("ConsoleLogin", "signin.amazonaws.com", "alice"));
    }
    let json = format!(r#"{{"Records":[{}]}}"#, records.join(","));
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(json.as_bytes()).unwrap();
    gz.finish().unwrap()
}

async fn fill(moto: &Moto) {
    let s3 = moto.s3();
    // In another region than the reader's: the command finds it.
    s3.create_bucket()
        .bucket(BUCKET)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::EuWest1).build(),
        )
        .send()
        .await
        .unwrap();
    let mut objects = Vec::new();
    for account in ACCOUNTS {
        for region in REGIONS {
            for day in DAYS {
                for n in 0..FILES_PER_DAY {
                    let mut body = log_file(account, region, day, n);
                    if (account, region, day, n) == TRUNCATED {
                        body.truncate(body.len() / 2);
                    }
                    objects.push((key(account, region, day, n), body));
                }
            }
            let digest = format!("AWSLogs/{ORG}/{account}/CloudTrail-Digest/{region}/2026/11/20/{account}_CloudTrail-Digest_{region}_org_{region}_20261120T010000Z.json.gz");
            objects.push((digest, b"not read".to_vec()));
        }
        objects.push((format!("AWSLogs/{ORG}/{account}/Config/ConfigWritabilityCheckFile"), Vec::new()));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in objects.chunks(objects.len() / 16 + 1) {
        let (s3, chunk) = (s3.clone(), chunk.to_vec());
        tasks.spawn(async move {
            for (key, body) in chunk {
                s3.put_object().bucket(BUCKET).key(key).body(ByteStream::from(body)).send().await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

/// An IAM query-API call to the emulator (unsigned checks are off until auth is on).
pub(super) async fn iam(endpoint: &str, form: &[(&str, &str)]) -> String {
    let response = reqwest::Client::new()
        .post(endpoint)
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20261206/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x",
        )
        .form(&[form, &[("Version", "2010-05-08")]].concat())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{form:?}");
    response.text().await.unwrap()
}

pub(super) fn between<'a>(text: &'a str, tag: &str) -> &'a str {
    let start = text.find(&format!("<{tag}>")).unwrap() + tag.len() + 2;
    let end = text.find(&format!("</{tag}>")).unwrap();
    &text[start..end]
}

/// A principal allowed everything in S3 but GetObject on the denied account-day.
async fn reader_keys(endpoint: &str) -> (String, String) {
    let (account, region, day) = DENIED;
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:*","Resource":"*"}},{{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::{BUCKET}/AWSLogs/{ORG}/{account}/CloudTrail/{region}/2026/11/{day}/*"}}]}}"#
    );
    iam(endpoint, &[("Action", "CreateUser"), ("UserName", "reader")]).await;
    iam(
        endpoint,
        &[("Action", "PutUserPolicy"), ("UserName", "reader"), ("PolicyName", "read"), ("PolicyDocument", &policy)],
    )
    .await;
    let created = iam(endpoint, &[("Action", "CreateAccessKey"), ("UserName", "reader")]).await;
    (between(&created, "AccessKeyId").to_string(), between(&created, "SecretAccessKey").to_string())
}

pub(super) fn run(endpoint: &str, keys: (&str, &str), args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", keys.0)
        .env("AWS_SECRET_ACCESS_KEY", keys.1)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap()
}

fn rows(out: &Output) -> Vec<String> {
    text(&out.stdout).lines().skip(1).map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn queries_an_organization_bucket_listing_only_what_can_match() {
    let moto = Moto::start().await;
    fill(&moto).await;
    let testing = ("testing", "testing");
    let uri = format!("s3://{BUCKET}/");

    // GIVEN one account, one region and one day WHEN queried THEN only that
    // account-region's 20th and 21st (late delivery) are listed, and the
    // closing line says what was skipped.
    let args = [
        "query",
        &uri,
        "--account",
        "111111111111",
        "--region",
        "eu-west-1",
        "--since",
        "2026-11-20",
        "--until",
        "2026-11-21",
        "--event",
        "ConsoleLogin",
        "--format",
        "csv",
        "--columns",
        "time,account,region,user",
    ];
    let out = run(&moto.endpoint, testing, &args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let found = rows(&out);
    assert_eq!(found.len(), 10, "{found:?}");
    assert!(found.iter().all(|r| r.contains("111111111111,eu-west-1,alice")), "{found:?}");
    // 100 files of the 20th; of the 21st, the 12 delivered before 01:00.
    assert_eq!(
        stderr,
        "Read 112 of 112 files in 1 account × 1 region × 2 days (s3://org-trail/: folders skipped 2 by account, \
             1 by region, 2 by the time range, 2 holding no log files; 88 files skipped by name; 10 list requests), \
             124 records: 10 matches, 0 problems.\n"
    );

    // GIVEN the whole bucket WHEN scanned THEN every file but the truncated
    // one is read completely, and the truncated one is named.
    let out = run(&moto.endpoint, testing, &["scan", &uri, "--format", "jsonl"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let (account, region, day, n) = TRUNCATED;
    assert!(stderr.contains(&format!("s3://{BUCKET}/{}", key(account, region, day, n))), "{stderr}");
    assert!(stderr.contains("Scanned 2400 files in 3 accounts × 2 regions × 4 days"), "{stderr}");

    // GIVEN the daily summary of the 20th WHEN run on the bucket THEN only
    // the 20th is listed and read, and the report counts its events.
    let out = run(&moto.endpoint, testing, &["summary", &uri, "--at", "2026-11-21T00:05:00Z", "--format", "json"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("Read 600 of 600 files in 3 accounts × 2 regions × 1 day"), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["coverage"]["processed"], 600, "{summary}");
    assert_eq!(summary["stats"]["records"], 659, "{summary}");

    // GIVEN a reader denied one account-day WHEN it queries everything THEN
    // each denied key is named, the rest is read, and the status says so.
    let (id, secret) = reader_keys(&moto.endpoint).await;
    let enforced = reqwest::Client::new().post(format!("{}/moto-api/reset-auth", moto.endpoint)).body("0").send().await;
    assert!(enforced.unwrap().status().is_success());
    let out = run(&moto.endpoint, (&id, &secret), &["query", &uri, "--event", "ConsoleLogin", "--format", "csv"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let (account, region, day) = DENIED;
    let denied = key(account, region, day, 0);
    assert!(
        stderr.contains(&format!("error: s3://{BUCKET}/{denied}: read failed: GetObject: AccessDenied")),
        "{stderr}"
    );
    assert_eq!(stderr.matches("AccessDenied").count(), FILES_PER_DAY as usize, "{stderr}");
    // 240 sign-ins in all: 10 denied, and the truncated file (n = 7) held none.
    assert_eq!(rows(&out).len(), 230);
    assert!(stderr.contains("Read 2400 of 2400 files in 3 accounts × 2 regions × 4 days"), "{stderr}");
    // 2,640 records less the denied day's 110 and the truncated file's one;
    // problems: 100 denied objects and the truncated one.
    assert!(stderr.contains("; 51 list requests), 2529 records: 230 matches, 101 problems.\n"), "{stderr}");
}

/// The sample logs under a single-account trail's layout.
async fn samples_bucket(moto: &Moto, bucket: &str) {
    let s3 = moto.s3();
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    for entry in std::fs::read_dir(crate::common::repo().join("events/cloudtrail")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let region = name.split('_').nth(2).unwrap();
        let key = format!("AWSLogs/123456789012/CloudTrail/{region}/2026/11/20/{name}");
        let body = ByteStream::from(std::fs::read(&path).unwrap());
        s3.put_object().bucket(bucket).key(key).body(body).send().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_questions_get_the_same_answers_from_the_bucket() {
    let moto = Moto::start().await;
    samples_bucket(&moto, "trail-logs").await;
    let readme = std::fs::read_to_string(crate::common::repo().join("README.md")).unwrap();
    let examples: Vec<&str> = readme.lines().filter(|l| l.starts_with("trailwatch query events/")).collect();
    assert!(examples.len() >= 5, "{examples:?}");
    for example in examples {
        let command = example.split(" | ").next().unwrap().split(" > ").next().unwrap();
        let words = crate::readme::shell_words(command.strip_prefix("trailwatch ").unwrap());
        let local: Vec<&str> = words.iter().map(String::as_str).chain(["--quiet"]).collect();
        let remote: Vec<&str> =
            local.iter().map(|w| if *w == "events/cloudtrail" { "s3://trail-logs/" } else { w }).collect();
        let (want, got) = (crate::common::trailwatch(&local), run(&moto.endpoint, ("testing", "testing"), &remote));
        assert_eq!(got.status.code(), Some(0), "{example}\n{}", text(&got.stderr));
        assert!(!want.stdout.is_empty(), "{example}");
        assert_eq!(text(&got.stdout), text(&want.stdout), "{example}");
    }
    // A bucket that is not there: nothing can be done, and the error says where.
    let out = run(&moto.endpoint, ("testing", "testing"), &["query", "s3://no-such-bucket/", "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("ListObjectsV2 s3://no-such-bucket/: NoSuchBucket"), "{}", text(&out.stderr));

    // The first question's closing line shows what the listing left out.
    let out = run(
        &moto.endpoint,
        ("testing", "testing"),
        &["query", "s3://trail-logs/", "--since", "2026-11-21", "--event", "ConsoleLogin"],
    );
    assert_eq!(
        text(&out.stderr),
        "Read 0 of 0 files in 1 account × 2 regions × 0 days (s3://trail-logs/: folders skipped 2 by the time range; \
         10 list requests), 0 records: 0 matches, 0 problems.\n"
    );
}
