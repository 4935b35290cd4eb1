//! Resource and trust policies, and the grants that work like them, wherever
//! CloudTrail records them. A policy arrives as an object (S3), as a JSON
//! string (IAM, KMS, Secrets Manager, SNS, SQS, ECR, Backup), sometimes
//! URL-encoded; a grant as request fields (Lambda `AddPermission`, S3 ACLs).
//!
//! Each `Allow` statement's principals are classified ([`Reach`]). A
//! condition on any of the keys in [`NARROWING`] narrows every principal of
//! its statement: `Principal: "*"` limited to the organization, a VPC or
//! source addresses is not public.

use percent_encoding::percent_decode_str;
use serde_json::Value;

use super::{at, is_account_id, items, text_of, Context, Facts, Field, Reach};

/// Where each event carries its policy: (event source, event name, path in
/// `requestParameters`).
const DOCUMENTS: [(&str, &str, &[&str]); 17] = [
    ("iam.amazonaws.com", "CreateRole", &["assumeRolePolicyDocument"]),
    ("iam.amazonaws.com", "UpdateAssumeRolePolicy", &["policyDocument"]),
    ("s3.amazonaws.com", "PutBucketPolicy", &["bucketPolicy"]),
    ("kms.amazonaws.com", "CreateKey", &["policy"]),
    ("kms.amazonaws.com", "PutKeyPolicy", &["policy"]),
    ("secretsmanager.amazonaws.com", "PutResourcePolicy", &["resourcePolicy"]),
    ("sns.amazonaws.com", "CreateTopic", &["attributes", "Policy"]),
    ("sqs.amazonaws.com", "CreateQueue", &["attributes", "Policy"]),
    ("sqs.amazonaws.com", "SetQueueAttributes", &["attributes", "Policy"]),
    ("ecr.amazonaws.com", "SetRepositoryPolicy", &["policyText"]),
    ("ecr-public.amazonaws.com", "SetRepositoryPolicy", &["policyText"]),
    ("backup.amazonaws.com", "PutBackupVaultAccessPolicy", &["policy"]),
    ("elasticfilesystem.amazonaws.com", "PutFileSystemPolicy", &["policy"]),
    ("glue.amazonaws.com", "PutResourcePolicy", &["policyInJson"]),
    ("logs.amazonaws.com", "PutResourcePolicy", &["policyDocument"]),
    ("es.amazonaws.com", "UpdateDomainConfig", &["accessPolicies"]),
    ("es.amazonaws.com", "CreateDomain", &["accessPolicies"]),
];

/// Calls that grant without a policy document (request fields, ACLs), and
/// SNS's attribute call, whose document sits beside its name.
const GRANTS: [&str; 5] = [
    "AddPermission20150331v2",
    "AddPermission20150331",
    "AddLayerVersionPermission20181031",
    "PutBucketAcl",
    "SetTopicAttributes",
];

/// Every event this family reads.
pub(super) fn events() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = DOCUMENTS.iter().map(|(_, name, _)| *name).chain(GRANTS).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Condition keys that narrow who a statement reaches (compared without case).
pub(crate) const NARROWING: [&str; 12] = [
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:sourceowner",
];

const PUBLIC_GROUPS: [&str; 2] = ["/global/AllUsers", "/global/AuthenticatedUsers"];

/// What one policy or grant reaches.
#[derive(Debug, Default)]
struct Reached {
    reach: Vec<(Reach, Option<String>)>,
    conditions: Vec<String>,
}

impl Reached {
    fn add(&mut self, reach: Reach, account: Option<String>) {
        self.reach.push((reach, account));
    }
}

pub(super) fn compute(ctx: &Context<'_>, facts: &mut Facts) {
    let Some(request) = ctx.request() else { return };
    let source = ctx.record.get("eventSource").and_then(Value::as_str).unwrap_or_default();
    let name = ctx.event_name();
    let mut reached = Reached::default();
    let field = match name {
        "AddPermission20150331v2" | "AddPermission20150331" | "AddLayerVersionPermission20181031" => {
            lambda_grant(ctx, request, &mut reached);
            "principal"
        }
        "PutBucketAcl" => {
            bucket_acl(request, &mut reached);
            "AccessControlPolicy"
        }
        "SetTopicAttributes" => {
            if text_of(request.get("attributeName")).as_deref() != Some("Policy") {
                return;
            }
            let Some(document) = parse_document(request.get("attributeValue")) else { return };
            statements(ctx, &document, &mut reached);
            "attributeValue"
        }
        _ => {
            let Some((_, _, path)) = DOCUMENTS.iter().find(|(s, n, _)| *s == source && *n == name) else { return };
            let Some(document) = parse_document(at(request, path)) else { return };
            statements(ctx, &document, &mut reached);
            path.last().copied().unwrap_or_default()
        }
    };
    facts.text(Field::PolicySource, format!("requestParameters.{field}"));
    let public = reached.reach.iter().any(|(r, _)| *r == Reach::Public);
    let outside: Vec<&String> =
        reached.reach.iter().filter(|(r, _)| *r == Reach::Outside).filter_map(|(_, a)| a.as_ref()).collect();
    facts.flag(Field::PolicyPublic, public);
    facts.flag(Field::PolicyOutside, !outside.is_empty());
    for account in outside {
        facts.text(Field::PolicyOutsideAccounts, account.clone());
    }
    for (reach, _) in &reached.reach {
        facts.text(Field::PolicyReach, reach.as_str());
    }
    reached.conditions.sort();
    reached.conditions.dedup();
    for key in reached.conditions {
        facts.text(Field::PolicyConditions, key);
    }
}

