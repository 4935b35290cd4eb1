use serde_json::json;

use super::*;

const OWN: &str = "111111111111";
const TRUSTED: &str = "222222222222";
const OUTSIDE: &str = "999999999999";
const ORG: &str = "o-a1b2c3d4e5";
const OTHER_ORG: &str = "o-zzzzzzzzzz";

fn facts_of(record: serde_json::Value) -> Facts {
    let mut record = record;
    record["recipientAccountId"] = json!(OWN);
    compute(&record, &Trusted::new([TRUSTED, ORG]).unwrap())
}

fn strings(facts: &Facts, field: Field) -> Vec<String> {
    facts.get(field).filter_map(|v| v.as_str().map(str::to_string)).collect()
}

#[test]
fn every_fact_name_is_unique_and_found_by_name() {
    for (field, name, meaning) in FIELDS {
        assert_eq!(super::field(name), Some(field), "{name}");
        assert!(!meaning.is_empty());
    }
    assert_eq!(super::field("sg.nope"), None);
}

#[test]
fn world_open_in_every_request_shape_and_notation() {
    // (case, record, world open, open ports)
    let cases = [
        (
            "ipPermissions, IPv4",
            json!({"eventName": "AuthorizeSecurityGroupIngress", "requestParameters": {"groupId": "sg-1", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}}),
            true,
            vec!["tcp 22"],
        ),
        (
            "flat CLI form, ipPermissions empty",
            json!({"eventName": "AuthorizeSecurityGroupIngress", "requestParameters": {"groupId": "sg-1", "ipPermissions": {}, "cidrIp": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22}}),
            true,
            vec!["tcp 22"],
        ),
        (
            "any /0 is the world",
            json!({"eventName": "AuthorizeSecurityGroupIngress", "requestParameters": {"cidrIp": "1.2.3.4/0", "ipProtocol": "-1"}}),
            true,
            vec!["all"],
        ),
        (
            "IPv6 in another notation",
            json!({"eventName": "AuthorizeSecurityGroupIngress", "requestParameters": {"ipPermissions": {"items": [{"ipProtocol": "6", "fromPort": 3389, "toPort": 3389, "ipv6Ranges": {"items": [{"cidrIpv6": "0::/0"}]}}]}}}),
            true,
            vec!["tcp 3389"],
        ),
        (
            "the response's rule set is the authority",
            json!({"eventName": "AuthorizeSecurityGroupIngress", "requestParameters": {"ipPermissions": {}}, "responseElements": {"securityGroupRuleSet": {"items": [{"isEgress": false, "ipProtocol": "tcp", "fromPort": 0, "toPort": 65535, "cidrIpv4": "0.0.0.0/0"}]}}}),
            true,
            vec!["tcp 0-65535"],
        ),
        (
            "ModifySecurityGroupRules, direction unknown",
            json!({"eventName": "ModifySecurityGroupRules", "requestParameters": {"ModifySecurityGroupRulesRequest": {"GroupId": "sg-1", "SecurityGroupRule": {"SecurityGroupRuleId": "sgr-1", "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": "0.0.0.0/0"}}}}}),
            true,
            vec!["tcp 22"],
        ),
        (
            "ModifySecurityGroupRules, a list",
            json!({"eventName": "ModifySecurityGroupRules", "requestParameters": {"ModifySecurityGroupRulesRequest": {"SecurityGroupRule": [{"SecurityGroupRule": {"CidrIpv4": "10.0.0.0/8"}}, {"SecurityGroupRule": {"IpProtocol": "-1", "CidrIpv6": "::/0"}}]}}}),
            true,
            vec!["all"],
        ),
        (
            "two halves of the internet",
            json!({"eventName": "AuthorizeSecurityGroupIngress", "requestParameters": {"ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/1"}, {"cidrIp": "128.0.0.0/1"}]}}]}}}),
            true,
            vec!["tcp 22"],
        ),
        (
            "IPv6's private block is not the internet",
            json!({"eventName": "AuthorizeSecurityGroupIngress", "requestParameters": {"ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipv6Ranges": {"items": [{"cidrIpv6": "fc00::/7"}]}}]}}}),
            false,
            vec![],
        ),
        (
            "an internal range",
            json!({"eventName": "AuthorizeSecurityGroupIngress", "requestParameters": {"ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}}]}}}),
            false,
            vec![],
        ),
        (
            "egress to the world is the default, not an opening",
            json!({"eventName": "AuthorizeSecurityGroupEgress", "requestParameters": {"ipPermissions": {"items": [{"ipProtocol": "-1", "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}}),
            false,
            vec![],
        ),
        (
            "removing a world rule closes it",
            json!({"eventName": "RevokeSecurityGroupIngress", "requestParameters": {"cidrIp": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22}}),
            false,
            vec![],
        ),
        (
            "a referenced group",
            json!({"eventName": "AuthorizeSecurityGroupIngress", "requestParameters": {"ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "groups": {"items": [{"groupId": "sg-app"}]}}]}}}),
            false,
            vec![],
        ),
    ];
    for (case, record, open, ports) in cases {
        let facts = facts_of(record);
        assert_eq!(facts.flag_of(Field::SgWorldOpen), Some(open), "{case}: {facts:?}");
        assert_eq!(strings(&facts, Field::SgWorldOpenPorts), ports, "{case}");
    }
}

#[test]
fn security_group_facts_name_direction_peers_and_change() {
    let facts = facts_of(
        json!({"eventName": "RevokeSecurityGroupEgress", "requestParameters": {"ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "groups": {"items": [{"groupId": "sg-app"}]}, "prefixListIds": {"items": [{"prefixListId": "pl-1"}]}}]}}}),
    );
    assert_eq!(strings(&facts, Field::SgChange), ["remove"]);
    assert_eq!(strings(&facts, Field::SgDirection), ["egress"]);
    assert_eq!(strings(&facts, Field::SgPeers), ["sg-app", "pl-1"]);
    assert_eq!(strings(&facts, Field::SgPorts), ["tcp 5432"]);
}

fn trust(principal: serde_json::Value, condition: Option<serde_json::Value>) -> serde_json::Value {
    let mut statement = json!({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"});
    if let Some(c) = condition {
        statement["Condition"] = c;
    }
    json!({"Version": "2012-10-17", "Statement": [statement]})
}

#[test]
fn policies_are_classified_in_every_shape() {
    let role = |doc: serde_json::Value| json!({"eventSource": "iam.amazonaws.com", "eventName": "CreateRole", "requestParameters": {"roleName": "r", "assumeRolePolicyDocument": doc.to_string()}});
    // (case, record, public, outside accounts, reach)
    let cases = [
        ("a role trusted by anyone", role(trust(json!({"AWS": "*"}), None)), true, vec![], vec!["public"]),
        ("a bare * principal", role(trust(json!("*"), None)), true, vec![], vec!["public"]),
        (
            "a role trusted by an outside account",
            role(trust(json!({"AWS": format!("arn:aws:iam::{OUTSIDE}:root")}), None)),
            false,
            vec![OUTSIDE],
            vec!["outside-account"],
        ),
        (
            "a role trusted by a trusted account",
            role(trust(json!({"AWS": format!("arn:aws:iam::{TRUSTED}:role/ci")}), None)),
            false,
            vec![],
            vec!["trusted-account"],
        ),
        (
            "a role trusted by its own account",
            role(trust(json!({"AWS": OWN}), None)),
            false,
            vec![],
            vec!["own-account"],
        ),
        (
            "a service role",
            role(trust(json!({"Service": ["lambda.amazonaws.com", "ec2.amazonaws.com"]}), None)),
            false,
            vec![],
            vec!["service", "service"],
        ),
        (
            "anyone, limited to the trusted organization",
            role(trust(json!({"AWS": "*"}), Some(json!({"StringEquals": {"aws:PrincipalOrgID": ORG}})))),
            false,
            vec![],
            vec!["public-restricted"],
        ),
        (
            "anyone, limited to another organization",
            role(trust(json!({"AWS": "*"}), Some(json!({"StringEquals": {"aws:PrincipalOrgID": OTHER_ORG}})))),
            false,
            vec![OTHER_ORG],
            vec!["outside-account"],
        ),
        (
            "anyone, limited to an outside account's role",
            role(trust(
                json!({"AWS": "*"}),
                Some(json!({"ArnLike": {"aws:PrincipalArn": format!("arn:aws:iam::{OUTSIDE}:role/x")}})),
            )),
            false,
            vec![OUTSIDE],
            vec!["outside-account"],
        ),
        (
            "a negated condition narrows nothing",
            role(trust(json!({"AWS": "*"}), Some(json!({"StringNotEquals": {"aws:SourceAccount": "000000000000"}})))),
            true,
            vec![],
            vec!["public"],
        ),
        (
            "a wildcard value narrows nothing",
            role(trust(json!({"AWS": "*"}), Some(json!({"StringLike": {"aws:PrincipalArn": "*"}})))),
            true,
            vec![],
            vec!["public"],
        ),
        (
            "every source address narrows nothing",
            role(trust(json!({"AWS": "*"}), Some(json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "0.0.0.0/0"]}})))),
            true,
            vec![],
            vec!["public"],
        ),
        (
            "a condition does not hide a named outside account",
            role(trust(json!({"AWS": OUTSIDE}), Some(json!({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})))),
            false,
            vec![OUTSIDE],
            vec!["outside-account"],
        ),
        (
            "GitHub's OIDC provider with no sub condition: any repository",
            role(trust(
                json!({"Federated": format!("arn:aws:iam::{OWN}:oidc-provider/token.actions.githubusercontent.com")}),
                Some(json!({"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}})),
            )),
            true,
            vec![],
            vec!["public"],
        ),
        (
            "GitHub's OIDC provider for one repository",
            role(trust(
                json!({"Federated": format!("arn:aws:iam::{OWN}:oidc-provider/token.actions.githubusercontent.com")}),
                Some(json!({"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/app:*"}})),
            )),
            false,
            vec![],
            vec!["federated"],
        ),
        (
            "GitHub's OIDC provider for every repository",
            role(trust(
                json!({"Federated": format!("arn:aws:iam::{OWN}:oidc-provider/token.actions.githubusercontent.com")}),
                Some(json!({"StringLike": {"token.actions.githubusercontent.com:sub": "repo:*"}})),
            )),
            true,
            vec![],
            vec!["public"],
        ),
        (
            "a SAML provider",
            role(trust(json!({"Federated": format!("arn:aws:iam::{OWN}:saml-provider/okta")}), None)),
            false,
            vec![],
            vec!["federated"],
        ),
        (
            "IfExists does not narrow",
            role(trust(json!({"AWS": "*"}), Some(json!({"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}})))),
            true,
            vec![],
            vec!["public"],
        ),
        (
            "an external id is not a narrowing condition",
            role(trust(json!({"AWS": OUTSIDE}), Some(json!({"StringEquals": {"sts:ExternalId": "x"}})))),
            false,
            vec![OUTSIDE],
            vec!["outside-account"],
        ),
        (
            "URL-encoded document",
            json!({"eventSource": "iam.amazonaws.com", "eventName": "UpdateAssumeRolePolicy", "requestParameters": {"policyDocument": "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22*%22%7D%7D%5D%7D"}}),
            true,
            vec![],
            vec!["public"],
        ),
        (
            "a bucket policy as an object, narrowed by VPC endpoint",
            json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy", "requestParameters": {"bucketName": "b", "bucketPolicy": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}]}}}),
            false,
            vec![],
            vec!["public-restricted"],
        ),
        (
            "a Deny to anyone opens nothing",
            json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy", "requestParameters": {"bucketPolicy": {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}}),
            false,
            vec![],
            vec![],
        ),
        (
            "Lambda permission for anyone",
            json!({"eventSource": "lambda.amazonaws.com", "eventName": "AddPermission20150331v2", "requestParameters": {"functionName": "f", "principal": "*", "action": "lambda:InvokeFunction"}}),
            true,
            vec![],
            vec!["public"],
        ),
        (
            "Lambda permission for a service from its own account",
            json!({"eventSource": "lambda.amazonaws.com", "eventName": "AddPermission20150331v2", "requestParameters": {"principal": "s3.amazonaws.com", "sourceAccount": OWN}}),
            false,
            vec![],
            vec!["service"],
        ),
        (
            "Lambda function URL for anyone, even with IAM auth",
            json!({"eventSource": "lambda.amazonaws.com", "eventName": "AddPermission20150331v2", "requestParameters": {"principal": "*", "action": "lambda:InvokeFunctionUrl", "functionUrlAuthType": "AWS_IAM"}}),
            true,
            vec![],
            vec!["public"],
        ),
        (
            "Lambda permission for S3, from an outside account",
            json!({"eventSource": "lambda.amazonaws.com", "eventName": "AddPermission20150331v2", "requestParameters": {"principal": "*", "sourceAccount": OUTSIDE}}),
            false,
            vec![OUTSIDE],
            vec!["outside-account"],
        ),
        (
            "Lambda permission for an outside account id",
            json!({"eventSource": "lambda.amazonaws.com", "eventName": "AddPermission20150331v2", "requestParameters": {"principal": OUTSIDE}}),
            false,
            vec![OUTSIDE],
            vec!["outside-account"],
        ),
        (
            "a KMS key policy granting its own account",
            json!({"eventSource": "kms.amazonaws.com", "eventName": "PutKeyPolicy", "requestParameters": {"policy": trust(json!({"AWS": format!("arn:aws:iam::{OWN}:root")}), None).to_string()}}),
            false,
            vec![],
            vec!["own-account"],
        ),
        (
            "an SNS topic policy",
            json!({"eventSource": "sns.amazonaws.com", "eventName": "SetTopicAttributes", "requestParameters": {"attributeName": "Policy", "attributeValue": trust(json!({"AWS": "*"}), None).to_string()}}),
            true,
            vec![],
            vec!["public"],
        ),
        (
            "an SQS permission for an outside account",
            json!({"eventSource": "sqs.amazonaws.com", "eventName": "AddPermission", "requestParameters": {"queueUrl": "q", "label": "l", "aWSAccountIds": [OUTSIDE], "actions": ["SendMessage"]}}),
            false,
            vec![OUTSIDE],
            vec!["outside-account"],
        ),
        (
            "a KMS grant to a role of this account",
            json!({"eventSource": "kms.amazonaws.com", "eventName": "CreateGrant", "requestParameters": {"keyId": "k", "granteePrincipal": format!("arn:aws:iam::{OWN}:role/app")}}),
            false,
            vec![],
            vec!["own-account"],
        ),
        (
            "an event bus open to the trusted organization",
            json!({"eventSource": "events.amazonaws.com", "eventName": "PutPermission", "requestParameters": {"principal": "*", "condition": {"type": "StringEquals", "key": "aws:PrincipalOrgID", "value": ORG}}}),
            false,
            vec![],
            vec!["public-restricted"],
        ),
        (
            "a public-read canned ACL",
            json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketAcl", "requestParameters": {"x-amz-acl": ["public-read"]}}),
            true,
            vec![],
            vec!["public"],
        ),
        (
            "an ACL grant to AllUsers",
            json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketAcl", "requestParameters": {"AccessControlPolicy": {"AccessControlList": {"Grant": [{"Grantee": {"URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}]}}}}),
            true,
            vec![],
            vec!["public"],
        ),
    ];
    for (case, record, public, outside, reach) in cases {
        let facts = facts_of(record);
        assert_eq!(facts.flag_of(Field::PolicyPublic), Some(public), "{case}: {facts:?}");
        assert_eq!(facts.flag_of(Field::PolicyOutside), Some(!outside.is_empty()), "{case}");
        assert_eq!(strings(&facts, Field::PolicyOutsideAccounts), outside, "{case}");
        assert_eq!(strings(&facts, Field::PolicyReach), reach, "{case}");
    }
}

#[test]
fn shares_are_public_outside_or_inside() {
    // (case, record, kind, public, outside accounts)
    let cases = [
        (
            "snapshot to all",
            json!({"eventName": "ModifySnapshotAttribute", "requestParameters": {"createVolumePermission": {"add": {"items": [{"group": "all"}]}}}}),
            "ebs-snapshot",
            true,
            vec![],
        ),
        (
            "AMI to an outside account",
            json!({"eventName": "ModifyImageAttribute", "requestParameters": {"launchPermission": {"add": {"items": [{"userId": OUTSIDE}]}}}}),
            "ami",
            false,
            vec![OUTSIDE],
        ),
        (
            "AMI to a trusted account",
            json!({"eventName": "ModifyImageAttribute", "requestParameters": {"launchPermission": {"add": {"items": [{"userId": TRUSTED}]}}}}),
            "ami",
            false,
            vec![],
        ),
        (
            "RDS snapshot to an outside account",
            json!({"eventName": "ModifyDBSnapshotAttribute", "requestParameters": {"attributeName": "restore", "valuesToAdd": [OUTSIDE]}}),
            "rds-snapshot",
            false,
            vec![OUTSIDE],
        ),
        (
            "AMI to another organization",
            json!({"eventName": "ModifyImageAttribute", "requestParameters": {"launchPermission": {"add": {"items": [{"organizationArn": format!("arn:aws:organizations::{OUTSIDE}:organization/{OTHER_ORG}")}]}}}}),
            "ami",
            false,
            vec![OTHER_ORG],
        ),
        (
            "AMI to a unit of the trusted organization",
            json!({"eventName": "ModifyImageAttribute", "requestParameters": {"launchPermission": {"add": {"items": [{"organizationalUnitArn": format!("arn:aws:organizations::{OWN}:ou/{ORG}/ou-ab12-cdef3456")}]}}}}),
            "ami",
            false,
            vec![],
        ),
        (
            "a removal shares nothing",
            json!({"eventName": "ModifySnapshotAttribute", "requestParameters": {"createVolumePermission": {"remove": {"items": [{"userId": OUTSIDE}]}}}}),
            "ebs-snapshot",
            false,
            vec![],
        ),
    ];
    for (case, record, kind, public, outside) in cases {
        let facts = facts_of(record);
        assert_eq!(facts.str(Field::ShareKind), Some(kind), "{case}");
        assert_eq!(facts.flag_of(Field::SharePublic), Some(public), "{case}");
        assert_eq!(strings(&facts, Field::ShareAccounts), outside, "{case}");
    }
}

#[test]
fn credential_targets_tell_self_from_another_user() {
    // (case, identity, request, target, self)
    let cases = [
        ("root, own key", json!({"type": "Root"}), json!({}), "root", true),
        ("root, a user's key", json!({"type": "Root"}), json!({"userName": "alice"}), "alice", false),
        (
            "a user rotating its own key",
            json!({"type": "IAMUser", "userName": "deploy"}),
            json!({"userName": "deploy"}),
            "deploy",
            true,
        ),
        ("a user, no name given", json!({"type": "IAMUser", "userName": "deploy"}), json!({}), "deploy", true),
        (
            "a user, another's key",
            json!({"type": "IAMUser", "userName": "mallory"}),
            json!({"userName": "admin"}),
            "admin",
            false,
        ),
        ("a role, a user's key", json!({"type": "AssumedRole"}), json!({"userName": "admin"}), "admin", false),
    ];
    for (case, identity, request, target, own) in cases {
        let facts =
            facts_of(json!({"eventName": "CreateAccessKey", "userIdentity": identity, "requestParameters": request}));
        assert_eq!(facts.str(Field::TargetUser), Some(target), "{case}");
        assert_eq!(facts.flag_of(Field::TargetSelf), Some(own), "{case}");
    }
}

#[test]
fn accelerated_instance_families() {
    for (t, accelerated) in [
        ("p3.2xlarge", true),
        ("p5.48xlarge", true),
        ("g4dn.xlarge", true),
        ("g5g.xlarge", true),
        ("gr6.4xlarge", true),
        ("inf2.xlarge", true),
        ("trn1.32xlarge", true),
        ("dl1.24xlarge", true),
        ("f1.2xlarge", true),
        ("vt1.3xlarge", true),
        ("t3.micro", false),
        ("m5.large", false),
        ("c7gn.large", false),
        ("i4i.large", false),
        ("", false),
    ] {
        assert_eq!(instance::is_accelerated(t), accelerated, "{t}");
    }
    let facts = facts_of(
        json!({"eventName": "RunInstances", "errorCode": "Client.UnauthorizedOperation", "requestParameters": {"instanceType": "p3.16xlarge", "instancesSet": {"items": [{"imageId": "ami-1", "minCount": 1, "maxCount": 1}]}}}),
    );
    assert_eq!(facts.flag_of(Field::InstanceAccelerated), Some(true));
    assert_eq!(strings(&facts, Field::InstanceTypes), ["p3.16xlarge"]);
}

#[test]
fn a_record_cannot_supply_its_own_facts() {
    let pattern = Pattern::parse("{ $.facts.sg.worldOpen IS TRUE }").unwrap();
    let forged = r#"{"eventName":"CreateBucket","facts":{"sg":{"worldOpen":true}}}"#;
    assert_eq!(pattern_matches(&pattern, forged, &Trusted::default()), Ok(false));
    let real = r#"{"eventName":"AuthorizeSecurityGroupIngress","requestParameters":{"cidrIp":"0.0.0.0/0"}}"#;
    assert_eq!(pattern_matches(&pattern, real, &Trusted::default()), Ok(true));
}

#[test]
fn unknown_fact_names_and_bad_trusted_accounts_are_refused() {
    let pattern = Pattern::parse("{ $.facts.sg.worldopen IS TRUE }").unwrap();
    let error = check_names(&pattern).unwrap_err().to_string();
    assert!(error.contains("no fact $.facts.sg.worldopen") && error.contains("sg.worldOpen"), "{error}");
    assert!(Trusted::new(["12345"]).is_err());
    assert!(Trusted::new(["o-abc"]).is_err(), "organization ids have 10 to 32 characters after o-");
    assert!(Trusted::new(["o-a1b2c3d4e5"]).is_ok());
    assert_eq!(Trusted::parse_list("111111111111, 222222222222").unwrap().accounts().count(), 2);
}

#[test]
fn the_readme_documents_every_fact() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    for (_, name, _) in FIELDS {
        assert!(readme.contains(&format!("| `$.facts.{name}` |")), "README.md has no row for $.facts.{name}");
    }
}
