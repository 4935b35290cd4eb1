//! A seeded generator of realistic CloudTrail log files, for benchmarks,
//! load tests and differential tests. The same seed gives the same file.
//!
//! The mix follows what busy accounts record: mostly read-only calls by
//! assumed roles, S3 data events, AWS service events without
//! `userIdentity.type`, about 3 % AccessDenied / UnauthorizedOperation
//! errors, console sign-ins, and a few root and IAM events. Event names are
//! drawn so that every CIS monitoring pattern has matches and near misses.
//! Records average about 1.5 KB.

mod builder;
mod lookalikes;
mod novel;
mod plants;
pub mod week;

use std::io::{self, Write};

use serde_json::{json, Value};

const ACCOUNTS: [&str; 3] = ["111122223333", "444455556666", "777788889999"];
const REGIONS: [&str; 5] = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"];
const ROLES: [&str; 6] = [
    "deploy",
    "app-backend",
    "data-pipeline",
    "monitoring",
    "OrganizationAccountAccessRole",
    "AWSReservedSSO_Admin_9f8e7d6c",
];
const USERS: [&str; 4] = ["alice", "bob", "svc-legacy", "carol"];
const READS: [(&str, &str); 10] = [
    ("ec2.amazonaws.com", "DescribeInstances"),
    ("ec2.amazonaws.com", "DescribeSecurityGroups"),
    ("iam.amazonaws.com", "GetRole"),
    ("iam.amazonaws.com", "ListAttachedRolePolicies"),
    ("sts.amazonaws.com", "GetCallerIdentity"),
    ("kms.amazonaws.com", "Decrypt"),
    ("lambda.amazonaws.com", "ListFunctions20150331"),
    ("cloudtrail.amazonaws.com", "DescribeTrails"),
    ("config.amazonaws.com", "DescribeConfigurationRecorders"),
    ("s3.amazonaws.com", "GetBucketPolicy"),
];
/// Write calls, including every event name of the CIS patterns.
const WRITES: [(&str, &str); 40] = [
    ("iam.amazonaws.com", "PutRolePolicy"),
    ("iam.amazonaws.com", "AttachRolePolicy"),
    ("iam.amazonaws.com", "DetachUserPolicy"),
    ("iam.amazonaws.com", "CreatePolicyVersion"),
    ("iam.amazonaws.com", "CreateUser"),
    ("iam.amazonaws.com", "CreateAccessKey"),
    ("iam.amazonaws.com", "DeactivateMFADevice"),
    ("organizations.amazonaws.com", "CreatePolicy"),
    ("organizations.amazonaws.com", "AttachPolicy"),
    ("organizations.amazonaws.com", "MoveAccount"),
    ("cloudtrail.amazonaws.com", "UpdateTrail"),
    ("cloudtrail.amazonaws.com", "StopLogging"),
    ("cloudtrail.amazonaws.com", "PutEventSelectors"),
    ("kms.amazonaws.com", "DisableKey"),
    ("kms.amazonaws.com", "ScheduleKeyDeletion"),
    ("kms.amazonaws.com", "EnableKey"),
    ("other.amazonaws.com", "DisableKey"),
    ("s3.amazonaws.com", "PutBucketPolicy"),
    ("s3.amazonaws.com", "PutBucketAcl"),
    ("s3.amazonaws.com", "DeleteBucketCors"),
    ("s3.amazonaws.com", "PutBucketPublicAccessBlock"),
    ("config.amazonaws.com", "StopConfigurationRecorder"),
    ("config.amazonaws.com", "PutDeliveryChannel"),
    ("config.amazonaws.com", "StartConfigurationRecorder"),
    ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress"),
    ("ec2.amazonaws.com", "RevokeSecurityGroupEgress"),
    ("ec2.amazonaws.com", "CreateSecurityGroup"),
    ("ec2.amazonaws.com", "ModifySecurityGroupRules"),
    ("ec2.amazonaws.com", "CreateNetworkAclEntry"),
    ("ec2.amazonaws.com", "ReplaceNetworkAclAssociation"),
    ("ec2.amazonaws.com", "AttachInternetGateway"),
    ("ec2.amazonaws.com", "CreateCustomerGateway"),
    ("ec2.amazonaws.com", "CreateNatGateway"),
    ("ec2.amazonaws.com", "CreateRoute"),
    ("ec2.amazonaws.com", "DisassociateRouteTable"),
    ("ec2.amazonaws.com", "AssociateRouteTable"),
    ("ec2.amazonaws.com", "CreateVpc"),
    ("ec2.amazonaws.com", "ModifyVpcAttribute"),
    ("ec2.amazonaws.com", "EnableVpcClassicLink"),
    ("ec2.amazonaws.com", "RunInstances"),
];

