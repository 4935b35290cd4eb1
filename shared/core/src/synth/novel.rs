//! What the first-seen detections learn and what they must catch.
//!
//! Habits ([`habits`]): the benign variety of a real account that a profile
//! has to learn in its first two weeks and then stay quiet about: a person
//! working from the office on weekdays and from home at weekends, an
//! inference service invoking a Bedrock model every hour, an operator
//! opening an SSM session every morning, a weekly backup copy to the
//! disaster-recovery region, and a new colleague who starts in the middle of
//! the week (learning, never alerting).
//!
//! Plants ([`NOVEL`]): principals the account has known for weeks doing
//! something they never did, in the shapes of published attack detonations
//! (Stratus Red Team's instance-credential theft, Bedrock invocation,
//! SSM session and command, GetPasswordData, batch secrets read).

use serde_json::{json, Value};

use super::builder::{role, user, Builder, ATTACKER_IP, CONSOLE};
use super::plants::Plant;

const APP: &str = "i-0a1b2c3d4e5f60718";
const CLI: &str = "aws-cli/2.15.0 Python/3.11.6 Linux/6.5";

fn login(b: &mut Builder, who: Value, ip: &str) {
    let login = b.call(who, "signin.amazonaws.com", "ConsoleLogin", json!(null), ip, CONSOLE, None);
    login["responseElements"] = json!({"ConsoleLogin": "Success"});
    login["additionalEventData"] = json!({"MFAUsed": "Yes"});
    login["eventType"] = json!("AwsConsoleSignIn");
}

/// The benign habits of `day` (0 is the first day of the learning period;
/// `start` is the first day of the normal week) at `minute`.
pub(super) fn habits(b: &mut Builder, day: u32, start: u32, minute: u32) {
    let weekend = day % 7 >= 5;
    // Erin: the office on weekdays, home at weekends; a few calls after signing in.
    if minute == 555 {
        let (ip, erin) = (if weekend { "198.51.100.77" } else { "192.0.2.12" }, user("erin"));
        login(b, erin.clone(), ip);
        b.call(erin.clone(), "ec2.amazonaws.com", "DescribeInstances", json!({}), ip, CONSOLE, None);
        b.call(erin, "s3.amazonaws.com", "ListBuckets", json!({}), ip, CLI, None);
    }
    // The inference service, every hour.
    if minute % 60 == 15 {
        let params = json!({"modelId": "anthropic.claude-3-haiku-20240307-v1:0"});
        let ml = role("ml-inference", "inference-svc");
        b.call(
            ml,
            "bedrock.amazonaws.com",
            "InvokeModel",
            params,
            "10.0.4.21",
            "Boto3/1.34.1 md/Botocore#1.34.1",
            None,
        );
    }
    // An operator signing in on weekdays; reading a Windows host's password on Mondays.
    if minute == 570 && !weekend {
        let ops = role("AWSReservedSSO_Operations_1a2b3c4d5e6f7a8b", "grace@example.com");
        login(b, ops.clone(), "192.0.2.10");
        if day % 7 == 0 {
            let host = json!({"instanceId": "i-0windows0000001"});
            b.call(ops, "ec2.amazonaws.com", "GetPasswordData", host, "192.0.2.10", CONSOLE, None);
        }
    }
    // The weekly snapshot copy to the disaster-recovery region.
    if minute == 180 && day % 7 == 2 {
        let backup = role("backup", "weekly-copy");
        let copy = b.call(
            backup,
            "ec2.amazonaws.com",
            "CopySnapshot",
            json!({"sourceRegion": "us-east-1"}),
            "10.0.3.8",
            CLI,
            None,
        );
        copy["awsRegion"] = json!("eu-west-1");
    }
    // Dave joins two days into the normal week: new everything, and learning.
    if day >= start + 2 && minute == 600 {
        let dave = user("dave");
        let ip = if day == start + 3 { "203.0.113.200" } else { "192.0.2.12" };
        login(b, dave.clone(), ip);
        b.call(dave, "lambda.amazonaws.com", "ListFunctions20150331", json!({}), ip, CLI, None);
    }
}

