//! Named reports: the questions people ask of CloudTrail most, each a filter,
//! a set of columns and an order, or a grouping. The Athena named queries in
//! `template.yaml` answer the same questions with the same columns; a test
//! holds the two to the same rows.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::limits::MAX_HELD_BYTES;

use super::{Column, Filters, Row};

/// A named report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    SgHistory,
    ConsoleLogins,
    S3Sigv2,
    S3Anonymous,
    ActiveUsers,
    KeyActivity(String),
    RootActivity,
    IamChanges,
    ObjectAccess,
}

/// Every report: its name and what it answers.
pub const REPORTS: [(&str, &str); 9] = [
    ("sg-history", "every security-group change by group: who, when, from where, which rules"),
    ("console-logins", "every console sign-in: user, how (root, iam, sso, federated), MFA, outcome, IP"),
    ("s3-sigv2", "callers still signing S3 requests with SigV2, by principal and bucket"),
    ("s3-anonymous", "anonymous S3 requests (accountId anonymous or ANONYMOUS_PRINCIPAL)"),
    ("active-users", "distinct principals per day, with their number of events"),
    ("key-activity", "everything one access key did (give the key ID), and the session keys it obtained"),
    ("root-activity", "what the root user did itself (the CIS root-usage condition)"),
    ("iam-changes", "every IAM write call, with its request parameters"),
    ("object-access", "every S3 object-level call (data events): who, which bucket and key, from where, outcome"),
];

/// How a report's rows come out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// One row per record, sorted by these columns (indexes into `columns`).
    Rows { sort_by: Vec<usize> },
    /// One row per distinct value of the key columns.
    Groups(Grouping),
}

/// A grouping: key columns, a count, first and last event time, and the
/// distinct values of one more column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    pub keys: Vec<Column>,
    pub count: &'static str,
    pub distinct: Option<(Column, &'static str)>,
}

const SG_EVENTS: &str = "{ ($.eventSource = ec2.amazonaws.com) && (($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || ($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || ($.eventName = ModifySecurityGroupRules) || ($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup)) }";
const ANONYMOUS_S3: &str = "{ ($.eventSource = s3.amazonaws.com) && (($.userIdentity.accountId = ANONYMOUS_PRINCIPAL) || ($.userIdentity.accountId = anonymous) || ($.userIdentity.principalId = ANONYMOUS_PRINCIPAL)) }";

impl Report {
    /// A report by name; `key-activity` needs the access key ID as `argument`.
    pub fn parse(name: &str, argument: Option<&str>) -> Result<Report> {
        let report = match name {
            "sg-history" => Report::SgHistory,
            "console-logins" => Report::ConsoleLogins,
            "s3-sigv2" => Report::S3Sigv2,
            "s3-anonymous" => Report::S3Anonymous,
            "active-users" => Report::ActiveUsers,
            "root-activity" => Report::RootActivity,
            "iam-changes" => Report::IamChanges,
            "object-access" => Report::ObjectAccess,
            "key-activity" => match argument {
                Some(key) if !key.trim().is_empty() => return Ok(Report::KeyActivity(key.trim().to_string())),
                _ => {
                    return Err(query_error("key-activity needs an access key ID, e.g. --report key-activity=AKIA..."))
                }
            },
            other => {
                let names: Vec<&str> = REPORTS.iter().map(|(n, _)| *n).collect();
                return Err(query_error(&format!("no report '{other}': use one of {}", names.join(", "))));
            }
        };
        match argument {
            Some(_) => Err(query_error(&format!("report {name} takes no argument"))),
            None => Ok(report),
        }
    }

