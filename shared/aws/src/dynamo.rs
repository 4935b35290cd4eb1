//! [`ProfileStore`] on Amazon DynamoDB through the AWS SDK.
//!
//! One item per profile (a principal or account, and a dimension): partition
//! key `key` (`account` or `account|principal`), sort key `dimension`;
//! `since` and `last` (seconds), `expires` (the TTL attribute: `last` plus
//! the horizon, so a key not seen for the horizon goes away by itself), and
//! `v`, a map of value to `{f: first, l: last, o: origin}`. A file's batch
//! reads its profiles with `BatchGetItem` (eventually consistent: the
//! conditions of the writes settle races) and writes with `UpdateItem`:
//!
//! - an add sets `v.<value>` only if it is absent, aged out, or this file's
//!   own (`ConditionExpression`), in the same update removing what the cap
//!   evicts; an item without `v` yet is created with a condition that it
//!   still has none;
//! - a touch sets `v.<value>.l` only if the value is there;
//! - a key's `seen` item gets `last`, and `since` if it has none.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;
use trailwatch_core::profile::batch::Write;
use trailwatch_core::profile::{Profile, ProfileId, Seen};

use crate::ports::{Failure, FailureKind, Result};
use crate::profiles::ProfileStore;
use crate::s3::classify;

/// Keys per `BatchGetItem` (DynamoDB's limit).
const BATCH_GET: usize = 100;
/// Rounds of `UnprocessedKeys` tried again before giving up (transient).
const GET_ROUNDS: usize = 5;

/// Profiles in a DynamoDB table. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DynamoProfiles {
    client: Client,
    table: String,
    /// Seconds added to `last` for the TTL attribute.
    horizon: i64,
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn key_of(id: &ProfileId) -> HashMap<String, AttributeValue> {
    HashMap::from([("key".to_string(), s(&id.key)), ("dimension".to_string(), s(&id.dimension))])
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// A stored item as a profile; `None` when it is not one of ours.
fn profile_of(item: &HashMap<String, AttributeValue>) -> Option<(ProfileId, Profile)> {
    let key = item.get("key")?.as_s().ok()?.clone();
    let dimension = item.get("dimension")?.as_s().ok()?.clone();
    let mut profile =
        Profile { since: number(item, "since")?, last: number(item, "last").unwrap_or(0), ..Default::default() };
    if let Some(AttributeValue::M(values)) = item.get("v") {
        for (value, seen) in values {
            let AttributeValue::M(seen) = seen else { continue };
            let (Some(first), Some(last)) = (number(seen, "f"), number(seen, "l")) else { continue };
            let origin = seen.get("o").and_then(|o| o.as_s().ok()).cloned().unwrap_or_default();
            profile.values.insert(value.clone(), Seen { first, last, origin });
        }
    }
    Some((ProfileId { key, dimension }, profile))
}

/// The names of the item's times, always written through placeholders
/// (`last` is one of DynamoDB's reserved words).
fn times() -> HashMap<String, String> {
    ["last", "since", "expires"].into_iter().map(|n| (format!("#{n}"), n.to_string())).collect()
}

fn seen_value(seen: &Seen) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("f".to_string(), n(seen.first)),
        ("l".to_string(), n(seen.last)),
        ("o".to_string(), s(&seen.origin)),
    ]))
}