/// One plant per first-seen case: `rule#case`, by a principal known since
/// the first day of the learning period.
pub(super) const NOVEL: &[Plant] = &[
    ("instance-credentials-new-network#stolen-instance-role", |b| {
        // ec2-steal-instance-credentials: the instance's session used with the operator's tooling, from outside.
        let instance = role("app-backend", APP);
        b.call(instance.clone(), "sts.amazonaws.com", "GetCallerIdentity", json!(null), ATTACKER_IP, CLI, None);
        b.call(instance, "ec2.amazonaws.com", "DescribeInstances", json!({}), ATTACKER_IP, CLI, None);
    }),
    ("user-new-network#leaked-access-key", |b| {
        let deploy = user("deploy");
        b.call(deploy.clone(), "sts.amazonaws.com", "GetCallerIdentity", json!(null), ATTACKER_IP, CLI, None);
        b.call(deploy, "s3.amazonaws.com", "ListBuckets", json!({}), ATTACKER_IP, CLI, None);
    }),
    ("console-login-new-network#identity-center-sign-in", |b| {
        let carol = role("AWSReservedSSO_AdministratorAccess_5d7e8f9a0b1c2d3e", "carol@example.com");
        let sign_in = b.call(carol, "signin.amazonaws.com", "ConsoleLogin", json!(null), ATTACKER_IP, CONSOLE, None);
        sign_in["responseElements"] = json!({"ConsoleLogin": "Success"});
        sign_in["additionalEventData"] = json!({"MFAUsed": "No", "MobileVersion": "No"});
        sign_in["eventType"] = json!("AwsConsoleSignIn");
    }),
    ("first-sensitive-call#bedrock-invoke-model", |b| {
        // bedrock-invoke-model: availability checked, then the model invoked.
        let pipeline = role("data-pipeline", "glue-job-17");
        let model = json!({"modelId": "anthropic.claude-3-sonnet-20240229-v1:0"});
        let source = "bedrock.amazonaws.com";
        b.call(pipeline.clone(), source, "GetFoundationModelAvailability", model.clone(), "10.0.3.7", CLI, None);
        b.call(pipeline, source, "InvokeModel", model, "10.0.3.7", CLI, None);
    }),
    ("first-sensitive-call#ssm-start-session", |b| {
        let session = json!({"target": "i-0a1b2c3d4e5f60718"});
        b.call(user("alice"), "ssm.amazonaws.com", "StartSession", session, "192.0.2.11", CONSOLE, None);
    }),
    ("first-sensitive-call#ssm-send-command", |b| {
        let tf = role("terraform", "run-x");
        let params = json!({"documentName": "AWS-RunShellScript", "instanceIds": [APP], "interactive": false,
            "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS"});
        b.call(tf, "ssm.amazonaws.com", "SendCommand", params, "198.51.100.40", CLI, None);
    }),
    ("first-sensitive-call#ec2-get-password-data", |b| {
        let monitor = role("monitoring", "collector");
        b.call(monitor, "ec2.amazonaws.com", "GetPasswordData", json!({"instanceId": APP}), "10.0.2.9", CLI, None);
    }),
    ("first-sensitive-call#secrets-batch-read", |b| {
        // secretsmanager-batch-retrieve-secrets, with a person's console session.
        let frank = role("AWSReservedSSO_AdministratorAccess_5d7e8f9a0b1c2d3e", "frank@example.com");
        let params = json!({"filters": [{"key": "tag-key", "values": ["!StratusRedTeam"]}]});
        b.call(frank, "secretsmanager.amazonaws.com", "BatchGetSecretValue", params, "192.0.2.10", CONSOLE, None);
    }),
    ("account-new-region#new-region", |b| {
        let tf = role("terraform", "run-y");
        let run = b.call(
            tf,
            "ec2.amazonaws.com",
            "RunInstances",
            json!({"instanceType": "t3.micro"}),
            "198.51.100.40",
            CLI,
            None,
        );
        run["awsRegion"] = json!("ap-southeast-3");
    }),
];
