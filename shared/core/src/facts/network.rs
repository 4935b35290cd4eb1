//! Security-group rules from every shape AWS records a change in:
//!
//! - `requestParameters.ipPermissions.items[]` (SDKs, the console), with
//!   `ipRanges`, `ipv6Ranges`, `groups` and `prefixListIds`;
//! - the CLI's flat form: `cidrIp`, `ipProtocol`, `fromPort`, `toPort` at the
//!   top of `requestParameters`, `ipPermissions` empty;
//! - `ModifySecurityGroupRules` (`SecurityGroupRule`, one or a list), which
//!   does not say whether a rule is inbound or outbound;
//! - `responseElements.securityGroupRuleSet.items[]`, the rules as created:
//!   the authority when present (it has the direction and every range).
//!
//! Any prefix of length 0 is the world (`0.0.0.0/0`, `1.2.3.4/0`, `::/0`,
//! `0::/0`), whatever the address before it.

use serde_json::Value;

use super::{at, text_of, wrapped_items, Context, Facts, Field};

pub(super) const EVENTS: [&str; 5] = [
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "ModifySecurityGroupRules",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
    Unknown,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
            Direction::Unknown => "unknown",
        }
    }
}

/// One rule, normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SgRule {
    direction: Direction,
    protocol: String,
    from: Option<String>,
    to: Option<String>,
    cidrs: Vec<String>,
    peers: Vec<String>,
}

impl SgRule {
    fn new(direction: Direction, protocol: Option<String>, from: Option<String>, to: Option<String>) -> SgRule {
        SgRule {
            direction,
            protocol: protocol.unwrap_or_else(|| "-1".into()),
            from,
            to,
            cidrs: Vec::new(),
            peers: Vec::new(),
        }
    }

    /// `tcp 22`, `tcp 1024-65535`, `all`, `icmp`.
    fn ports(&self) -> String {
        let protocol = match self.protocol.to_ascii_lowercase().as_str() {
            "-1" | "all" => return "all".into(),
            "6" => "tcp".to_string(),
            "17" => "udp".to_string(),
            "1" => "icmp".to_string(),
            other => other.to_string(),
        };
        match (&self.from, &self.to) {
            (Some(from), Some(to)) if from == "-1" || to == "-1" => protocol,
            (Some(from), Some(to)) if from == to => format!("{protocol} {from}"),
            (Some(from), Some(to)) => format!("{protocol} {from}-{to}"),
            (Some(one), None) | (None, Some(one)) => format!("{protocol} {one}"),
            (None, None) => protocol,
        }
    }

    fn world_open(&self) -> bool {
        self.direction != Direction::Egress && self.cidrs.iter().any(|c| is_world(c))
    }
}

/// Whether a CIDR reaches every address: its prefix length is 0.
pub(crate) fn is_world(cidr: &str) -> bool {
    cidr.split_once('/').is_some_and(|(_, len)| len.trim().parse::<u8>() == Ok(0))
}

pub(super) fn compute(ctx: &Context<'_>, facts: &mut Facts) {
    let name = ctx.event_name();
    let change = match name {
        "ModifySecurityGroupRules" => "modify",
        n if n.starts_with("Revoke") => "remove",
        _ => "add",
    };
    let direction = if name.ends_with("Egress") { Direction::Egress } else { Direction::Ingress };
    let from_response = ctx.response().map(|r| wrapped_items(at(r, &["securityGroupRuleSet"]))).unwrap_or_default();
    let rules: Vec<SgRule> = if !from_response.is_empty() {
        from_response.into_iter().map(response_rule).collect()
    } else if name == "ModifySecurityGroupRules" {
        modify_rules(ctx)
    } else {
        request_rules(ctx, direction)
    };
    facts.text(Field::SgChange, change);
    for rule in &rules {
        facts.text(Field::SgDirection, rule.direction.as_str());
        facts.text(Field::SgPorts, rule.ports());
        for cidr in &rule.cidrs {
            facts.text(Field::SgCidrs, cidr.clone());
        }
        for peer in &rule.peers {
            facts.text(Field::SgPeers, peer.clone());
        }
    }
    let opened: Vec<&SgRule> =
        if change == "remove" { Vec::new() } else { rules.iter().filter(|r| r.world_open()).collect() };
    facts.flag(Field::SgWorldOpen, !opened.is_empty());
    for rule in opened {
        facts.text(Field::SgWorldOpenPorts, rule.ports());
    }
}

