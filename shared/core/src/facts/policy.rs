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

use super::{at, is_account_id, is_org_id, items, text_of, Context, Facts, Field, Reach};

/// Where each event carries its policy: (event source, event name, path in
/// `requestParameters`).
const DOCUMENTS: [(&str, &str, &[&str]); 20] = [
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
    ("dynamodb.amazonaws.com", "PutResourcePolicy", &["policy"]),
    ("kinesis.amazonaws.com", "PutResourcePolicy", &["policy"]),
    ("events.amazonaws.com", "PutPermission", &["policy"]),
];

/// Calls that grant without a policy document (request fields, ACLs), and
/// SNS's attribute call, whose document sits beside its name.
const GRANTS: [&str; 8] = [
    "AddPermission20150331v2",
    "AddPermission20150331",
    "AddLayerVersionPermission20181031",
    "PutBucketAcl",
    "SetTopicAttributes",
    "AddPermission",
    "PutPermission",
    "CreateGrant",
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
        // SNS and SQS: a list of account ids (CloudTrail's casing of the
        // API's `AWSAccountId(s)` varies; every spelling is read).
        "AddPermission" => {
            for field in
                ["aWSAccountIds", "aWSAccountId", "AWSAccountIds", "AWSAccountId", "awsAccountIds", "awsAccountId"]
            {
                for account in items(request.get(field)).into_iter().filter_map(|v| text_of(Some(v))) {
                    principal(ctx, "AWS", &account, &Narrowing::default(), &mut reached);
                }
            }
            "AWSAccountIds"
        }
        // EventBridge: `principal` (with an optional organization condition), or a whole policy.
        "PutPermission" if request.get("policy").is_none() => {
            event_bus_grant(ctx, request, &mut reached);
            "principal"
        }
        // KMS: a grant to a principal (services and this account's roles are most of them).
        "CreateGrant" => {
            let Some(grantee) = text_of(request.get("granteePrincipal")) else { return };
            principal(ctx, "AWS", &grantee, &Narrowing::default(), &mut reached);
            "granteePrincipal"
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
        let narrowing = Narrowing::of(statement.get("Condition"));
        reached.conditions.extend(narrowing.keys.iter().cloned());
        if statement.get("NotPrincipal").is_some() {
            // Allow to everyone except some: public.
            narrowing.reach_of_anyone(ctx, reached);
            continue;
        }
        match statement.get("Principal") {
            Some(Value::String(p)) => principal(ctx, "AWS", p, &narrowing, reached),
            Some(Value::Object(map)) => {
                for (kind, value) in map {
                    for p in items(Some(value)) {
                        if let Some(p) = p.as_str() {
                            principal(ctx, kind, p, &narrowing, reached);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// What a statement's conditions narrow its principals to.
#[derive(Debug, Default)]
struct Narrowing {
    /// The narrowing keys, as written (the `conditions` fact).
    keys: Vec<String>,
    /// The accounts and organizations account, ARN and organization keys name.
    to: Vec<String>,
    /// Every effective test's key, lower-cased, for web-identity checks.
    tested: Vec<String>,
}

impl Narrowing {
    /// Reads a `Condition`. A test narrows only when it must hold: not a
    /// negated operator (`StringNotEquals`, `NotIpAddress`, ...), not
    /// `...IfExists`, `Null` or `ForAllValues:` (true when the key is absent),
    /// and not a value that matches anything (`*`, `/0`, an ARN with any account).
    fn of(condition: Option<&Value>) -> Narrowing {
        let mut narrowing = Narrowing::default();
        let Some(Value::Object(operators)) = condition else { return narrowing };
        for (operator, tests) in operators {
            let passes_when_absent = operator.ends_with("IfExists") || operator == "Null";
            if passes_when_absent || operator.contains("Not") || operator.starts_with("ForAllValues:") {
                continue;
            }
            let Value::Object(tests) = tests else { continue };
            for (key, values) in tests {
                let lower = key.to_ascii_lowercase();
                let values: Vec<&str> = items(Some(values)).into_iter().filter_map(Value::as_str).collect();
                // `repo:*` lets every GitHub repository in.
                let any_repo = |v: &&str| lower.ends_with(":sub") && v.starts_with("repo:*");
                if values.is_empty() || values.iter().any(|v| matches_anything(v) || any_repo(v)) {
                    continue;
                }
                narrowing.tested.push(lower.clone());
                if !NARROWING.contains(&lower.as_str()) {
                    continue;
                }
                if lower.ends_with("ip") && values.iter().any(|v| super::network::is_world(v)) {
                    continue;
                }
                let named: Vec<String> = values.iter().filter_map(|v| named_account_or_org(&lower, v)).collect();
                if named.iter().any(|n| n == "*") {
                    continue;
                }
                narrowing.keys.push(key.clone());
                narrowing.to.extend(named);
            }
        }
        narrowing
    }

    fn narrows(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The reach of `*` under these conditions: public when nothing narrows
    /// it; the outside account or organization a condition names, if any;
    /// otherwise restricted.
    fn reach_of_anyone(&self, ctx: &Context<'_>, reached: &mut Reached) {
        if !self.narrows() {
            return reached.add(Reach::Public, None);
        }
        let outside: Vec<&String> = self.to.iter().filter(|a| ctx.reach_of_account(a) == Reach::Outside).collect();
        if outside.is_empty() {
            reached.add(Reach::PublicRestricted, None);
        }
        for account in outside {
            reached.add(Reach::Outside, Some(account.clone()));
        }
    }
}

/// A condition value that any caller satisfies.
fn matches_anything(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b == b'*' || b == b'?')
}

/// The account (or organization) a narrowing condition's value names:
/// `aws:SourceAccount` and `aws:PrincipalAccount` hold accounts, `...Arn` keys
/// ARNs (`*` for any account), `...OrgID` an organization, `...OrgPaths` a
/// path that starts with one.
fn named_account_or_org(key: &str, value: &str) -> Option<String> {
    if key.ends_with("account") || key.ends_with("owner") {
        return Some(if is_account_id(value) { value.to_string() } else { "*".to_string() });
    }
    if key.ends_with("arn") {
        return Some(account_of(value).filter(|a| !a.contains(['*', '?'])).unwrap_or_else(|| "*".into()));
    }
    if key.ends_with("orgid") || key.ends_with("orgpaths") {
        let org = value.split('/').next().unwrap_or_default();
        return Some(if is_org_id(org) { org.to_string() } else { "*".to_string() });
    }
    None
}

/// Web-identity providers: who may assume is whoever the provider vouches
/// for, unless a `sub` (or, but for GitHub, `aud`) condition says who.
fn web_identity_narrowed(provider: &str, narrowing: &Narrowing) -> bool {
    let name = provider.rsplit("oidc-provider/").next().unwrap_or(provider).to_ascii_lowercase();
    let github = name.starts_with("token.actions.githubusercontent.com");
    narrowing
        .tested
        .iter()
        .any(|key| key.starts_with(&name) && (key.ends_with(":sub") || (!github && key.ends_with(":aud"))))
}

/// One principal: `*`, an account id or ARN, a service, a federated provider.
fn principal(ctx: &Context<'_>, kind: &str, text: &str, narrowing: &Narrowing, reached: &mut Reached) {
    match kind {
        "Service" => reached.add(Reach::Service, None),
        "Federated" if text.contains(":saml-provider/") => reached.add(Reach::Federated, None),
        "Federated" if web_identity_narrowed(text, narrowing) => reached.add(Reach::Federated, None),
        // A web-identity provider nothing narrows: any of its users (any GitHub repository).
        "Federated" => reached.add(Reach::Public, None),
        "CanonicalUser" => {}
        _ if text == "*" => narrowing.reach_of_anyone(ctx, reached),
        _ => match account_of(text) {
            Some(account) if account == "*" => narrowing.reach_of_anyone(ctx, reached),
            Some(account) => reached.add(ctx.reach_of_account(&account), Some(account)),
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
    if account.contains('*') {
        Some("*".into())
    } else {
        is_account_id(account).then(|| account.to_string())
    }
}

/// Lambda `AddPermission`: `principal`, narrowed by the request's source
/// account, source ARN or organization (an IAM-authenticated function URL
/// narrows nothing: any account's signed callers may use a `*` grant).
fn lambda_grant(ctx: &Context<'_>, request: &Value, reached: &mut Reached) {
    let tests = [
        ("aws:SourceAccount", text_of(request.get("sourceAccount"))),
        ("aws:SourceArn", text_of(request.get("sourceArn"))),
        ("aws:PrincipalOrgID", text_of(request.get("principalOrgID"))),
        ("aws:PrincipalOrgID", text_of(request.get("organizationId"))),
    ];
    request_field_grant(ctx, request, &tests, reached);
}

/// EventBridge `PutPermission`: `principal` (`*` or an account), narrowed by
/// `condition: {type, key: aws:PrincipalOrgID, value}`.
fn event_bus_grant(ctx: &Context<'_>, request: &Value, reached: &mut Reached) {
    let condition = request.get("condition");
    let key = text_of(condition.and_then(|c| c.get("key"))).unwrap_or_default();
    request_field_grant(ctx, request, &[(key.as_str(), text_of(condition.and_then(|c| c.get("value"))))], reached);
}

/// A grant written as request fields: `principal`, narrowed by the given
/// condition tests (key, value when the request has it), read as a
/// statement's `StringEquals` would be.
fn request_field_grant(ctx: &Context<'_>, request: &Value, tests: &[(&str, Option<String>)], reached: &mut Reached) {
    let Some(text) = text_of(request.get("principal")) else { return };
    let condition: serde_json::Map<String, Value> =
        tests.iter().filter_map(|(key, value)| Some((key.to_string(), Value::String(value.clone()?)))).collect();
    let narrowing = Narrowing::of(Some(&serde_json::json!({ "StringEquals": condition })));
    reached.conditions.extend(narrowing.keys.iter().cloned());
    principal(ctx, "AWS", &text, &narrowing, reached);
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
