//! Instance types asked for or launched, and whether they are accelerated
//! (the families cryptominers and model thieves want).

use super::{at, text_of, wrapped_items, Context, Facts, Field};

pub(super) const EVENTS: [&str; 4] = ["RunInstances", "RequestSpotInstances", "ModifyInstanceAttribute", "CreateFleet"];

/// Accelerated families: NVIDIA GPUs (p, g), Inferentia (inf), Trainium
/// (trn), Gaudi (dl1), Qualcomm (dl2q), FPGAs (f), video transcoding (vt).
const ACCELERATED: [&str; 8] = ["p", "g", "gr", "inf", "trn", "dl", "f", "vt"];

pub(crate) fn is_accelerated(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or_default().to_ascii_lowercase();
    let letters: String = family.chars().take_while(char::is_ascii_alphabetic).collect();
    let rest = &family[letters.len()..];
    ACCELERATED.contains(&letters.as_str()) && rest.starts_with(|c: char| c.is_ascii_digit())
}

pub(super) fn compute(ctx: &Context<'_>, facts: &mut Facts) {
    let mut types: Vec<String> = Vec::new();
    if let Some(request) = ctx.request() {
        types.extend(text_of(request.get("instanceType")));
        types.extend(text_of(at(request, &["instanceType", "value"])));
        types.extend(text_of(at(request, &["launchSpecification", "instanceType"])));
        for config in super::items(at(request, &["CreateFleetRequest", "LaunchTemplateConfigs"])) {
            for o in super::items(config.get("Overrides")) {
                types.extend(text_of(o.get("InstanceType")));
            }
        }
    }
    if let Some(response) = ctx.response() {
        for item in wrapped_items(response.get("instancesSet")) {
            types.extend(text_of(item.get("instanceType")));
        }
    }
    types.sort();
    types.dedup();
    let accelerated = types.iter().any(|t| is_accelerated(t));
    for t in types {
        facts.text(Field::InstanceTypes, t);
    }
    facts.flag(Field::InstanceAccelerated, accelerated);
}
