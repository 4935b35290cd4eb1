//! Facts: what a change *did*, normalized from the several shapes AWS
//! records it in, so that rules, reports and alerts read one answer.
//!
//! A filter pattern reads one field of one request shape. The same change
//! reaches CloudTrail in several: a security-group rule as `ipPermissions`
//! items, as the CLI's flat `cidrIp`/`fromPort` form, as a
//! `ModifySecurityGroupRules` request or as the `securityGroupRuleSet` of the
//! response; a policy as an object, a JSON string or a URL-encoded one. This
//! stage computes, once per record and only for the event names that need it,
//! fields under one namespace that rules match with the ordinary
//! filter-pattern language:
//!
//! ```text
//! { ($.eventName = AuthorizeSecurityGroupIngress) && ($.facts.sg.worldOpen IS TRUE) }
//! ```
//!
//! Selectors under `$.facts` are never read from the record (see
//! [`crate::extract::DERIVED_ROOT`]): a record cannot forge its own facts.
//! Every fact is listed in [`FIELDS`] with what it means; an unknown name is
//! an error when a rule or query is compiled.
//!
//! "Outside" means neither the record's own account (`recipientAccountId`)
//! nor an account in [`Trusted`].

mod identity;
mod instance;
mod network;
mod policy;
mod reach;
mod sharing;

pub(crate) use reach::{is_account_id, is_org_id};
pub use reach::{Reach, Trusted};

use std::borrow::Cow;

use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::extract::{PathTable, Scalar, Values};
use crate::pattern::{Pattern, Step};

/// One derived field: its name under `$.facts.` and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    SgChange,
    SgDirection,
    SgWorldOpen,
    SgWorldOpenPorts,
    SgPorts,
    SgCidrs,
    SgPeers,
    PolicySource,
    PolicyPublic,
    PolicyOutside,
    PolicyOutsideAccounts,
    PolicyReach,
    PolicyConditions,
    ShareKind,
    SharePublic,
    ShareOutside,
    ShareAccounts,
    TargetUser,
    TargetSelf,
    InstanceTypes,
    InstanceAccelerated,
}

/// Every fact: `$.facts.<name>`, and what it holds. The README's facts table
/// is checked against this list.
pub const FIELDS: [(Field, &str, &str); 21] = [
    (Field::SgChange, "sg.change", "add, remove or modify: what the call did to security-group rules"),
    (Field::SgDirection, "sg.direction", "ingress, egress or unknown (ModifySecurityGroupRules does not say), per rule"),
    (Field::SgWorldOpen, "sg.worldOpen", "true when a rule added or modified lets in any address (any /0, IPv4 or IPv6, in any notation); inbound or unknown direction only"),
    (Field::SgWorldOpenPorts, "sg.worldOpenPorts", "the ports of those rules: `tcp 22`, `tcp 0-65535`, `all`"),
    (Field::SgPorts, "sg.ports", "the ports of every rule in the call"),
    (Field::SgCidrs, "sg.cidrs", "every CIDR in the call, as written"),
    (Field::SgPeers, "sg.peers", "referenced security groups and prefix lists"),
    (Field::PolicySource, "policy.source", "where the policy or grant was read: the request field"),
    (Field::PolicyPublic, "policy.public", "true when an Allow reaches anyone with no condition narrowing it (to an account, organization, VPC, endpoint or source addresses; negated, `IfExists`, wildcard and `/0` conditions narrow nothing), or a web-identity provider with no `sub` or `aud` condition"),
    (Field::PolicyOutside, "policy.outside", "true when an Allow reaches an outside account or organization: named as the principal, or the one a condition narrows `*` to"),
    (Field::PolicyOutsideAccounts, "policy.outsideAccounts", "the outside accounts (and organizations) an Allow reaches"),
    (Field::PolicyReach, "policy.reach", "each principal's class: public, public-restricted, outside-account, trusted-account, own-account, service, federated"),
    (Field::PolicyConditions, "policy.conditions", "the narrowing condition keys the policy uses"),
    (Field::ShareKind, "share.kind", "ebs-snapshot, ami, rds-snapshot, rds-cluster-snapshot or ssm-document"),
    (Field::SharePublic, "share.public", "true when the share adds `all` (anyone)"),
    (Field::ShareOutside, "share.outside", "true when the share adds an outside account or organization (AMIs can be shared with an organization or unit)"),
    (Field::ShareAccounts, "share.accounts", "the outside accounts and organizations added"),
    (Field::TargetUser, "target.user", "the IAM user whose credentials the call changes (the caller itself when the request names none)"),
    (Field::TargetSelf, "target.self", "true when the caller changes its own credentials; false when another user's"),
    (Field::InstanceTypes, "instance.types", "instance types requested or launched"),
    (Field::InstanceAccelerated, "instance.accelerated", "true when one is a GPU, Inferentia, Trainium, Gaudi, FPGA or video-transcoding family"),
];

