//! Investigation: select records with filters, show chosen columns, run
//! named reports. The same streaming reader and single-pass extractor as
//! detection: one record in memory at a time, each record parsed once.
//!
//! - [`filter`]: the options (`--since`, `--user`, `--ip`...) and their semantics.
//! - [`column`]: what each output column shows.
//! - [`report`]: the named reports (security-group history, console sign-ins...).
//!
//! A [`Query`] is built once from [`Filters`] and columns, then run over
//! each file with [`Query::scan`]; matching records reach a [`QuerySink`] as
//! [`Row`]s. [`Query::may_hold`] tells from a file's name alone whether it
//! can hold matching records (time range, account, region), so a directory
//! of many days is read only where it matters.

pub mod column;
pub mod filter;
pub mod report;

use std::io::Read;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;

use crate::engine::record_error;
use crate::error::{Error, Result};
use crate::extract::{PathTable, Scalar, Values};
use crate::facts::Deriver;
use crate::key::parse_log_file_name;
use crate::pattern::{parse_selector, Pattern, Step};
use crate::reader::{LogReader, RawRecord, RecordVisitor, DEFAULT_MAX_RECORD_BYTES};
use crate::record::{Fact, FactSlots, RecordFacts};
use crate::summary::parse_file_time;

pub use column::Column;
pub use filter::{Filters, Glob, IpMatch};
pub use report::Report;

/// Where the fields beyond the record facts live in the query's table.
#[derive(Debug, Clone)]
pub(crate) struct Slots {
    access_key: usize,
    issuer_name: usize,
    resource_arns: usize,
    bucket: usize,
    object_key: usize,
    /// Where a call names its security group, in order of preference.
    group_ids: [usize; 4],
    derived_key: usize,
}

impl Slots {
    fn register(table: &mut PathTable) -> Slots {
        let resource_arns = table.intern(&[Step::Key("resources".into()), Step::AnyChild, Step::Key("ARN".into())]);
        let mut slot = |path: &str| table.intern(&steps(path));
        Slots {
            access_key: slot("userIdentity.accessKeyId"),
            issuer_name: slot("userIdentity.sessionContext.sessionIssuer.userName"),
            resource_arns,
            bucket: slot("requestParameters.bucketName"),
            object_key: slot("requestParameters.key"),
            group_ids: [
                slot("requestParameters.groupId"),
                slot("requestParameters.ModifySecurityGroupRulesRequest.GroupId"),
                slot("responseElements.groupId"),
                slot("requestParameters.groupName"),
            ],
            derived_key: slot("responseElements.credentials.accessKeyId"),
        }
    }
}

fn steps(dotted: &str) -> Vec<Step> {
    dotted.split('.').map(|k| Step::Key(k.to_string())).collect()
}

/// One condition of a query; see [`filter`] for what each means.
#[derive(Debug)]
enum Cond {
    Events(Vec<Glob>),
    Sources(Vec<Glob>),
    Regions(Vec<Glob>),
    Accounts(Vec<Glob>),
    Error(bool),
    ReadOnly(bool),
    AccessKeys(Vec<Glob>),
    Users(Vec<Glob>),
    Ips(Vec<IpMatch>),
    Time(Option<OffsetDateTime>, Option<OffsetDateTime>),
    Pattern(Box<Pattern>),
    Resources(Vec<Glob>),
}

/// A compiled query. Build once, scan many files.
pub struct Query {
    table: Arc<PathTable>,
    deriver: Deriver,
    facts: FactSlots,
    slots: Slots,
    conds: Vec<Cond>,
    columns: Vec<Column>,
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
    accounts: Vec<Glob>,
    regions: Vec<Glob>,
    late: Duration,
}

/// One matching record, for a [`QuerySink`].
pub struct Row<'r> {
    pub(crate) slots: &'r Slots,
    pub(crate) values: &'r Values<'r>,
    pub(crate) facts: RecordFacts<'r, 'r>,
    /// The record's JSON text.
    pub json: &'r str,
    /// The log file.
    pub file: &'r str,
    /// The record's index in the file.
    pub index: usize,
}

impl<'r> Row<'r> {
    /// The value of one column.
    pub fn get(&self, column: &Column) -> Option<std::borrow::Cow<'r, str>> {
        column.value(self)
    }

    /// The values of the query's columns, owned.
    pub fn owned(&self, columns: &[Column]) -> Vec<Option<String>> {
        columns.iter().map(|c| self.get(c).map(|v| v.into_owned())).collect()
    }

    /// The values of `columns` to hold in memory: each cut past
    /// [`MAX_HELD_VALUE_BYTES`](crate::limits::MAX_HELD_VALUE_BYTES), the cut shown.
    pub fn held(&self, columns: &[Column]) -> Vec<Option<String>> {
        columns.iter().map(|c| self.get(c).map(|v| held_value(&v))).collect()
    }
}