    pub fn name(&self) -> &'static str {
        let index = match self {
            Report::SgHistory => 0,
            Report::ConsoleLogins => 1,
            Report::S3Sigv2 => 2,
            Report::S3Anonymous => 3,
            Report::ActiveUsers => 4,
            Report::KeyActivity(_) => 5,
            Report::RootActivity => 6,
            Report::IamChanges => 7,
            Report::ObjectAccess => 8,
        };
        REPORTS[index].0
    }

    /// Adds the report's own conditions to the user's filters.
    pub fn apply(&self, filters: &mut Filters) {
        let pattern = match self {
            Report::SgHistory => SG_EVENTS,
            Report::ConsoleLogins => "{ ($.eventSource = signin.amazonaws.com) && ($.eventName = ConsoleLogin) }",
            Report::S3Sigv2 => "{ ($.eventSource = s3.amazonaws.com) && ($.additionalEventData.SignatureVersion = SigV2) }",
            Report::S3Anonymous => ANONYMOUS_S3,
            Report::ActiveUsers => "{ ($.userIdentity.type = *) && ($.userIdentity.type != AWSService) }",
            Report::KeyActivity(key) => {
                filters.access_keys.push(key.clone());
                return;
            }
            Report::RootActivity => "{ $.userIdentity.type = \"Root\" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != \"AwsServiceEvent\" }",
            Report::IamChanges => "{ ($.eventSource = iam.amazonaws.com) && ($.readOnly IS FALSE) }",
            Report::ObjectAccess => "{ ($.eventSource = s3.amazonaws.com) && ($.eventCategory = Data) }",
        };
        filters.patterns.push(pattern.to_string());
    }

    /// The columns of each row (for grouped reports: what groups are built from).
    pub fn columns(&self) -> Vec<Column> {
        use Column::*;
        match self {
            Report::SgHistory => {
                vec![GroupId, Time, Event, Principal, Ip, Account, Region, Outcome, Error, Change, Request]
            }
            Report::ConsoleLogins => {
                vec![Time, Account, User, PrincipalType, Via, Mfa, Outcome, ErrorMessage, Ip, UserAgent]
            }
            Report::S3Anonymous => vec![Time, Account, Region, Bucket, Event, ObjectKey, Ip, UserAgent, Outcome, Error],
            Report::KeyActivity(_) => {
                vec![
                    Time, Account, Region, Source, Event, Principal, Ip, UserAgent, Outcome, Error, DerivedKey,
                    Resources,
                ]
            }
            Report::RootActivity => vec![Time, Account, Region, Source, Event, Ip, UserAgent, Outcome, Error],
            Report::IamChanges => vec![Time, Account, Event, Principal, Ip, Outcome, Error, Request],
            Report::ObjectAccess => {
                vec![Time, Account, Region, Principal, Event, Bucket, ObjectKey, Ip, UserAgent, Outcome, Error]
            }
            Report::S3Sigv2 => vec![Principal, Bucket, Time, Event],
            Report::ActiveUsers => vec![Day, Principal, PrincipalType, Time],
        }
    }

    pub fn shape(&self) -> Shape {
        match self {
            Report::SgHistory => Shape::Rows { sort_by: vec![0, 1] },
            Report::S3Sigv2 => Shape::Groups(Grouping {
                keys: vec![Column::Principal, Column::Bucket],
                count: "requests",
                distinct: Some((Column::Event, "events")),
            }),
            Report::ActiveUsers => Shape::Groups(Grouping {
                keys: vec![Column::Day, Column::Principal, Column::PrincipalType],
                count: "events",
                distinct: None,
            }),
            _ => Shape::Rows { sort_by: vec![0] },
        }
    }
}

fn query_error(message: &str) -> Error {
    Error::new(ErrorKind::Query(message.to_string()))
}

/// At most this many distinct values are listed per group.
pub const MAX_DISTINCT: usize = 50;

#[derive(Debug, Default)]
struct Group {
    count: u64,
    first: Option<String>,
    last: Option<String>,
    distinct: BTreeSet<String>,
    more: u64,
}

/// Rows folded into groups. Memory follows the number of groups and their
/// keys (each cut at [`MAX_HELD_VALUE_BYTES`](crate::limits::MAX_HELD_VALUE_BYTES)),
/// which [`Groups::add`] caps in number and in bytes.
#[derive(Debug)]
pub struct Groups {
    grouping: Grouping,
    groups: BTreeMap<Vec<Option<String>>, Group>,
    max_groups: usize,
    /// About the memory the groups take, held under [`MAX_HELD_BYTES`].
    held_bytes: usize,
}

impl Groups {
    pub fn new(grouping: Grouping, max_groups: usize) -> Groups {
        Groups { grouping, groups: BTreeMap::new(), max_groups, held_bytes: 0 }
    }

    /// Adds one row; fails when a new group would pass the cap.
    pub fn add(&mut self, row: &Row<'_>) -> Result<()> {
        let key: Vec<Option<String>> =
            self.grouping.keys.iter().map(|c| row.get(c).map(|v| super::held_value(&v))).collect();
        if !self.groups.contains_key(&key) {
            if self.groups.len() >= self.max_groups {
                return Err(query_error(&format!(
                    "more than {} groups: narrow the query (--since, --account, ...)",
                    self.max_groups
                )));
            }
            self.held_bytes += super::held_size(&key) + 128;
        }
        let group = self.groups.entry(key).or_default();
        group.count += 1;
        if let Some(time) = row.get(&Column::Time).map(|t| super::held_value(&t)) {
            if group.first.as_deref().is_none_or(|f| *time < *f) {
                group.first = Some(time.clone());
            }
            if group.last.as_deref().is_none_or(|l| *time > *l) {
                group.last = Some(time);
            }
        }
        if let Some((column, _)) = &self.grouping.distinct {
            if let Some(value) = row.get(column) {
                let value = super::held_value(&value);
                if !group.distinct.contains(&value) {
                    if group.distinct.len() < MAX_DISTINCT {
                        self.held_bytes += value.len() + 48;
                        group.distinct.insert(value);
                    } else {
                        group.more += 1;
                    }
                }
            }
        }
        if self.held_bytes > MAX_HELD_BYTES {
            return Err(query_error(&format!(
                "the groups take more than {}: narrow the query (--since, --account, ...)",
                crate::limits::size(MAX_HELD_BYTES as u64)
            )));
        }
        Ok(())
    }