/// Which family of facts an event needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    SecurityGroup,
    Policy,
    Share,
    Target,
    Instance,
}

fn family_of(field: Field) -> Family {
    use Field::*;
    match field {
        SgChange | SgDirection | SgWorldOpen | SgWorldOpenPorts | SgPorts | SgCidrs | SgPeers => Family::SecurityGroup,
        PolicySource | PolicyPublic | PolicyOutside | PolicyOutsideAccounts | PolicyReach | PolicyConditions => {
            Family::Policy
        }
        ShareKind | SharePublic | ShareOutside | ShareAccounts => Family::Share,
        TargetUser | TargetSelf => Family::Target,
        InstanceTypes | InstanceAccelerated => Family::Instance,
    }
}

/// Every event name of a family.
fn events_of(family: Family) -> Vec<&'static str> {
    match family {
        Family::SecurityGroup => network::EVENTS.to_vec(),
        Family::Policy => policy::events(),
        Family::Share => sharing::EVENTS.to_vec(),
        Family::Target => identity::EVENTS.to_vec(),
        Family::Instance => instance::EVENTS.to_vec(),
    }
}

const FAMILIES: [Family; 5] = [Family::SecurityGroup, Family::Policy, Family::Share, Family::Target, Family::Instance];

/// The family whose facts an event name has, if any (one map, built once).
fn family_for_event(name: &str) -> Option<Family> {
    static BY_EVENT: std::sync::LazyLock<FxHashMap<&'static str, Family>> = std::sync::LazyLock::new(|| {
        FAMILIES.into_iter().flat_map(|family| events_of(family).into_iter().map(move |name| (name, family))).collect()
    });
    BY_EVENT.get(name).copied()
}

/// A field by its name under `$.facts.`.
pub fn field(name: &str) -> Option<Field> {
    FIELDS.iter().find(|(_, n, _)| *n == name).map(|(f, _, _)| *f)
}

/// The facts computed for one record: each field's values.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Facts {
    values: Vec<(Field, Scalar<'static>)>,
}

impl Facts {
    fn push(&mut self, field: Field, value: Scalar<'static>) {
        self.values.push((field, value));
    }

    fn text(&mut self, field: Field, value: impl Into<String>) {
        self.push(field, Scalar::Str(Cow::Owned(value.into())));
    }

    fn flag(&mut self, field: Field, value: bool) {
        self.push(field, Scalar::Bool(value));
    }

    /// The values of one field.
    pub fn get(&self, field: Field) -> impl Iterator<Item = &Scalar<'static>> {
        self.values.iter().filter(move |(f, _)| *f == field).map(|(_, v)| v)
    }

    /// The first string of a field.
    pub fn str(&self, field: Field) -> Option<&str> {
        self.get(field).find_map(Scalar::as_str)
    }

    /// The boolean of a field.
    pub fn flag_of(&self, field: Field) -> Option<bool> {
        self.get(field).find_map(|v| match v {
            Scalar::Bool(b) => Some(*b),
            _ => None,
        })
    }
}

/// Computes the facts of one parsed record (every family its event has).
pub fn compute(record: &Value, trusted: &Trusted) -> Facts {
    let mut facts = Facts::default();
    let Some(name) = record.get("eventName").and_then(Value::as_str) else { return facts };
    let ctx = Context { record, trusted, own: own_account(record) };
    match family_for_event(name) {
        Some(Family::SecurityGroup) => network::compute(&ctx, &mut facts),
        Some(Family::Policy) => policy::compute(&ctx, &mut facts),
        Some(Family::Share) => sharing::compute(&ctx, &mut facts),
        Some(Family::Target) => identity::compute(&ctx, &mut facts),
        Some(Family::Instance) => instance::compute(&ctx, &mut facts),
        None => {}
    }
    facts
}

/// Computes the facts of one record's JSON text; `None` if it is not JSON.
pub fn compute_json(json: &str, trusted: &Trusted) -> Option<Facts> {
    serde_json::from_str::<Value>(json).ok().map(|record| compute(&record, trusted))
}

/// What each family's computation reads.
pub(crate) struct Context<'r> {
    pub record: &'r Value,
    pub trusted: &'r Trusted,
    /// The record's own account.
    pub own: Option<&'r str>,
}

impl<'r> Context<'r> {
    pub fn request(&self) -> Option<&'r Value> {
        self.record.get("requestParameters").filter(|v| v.is_object())
    }

    pub fn response(&self) -> Option<&'r Value> {
        self.record.get("responseElements").filter(|v| v.is_object())
    }

    pub fn event_name(&self) -> &'r str {
        self.record.get("eventName").and_then(Value::as_str).unwrap_or_default()
    }

    pub fn reach_of_account(&self, account: &str) -> Reach {
        Reach::of_account(account, self.own, self.trusted)
    }
}

