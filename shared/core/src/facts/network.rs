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
//! `0::/0`), whatever the address before it, and so are ranges wide enough
//! that two cover it (see [`is_world`]).

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
    /// The rule's id, when the call names rules by id (modify, revoke by id).
    id: Option<String>,
    protocol: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cidrs: Vec<String>,
    peers: Vec<String>,
}

impl SgRule {
    fn new(direction: Direction, protocol: Option<String>, from: Option<String>, to: Option<String>) -> SgRule {
        SgRule { direction, id: None, protocol, from, to, cidrs: Vec::new(), peers: Vec::new() }
    }

    fn add_cidr(&mut self, cidr: Option<String>) {
        self.cidrs.extend(cidr.filter(|c| !c.is_empty()));
    }

    fn add_peer(&mut self, peer: Option<String>) {
        self.peers.extend(peer.filter(|p| !p.is_empty()));
    }

    /// `tcp 22`, `tcp 1024-65535`, `all`, `icmp` (`?` when the call does not say).
    fn ports(&self) -> String {
        let Some(protocol) = &self.protocol else { return "?".into() };
        let protocol = match protocol.to_ascii_lowercase().as_str() {
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

    /// Where the rule lets traffic come from (or go to): its ranges, then groups and prefix lists.
    fn sources(&self) -> String {
        let all: Vec<&str> = self.cidrs.iter().chain(&self.peers).map(String::as_str).collect();
        if all.is_empty() {
            "-".into()
        } else {
            all.join(", ")
        }
    }

    fn world_open(&self) -> bool {
        self.direction != Direction::Egress && self.cidrs.iter().any(|c| is_world(c))
    }
}

/// Whether a CIDR opens a rule to the internet: any prefix of length 0
/// (whatever the address before it), and ranges so wide that a few of them
/// cover it (`0.0.0.0/1` and `128.0.0.0/1` together are the world): IPv4
/// prefixes up to /7 and IPv6 prefixes up to /15, outside IPv6's private
/// and link-local blocks.
pub(crate) fn is_world(cidr: &str) -> bool {
    let Some((address, len)) = cidr.split_once('/') else { return false };
    let Ok(len) = len.trim().parse::<u8>() else { return false };
    if len == 0 {
        return true;
    }
    match address.trim().parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => len <= 7,
        Ok(std::net::IpAddr::V6(v6)) => {
            let private = (v6.segments()[0] & 0xfe00) == 0xfc00 || (v6.segments()[0] & 0xffc0) == 0xfe80;
            len <= 15 && !private
        }
        Err(_) => false,
    }
}

/// What a call did to rules, and the rules, normalized.
fn rules_of(ctx: &Context<'_>) -> (&'static str, Direction, Vec<SgRule>) {
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
    (change, direction, rules)
}

/// A security-group rule change in words, from the same normalized rules
/// the facts use: `+ ingress tcp 22 from 10.0.0.0/8, 0.0.0.0/0`,
/// `- egress all from sg-0abc`, `- ingress sgr-9`, `~ sgr-0abc: tcp 443 from ::/0`.
/// `None` for events that change no rules.
pub fn change_in_words(record: &Value) -> Option<String> {
    let name = record.get("eventName").and_then(Value::as_str)?;
    if !EVENTS.contains(&name) {
        return None;
    }
    let trusted = super::Trusted::default();
    let ctx = Context { record, trusted: &trusted, own: None };
    let (change, direction, rules) = rules_of(&ctx);
    let sign = match change {
        "modify" => "~",
        "remove" => "-",
        _ => "+",
    };
    let parts: Vec<String> = rules
        .iter()
        .map(|rule| match (&rule.id, change) {
            (Some(id), "modify") => format!("~ {id}: {} from {}", rule.ports(), rule.sources()),
            (Some(id), _) => format!("{sign} {} {id}", rule.direction.as_str()),
            (None, _) => format!("{sign} {} {} from {}", rule.direction.as_str(), rule.ports(), rule.sources()),
        })
        .collect();
    Some(match (parts.is_empty(), change) {
        (true, "modify") => "~ rules modified".into(),
        (true, _) => format!("{sign} {}", direction.as_str()),
        (false, _) => parts.join("; "),
    })
}

pub(super) fn compute(ctx: &Context<'_>, facts: &mut Facts) {
    let (change, _, rules) = rules_of(ctx);
    facts.text(Field::SgChange, change);
    for rule in rules.iter().filter(|r| r.protocol.is_some() || !r.cidrs.is_empty() || !r.peers.is_empty()) {
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
            rule.add_cidr(text_of(range.get("cidrIp")));
        }
        for range in wrapped_items(item.get("ipv6Ranges")) {
            rule.add_cidr(text_of(range.get("cidrIpv6")));
        }
        for group in wrapped_items(item.get("groups")) {
            rule.add_peer(text_of(group.get("groupId")).or_else(|| text_of(group.get("groupName"))));
        }
        for list in wrapped_items(item.get("prefixListIds")) {
            rule.add_peer(text_of(list.get("prefixListId")));
        }
        rules.push(rule);
    }
    // Rules removed by id.
    for item in wrapped_items(request.get("securityGroupRuleIds")) {
        let mut rule = SgRule::new(direction, None, None, None);
        rule.id = text_of(item.get("securityGroupRuleId")).or_else(|| text_of(Some(item)));
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
        rule.add_cidr(flat_cidr);
        rule.add_peer(flat_peer);
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
            rule.id = text_of(entry.get("SecurityGroupRuleId")).filter(|_| entry.get("SecurityGroupRule").is_some());
            rule.add_cidr(text_of(spec.get("CidrIpv4")));
            rule.add_cidr(text_of(spec.get("CidrIpv6")));
            rule.add_peer(text_of(spec.get("ReferencedGroupId")));
            rule.add_peer(text_of(spec.get("PrefixListId")));
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
    rule.add_cidr(text_of(item.get("cidrIpv4")));
    rule.add_cidr(text_of(item.get("cidrIpv6")));
    rule.add_peer(text_of(at(item, &["referencedGroupInfo", "groupId"])));
    rule.add_peer(text_of(item.get("prefixListId")));
    rule
}
