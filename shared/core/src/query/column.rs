//! Output columns of `trailwatch query`: what each shows, read from one
//! matched record. Every value is the record's own text (attacker-controlled;
//! whoever prints it escapes it) or derived from it by a rule written here
//! and, for the named reports, mirrored in the Athena queries.

use std::borrow::Cow;

use crate::error::{Error, ErrorKind, Result};
use crate::extract::Scalar;
use crate::pattern::parse_selector;
use crate::record::Fact;

use super::Row;

/// One output column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Time,
    Day,
    Account,
    Region,
    Source,
    Event,
    Principal,
    PrincipalType,
    User,
    Ip,
    UserAgent,
    Error,
    ErrorMessage,
    Resources,
    EventId,
    AccessKey,
    ReadOnly,
    EventType,
    Mfa,
    Outcome,
    Via,
    Bucket,
    ObjectKey,
    GroupId,
    Change,
    DerivedKey,
    Request,
    File,
    Record,
    /// Any field, by selector (`$.requestParameters.groupId`); `slot` is
    /// assigned when the query is built.
    Field {
        selector: String,
        slot: usize,
    },
}

/// Every named column, its name and what it shows.
pub const NAMED: [(Column, &str, &str); 29] = [
    (Column::Time, "time", "eventTime"),
    (Column::Day, "day", "the day of eventTime, YYYY-MM-DD"),
    (Column::Account, "account", "recipientAccountId (else userIdentity.accountId)"),
    (Column::Region, "region", "awsRegion"),
    (Column::Source, "source", "eventSource"),
    (Column::Event, "event", "eventName"),
    (Column::Principal, "principal", "who acted: ARN, else invoking service, principal ID, user name or account"),
    (Column::PrincipalType, "type", "userIdentity.type (AWSService for service calls)"),
    (Column::User, "user", "userName, else the last part of the ARN (session name, root), else principal"),
    (Column::Ip, "ip", "sourceIPAddress"),
    (Column::UserAgent, "user_agent", "userAgent"),
    (Column::Error, "error", "errorCode"),
    (Column::ErrorMessage, "error_message", "errorMessage"),
    (Column::Resources, "resources", "resources[].ARN"),
    (Column::EventId, "event_id", "eventID"),
    (Column::AccessKey, "access_key", "userIdentity.accessKeyId"),
    (Column::ReadOnly, "read_only", "readOnly"),
    (Column::EventType, "event_type", "eventType"),
    (Column::Mfa, "mfa", "additionalEventData.MFAUsed"),
    (Column::Outcome, "outcome", "Success or Failure (errorCode, or a failed console sign-in)"),
    (Column::Via, "via", "how a console sign-in authenticated: root, iam, sso or federated"),
    (Column::Bucket, "bucket", "requestParameters.bucketName"),
    (Column::ObjectKey, "object_key", "requestParameters.key"),
    (Column::GroupId, "group_id", "the security group a call changed"),
    (Column::Change, "change", "a security-group change in words (rules added, removed, modified)"),
    (Column::DerivedKey, "derived_key", "responseElements.credentials.accessKeyId (keys this call created)"),
    (Column::Request, "request", "requestParameters as JSON"),
    (Column::File, "file", "the log file"),
    (Column::Record, "record", "the record's index in the file"),
];

/// The columns `trailwatch query` prints when none are asked for.
pub const DEFAULT: [Column; 12] = [
    Column::Time,
    Column::Account,
    Column::Region,
    Column::Source,
    Column::Event,
    Column::PrincipalType,
    Column::Principal,
    Column::Ip,
    Column::UserAgent,
    Column::Outcome,
    Column::Error,
    Column::Resources,
];

impl Column {
    /// A column by name, or any field by selector (`$.requestParameters.groupId`).
    pub fn parse(name: &str) -> Result<Column> {
        let name = name.trim();
        if name.starts_with('$') {
            parse_selector(name).map_err(|e| Error::new(ErrorKind::Query(format!("column {name}: {}", e.kind))))?;
            return Ok(Column::Field { selector: name.to_string(), slot: usize::MAX });
        }
        NAMED.iter().find(|(_, n, _)| *n == name).map(|(c, _, _)| c.clone()).ok_or_else(|| {
            let names: Vec<&str> = NAMED.iter().map(|(_, n, _)| *n).collect();
            Error::new(ErrorKind::Query(format!(
                "no column '{name}': use one of {} or a selector such as $.requestParameters.groupId",
                names.join(", ")
            )))
        })
    }

    /// A comma-separated list of columns.
    pub fn parse_list(text: &str) -> Result<Vec<Column>> {
        text.split(',').filter(|s| !s.trim().is_empty()).map(Column::parse).collect()
    }

    /// The column's name in headers and JSON rows.
    pub fn name(&self) -> &str {
        match self {
            Column::Field { selector, .. } => selector,
            other => NAMED.iter().find(|(c, _, _)| c == other).map_or("?", |(_, n, _)| n),
        }
    }