fn own_account(record: &Value) -> Option<&str> {
    let get = |path: &[&str]| at(record, path).and_then(Value::as_str).filter(|s| !s.is_empty());
    get(&["recipientAccountId"]).or_else(|| get(&["userIdentity", "accountId"]))
}

/// Follows `path` from `value`.
pub(crate) fn at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

/// A value that may be one item or a list of them, as a list.
pub(crate) fn items(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(one) => vec![one],
    }
}

/// CloudTrail's `{"items": [...]}` wrapper, or a bare list, or one item.
pub(crate) fn wrapped_items(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(v @ Value::Object(map)) if map.contains_key("items") => items(v.get("items")),
        Some(Value::Object(map)) if map.is_empty() => Vec::new(),
        other => items(other),
    }
}

/// A string, or a number written as text (ports, account ids).
pub(crate) fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The fields a table needs filled, and how to fill them. Built once per
/// engine or query from the derived selectors its patterns and columns use.
#[derive(Debug, Clone, Default)]
pub struct Deriver {
    /// (field, slot) for every derived selector bound.
    bound: Vec<(Field, usize)>,
    /// The event names whose facts a bound field needs: one lookup per record.
    events: FxHashSet<&'static str>,
    name_slot: usize,
    trusted: Trusted,
}

impl Deriver {
    /// Binds every derived selector of `table`; an unknown fact name is an error.
    pub fn new(table: &mut PathTable, trusted: Trusted) -> Result<Deriver> {
        let mut bound = Vec::new();
        for (steps, slot) in table.derived() {
            let name = steps
                .iter()
                .map(|s| match s {
                    Step::Key(k) => Some(k.as_str()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(|parts| parts.join("."));
            let Some(field) = name.as_deref().and_then(field) else {
                let known: Vec<&str> = FIELDS.iter().map(|(_, n, _)| *n).collect();
                let shown = name.unwrap_or_else(|| "(an index or wildcard)".into());
                return Err(Error::new(ErrorKind::Rule(format!(
                    "no fact $.facts.{shown}: facts are {}",
                    known.join(", ")
                ))));
            };
            bound.push((field, *slot));
        }
        let events = bound.iter().flat_map(|(f, _)| events_of(family_of(*f))).collect();
        let name_slot = table.intern(&[Step::Key("eventName".into())]);
        Ok(Deriver { bound, events, name_slot, trusted })
    }

    /// True when no selector asks for a fact.
    pub fn is_empty(&self) -> bool {
        self.bound.is_empty()
    }

    pub fn trusted(&self) -> &Trusted {
        &self.trusted
    }

    /// Adds the record's facts to its values, when its event needs any that
    /// are bound (other records pass through untouched, at the cost of one
    /// lookup). `json` is the record's text, parsed again only then.
    pub fn apply<'a>(&self, values: Values<'a>, json: &str) -> Values<'a> {
        if self.bound.is_empty() {
            return values;
        }
        let wanted = match values.get(self.name_slot) {
            [Scalar::Str(name)] => self.events.contains(name.as_ref()),
            _ => false,
        };
        if !wanted {
            return values;
        }
        let Some(facts) = compute_json(json, &self.trusted) else { return values };
        let derived =
            self.bound.iter().flat_map(|(field, slot)| facts.get(*field).map(move |v| (*slot, v.clone()))).collect();
        values.with_derived(derived)
    }
}

pub use network::change_in_words as security_group_change;

/// Whether `pattern` matches one JSON record, facts included (rule examples,
/// `trailwatch pattern check`). The error says what is wrong, in words.
pub fn pattern_matches(pattern: &Pattern, json: &str, trusted: &Trusted) -> std::result::Result<bool, String> {
    let mut pattern = pattern.clone();
    let mut table = PathTable::new();
    pattern.bind(&mut table);
    let deriver = Deriver::new(&mut table, trusted.clone()).map_err(|e| e.kind.to_string())?;
    let values = table.extract(json).map_err(|e| format!("example is not valid JSON: {e}"))?;
    Ok(pattern.matches(&deriver.apply(values, json)))
}

/// Checks that every `$.facts.*` selector of a pattern names a fact.
pub fn check_names(pattern: &Pattern) -> Result<()> {
    let mut pattern = pattern.clone();
    let mut table = PathTable::new();
    pattern.bind(&mut table);
    Deriver::new(&mut table, Trusted::default()).map(|_| ())
}

#[cfg(test)]
mod tests;
