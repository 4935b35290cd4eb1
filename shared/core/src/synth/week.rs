//! A seeded week of an ordinary AWS account, with attacks planted in it, to
//! measure noise and detection (`DETECTIONS.md`).
//!
//! The benign part is what quiet-inbox work has to survive: applications
//! reading their own few secrets and decrypting with KMS; data pipelines on
//! S3; AWS services acting for the account (`invokedBy`, service events) and
//! service-linked roles probing their own permissions (refused); a workload
//! missing one permission, refused all week; a daily CloudFormation
//! deployment (Lambda code, security groups with internal rules, IAM role
//! policies, routes, NACLs) and a Terraform role changing network plumbing;
//! the platform team's changes that look like attacks and are not
//! (`synth::lookalikes`);
//! a nightly security scanner listing and describing everything, some of it
//! refused; Identity Center users signing in (logged `MFAUsed: No`: MFA is
//! at the identity provider); IAM users signing in with MFA.
//!
//! The planted part is one attack per detection, by a stolen identity from an
//! outside address, each record's `eventID` starting with `planted-<rule>`.

use serde_json::json;

use super::builder::{role, user, Builder, ACCOUNT, CONSOLE};
use super::plants::PLANTS;

/// The CI account the platform team trusts (`trusted_accounts`): shares and
/// trust granted to it are not "outside".
pub const TRUSTED_ACCOUNT: &str = "210987654321";
/// The organization the account belongs to, trusted the same way.
pub const TRUSTED_ORG: &str = "o-a1b2c3d4e5";

/// One planted attack: the rule that must alert, the case (`rule#case`
/// for first-seen cases, else the rule), and the day of the week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planted {
    pub rule: &'static str,
    pub case: &'static str,
    pub day: u32,
}

/// The week's shape: `learning` days of benign activity only (what the
/// first-seen profiles learn from), then `days` days with the plants.
#[derive(Debug, Clone, Copy)]
pub struct Week {
    pub seed: u64,
    pub days: u32,
    pub learning: u32,
}

/// Every plant: one per alerting rule, then the first-seen cases.
fn plants() -> impl Iterator<Item = &'static super::plants::Plant> {
    PLANTS.iter().chain(super::novel::NOVEL)
}

