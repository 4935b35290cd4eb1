#!/usr/bin/env python3
"""Sigma verdicts of trailwatch held to an independent implementation: pySigma
with its SQLite backend.

`make test` runs this after building the CLI:

1. Rules: every Sigma rule the project uses in tests -- SigmaHQ's CloudTrail
   rules (shared/core/rules/sigma) and the construct rules
   (events/sigma/constructs.yml).
2. Records: the sample logs (events/cloudtrail, events/detections,
   events/stratus), the construct records (events/sigma/constructs.json), and
   for each rule records generated from its own detection (each selection's
   values, wildcards filled, letters' case swapped), written to a temporary
   file.
3. Reference: pySigma converts each rule to SQL; the records are loaded into
   one SQLite table, one column per dotted path through objects, objects and
   arrays as their compact JSON text, columns compared case-insensitively
   (COLLATE NOCASE, as Sigma compares), REGEXP as Python's re.search. The
   backend writes `NOT x`, which SQL's three-valued logic makes false when x
   reads a missing field; Sigma means "x does not match", so each NOT is
   written `NOT coalesce(x, 0)`.
4. trailwatch: `trailwatch scan --rules FILE --format jsonl` on the same
   records. `|expand` reads events/sigma-placeholders.yml, a pySigma
   processing pipeline given to both (`--sigma-placeholders` here).
5. The (rule, file, record) sets must be equal.

What the reference cannot express is excluded by name, not silently:
keyword (field-less) searches (the SQLite backend has no full-text search)
and `|cased` (it writes GLOB with an ESCAPE clause, which SQLite rejects);
both are covered by trailwatch's own tests and the rules' examples;
non-ASCII case variants (SQLite folds ASCII only) and `exists` on a field
holding JSON null (SQLite stores null and missing alike) do not occur in
the records.

Usage: sigma_differential.py PATH-TO-trailwatch-BINARY
"""
import base64
import glob
import gzip
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule
from sigma.types import SigmaString

RULE_FILES = sorted(glob.glob("shared/core/rules/sigma/*.yml")) + ["events/sigma/constructs.yml"]
# |expand's placeholder map: a pySigma pipeline both implementations read.
PLACEHOLDERS = "events/sigma-placeholders.yml"
RECORD_FILES = sorted(
    glob.glob("events/cloudtrail/*.json*")
    + glob.glob("events/detections/*.json")
    + glob.glob("events/stratus/*.json")
    + ["events/sigma/constructs.json"]
)
# Constructs the reference backend cannot express: (rule id, why).
NOT_EXPRESSIBLE = {
    "0c6d3a57-000e-4b5e-9a51-00000000000e": "keyword search: the SQLite backend has no full-text search",
    "0c6d3a57-0002-4b5e-9a51-000000000002": "cased: the SQLite backend writes GLOB ... ESCAPE, which SQLite rejects",
}


class Reference(sqliteBackend):
    """The SQLite backend with Sigma's two-valued NOT."""

    def convert_condition_not(self, cond, state):
        converted = super().convert_condition_not(cond, state)
        if isinstance(converted, str) and converted.startswith("NOT "):
            return f"NOT coalesce({converted[4:]}, 0)"
        return converted


def read_records(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)["Records"]


def flatten(record, prefix="", out=None):
    out = {} if out is None else out
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out[name] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            flatten(value, name + ".", out)
        elif isinstance(value, list):
            out[name] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = value
    return out


def fill(value):
    """A plain text a Sigma string matches: wildcards filled, case swapped."""
    text = ""
    for part in value.s:
        if isinstance(part, str):
            text += part
        elif "MULTI" in str(part):
            text += "x"
        else:
            text += "y"
    return text.swapcase()


def generated(rule: SigmaRule):
    """Records built from each selection of the rule (one per selection)."""
    out = []
    for name, detection in rule.detection.detections.items():
        record = {"eventID": f"gen-{rule.id}-{name}", "eventTime": "2026-11-22T12:00:00Z"}
        for item in getattr(detection, "detection_items", []):
            items = getattr(item, "detection_items", [item])
            for one in items:
                field = getattr(one, "field", None)
                values = getattr(one, "value", [])
                if not field or not values or not isinstance(values[0], SigmaString):
                    continue
                node = record
                keys = field.split(".")
                for key in keys[:-1]:
                    node = node.setdefault(key, {})
                    if not isinstance(node, dict):
                        break
                else:
                    node[keys[-1]] = fill(values[0])
        out.append(record)
    return out