/// `ipPermissions` items, and the flat CLI form beside them.
fn request_rules(ctx: &Context<'_>, direction: Direction) -> Vec<SgRule> {
    let Some(request) = ctx.request() else { return Vec::new() };
    let mut rules = Vec::new();
    for item in wrapped_items(request.get("ipPermissions")) {
        let mut rule = SgRule::new(
            direction,
            text_of(item.get("ipProtocol")),
            text_of(item.get("fromPort")),
            text_of(item.get("toPort")),
        );
        for range in wrapped_items(item.get("ipRanges")) {
            rule.cidrs.extend(text_of(range.get("cidrIp")));
        }
        for range in wrapped_items(item.get("ipv6Ranges")) {
            rule.cidrs.extend(text_of(range.get("cidrIpv6")));
        }
        for group in wrapped_items(item.get("groups")) {
            rule.peers.extend(text_of(group.get("groupId")).or_else(|| text_of(group.get("groupName"))));
        }
        for list in wrapped_items(item.get("prefixListIds")) {
            rule.peers.extend(text_of(list.get("prefixListId")));
        }
        rules.push(rule);
    }
    // The flat form: one rule at the top of the request.
    let flat_cidr = text_of(request.get("cidrIp")).or_else(|| text_of(request.get("cidrIpv6")));
    let flat_peer =
        text_of(request.get("sourceSecurityGroupName")).or_else(|| text_of(request.get("sourceSecurityGroupId")));
    if flat_cidr.is_some() || flat_peer.is_some() {
        let mut rule = SgRule::new(
            direction,
            text_of(request.get("ipProtocol")),
            text_of(request.get("fromPort")),
            text_of(request.get("toPort")),
        );
        rule.cidrs.extend(flat_cidr);
        rule.peers.extend(flat_peer);
        rules.push(rule);
    }
    rules
}

/// `ModifySecurityGroupRules`: one `SecurityGroupRule` or a list.
fn modify_rules(ctx: &Context<'_>) -> Vec<SgRule> {
    let Some(request) = ctx.request() else { return Vec::new() };
    let wrapper = request.get("ModifySecurityGroupRulesRequest").unwrap_or(request);
    super::items(wrapper.get("SecurityGroupRule"))
        .into_iter()
        .map(|entry| {
            let spec = entry.get("SecurityGroupRule").unwrap_or(entry);
            let mut rule = SgRule::new(
                Direction::Unknown,
                text_of(spec.get("IpProtocol")),
                text_of(spec.get("FromPort")),
                text_of(spec.get("ToPort")),
            );
            rule.cidrs.extend(text_of(spec.get("CidrIpv4")));
            rule.cidrs.extend(text_of(spec.get("CidrIpv6")));
            rule.peers.extend(text_of(spec.get("ReferencedGroupId")));
            rule.peers.extend(text_of(spec.get("PrefixListId")));
            rule
        })
        .collect()
}

/// One item of `responseElements.securityGroupRuleSet`.
fn response_rule(item: &Value) -> SgRule {
    let direction = match item.get("isEgress") {
        Some(Value::Bool(true)) => Direction::Egress,
        Some(Value::Bool(false)) => Direction::Ingress,
        _ => Direction::Unknown,
    };
    let mut rule = SgRule::new(
        direction,
        text_of(item.get("ipProtocol")),
        text_of(item.get("fromPort")),
        text_of(item.get("toPort")),
    );
    rule.cidrs.extend(text_of(item.get("cidrIpv4")));
    rule.cidrs.extend(text_of(item.get("cidrIpv6")));
    rule.peers.extend(text_of(at(item, &["referencedGroupInfo", "groupId"])));
    rule.peers.extend(text_of(item.get("prefixListId")));
    rule
}