    /// The column's value in one row, if the record has it.
    pub fn value<'r>(&self, row: &Row<'r>) -> Option<Cow<'r, str>> {
        let facts = &row.facts;
        let fact = |f: Fact| facts.get(f).map(Cow::Borrowed);
        let slot = |s: usize| row.values.str(s).filter(|v| !v.is_empty()).map(Cow::Borrowed);
        match self {
            Column::Time => fact(Fact::EventTime),
            Column::Day => facts.get(Fact::EventTime).and_then(|t| t.get(..10)).map(Cow::Borrowed),
            Column::Account => facts.account_id().map(Cow::Borrowed),
            Column::Region => fact(Fact::Region),
            Column::Source => fact(Fact::EventSource),
            Column::Event => fact(Fact::EventName),
            Column::Principal => facts.principal().map(Cow::Borrowed),
            Column::PrincipalType => facts.principal_type().map(Cow::Borrowed),
            Column::User => fact(Fact::UserName)
                .or_else(|| facts.get(Fact::IdentityArn).and_then(last_name).map(Cow::Borrowed))
                .or_else(|| facts.principal().map(Cow::Borrowed)),
            Column::Ip => fact(Fact::SourceIp),
            Column::UserAgent => fact(Fact::UserAgent),
            Column::Error => fact(Fact::ErrorCode),
            Column::ErrorMessage => fact(Fact::ErrorMessage),
            Column::Resources => {
                let arns: Vec<&str> =
                    row.values.get(row.slots.resource_arns).iter().filter_map(Scalar::as_str).collect();
                (!arns.is_empty()).then(|| Cow::Owned(arns.join(" ")))
            }
            Column::EventId => fact(Fact::EventId),
            Column::AccessKey => slot(row.slots.access_key),
            Column::ReadOnly => facts.read_only().map(|b| Cow::Borrowed(if b { "true" } else { "false" })),
            Column::EventType => fact(Fact::EventType),
            Column::Mfa => fact(Fact::MfaUsed),
            Column::Outcome => Some(Cow::Borrowed(if facts.failed() { "Failure" } else { "Success" })),
            Column::Via => via(row).map(Cow::Borrowed),
            Column::Bucket => slot(row.slots.bucket),
            Column::ObjectKey => slot(row.slots.object_key),
            Column::GroupId => row.slots.group_ids.iter().find_map(|&s| slot(s)),
            Column::Change => super::report::security_group_change(row.json).map(Cow::Owned),
            Column::DerivedKey => slot(row.slots.derived_key),
            Column::Request => {
                crate::finding::compact_field(facts, Fact::RequestParameters, row.json, "requestParameters")
                    .map(Cow::Owned)
            }
            Column::File => Some(Cow::Borrowed(row.file)),
            Column::Record => Some(Cow::Owned(row.index.to_string())),
            Column::Field { slot, .. } => row.values.get(*slot).first().map(scalar_text),
        }
    }
}

/// The name at the end of an ARN: after the last `/`, else the last `:`.
fn last_name(arn: &str) -> Option<&str> {
    arn.rsplit(['/', ':']).next().filter(|s| !s.is_empty())
}

/// How a console sign-in authenticated. Identity Center (SSO) sign-ins are
/// assumed `AWSReservedSSO_` roles; other assumed roles came through a SAML
/// or web-identity provider. For both, MFA happens at the identity
/// provider, so CloudTrail's `MFAUsed` says `No` whatever the provider did.
fn via<'r>(row: &Row<'r>) -> Option<&'static str> {
    let facts = &row.facts;
    match facts.get(Fact::IdentityType)? {
        "Root" => Some("root"),
        "IAMUser" => Some("iam"),
        "IdentityCenterUser" => Some("sso"),
        "AssumedRole" if facts.get(Fact::IssuerArn).is_some_and(|a| a.contains("/AWSReservedSSO_")) => Some("sso"),
        "AssumedRole" | "SAMLUser" | "WebIdentityUser" | "FederatedUser" => Some("federated"),
        _ => None,
    }
}

fn scalar_text<'r>(value: &Scalar<'r>) -> Cow<'r, str> {
    match value {
        Scalar::Str(s) => s.clone(),
        Scalar::Num(n) => Cow::Owned(n.to_string()),
        Scalar::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Scalar::Null => Cow::Borrowed("null"),
        Scalar::Container => Cow::Borrowed("{...}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_column_parses_back_to_itself() {
        for (column, name, _) in NAMED {
            assert_eq!(Column::parse(name).unwrap(), column);
            assert_eq!(column.name(), name);
        }
        assert!(Column::parse("nope").unwrap_err().to_string().contains("no column 'nope'"));
        assert!(Column::parse("$.a..b").is_err());
        assert_eq!(Column::parse("$.requestParameters.groupId").unwrap().name(), "$.requestParameters.groupId");
        assert_eq!(Column::parse_list("time, event,,ip").unwrap(), [Column::Time, Column::Event, Column::Ip]);
    }

    #[test]
    fn last_names_of_arns() {
        let cases = [
            ("arn:aws:iam::123456789012:user/alice", Some("alice")),
            ("arn:aws:sts::123456789012:assumed-role/deploy/ci-run-4411", Some("ci-run-4411")),
            ("arn:aws:iam::123456789012:root", Some("root")),
            ("arn:aws:iam::123456789012:user/", None),
        ];
        for (arn, want) in cases {
            assert_eq!(last_name(arn), want, "{arn}");
        }
    }
}
