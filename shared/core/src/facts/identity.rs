//! The acting identity against the target of a credential change: root
//! creating a key for itself is not root creating one for an IAM user, and a
//! deploy user rotating its own key is not someone adding a key to another
//! user.

use super::{text_of, Context, Facts, Field};

pub(super) const EVENTS: [&str; 10] = [
    "CreateAccessKey",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "DeleteLoginProfile",
    "CreateServiceSpecificCredential",
    "UploadSSHPublicKey",
    "UploadSigningCertificate",
    "DeactivateMFADevice",
];

pub(super) fn compute(ctx: &Context<'_>, facts: &mut Facts) {
    let identity = ctx.record.get("userIdentity");
    let kind = identity.and_then(|i| text_of(i.get("type"))).unwrap_or_default();
    let caller = identity.and_then(|i| text_of(i.get("userName")));
    let named = ctx.request().and_then(|r| text_of(r.get("userName"))).filter(|n| !n.is_empty());
    let (target, own) = match (named, kind.as_str()) {
        // No user named: the caller's own credentials (IAM defaults to the caller).
        (None, "Root") => ("root".to_string(), true),
        (None, _) => (caller.clone().unwrap_or_else(|| "(the caller)".into()), true),
        (Some(named), "IAMUser") => {
            let own = caller.as_deref() == Some(named.as_str());
            (named, own)
        }
        // Root or a role naming a user: someone else's credentials.
        (Some(named), _) => (named, false),
    };
    facts.text(Field::TargetUser, target);
    facts.flag(Field::TargetSelf, own);
}