/// A value cut to be held in memory.
pub fn held_value(value: &str) -> String {
    crate::text::cut(value, crate::limits::MAX_HELD_VALUE_BYTES).into_owned()
}

/// About the memory a held row takes: its values and their headers.
pub fn held_size(row: &[Option<String>]) -> usize {
    row.iter().map(|v| 24 + v.as_ref().map_or(0, String::len)).sum::<usize>() + 24
}

/// Receives the rows of a scan, as they are found.
pub trait QuerySink {
    /// One matching record; `Break` stops the scan (e.g. `--limit` reached).
    fn row(&mut self, row: &Row<'_>) -> ControlFlow<()>;
    /// A read problem, as for detection scans.
    fn problem(&mut self, error: Error);
}

/// What one file's scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuerySummary {
    pub records: u64,
    pub matched: u64,
    pub problems: u64,
    /// False when a fault ended the file early.
    pub complete: bool,
    /// True when the sink stopped the scan.
    pub stopped: bool,
}

impl Query {
    /// Compiles the filters; `columns` are the ones rows will be asked for
    /// (selectors among them get their slots here).
    pub fn new(filters: &Filters, columns: &[Column]) -> Result<Query> {
        let mut table = PathTable::new();
        let facts = FactSlots::register(&mut table);
        let slots = Slots::register(&mut table);
        let mut conds = Vec::new();
        let mut push = |cond: Cond, given: bool| {
            if given {
                conds.push(cond);
            }
        };
        let f = filters;
        push(Cond::Events(filter::globs(&f.events)?), !f.events.is_empty());
        let sources = f.sources.iter().map(|s| filter::source_glob(s)).collect::<Result<Vec<_>>>()?;
        push(Cond::Sources(sources), !f.sources.is_empty());
        let regions = filter::globs(&f.regions)?;
        push(Cond::Regions(regions.clone()), !f.regions.is_empty());
        let accounts = filter::globs(&f.accounts)?;
        push(Cond::Accounts(accounts.clone()), !f.accounts.is_empty());
        if let Some(error) = f.error {
            push(Cond::Error(error), true);
        }
        if let Some(read_only) = f.read_only {
            push(Cond::ReadOnly(read_only), true);
        }
        push(Cond::AccessKeys(filter::globs(&f.access_keys)?), !f.access_keys.is_empty());
        push(Cond::Users(filter::globs(&f.users)?), !f.users.is_empty());
        let ips = f.ips.iter().map(|s| IpMatch::parse(s)).collect::<Result<Vec<_>>>()?;
        push(Cond::Ips(ips), !f.ips.is_empty());
        push(Cond::Time(f.since, f.until), f.since.is_some() || f.until.is_some());
        for text in &f.patterns {
            let mut pattern = Pattern::parse(text)?;
            pattern.bind(&mut table);
            push(Cond::Pattern(Box::new(pattern)), true);
        }
        push(Cond::Resources(filter::globs(&f.resources)?), !f.resources.is_empty());
        let columns = columns
            .iter()
            .map(|c| match c {
                Column::Field { selector, .. } => {
                    let parsed = parse_selector(selector)?;
                    Ok(Column::Field { selector: selector.clone(), slot: table.intern(&parsed.steps) })
                }
                other => Ok(other.clone()),
            })
            .collect::<Result<Vec<_>>>()?;
        let deriver = Deriver::new(&mut table, filters.trusted.clone())?;
        Ok(Query {
            table: Arc::new(table),
            deriver,
            facts,
            slots,
            conds,
            columns,
            since: filters.since,
            until: filters.until,
            accounts,
            regions,
            late: filter::LATE_DELIVERY,
        })
    }

    /// The accounts, regions and time range the query asks for, as globs
    /// and times (for pruning a listing by the key layout).
    pub fn bounds(&self) -> (&[Glob], &[Glob], Option<OffsetDateTime>, Option<OffsetDateTime>, Duration) {
        (&self.accounts, &self.regions, self.since, self.until, self.late)
    }

    /// The columns rows are asked for, with their slots bound.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Whether a file of this name can hold matching records. Only CloudTrail
    /// names (`<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_...`) can be
    /// ruled out: by the delivery time (events happen before it, and at most
    /// an hour before for pruning's sake), the account and the region.
    pub fn may_hold(&self, file_name: &str) -> bool {
        let Some((account, region, time)) = parse_log_file_name(file_name) else { return true };
        let account_ok = self.accounts.is_empty() || self.accounts.iter().any(|g| g.matches(&account));
        let region_ok = self.regions.is_empty() || self.regions.iter().any(|g| g.matches(&region));
        let time_ok = parse_file_time(&time)
            .is_none_or(|delivered| filter::file_may_overlap(delivered, self.since, self.until, self.late));
        account_ok && region_ok && time_ok
    }