def main(binary):
    with open(PLACEHOLDERS, encoding="utf-8") as f:
        backend = Reference(processing_pipeline=ProcessingPipeline.from_yaml(f.read()))
    rules = []
    for path in RULE_FILES:
        with open(path, encoding="utf-8") as f:
            collection = SigmaCollection.from_yaml(f.read())
        for rule in collection.rules:
            if isinstance(rule, SigmaRule) and rule.level is not None or isinstance(rule, SigmaRule):
                rules.append((path, rule))
    tmp = tempfile.mkdtemp()
    gen_path = os.path.join(tmp, "generated.json")
    gen = [r for _, rule in rules for r in generated(rule)]
    with open(gen_path, "w", encoding="utf-8") as f:
        json.dump({"Records": gen}, f)
    files = RECORD_FILES + [gen_path]

    db = sqlite3.connect(":memory:")
    db.create_function("regexp", 2, lambda p, v: v is not None and re.search(p, str(v)) is not None)
    columns = set()
    db.execute("CREATE TABLE logs (tw_file, tw_index)")
    for path in files:
        for index, record in enumerate(read_records(path)):
            row = flatten(record)
            for name in row:
                if name not in columns:
                    columns.add(name)
                    db.execute(f'ALTER TABLE logs ADD COLUMN "{name}" COLLATE NOCASE')
            names = ["tw_file", "tw_index"] + list(row)
            marks = ",".join("?" * len(names))
            quoted = ",".join(f'"{n}"' for n in names)
            db.execute(f"INSERT INTO logs ({quoted}) VALUES ({marks})", [path, index] + list(row.values()))

    expected, excluded = set(), []
    for path, rule in rules:
        rid = str(rule.id)
        if rid in NOT_EXPRESSIBLE:
            excluded.append(f"{rid} ({rule.title}): {NOT_EXPRESSIBLE[rid]}")
            continue
        for query in backend.convert_rule(rule):
            sql = query.replace("<TABLE_NAME>", "logs").replace("SELECT *", "SELECT tw_file, tw_index", 1)
            while True:
                try:
                    rows = db.execute(sql).fetchall()
                    break
                except sqlite3.OperationalError as e:
                    missing = re.match(r"no such column: (.+)", str(e))
                    if not missing:
                        raise SystemExit(f"{rid}: {e}\n{sql}")
                    db.execute(f'ALTER TABLE logs ADD COLUMN "{missing.group(1).strip("`")}" COLLATE NOCASE')
            expected |= {(rid, f, i) for f, i in rows}

    ids = {str(rule.id) for _, rule in rules} - set(NOT_EXPRESSIBLE)
    actual = set()
    args = [binary, "scan", "--sigma-experimental", "--sigma-placeholders", PLACEHOLDERS, "--format", "jsonl"]
    for path in sorted(set(p for p, _ in rules)):
        args += ["--rules", path]
    scan = subprocess.run(args + files, capture_output=True, text=True)
    if scan.returncode not in (0, 3):
        raise SystemExit(f"trailwatch scan failed ({scan.returncode}): {scan.stderr}")
    for line in scan.stdout.splitlines():
        finding = json.loads(line)
        if finding.get("rule") in ids and "record_index" in finding:
            actual.add((finding["rule"], finding["file"], finding["record_index"]))

    print(f"Sigma differential: {len(ids)} rules, {sum(len(read_records(p)) for p in files)} records, "
          f"{len(expected)} matches by the reference, {len(actual)} by trailwatch")
    for note in excluded:
        print(f"  excluded: {note}")
    only_ref, only_tw = expected - actual, actual - expected
    for rid, f, i in sorted(only_ref):
        print(f"  MISSED by trailwatch: {rid} {f} record {i}")
    for rid, f, i in sorted(only_tw):
        print(f"  EXTRA in trailwatch: {rid} {f} record {i}")
    hit = {rid for rid, _, _ in expected}
    print(f"  rules matched at least once: {len(hit)} of {len(ids)}")
    if only_ref or only_tw:
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1])