impl DynamoProfiles {
    /// `horizon`: seconds a value lives without being seen (the TTL).
    pub fn new(client: Client, table: impl Into<String>, horizon: i64) -> DynamoProfiles {
        DynamoProfiles { client, table: table.into(), horizon }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// One conditional update; `Ok(false)` when its condition failed.
    async fn update(
        &self,
        id: &ProfileId,
        expression: String,
        condition: Option<&str>,
        names: HashMap<String, String>,
        values: HashMap<String, AttributeValue>,
    ) -> Result<bool> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of(id)))
            .update_expression(expression)
            .set_expression_attribute_values(Some(values));
        if !names.is_empty() {
            request = request.set_expression_attribute_names(Some(names));
        }
        if let Some(condition) = condition {
            request = request.condition_expression(condition);
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(classify(&format!("updating profile {} {}", id.key, id.dimension), e)),
        }
    }

    async fn add(&self, id: &ProfileId, value: &str, seen: &Seen, stale_before: i64, evict: &[String]) -> Result<bool> {
        let common = |values: &mut HashMap<String, AttributeValue>| {
            values.insert(":f".into(), n(seen.first));
            values.insert(":l".into(), n(seen.last));
            values.insert(":e".into(), n(seen.last.saturating_add(self.horizon)));
        };
        // Into an existing map, when the value is free.
        let mut names = HashMap::from([("#val".to_string(), value.to_string())]);
        let mut values =
            HashMap::from([(":seen".to_string(), seen_value(seen)), (":stale".to_string(), n(stale_before))]);
        values.insert(":origin".into(), s(&seen.origin));
        common(&mut values);
        let mut expression =
            "SET v.#val = :seen, #last = :l, #expires = :e, #since = if_not_exists(#since, :f)".to_string();
        names.extend(times());
        let evicted: Vec<&String> = evict.iter().filter(|e| e.as_str() != value).collect();
        if !evicted.is_empty() {
            let paths: Vec<String> = (0..evicted.len()).map(|i| format!("v.#ev{i}")).collect();
            for (i, old) in evicted.iter().enumerate() {
                names.insert(format!("#ev{i}"), (*old).clone());
            }
            expression.push_str(&format!(" REMOVE {}", paths.join(", ")));
        }
        let free = "attribute_exists(v) AND (attribute_not_exists(v.#val) OR v.#val.l < :stale OR (v.#val.o = :origin AND :origin <> :empty))";
        values.insert(":empty".into(), s(""));
        for _ in 0..2 {
            if self.update(id, expression.clone(), Some(free), names.clone(), values.clone()).await? {
                return Ok(true);
            }
            // No map yet (a new profile): create it, if nobody did meanwhile.
            let mut first = HashMap::from([(
                ":v".to_string(),
                AttributeValue::M(HashMap::from([(value.to_string(), seen_value(seen))])),
            )]);
            common(&mut first);
            let created = self
                .update(
                    id,
                    "SET v = :v, #last = :l, #expires = :e, #since = if_not_exists(#since, :f)".into(),
                    Some("attribute_not_exists(v)"),
                    times(),
                    first,
                )
                .await?;
            if created {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl ProfileStore for DynamoProfiles {
    async fn get(&self, ids: &[ProfileId]) -> Result<Vec<(ProfileId, Profile)>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(BATCH_GET) {
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(chunk.iter().map(key_of).collect()))
                .build()
                .map_err(|e| Failure::new(FailureKind::Permanent, format!("profile keys: {e}")))?;
            let mut pending = Some(HashMap::from([(self.table.clone(), keys)]));
            for round in 0.. {
                let Some(request) = pending.take().filter(|p| !p.is_empty()) else { break };
                if round == GET_ROUNDS {
                    return Err(Failure::new(FailureKind::Transient, "reading profiles: keys left unprocessed"));
                }
                let answer = self
                    .client
                    .batch_get_item()
                    .set_request_items(Some(request))
                    .send()
                    .await
                    .map_err(|e| classify("reading profiles", e))?;
                if let Some(items) = answer.responses().and_then(|r| r.get(&self.table)) {
                    out.extend(items.iter().filter_map(profile_of));
                }
                pending = answer.unprocessed_keys().cloned();
                if round > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << round)).await;
                }
            }
        }
        Ok(out)
    }

    async fn write(&self, write: &Write) -> Result<bool> {
        match write {
            Write::Key { profile, seen } => {
                let values = HashMap::from([
                    (":f".to_string(), n(seen.first)),
                    (":l".to_string(), n(seen.last)),
                    (":e".to_string(), n(seen.last.saturating_add(self.horizon))),
                ]);
                let expression = "SET #last = :l, #expires = :e, #since = if_not_exists(#since, :f)";
                let names = times();
                self.update(profile, expression.into(), None, names, values).await
            }
            Write::Add { profile, value, seen, stale_before, evict } => {
                self.add(profile, value, seen, *stale_before, evict).await
            }
            Write::Touch { profile, value, last } => {
                let mut names = times();
                names.remove("#since");
                names.insert("#val".into(), value.clone());
                let values = HashMap::from([
                    (":l".to_string(), n(*last)),
                    (":e".to_string(), n(last.saturating_add(self.horizon))),
                ]);
                let expression = "SET v.#val.l = :l, #last = :l, #expires = :e";
                self.update(profile, expression.into(), Some("attribute_exists(v.#val)"), names, values).await
            }
        }
    }
}
