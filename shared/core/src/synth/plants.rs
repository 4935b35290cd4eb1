//! The attacks planted in the generated week: one per detection that
//! alerts by default, by a stolen identity from an outside address.

use serde_json::{json, Value};

use super::builder::{role, user, Builder, ACCOUNT, ATTACKER_IP, CONSOLE};

pub(super) type Plant = (&'static str, fn(&mut Builder));

fn thief() -> Value {
    role("ops", "mallory")
}

fn attack(b: &mut Builder, source: &str, name: &str, params: Value) {
    b.call(thief(), source, name, params, ATTACKER_IP, "aws-cli/2.15.0 Python/3.11.6 Linux/6.5", None);
}

pub(super) const PLANTS: &[Plant] = &[
    ("root-console-login", |b| {
        let root = json!({"type": "Root", "principalId": ACCOUNT, "arn": format!("arn:aws:iam::{ACCOUNT}:root"), "accountId": ACCOUNT});
        let login = b.call(root, "signin.amazonaws.com", "ConsoleLogin", json!(null), ATTACKER_IP, CONSOLE, None);
        login["responseElements"] = json!({"ConsoleLogin": "Success"});
        login["additionalEventData"] = json!({"MFAUsed": "No"});
        login["eventType"] = json!("AwsConsoleSignIn");
    }),
    ("cis-cloudwatch-3-console-login-without-mfa", |b| {
        let login =
            b.call(user("bob"), "signin.amazonaws.com", "ConsoleLogin", json!(null), ATTACKER_IP, CONSOLE, None);
        login["responseElements"] = json!({"ConsoleLogin": "Success"});
        login["additionalEventData"] = json!({"MFAUsed": "No"});
        login["eventType"] = json!("AwsConsoleSignIn");
    }),
    ("security-group-open-to-world", |b| {
        attack(
            b,
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            // The CLI's flat form, as `aws ec2 authorize-security-group-ingress --cidr` writes it.
            json!({"groupId": "sg-1", "ipPermissions": {}, "cidrIp": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22}),
        );
    }),
    ("cloudtrail-logging-stopped", |b| {
        attack(b, "cloudtrail.amazonaws.com", "StopLogging", json!({"name": "main"}));
    }),
    ("cloudtrail-event-selectors-changed", |b| {
        attack(b, "cloudtrail.amazonaws.com", "PutEventSelectors", json!({"trailName": "main"}));
    }),
    ("guardduty-detector-deleted", |b| {
        attack(b, "guardduty.amazonaws.com", "DeleteDetector", json!({"detectorId": "d1"}));
    }),
    ("guardduty-detector-disabled", |b| {
        attack(b, "guardduty.amazonaws.com", "UpdateDetector", json!({"detectorId": "d1", "enable": false}));
    }),
    ("securityhub-disabled", |b| {
        attack(b, "securityhub.amazonaws.com", "DisableSecurityHub", json!({}));
    }),
    ("cis-cloudwatch-9-config-changes", |b| {
        attack(b, "config.amazonaws.com", "StopConfigurationRecorder", json!({"configurationRecorderName": "default"}));
    }),
    ("vpc-flow-logs-deleted", |b| {
        attack(
            b,
            "ec2.amazonaws.com",
            "DeleteFlowLogs",
            json!({"DeleteFlowLogsRequest": {"FlowLogId": {"content": "fl-1"}}}),
        );
    }),
    ("route53-resolver-query-logging-deleted", |b| {
        attack(
            b,
            "route53resolver.amazonaws.com",
            "DeleteResolverQueryLogConfig",
            json!({"resolverQueryLogConfigId": "rqlc-1"}),
        );
    }),
    ("bedrock-invocation-logging-deleted", |b| {
        attack(b, "bedrock.amazonaws.com", "DeleteModelInvocationLoggingConfiguration", json!(null));
    }),
    ("organization-left", |b| {
        attack(b, "organizations.amazonaws.com", "LeaveOrganization", json!(null));
    }),
    ("s3-bucket-made-public", |b| {
        attack(
            b,
            "s3.amazonaws.com",
            "PutBucketPolicy",
            json!({"bucketName": "acme-data", "bucketPolicy": {"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-data/*"}]}}),
        );
    }),
    ("s3-public-access-block-deleted", |b| {
        attack(b, "s3.amazonaws.com", "DeleteBucketPublicAccessBlock", json!({"bucketName": "acme-data"}));
    }),
    ("ec2-snapshot-made-public", |b| {
        attack(
            b,
            "ec2.amazonaws.com",
            "ModifySnapshotAttribute",
            json!({"snapshotId": "snap-1", "createVolumePermission": {"add": {"items": [{"group": "all"}]}}}),
        );
    }),
    ("ec2-snapshot-shared-with-account", |b| {
        attack(
            b,
            "ec2.amazonaws.com",
            "ModifySnapshotAttribute",
            json!({"snapshotId": "snap-2", "createVolumePermission": {"add": {"items": [{"userId": "444455556666"}]}}}),
        );
    }),
    ("ami-shared", |b| {
        attack(
            b,
            "ec2.amazonaws.com",
            "ModifyImageAttribute",
            json!({"imageId": "ami-1", "launchPermission": {"add": {"items": [{"userId": "444455556666"}]}}}),
        );
    }),
    ("rds-snapshot-shared", |b| {
        attack(
            b,
            "rds.amazonaws.com",
            "ModifyDBSnapshotAttribute",
            json!({"dBSnapshotIdentifier": "prod", "attributeName": "restore", "valuesToAdd": ["444455556666"]}),
        );
    }),
    ("lambda-function-url-public", |b| {
        attack(
            b,
            "lambda.amazonaws.com",
            "CreateFunctionUrlConfig20211031",
            json!({"functionName": "orders", "authType": "NONE"}),
        );
    }),
    ("lambda-code-replaced", |b| {
        attack(b, "lambda.amazonaws.com", "UpdateFunctionCode20150331v2", json!({"functionName": "orders"}));
    }),
    ("ec2-user-data-modified", |b| {
        attack(
            b,
            "ec2.amazonaws.com",
            "ModifyInstanceAttribute",
            json!({"instanceId": "i-1", "userData": "<sensitiveDataRemoved>"}),
        );
    }),
    ("ec2-instance-key-pushed", |b| {
        attack(
            b,
            "ec2-instance-connect.amazonaws.com",
            "SendSSHPublicKey",
            json!({"instanceId": "i-1", "instanceOSUser": "ec2-user"}),
        );
    }),
    ("region-enabled", |b| {
        attack(b, "account.amazonaws.com", "EnableRegion", json!({"RegionName": "ap-east-1"}));
    }),
    ("iam-role-trust-opened", |b| {
        attack(
            b,
            "iam.amazonaws.com",
            "UpdateAssumeRolePolicy",
            json!({"roleName": "orders",
            "policyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"sts:AssumeRole\"}]}"}),
        );
    }),
    ("iam-admin-policy-attached", |b| {
        attack(
            b,
            "iam.amazonaws.com",
            "AttachUserPolicy",
            json!({"userName": "backdoor", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        );
    }),
    ("iam-user-created", |b| {
        attack(b, "iam.amazonaws.com", "CreateUser", json!({"userName": "backdoor"}));
    }),
    ("iam-access-key-created", |b| {
        attack(b, "iam.amazonaws.com", "CreateAccessKey", json!({"userName": "backdoor"}));
    }),
    ("scanner-get-caller-identity", |b| {
        b.call(user("ci-bot"), "sts.amazonaws.com", "GetCallerIdentity", json!(null), ATTACKER_IP, "TruffleHog", None);
    }),
    ("secrets-read-burst", |b| {
        for i in 0..25 {
            attack(b, "secretsmanager.amazonaws.com", "GetSecretValue", json!({"secretId": format!("prod/team-{i}")}));
        }
    }),
    ("access-denied-burst", |b| {
        for i in 0..35 {
            b.call(
                user("ci-bot"),
                "iam.amazonaws.com",
                &format!("Probe{i}"),
                json!({}),
                ATTACKER_IP,
                "aws-cli/2.15.0",
                Some("AccessDenied"),
            );
        }
    }),
    ("trail-bucket-lifecycle-changed", |b| {
        attack(
            b,
            "s3.amazonaws.com",
            "PutBucketLifecycle",
            json!({"bucketName": "acme-cloudtrail-logs",
            "LifecycleConfiguration": {"Rule": {"ID": "x", "Status": "Enabled", "Expiration": {"Days": 1}}}}),
        );
    }),
    ("user-data-read-many-instances", |b| {
        for i in 0..6 {
            attack(
                b,
                "ec2.amazonaws.com",
                "DescribeInstanceAttribute",
                json!({"instanceId": format!("i-{i}"), "attribute": "userData"}),
            );
        }
    }),
    // The public attack catalogue's techniques, in the shapes of its detonation logs.
    ("lambda-permission-opened", |b| {
        attack(
            b,
            "lambda.amazonaws.com",
            "AddPermission20150331v2",
            json!({"action": "lambda:InvokeFunction", "functionName": "orders-api", "principal": "*", "statementId": "backdoor"}),
        );
    }),
    ("resource-policy-opened", |b| {
        let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]});
        attack(
            b,
            "secretsmanager.amazonaws.com",
            "PutResourcePolicy",
            json!({"secretId": "prod/db", "resourcePolicy": policy.to_string()}),
        );
    }),
    ("ec2-accelerated-instance-requested", |b| {
        let params = json!({"instanceType": "p2.xlarge", "instancesSet": {"items": [{"imageId": "ami-0abc", "minCount": 1, "maxCount": 10}]}});
        b.call(
            thief(),
            "ec2.amazonaws.com",
            "RunInstances",
            params,
            ATTACKER_IP,
            "aws-cli/2.15.0",
            Some("Client.UnauthorizedOperation"),
        );
    }),
    ("password-data-read-many-instances", |b| {
        for i in 0..12 {
            let params = json!({"instanceId": format!("i-win{i}")});
            b.call(
                thief(),
                "ec2.amazonaws.com",
                "GetPasswordData",
                params,
                ATTACKER_IP,
                "aws-cli/2.15.0",
                Some("Client.UnauthorizedOperation"),
            );
        }
    }),
    ("ssm-parameters-decrypted-burst", |b| {
        for i in 0..6 {
            let names: Vec<String> = (0..10).map(|n| format!("/credentials/app-{i}/secret-{n}")).collect();
            attack(b, "ssm.amazonaws.com", "GetParameters", json!({"names": names, "withDecryption": true}));
        }
    }),
    ("secrets-batch-read-by-filter", |b| {
        attack(
            b,
            "secretsmanager.amazonaws.com",
            "BatchGetSecretValue",
            json!({"filters": [{"key": "tag-key", "values": ["prod"]}]}),
        );
    }),
    ("ssm-shell-command-sent", |b| {
        attack(
            b,
            "ssm.amazonaws.com",
            "SendCommand",
            json!({"documentName": "AWS-RunShellScript", "instanceIds": ["i-0a1", "i-0a2"], "interactive": false, "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
        );
    }),
    ("ssm-session-started", |b| {
        attack(b, "ssm.amazonaws.com", "StartSession", json!({"target": "i-0a1"}));
    }),
    ("bedrock-model-access-enabled", |b| {
        attack(
            b,
            "bedrock.amazonaws.com",
            "PutFoundationModelEntitlement",
            json!({"modelId": "anthropic.claude-3-sonnet-20240229-v1:0"}),
        );
    }),
    ("rolesanywhere-trust-anchor-created", |b| {
        let source = json!({"sourceData": {"x509CertificateData": "-----BEGIN CERTIFICATE-----"}, "sourceType": "CERTIFICATE_BUNDLE"});
        attack(
            b,
            "rolesanywhere.amazonaws.com",
            "CreateTrustAnchor",
            json!({"enabled": true, "name": "ca", "source": source}),
        );
    }),
    ("sts-federation-token-issued", |b| {
        let policy =
            "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}";
        b.call(
            user("ci-bot"),
            "sts.amazonaws.com",
            "GetFederationToken",
            json!({"name": "x", "policy": policy}),
            ATTACKER_IP,
            "aws-cli/2.15.0",
            None,
        );
    }),
];