    /// The output's column names.
    pub fn header(&self) -> Vec<String> {
        let mut names: Vec<String> = self.grouping.keys.iter().map(|c| c.name().to_string()).collect();
        names.extend([self.grouping.count, "first_seen", "last_seen"].map(String::from));
        if let Some((_, name)) = &self.grouping.distinct {
            names.push(name.to_string());
        }
        names
    }

    /// One row per group, in key order.
    pub fn into_rows(self) -> Vec<Vec<Option<String>>> {
        let with_distinct = self.grouping.distinct.is_some();
        self.groups
            .into_iter()
            .map(|(mut row, group)| {
                row.extend([Some(group.count.to_string()), group.first, group.last]);
                if with_distinct {
                    let mut list = group.distinct.into_iter().collect::<Vec<_>>().join(",");
                    if group.more > 0 {
                        let _ = write!(list, ",... ({} more)", group.more);
                    }
                    row.push(Some(list));
                }
                row
            })
            .collect()
    }
}

/// A security-group change in words: the rules a call added, removed or
/// modified, read from the same normalized rules the detections' facts use
/// (`crate::facts`), so a report and an alert never disagree on what a
/// change did; `created web in vpc-1` and `deleted` for groups.
pub fn security_group_change(json: &str) -> Option<String> {
    let record: Value = serde_json::from_str(json).ok()?;
    let request = &record["requestParameters"];
    match record["eventName"].as_str()? {
        "CreateSecurityGroup" => {
            let name = request["groupName"].as_str().filter(|s| !s.is_empty()).unwrap_or("?");
            let vpc =
                request["vpcId"].as_str().filter(|s| !s.is_empty()).map(|v| format!(" in {v}")).unwrap_or_default();
            Some(format!("created {name}{vpc}"))
        }
        "DeleteSecurityGroup" => Some("deleted".into()),
        _ => crate::facts::security_group_change(&record),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_report_parses_by_name_and_names_itself() {
        for (name, _) in REPORTS {
            let argument = (name == "key-activity").then_some("AKIAEXAMPLE");
            assert_eq!(Report::parse(name, argument).unwrap().name(), name);
        }
        assert!(Report::parse("key-activity", None).is_err());
        assert!(Report::parse("sg-history", Some("x")).is_err());
        assert!(Report::parse("nope", None).unwrap_err().to_string().contains("sg-history"));
    }

    #[test]
    fn security_group_changes_in_words() {
        let cases = [
            (
                r#"{"eventName":"AuthorizeSecurityGroupIngress","requestParameters":{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"},{"cidrIp":"0.0.0.0/0"}]},"ipv6Ranges":{}}]}}}"#,
                "+ ingress tcp 22 from 10.0.0.0/8, 0.0.0.0/0",
            ),
            (
                r#"{"eventName":"RevokeSecurityGroupEgress","requestParameters":{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"-1","groups":{"items":[{"groupId":"sg-2"}]}}]}}}"#,
                "- egress all from sg-2",
            ),
            (
                r#"{"eventName":"RevokeSecurityGroupIngress","requestParameters":{"groupId":"sg-1","securityGroupRuleIds":{"items":[{"securityGroupRuleId":"sgr-9"}]}}}"#,
                "- ingress sgr-9",
            ),
            (
                r#"{"eventName":"ModifySecurityGroupRules","requestParameters":{"ModifySecurityGroupRulesRequest":{"GroupId":"sg-1","SecurityGroupRule":{"SecurityGroupRuleId":"sgr-1","SecurityGroupRule":{"IpProtocol":"tcp","FromPort":1024,"ToPort":65535,"CidrIpv6":"::/0"}}}}}"#,
                "~ sgr-1: tcp 1024-65535 from ::/0",
            ),
            (
                r#"{"eventName":"ModifySecurityGroupRules","requestParameters":{"ModifySecurityGroupRulesRequest":{"GroupId":"sg-1"}}}"#,
                "~ rules modified",
            ),
            (
                r#"{"eventName":"CreateSecurityGroup","requestParameters":{"groupName":"web","vpcId":"vpc-1"},"responseElements":{"groupId":"sg-3"}}"#,
                "created web in vpc-1",
            ),
            (r#"{"eventName":"DeleteSecurityGroup","requestParameters":{"groupId":"sg-3"}}"#, "deleted"),
            // The CLI's flat form, as the detection reads it too.
            (
                r#"{"eventName":"AuthorizeSecurityGroupIngress","requestParameters":{"groupId":"sg-1","ipPermissions":{},"cidrIp":"0.0.0.0/0","ipProtocol":"tcp","fromPort":22,"toPort":22}}"#,
                "+ ingress tcp 22 from 0.0.0.0/0",
            ),
        ];
        for (json, want) in cases {
            assert_eq!(security_group_change(json).as_deref(), Some(want), "{json}");
        }
        assert_eq!(security_group_change(r#"{"eventName":"RunInstances"}"#), None);
        assert_eq!(security_group_change("not json"), None);
    }
}