/// A plant's rule and case, from its `rule#case` name.
fn rule_of(name: &'static str) -> &'static str {
    name.split('#').next().unwrap_or(name)
}

/// The event id of a plant's `n`th record: `planted-<rule>-<n>`, or
/// `planted-<rule>-<case>-<n>` for a first-seen case.
pub fn planted_id(name: &str, n: usize) -> String {
    format!("planted-{}-{n}", name.replace('#', "-"))
}

const APP_IP: &str = "10.0.1.23";
const SDK: &str = "aws-sdk-java/2.25.0 Linux/6.1 OpenJDK_64-Bit_Server_VM/21";

impl Week {
    /// The first day of the normal week: 2026-11-16 (the learning days before it).
    pub const START: time::Date = time::macros::date!(2026 - 11 - 16);

    /// Every log file, learning days first, in time order, as (file name,
    /// JSON text): one per 5 minutes.
    pub fn files(&self) -> impl Iterator<Item = (String, String)> + '_ {
        let mut rng = fastrand::Rng::with_seed(self.seed);
        let first = Week::START - time::Duration::days(i64::from(self.learning));
        (0..(self.days + self.learning) * 288).map(move |slot| {
            let (day, minute) = (slot / 288, (slot % 288) * 5);
            let date = first + time::Duration::days(i64::from(day));
            let (y, m, d) = (date.year(), u8::from(date.month()), date.day());
            let stamp = format!("{y}-{m:02}-{d:02}T{:02}:{:02}", minute / 60, minute % 60);
            let mut b = Builder::new(format!("{stamp}:00Z"), u64::from(slot) * 1000);
            self.benign(&mut b, &mut rng, day, minute);
            super::novel::habits(&mut b, day, self.learning, minute);
            if let Some(week_day) = day.checked_sub(self.learning) {
                self.plant(&mut b, week_day, minute);
            }
            let name = format!(
                "{ACCOUNT}_CloudTrail_us-east-1_{y}{m:02}{d:02}T{:02}{:02}Z_Week{slot:08}.json",
                minute / 60,
                minute % 60
            );
            (name, json!({"Records": b.into_records()}).to_string())
        })
    }

    fn benign(&self, b: &mut Builder, rng: &mut fastrand::Rng, day: u32, minute: u32) {
        // Applications: their own three secrets, KMS, S3, EC2 reads.
        let app = role("app-backend", "i-0a1b2c3d4e5f60718");
        for _ in 0..3 {
            let secret = ["prod/db", "prod/api-key", "prod/cache"][rng.usize(..3)];
            b.call(
                app.clone(),
                "secretsmanager.amazonaws.com",
                "GetSecretValue",
                json!({"secretId": secret}),
                APP_IP,
                SDK,
                None,
            );
            b.call(
                app.clone(),
                "kms.amazonaws.com",
                "Decrypt",
                json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
                APP_IP,
                SDK,
                None,
            );
        }
        let pipeline = role("data-pipeline", "glue-job-17");
        for _ in 0..8 {
            let key = format!("raw/2026/11/{}/part-{}.parquet", 16 + day, rng.u16(..5000));
            b.call(
                pipeline.clone(),
                "s3.amazonaws.com",
                "GetObject",
                json!({"bucketName": "acme-data", "key": key}),
                "10.0.3.7",
                SDK,
                None,
            );
        }
        // AWS services for the account, and service-linked roles probing their permissions.
        let kms_for_s3 = json!({"type": "AWSService", "invokedBy": "s3.amazonaws.com"});
        b.call(
            kms_for_s3,
            "kms.amazonaws.com",
            "GenerateDataKey",
            json!({"keySpec": "AES_256"}),
            "s3.amazonaws.com",
            "s3.amazonaws.com",
            None,
        );
        let config = role("AWSServiceRoleForConfig", "AWSConfig-Describe");
        b.call(
            config.clone(),
            "ec2.amazonaws.com",
            "DescribeSecurityGroups",
            json!({}),
            "config.amazonaws.com",
            "config.amazonaws.com",
            None,
        );
        if minute % 30 == 0 {
            b.call(
                config,
                "iam.amazonaws.com",
                "GetAccountAuthorizationDetails",
                json!({}),
                "config.amazonaws.com",
                "config.amazonaws.com",
                Some("AccessDenied"),
            );
        }
        // A workload missing one permission, all week long.
        let monitor = role("monitoring", "collector");
        b.call(
            monitor,
            "cloudwatch.amazonaws.com",
            "PutMetricData",
            json!({"namespace": "App"}),
            "10.0.2.9",
            SDK,
            Some("AccessDenied"),
        );
        // People: Identity Center sign-ins at 09:00, IAM users with MFA at 08:30.
        if minute == 540 {
            for who in ["carol@example.com", "frank@example.com"] {
                let sso = role("AWSReservedSSO_AdministratorAccess_5d7e8f9a0b1c2d3e", who);
                let login = b.call(
                    sso.clone(),
                    "signin.amazonaws.com",
                    "ConsoleLogin",
                    json!(null),
                    "192.0.2.10",
                    CONSOLE,
                    None,
                );
                login["responseElements"] = json!({"ConsoleLogin": "Success"});
                login["additionalEventData"] = json!({"MFAUsed": "No", "MobileVersion": "No"});
                login["eventType"] = json!("AwsConsoleSignIn");
                b.call(sso.clone(), "ec2.amazonaws.com", "DescribeInstances", json!({}), "192.0.2.10", CONSOLE, None);
                b.call(
                    sso,
                    "secretsmanager.amazonaws.com",
                    "GetSecretValue",
                    json!({"secretId": "prod/api-key"}),
                    "192.0.2.10",
                    CONSOLE,
                    None,
                );
            }
        }
        if minute == 510 {
            let login =
                b.call(user("alice"), "signin.amazonaws.com", "ConsoleLogin", json!(null), "192.0.2.11", CONSOLE, None);
            login["responseElements"] = json!({"ConsoleLogin": "Success"});
            login["additionalEventData"] = json!({"MFAUsed": "Yes"});
            login["eventType"] = json!("AwsConsoleSignIn");
        }
        super::lookalikes::platform_changes(b, day, minute);
        // The daily CloudFormation deployment at 14:00.
        if minute == 840 {
            let mut deploy = role("cfn-exec", "AWSCloudFormation");
            deploy["invokedBy"] = json!("cloudformation.amazonaws.com");
            let cfn = "cloudformation.amazonaws.com";
            b.call(
                deploy.clone(),
                "lambda.amazonaws.com",
                "UpdateFunctionCode20150331v2",
                json!({"functionName": "orders"}),
                cfn,
                cfn,
                None,
            );
            b.call(
                deploy.clone(),
                "ec2.amazonaws.com",
                "CreateSecurityGroup",
                json!({"groupName": format!("orders-{day}")}),
                cfn,
                cfn,
                None,
            );
            let internal = json!({"ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                "ipRanges": {"items": [{"cidrIp": "10.0.0.0/16"}]}}]}});
            b.call(deploy.clone(), "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", internal, cfn, cfn, None);
            b.call(
                deploy.clone(),
                "iam.amazonaws.com",
                "PutRolePolicy",
                json!({"roleName": "orders", "policyName": "read-queue"}),
                cfn,
                cfn,
                None,
            );
            b.call(
                deploy,
                "iam.amazonaws.com",
                "AttachRolePolicy",
                json!({"roleName": "orders", "policyArn": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"}),
                cfn,
                cfn,
                None,
            );
        }
        // Terraform changing network plumbing from the CI runner, twice a day.
        if minute == 600 || minute == 960 {
            let tf = role("terraform", &format!("run-{day}-{minute}"));
            let agent = "APN/1.0 HashiCorp/1.0 Terraform/1.9.8";
            for name in ["CreateRouteTable", "CreateRoute", "CreateNetworkAclEntry", "ModifyVpcAttribute"] {
                b.call(
                    tf.clone(),
                    "ec2.amazonaws.com",
                    name,
                    json!({"vpcId": "vpc-0a1b2c3d"}),
                    "198.51.100.40",
                    agent,
                    None,
                );
            }
            b.call(
                tf,
                "s3.amazonaws.com",
                "PutBucketPolicy",
                json!({"bucketName": "acme-logs", "bucketPolicy": {"Statement": [
                {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject"}]}}),
                "198.51.100.40",
                agent,
                None,
            );
        }
        // The nightly security scanner at 02:00: everything listed, some of it refused.
        if minute == 120 {
            let scanner = role("SecurityAudit", &format!("scan-{day}"));
            let agent = "aws-sdk-go-v2/1.30 os/linux scanner/3.0";
            for (source, name) in [
                ("iam.amazonaws.com", "ListUsers"),
                ("iam.amazonaws.com", "ListRoles"),
                ("iam.amazonaws.com", "GetAccountPasswordPolicy"),
                ("ec2.amazonaws.com", "DescribeInstances"),
                ("ec2.amazonaws.com", "DescribeSecurityGroups"),
                ("ec2.amazonaws.com", "DescribeVpcs"),
                ("s3.amazonaws.com", "ListBuckets"),
                ("s3.amazonaws.com", "GetBucketPolicy"),
                ("kms.amazonaws.com", "ListKeys"),
                ("cloudtrail.amazonaws.com", "DescribeTrails"),
                ("guardduty.amazonaws.com", "ListDetectors"),
            ] {
                b.call(scanner.clone(), source, name, json!({}), "10.0.9.9", agent, None);
            }
            for name in
                ["GetBucketEncryption", "GetKeyPolicy", "GetFunctionUrlConfig", "DescribeDBSnapshots", "GetSecretValue"]
            {
                b.call(
                    scanner.clone(),
                    "multiple.amazonaws.com",
                    name,
                    json!({}),
                    "10.0.9.9",
                    agent,
                    Some("AccessDenied"),
                );
            }
        }
    }

    /// The planted attacks, in the order they happen (days of the normal week).
    pub fn planted(&self) -> Vec<Planted> {
        plants()
            .enumerate()
            .filter(|(i, _)| (*i as u32 / 8) < self.days)
            .map(|(i, (name, _))| Planted { rule: rule_of(name), case: name, day: i as u32 / 8 })
            .collect()
    }

    fn plant(&self, b: &mut Builder, day: u32, minute: u32) {
        // Eight attacks a day, at 01:10, 04:10, ... from the start of the week.
        if minute % 180 != 70 {
            return;
        }
        let index = (day * 8 + minute / 180) as usize;
        let Some((name, make)) = plants().nth(index) else { return };
        let start = b.records.len();
        make(b);
        for (n, r) in b.records[start..].iter_mut().enumerate() {
            r["eventID"] = json!(planted_id(name, n));
        }
    }
}