/// Generates records with a seeded random source.
pub struct Generator {
    rng: fastrand::Rng,
    serial: u64,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator { rng: fastrand::Rng::with_seed(seed), serial: 0 }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.usize(..items.len())]
    }

    fn ip(&mut self) -> String {
        // A small pool, as in real accounts, plus the odd stranger.
        if self.rng.u8(..100) < 95 {
            format!("10.{}.{}.{}", self.rng.u8(0..4), self.rng.u8(0..8), self.rng.u8(1..30))
        } else {
            // ...from a few hundred outside addresses.
            let n = self.rng.u16(..300);
            format!("{}.{}.{}.{}", 1 + n % 223, (n * 7) % 256, (n * 13) % 256, 1 + n % 254)
        }
    }

    fn role_identity(&mut self, account: &str) -> Value {
        let role = *self.pick(&ROLES);
        let session = format!("session-{}", self.rng.u16(..20));
        json!({
            "type": "AssumedRole",
            "principalId": format!("AROAEXAMPLEID{}:{session}", self.rng.u16(..1000)),
            "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
            "accountId": account,
            "accessKeyId": format!("ASIAEXAMPLE{:09}", self.rng.u32(..1_000_000_000)),
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEID",
                    "arn": format!("arn:aws:iam::{account}:role/{role}"),
                    "accountId": account,
                    "userName": role
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "2026-11-20T08:00:00Z", "mfaAuthenticated": "false"}
            }
        })
    }

    fn user_identity(&mut self, account: &str) -> Value {
        let user = *self.pick(&USERS);
        let mut id = json!({
            "type": "IAMUser",
            "principalId": format!("AIDAEXAMPLE{user}"),
            "arn": format!("arn:aws:iam::{account}:user/{user}"),
            "accountId": account,
            "accessKeyId": "AKIAEXAMPLEKEY",
            "userName": user
        });
        if self.rng.u8(..10) == 0 {
            id["invokedBy"] = json!("cloudformation.amazonaws.com");
        }
        id
    }

    fn root_identity(&mut self, account: &str) -> Value {
        let mut id = json!({"type": "Root", "principalId": account, "arn": format!("arn:aws:iam::{account}:root"), "accountId": account});
        if self.rng.bool() {
            id["invokedBy"] = json!("support.amazonaws.com");
        }
        id
    }

    /// One record as JSON.
    pub fn record(&mut self) -> Value {
        self.serial += 1;
        let account = *self.pick(&ACCOUNTS);
        let region = *self.pick(&REGIONS);
        let roll = self.rng.u16(..1000);
        let (mut source, mut name) = *self.pick(&READS);
        let mut read_only = true;
        let mut event_type = "AwsApiCall";
        let mut identity = self.role_identity(account);
        let mut extra: Vec<(&str, Value)> = Vec::new();
        let mut request = json!({"filterSet": {"items": [{"name": "tag:team", "valueSet": {"items": [{"value": "platform"}]}}]}, "maxResults": 1000});
        match roll {
            // S3 data events.
            0..=149 => {
                source = "s3.amazonaws.com";
                name = if self.rng.bool() { "GetObject" } else { "PutObject" };
                read_only = name == "GetObject";
                let key = format!("data/{}/part-{:05}.parquet", self.rng.u16(..100), self.rng.u32(..100_000));
                request =
                    json!({"bucketName": "analytics-lake", "Host": "analytics-lake.s3.amazonaws.com", "key": key});
                let signature = if self.rng.u16(..200) == 0 { "SigV2" } else { "SigV4" };
                extra.push(("additionalEventData", json!({"SignatureVersion": signature, "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "EXAMPLEid2", "bytesTransferredOut": self.rng.u32(..10_000_000)})));
                extra.push(("resources", json!([{"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::analytics-lake/{key}")}, {"accountId": account, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::analytics-lake"}])));
                extra.push(("managementEvent", json!(false)));
                extra.push(("eventCategory", json!("Data")));
                if self.rng.u16(..300) == 0 {
                    identity = json!({"type": "AWSAccount", "principalId": "", "accountId": "ANONYMOUS_PRINCIPAL"});
                }
            }
            // Service events: no userIdentity.type, only invokedBy.
            150..=229 => {
                event_type = "AwsServiceEvent";
                source = "kms.amazonaws.com";
                name = "RotateKey";
                identity = json!({"accountId": account, "invokedBy": "kms.amazonaws.com"});
                extra.push((
                    "serviceEventDetails",
                    json!({"keyId": format!("{:08x}-0000-4000-8000-000000000000", self.rng.u32(..))}),
                ));
            }
            // Services acting through AssumeRole.
            230..=329 => {
                source = "sts.amazonaws.com";
                name = "AssumeRole";
                identity = json!({"type": "AWSService", "invokedBy": "lambda.amazonaws.com"});
                request = json!({"roleArn": format!("arn:aws:iam::{account}:role/app-backend"), "roleSessionName": format!("lambda-{}", self.rng.u32(..))});
            }
            // Console sign-ins.
            330..=349 => {
                source = "signin.amazonaws.com";
                name = "ConsoleLogin";
                read_only = false;
                event_type = "AwsConsoleSignIn";
                identity = match self.rng.u8(..10) {
                    0 => self.root_identity(account),
                    1..=2 => self.role_identity(account),
                    _ => self.user_identity(account),
                };
                let failed = self.rng.u8(..5) == 0;
                let mfa = *self.pick(&["Yes", "No", "YES", "No"]);
                request = Value::Null;
                extra.push(("responseElements", json!({"ConsoleLogin": if failed { "Failure" } else { "Success" }})));
                extra.push(("additionalEventData", json!({"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": mfa})));
                if failed {
                    let message = *self.pick(&["Failed authentication", "No username found in supplied account"]);
                    extra.push(("errorMessage", json!(message)));
                }
            }
            // Root activity.
            350..=354 => {
                identity = self.root_identity(account);
                if self.rng.bool() {
                    event_type = "AwsServiceEvent";
                }
            }
            // Writes (IAM and the rest of the CIS set).
            355..=424 => {
                let (s, n) = *self.pick(&WRITES);
                source = s;
                name = n;
                read_only = false;
                if self.rng.u8(..4) == 0 {
                    identity = self.user_identity(account);
                }
            }
            _ => {}
        }
        // About 3 % of calls are refused.
        if self.rng.u16(..1000) < 30 && name != "ConsoleLogin" {
            let (code, message) = *self.pick(&[
                ("AccessDenied", "User is not authorized to perform this operation"),
                ("Client.UnauthorizedOperation", "You are not authorized to perform this operation."),
                ("AccessDeniedException", "not authorized"),
            ]);
            extra.push(("errorCode", json!(code)));
            extra.push(("errorMessage", json!(message)));
        }
        let minute = (self.serial / 50) % 60;
        let mut record = json!({
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": format!("2026-11-20T10:{minute:02}:{:02}Z", self.serial % 60),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": self.ip(),
            "userAgent": "aws-sdk-java/2.25.0 Linux/5.10.205-195.807.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/standard",
            "requestParameters": request,
            "responseElements": null,
            "requestID": format!("{:016X}{:016X}", self.rng.u64(..), self.serial),
            "eventID": format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", self.rng.u32(..), self.rng.u16(..), self.rng.u16(..4096), self.rng.u16(..4096), self.serial),
            "readOnly": read_only,
            "eventType": event_type,
            "managementEvent": true,
            "recipientAccountId": account,
            "eventCategory": "Management",
            "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": format!("{}.{region}.amazonaws.com", source.split('.').next().unwrap_or("api"))},
            "sessionCredentialFromConsole": "false"
        });
        // People work from a few office and home addresses.
        let arn = record["userIdentity"]["arn"].as_str().unwrap_or("");
        if arn.contains(":user/") || arn.contains("AWSReservedSSO") || arn.ends_with(":root") {
            record["sourceIPAddress"] = json!(format!("203.0.113.{}", 10 + self.rng.u8(..6)));
        }
        if let Some(map) = record.as_object_mut() {
            for (k, v) in extra {
                map.insert(k.to_string(), v);
            }
            if name == "RunInstances" {
                let kind = *self.pick(&["t3.micro", "m5.large", "p4d.24xlarge", "c5.18xlarge", "g5.xlarge"]);
                map.insert("requestParameters".into(), json!({"instanceType": kind, "instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1}]}}));
            }
        }
        record
    }

    /// Writes a whole log file of `records` records (plain JSON text).
    pub fn write_log(&mut self, records: usize, out: &mut dyn Write) -> io::Result<u64> {
        let mut written = 0u64;
        out.write_all(b"{\"Records\":[")?;
        for i in 0..records {
            if i > 0 {
                out.write_all(b",")?;
            }
            let text = self.record().to_string();
            written += text.len() as u64 + 1;
            out.write_all(text.as_bytes())?;
        }
        out.write_all(b"]}")?;
        Ok(written + 14)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_file_and_records_are_about_1_5_kb() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        Generator::new(7).write_log(500, &mut a).unwrap();
        Generator::new(7).write_log(500, &mut b).unwrap();
        assert_eq!(a, b);
        let per_record = a.len() / 500;
        assert!((1100..2000).contains(&per_record), "{per_record} bytes per record");
        let parsed: Value = serde_json::from_slice(&a).unwrap();
        assert_eq!(parsed["Records"].as_array().unwrap().len(), 500);
    }
}
