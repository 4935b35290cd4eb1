//! One file being scanned: each record's values, the rules dispatch hands
//! it, suppressions, findings to the sink, and the file's statistics.

use std::ops::ControlFlow;

use super::{Engine, Hit, ScanSink, ScanSummary};
use crate::error::{Error, ErrorKind, Location, Result};
use crate::extract::{LazyValues, Tables};
use crate::reader::{RawRecord, RecordVisitor};
use crate::record::RecordFacts;
use crate::stats::RuleCounts;

/// One file being scanned by an engine.
pub(super) struct FileScan<'e, 's> {
    engine: &'e Engine,
    source: &'e str,
    pub(super) summary: ScanSummary,
    sink: &'s mut dyn ScanSink,
    /// Findings per rule (by index), folded into the statistics at the end:
    /// a finding costs no lookup of its rule's counts by id.
    by_rule: Vec<Option<RuleCounts>>,
}

impl<'e, 's> FileScan<'e, 's> {
    pub(super) fn new(engine: &'e Engine, source: &'e str, sink: &'s mut dyn ScanSink) -> Self {
        let mut summary = ScanSummary { source: source.to_string(), ..Default::default() };
        summary.stats.files = 1;
        FileScan { engine, source, summary, sink, by_rule: vec![None; engine.rules.len()] }
    }

    /// The file's summary, findings per rule counted in.
    pub(super) fn finish(mut self) -> ScanSummary {
        for (compiled, counts) in self.engine.rules.iter().zip(std::mem::take(&mut self.by_rule)) {
            if let Some(counts) = counts {
                self.summary.stats.add_rule_counts(&compiled.rule.id, counts);
            }
        }
        self.summary
    }

    fn scan_record(&mut self, raw: RawRecord<'_>) -> Result<()> {
        let FileScan { engine, source, summary, sink, by_rule } = self;
        let values = raw.values(&engine.table).map_err(|e| record_error(&e, source, raw))?;
        let values = engine.deriver.apply(values, raw.json);
        let facts = RecordFacts::new(&values, &engine.facts);
        summary.records += 1;
        summary.stats.observe(&facts);
        let second = LazyValues::new(&engine.lazy_table, raw.json);
        let tables = Tables { first: &values, second: Some(&second) };
        engine.dispatch.candidates(&values, |i| {
            let compiled = &engine.rules[i];
            if !compiled.detect.matches(tables, raw.json) {
                return;
            }
            let id = compiled.rule.id.as_str();
            if engine.suppressions.iter().any(|s| s.suppression.applies_to(id) && s.silences(&values, &facts)) {
                summary.suppressed += 1;
                summary.stats.observe_suppressed(id);
                return;
            }
            let hit = Hit {
                rule: &compiled.rule,
                facts: &facts,
                json: raw.json,
                file: source,
                index: raw.index,
                why: &compiled.why,
                tables,
                case_sensitive: &compiled.case_sensitive,
                values: &values,
            };
            if compiled.rule.first_seen.is_some() {
                return sink.first_seen(hit.unnoted());
            }
            summary.findings += 1;
            by_rule[i].get_or_insert_with(|| RuleCounts::of(&compiled.rule)).observe(hit.principal());
            sink.finding(hit);
        });
        if engine.sightings {
            sink.sighting(&crate::profile::Sighting::of_facts(&facts));
        }
        Ok(())
    }
}

impl RecordVisitor for FileScan<'_, '_> {
    fn record(&mut self, raw: RawRecord<'_>) -> Result<ControlFlow<()>> {
        self.scan_record(raw)?;
        Ok(ControlFlow::Continue(()))
    }

    fn problem(&mut self, error: Error) {
        self.summary.problems += 1;
        self.summary.stats.problems += 1;
        self.sink.problem(error);
    }
}

/// Turns serde_json's line/column into a byte offset in the file.
pub(crate) fn record_error(e: &serde_json::Error, source: &str, raw: RawRecord<'_>) -> Error {
    let line_start: usize = raw.json.split_inclusive('\n').take(e.line().saturating_sub(1)).map(str::len).sum();
    let offset = raw.offset + (line_start + e.column().saturating_sub(1)) as u64;
    let message = e.to_string();
    let kind = if message.contains("recursion limit") {
        ErrorKind::TooDeep(crate::reader::MAX_DEPTH)
    } else {
        // serde_json appends " at line L column C", which is not the file's.
        let text = message.split(" at line ").next().unwrap_or(&message);
        ErrorKind::RecordSyntax(plain_json_error(text))
    };
    Error::at(kind, Location { source: Some(source.to_string()), offset: Some(offset), record: Some(raw.index) })
}

/// serde_json's words for what is wrong, in plain ones.
fn plain_json_error(text: &str) -> String {
    let plain = match text {
        "expected ident" => "a word that is not true, false or null",
        "expected value" => "a value is missing, or is not JSON",
        "expected `,` or `}`" => "a ',' or '}' is missing",
        "expected `,` or `]`" => "a ',' or ']' is missing",
        "expected `:`" => "a ':' is missing after a key",
        "key must be a string" => "a key is not a string",
        "trailing comma" => "a ',' just before a closing bracket",
        "trailing characters" => "text after the record's end",
        "invalid escape" => "a string has an invalid escape",
        "invalid number" => "a number is malformed",
        "number out of range" => "a number is too large",
        "control character (\\u0000-\\u001F) found while parsing a string" => "a string holds a raw control character",
        _ if text.contains("surrogate") || text.contains("unicode code point") => "a string has an invalid \\u escape",
        _ if text.starts_with("EOF while parsing") => "the record ends early",
        _ => text,
    };
    plain.to_string()
}
