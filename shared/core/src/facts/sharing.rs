//! Sharing calls: who a snapshot, image or document is opened to. `all`
//! (anyone) is public; an account id that is neither the record's own nor
//! trusted is outside.

use serde_json::Value;

use super::{at, items, text_of, wrapped_items, Context, Facts, Field, Reach};

pub(super) const EVENTS: [&str; 5] = [
    "ModifySnapshotAttribute",
    "ModifyImageAttribute",
    "ModifyDBSnapshotAttribute",
    "ModifyDBClusterSnapshotAttribute",
    "ModifyDocumentPermission",
];

pub(super) fn compute(ctx: &Context<'_>, facts: &mut Facts) {
    let Some(request) = ctx.request() else { return };
    let (kind, added) = match ctx.event_name() {
        "ModifySnapshotAttribute" => ("ebs-snapshot", ec2_permissions(at(request, &["createVolumePermission", "add"]))),
        "ModifyImageAttribute" => ("ami", ec2_permissions(at(request, &["launchPermission", "add"]))),
        "ModifyDBSnapshotAttribute" => ("rds-snapshot", rds_values(request)),
        "ModifyDBClusterSnapshotAttribute" => ("rds-cluster-snapshot", rds_values(request)),
        "ModifyDocumentPermission" => (
            "ssm-document",
            items(request.get("accountIdsToAdd")).into_iter().filter_map(|v| text_of(Some(v))).collect(),
        ),
        _ => return,
    };
    facts.text(Field::ShareKind, kind);
    let mut public = false;
    let mut outside = Vec::new();
    for target in added {
        if target.eq_ignore_ascii_case("all") {
            public = true;
        } else if ctx.reach_of_account(&target) == Reach::Outside {
            // An account, or an organization, that is neither this one nor trusted.
            outside.push(target);
        }
    }
    facts.flag(Field::SharePublic, public);
    facts.flag(Field::ShareOutside, !outside.is_empty());
    for account in outside {
        facts.text(Field::ShareAccounts, account);
    }
}

/// EC2's `{"items": [{"group": "all"} | {"userId": "..."} |
/// {"organizationArn": "..."} | {"organizationalUnitArn": "..."}]}`:
/// `all`, account ids, and the organization id of an organization or unit
/// (an organization not listed as trusted is outside).
fn ec2_permissions(add: Option<&Value>) -> Vec<String> {
    wrapped_items(add)
        .into_iter()
        .filter_map(|item| {
            let org = text_of(item.get("organizationArn")).or_else(|| text_of(item.get("organizationalUnitArn")));
            text_of(item.get("group")).or_else(|| text_of(item.get("userId"))).or_else(|| org.map(|arn| org_of(&arn)))
        })
        .collect()
}

/// `o-abc` of `arn:aws:organizations::111122223333:organization/o-abc` or
/// `...:ou/o-abc/ou-xyz`; the ARN itself when it has no organization id.
fn org_of(arn: &str) -> String {
    arn.split('/').find(|part| super::is_org_id(part)).map_or_else(|| arn.to_string(), str::to_string)
}

/// RDS: `attributeName: restore`, `valuesToAdd: ["all" | account ids]`.
fn rds_values(request: &Value) -> Vec<String> {
    if text_of(request.get("attributeName")).is_some_and(|n| !n.eq_ignore_ascii_case("restore")) {
        return Vec::new();
    }
    items(request.get("valuesToAdd")).into_iter().filter_map(|v| text_of(Some(v))).collect()
}