    /// Scans one log file (gzip or plain); rows and problems go to `sink`.
    pub fn scan<R: Read + Send + 'static>(&self, source: &str, input: R, sink: &mut dyn QuerySink) -> QuerySummary {
        let mut reader = LogReader::new(source, input)
            .with_max_record_bytes(DEFAULT_MAX_RECORD_BYTES)
            .with_threads(crate::reader::default_threads())
            .with_paths(self.table.clone());
        let mut scan = FileQuery { query: self, source, sink, summary: QuerySummary::default() };
        scan.summary.complete = reader.visit(&mut scan);
        scan.summary
    }

    fn matches(&self, values: &Values<'_>, facts: &RecordFacts<'_, '_>, json: &str) -> bool {
        self.conds.iter().all(|cond| match cond {
            Cond::Events(globs) => any(globs, facts.get(Fact::EventName)),
            Cond::Sources(globs) => any(globs, facts.get(Fact::EventSource)),
            Cond::Regions(globs) => any(globs, facts.get(Fact::Region)),
            Cond::Accounts(globs) => any(globs, facts.account_id()),
            Cond::Error(want) => facts.failed() == *want,
            Cond::ReadOnly(want) => facts.read_only() == Some(*want),
            Cond::AccessKeys(globs) => any(globs, values.str(self.slots.access_key)),
            Cond::Users(globs) => {
                let names = [
                    facts.get(Fact::UserName),
                    facts.get(Fact::IdentityArn),
                    facts.get(Fact::PrincipalId),
                    facts.get(Fact::IssuerArn),
                    values.str(self.slots.issuer_name),
                ];
                // The role and session names inside an assumed-role ARN too.
                let arn_parts = facts.get(Fact::IdentityArn).into_iter().flat_map(|arn| arn.split('/').skip(1));
                globs.iter().any(|g| names.iter().flatten().any(|n| g.matches_name(n)))
                    || arn_parts.into_iter().any(|part| globs.iter().any(|g| g.matches(part)))
            }
            Cond::Ips(ips) => facts.get(Fact::SourceIp).is_some_and(|ip| ips.iter().any(|m| m.matches(ip))),
            Cond::Time(since, until) => filter::in_range(facts.get(Fact::EventTime), *since, *until),
            Cond::Pattern(pattern) => pattern.matches(values),
            Cond::Resources(globs) => {
                let mut arns = values.get(self.slots.resource_arns).iter().filter_map(Scalar::as_str);
                arns.any(|value| globs.iter().any(|g| g.matches_name(value)))
                    || names_in_parameters(json, &mut |value| globs.iter().any(|g| g.matches_name(value)))
            }
        })
    }
}

fn any(globs: &[Glob], value: Option<&str>) -> bool {
    value.is_some_and(|v| globs.iter().any(|g| g.matches(v)))
}

/// Calls `hit` on every string in `requestParameters` and `responseElements`
/// (at any depth) until it returns true. Parsed only for records that passed
/// every cheaper condition.
fn names_in_parameters(json: &str, hit: &mut dyn FnMut(&str) -> bool) -> bool {
    #[derive(Deserialize)]
    struct Parts<'a> {
        #[serde(borrow, rename = "requestParameters")]
        request: Option<&'a RawValue>,
        #[serde(borrow, rename = "responseElements")]
        response: Option<&'a RawValue>,
    }
    fn walk(value: &serde_json::Value, hit: &mut dyn FnMut(&str) -> bool) -> bool {
        match value {
            serde_json::Value::String(s) => hit(s),
            serde_json::Value::Array(items) => items.iter().any(|v| walk(v, hit)),
            serde_json::Value::Object(map) => map.values().any(|v| walk(v, hit)),
            _ => false,
        }
    }
    let Ok(parts) = serde_json::from_str::<Parts<'_>>(json) else { return false };
    [parts.request, parts.response]
        .into_iter()
        .flatten()
        .filter_map(|raw| serde_json::from_str::<serde_json::Value>(raw.get()).ok())
        .any(|value| walk(&value, hit))
}

/// One file being queried.
struct FileQuery<'q, 's> {
    query: &'q Query,
    source: &'q str,
    sink: &'s mut dyn QuerySink,
    summary: QuerySummary,
}

impl RecordVisitor for FileQuery<'_, '_> {
    fn record(&mut self, raw: RawRecord<'_>) -> Result<ControlFlow<()>> {
        let query = self.query;
        let values = raw.values(&query.table).map_err(|e| record_error(&e, self.source, raw))?;
        let values = query.deriver.apply(values, raw.json);
        let facts = RecordFacts::new(&values, &query.facts);
        self.summary.records += 1;
        if !query.matches(&values, &facts, raw.json) {
            return Ok(ControlFlow::Continue(()));
        }
        self.summary.matched += 1;
        let row =
            Row { slots: &query.slots, values: &values, facts, json: raw.json, file: self.source, index: raw.index };
        let flow = self.sink.row(&row);
        self.summary.stopped = flow.is_break();
        Ok(flow)
    }

    fn problem(&mut self, error: Error) {
        self.summary.problems += 1;
        self.sink.problem(error);
    }
}

#[cfg(test)]
mod tests;
