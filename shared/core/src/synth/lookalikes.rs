//! Benign changes that look like the fact-based detections, made every day
//! by the platform team's Terraform and a deploy user: each one must stay
//! quiet while its malicious twin (synth::plants) alerts.
//!
//! - roles created for AWS services, and for the CI account (trusted);
//! - the golden AMI shared with the trusted account;
//! - a bucket policy open to `*` but limited to the organization;
//! - an internal inbound rule in the CLI's flat form;
//! - a Lambda permission for API Gateway, narrowed by its source ARN;
//! - a KMS key policy granting the account itself;
//! - the deploy user rotating its own access key;
//! - an application decrypting the same parameters again and again.

use serde_json::{json, Value};

use super::builder::{role, user, Builder, ACCOUNT};
use super::week::{TRUSTED_ACCOUNT, TRUSTED_ORG};

const TF_IP: &str = "198.51.100.40";
const TF_AGENT: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.9.8";

fn trust(principal: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]})
        .to_string()
}

/// The platform team's daily changes at 17:00, and the hourly parameter reads.
pub(super) fn platform_changes(b: &mut Builder, day: u32, minute: u32) {
    if minute % 60 == 5 {
        let app = role("orders", "i-0abc");
        let params = json!({"names": ["/orders/db-password", "/orders/api-key"], "withDecryption": true});
        b.call(app, "ssm.amazonaws.com", "GetParameters", params, "10.0.1.23", "aws-sdk-java/2.25.0", None);
    }
    if minute != 1020 {
        return;
    }
    let tf = role("terraform", &format!("platform-{day}"));
    let mut change = |source: &str, name: &str, params: Value| {
        b.call(tf.clone(), source, name, params, TF_IP, TF_AGENT, None);
    };
    let service_role = trust(json!({"Service": ["lambda.amazonaws.com", "ec2.amazonaws.com"]}));
    change(
        "iam.amazonaws.com",
        "CreateRole",
        json!({"roleName": format!("worker-{day}"), "assumeRolePolicyDocument": service_role}),
    );
    let ci_role = trust(json!({"AWS": format!("arn:aws:iam::{TRUSTED_ACCOUNT}:role/ci")}));
    change("iam.amazonaws.com", "UpdateAssumeRolePolicy", json!({"roleName": "deployer", "policyDocument": ci_role}));
    change(
        "ec2.amazonaws.com",
        "ModifyImageAttribute",
        json!({"imageId": format!("ami-golden{day}"), "launchPermission": {"add": {"items": [{"userId": TRUSTED_ACCOUNT}]}}, "attributeType": "launchPermission"}),
    );
    change(
        "s3.amazonaws.com",
        "PutBucketPolicy",
        json!({"bucketName": "acme-shared-artifacts", "bucketPolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-shared-artifacts/*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": TRUSTED_ORG}}}]}}),
    );
    change(
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        json!({"groupId": "sg-0internal", "ipPermissions": {}, "cidrIp": "10.20.0.0/16", "ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432}),
    );
    change(
        "lambda.amazonaws.com",
        "AddPermission20150331v2",
        json!({"functionName": "orders-api", "statementId": format!("apigw-{day}"), "action": "lambda:InvokeFunction",
            "principal": "apigateway.amazonaws.com", "sourceArn": format!("arn:aws:execute-api:us-east-1:{ACCOUNT}:abc123/*")}),
    );
    let key_policy = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
        "Action": "kms:*", "Resource": "*"}]});
    change(
        "kms.amazonaws.com",
        "PutKeyPolicy",
        json!({"keyId": "k-orders", "policyName": "default", "policy": key_policy.to_string()}),
    );
    // The deploy user rotates its own key (no userName: IAM acts on the caller).
    let rotate =
        b.call(user("deploy"), "iam.amazonaws.com", "CreateAccessKey", json!(null), TF_IP, "aws-cli/2.15.0", None);
    rotate["responseElements"] =
        json!({"accessKey": {"userName": "deploy", "accessKeyId": format!("AKIADEPLOY{day:06}"), "status": "Active"}});
}