/// A policy held as an object, a JSON string, or a URL-encoded JSON string.
fn parse_document(value: Option<&Value>) -> Option<Value> {
    match value? {
        v @ Value::Object(_) => Some(v.clone()),
        Value::String(text) => serde_json::from_str(text).ok().or_else(|| {
            let decoded = percent_decode_str(text).decode_utf8().ok()?;
            serde_json::from_str(&decoded).ok()
        }),
        _ => None,
    }
}

/// Classifies every principal of every `Allow` statement.
fn statements(ctx: &Context<'_>, document: &Value, reached: &mut Reached) {
    for statement in items(document.get("Statement")) {
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let narrowing = narrowing_keys(statement.get("Condition"));
        let restricted = !narrowing.is_empty();
        reached.conditions.extend(narrowing);
        if statement.get("NotPrincipal").is_some() {
            // Allow to everyone except some: public.
            reached.add(if restricted { Reach::PublicRestricted } else { Reach::Public }, None);
            continue;
        }
        match statement.get("Principal") {
            Some(Value::String(p)) => principal(ctx, "AWS", p, restricted, reached),
            Some(Value::Object(map)) => {
                for (kind, value) in map {
                    for p in items(Some(value)) {
                        if let Some(p) = p.as_str() {
                            principal(ctx, kind, p, restricted, reached);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// The narrowing condition keys of a statement's `Condition`.
fn narrowing_keys(condition: Option<&Value>) -> Vec<String> {
    let Some(Value::Object(operators)) = condition else { return Vec::new() };
    let mut keys = Vec::new();
    for (operator, tests) in operators {
        // A test that is true when the key is absent narrows nothing.
        if operator.ends_with("IfExists") || operator == "Null" {
            continue;
        }
        if let Value::Object(tests) = tests {
            for key in tests.keys() {
                if NARROWING.contains(&key.to_ascii_lowercase().as_str()) {
                    keys.push(key.clone());
                }
            }
        }
    }
    keys
}

/// One principal: `*`, an account id or ARN, a service, a federated provider.
fn principal(ctx: &Context<'_>, kind: &str, text: &str, restricted: bool, reached: &mut Reached) {
    let public = if restricted { Reach::PublicRestricted } else { Reach::Public };
    match kind {
        "Service" => reached.add(Reach::Service, None),
        "Federated" => reached.add(Reach::Federated, None),
        "CanonicalUser" => {}
        _ if text == "*" => reached.add(public, None),
        _ => match account_of(text) {
            Some(account) if account == "*" => reached.add(public, None),
            Some(account) => reached.add(ctx.reach_of_account(&account, restricted), Some(account)),
            None if text.ends_with(".amazonaws.com") => reached.add(Reach::Service, None),
            None => {}
        },
    }
}

/// The account of `123456789012` or `arn:aws:iam::123456789012:role/x`;
/// `*` for `arn:aws:iam::*:root`.
pub(crate) fn account_of(text: &str) -> Option<String> {
    if is_account_id(text) {
        return Some(text.to_string());
    }
    let account = text.strip_prefix("arn:")?.split(':').nth(3)?;
    (is_account_id(account) || account == "*").then(|| account.to_string())
}

/// Lambda `AddPermission`: `principal` with the request's narrowing fields.
fn lambda_grant(ctx: &Context<'_>, request: &Value, reached: &mut Reached) {
    let Some(text) = text_of(request.get("principal")) else { return };
    let narrowing: Vec<&str> = ["sourceArn", "sourceAccount", "principalOrgID", "organizationId"]
        .into_iter()
        .filter(|k| request.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    // A function URL permission with IAM auth still needs signed callers of this account.
    let iam_url = text_of(request.get("functionUrlAuthType")).as_deref() == Some("AWS_IAM");
    let restricted = !narrowing.is_empty() || iam_url;
    reached.conditions.extend(narrowing.iter().map(|k| k.to_string()));
    principal(ctx, "AWS", &text, restricted, reached);
}

/// `PutBucketAcl`: grants to everyone (AllUsers) or every AWS user
/// (AuthenticatedUsers), as an ACL body or a canned `x-amz-acl`.
fn bucket_acl(request: &Value, reached: &mut Reached) {
    let canned = items(request.get("x-amz-acl"));
    if canned.iter().filter_map(|v| v.as_str()).any(|acl| acl.starts_with("public-") || acl == "authenticated-read") {
        reached.add(Reach::Public, None);
    }
    for header in [
        "x-amz-grant-read",
        "x-amz-grant-write",
        "x-amz-grant-full-control",
        "x-amz-grant-read-acp",
        "x-amz-grant-write-acp",
    ] {
        if items(request.get(header))
            .iter()
            .filter_map(|v| v.as_str())
            .any(|g| PUBLIC_GROUPS.iter().any(|p| g.contains(p)))
        {
            reached.add(Reach::Public, None);
        }
    }
    let acl = at(request, &["AccessControlPolicy", "AccessControlList", "Grant"]);
    for grant in items(acl) {
        let uri = text_of(at(grant, &["Grantee", "URI"])).unwrap_or_default();
        if PUBLIC_GROUPS.iter().any(|p| uri.ends_with(p)) {
            reached.add(Reach::Public, None);
        }
    }
}
