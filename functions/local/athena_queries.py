#!/usr/bin/env python3
"""The Athena named queries of template.yaml, run for real, held to `trailwatch query`.

`make test` runs this after building the CLI:

1. It reads the CloudTrail table (columns, partition keys) and every
   AWS::Athena::NamedQuery from template.yaml: the template is the one source
   of the SQL and of the table's shape.
2. It creates that table in DuckDB and loads every file under
   events/cloudtrail the way Athena's CloudTrail SerDe reads them: top-level
   and nested keys lower-cased, `requestParameters`, `responseElements`,
   `additionalEventData` and other objects kept as JSON text, booleans as the
   strings "true"/"false", and the partition columns (account, region,
   log_date) taken from each file's name.
3. It runs each named query with its `?` parameters bound (first day, last day,
   and for key-activity an access key), in DuckDB with the small set of
   Athena (Trino) functions DuckDB lacks defined as macros -- the whole
   translation is the TRINO_FUNCTIONS list below; the SQL itself runs verbatim.
4. It runs `trailwatch query events/cloudtrail --report NAME --format jsonl`
   and requires the same rows: every column the query returns must be a
   column of the report with equal values (`request` compared as JSON), and
   the rows must be the same multiset. A report or query missing on either
   side fails too.

Usage: athena_queries.py PATH-TO-trailwatch-BINARY
"""
import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import yaml

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "cloudtrail"
FIRST_DAY, LAST_DAY = "2026/11/14", "2026/11/21"
# Named query resource -> (report of `trailwatch query`, extra parameters after the two days).
QUERIES = {
    "SgHistoryQuery": ("sg-history", []),
    "ConsoleLoginsQuery": ("console-logins", []),
    "S3SigV2Query": ("s3-sigv2", []),
    "S3AnonymousQuery": ("s3-anonymous", []),
    "ActiveUsersQuery": ("active-users", []),
    "KeyActivityQuery": ("key-activity=AKIALEGACYBACKUP0001", ["AKIALEGACYBACKUP0001"]),
    "RootActivityQuery": ("root-activity", []),
    "IamChangesQuery": ("iam-changes", []),
    "ObjectAccessQuery": ("object-access", []),
}
# Athena (Trino) functions DuckDB does not have, with Trino's meaning.
TRINO_FUNCTIONS = [
    # json_extract_scalar: NULL for objects and arrays, the text of a scalar.
    "CREATE MACRO json_extract_scalar(j, p) AS CASE WHEN json_type(json_extract(j, p)) IN ('OBJECT', 'ARRAY') "
    "THEN NULL ELSE json_extract_string(j, p) END",
    "CREATE MACRO array_join(l, sep) AS array_to_string(l, sep)",
]


class Loader(yaml.SafeLoader):
    pass


Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def hive_to_duckdb(t):
    """string -> VARCHAR, struct<a:string> -> STRUCT("a" VARCHAR), array<x> -> x[], map<k,v> -> MAP(k, v)."""
    t = t.strip()
    low = t.lower()
    if low == "string":
        return "VARCHAR"
    inner = t[t.index("<") + 1 : t.rindex(">")]
    if low.startswith("array<"):
        return hive_to_duckdb(inner) + "[]"
    parts = split_top(inner)
    if low.startswith("map<"):
        return f"MAP({hive_to_duckdb(parts[0])}, {hive_to_duckdb(parts[1])})"
    fields = []
    for part in parts:
        name, kind = part.split(":", 1)
        fields.append(f'"{name.strip()}" {hive_to_duckdb(kind)}')
    return f"STRUCT({', '.join(fields)})"


def split_top(text):
    """Splits on commas that are not inside <...>."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += {"<": 1, ">": -1}.get(c, 0)
        if c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def serde(value, hive_type):
    """A record's value as the CloudTrail SerDe hands it to a column of this type."""
    if value is None:
        return None
    low = hive_type.strip().lower()
    if low == "string":
        if isinstance(value, (dict, list)):
            return json.dumps(value, separators=(",", ":"))
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    inner = hive_type[hive_type.index("<") + 1 : hive_type.rindex(">")]
    if low.startswith("array<"):
        return [serde(v, inner) for v in value] if isinstance(value, list) else None
    if low.startswith("map<"):
        return {str(k): serde(v, "string") for k, v in value.items()} if isinstance(value, dict) else None
    if not isinstance(value, dict):
        return None
    lowered = {k.lower(): v for k, v in value.items()}
    out = {}
    for part in split_top(inner):
        name, kind = part.split(":", 1)
        out[name.strip()] = serde(lowered.get(name.strip().lower()), kind)
    return out


def load_table(con, table):
    columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
    partitions = [k["Name"] for k in table["PartitionKeys"]]
    ddl = ", ".join([f'"{n}" {hive_to_duckdb(t)}' for n, t in columns] + [f'"{p}" VARCHAR' for p in partitions])
    con.execute(f"CREATE TABLE {table['Name']} ({ddl})")
    name_re = re.compile(r"^(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{4})(\d{2})(\d{2})T\d{4}Z_")
    rows = 0
    for path in sorted(EVENTS.iterdir()):
        account, region, y, m, d = name_re.match(path.name).groups()
        raw = path.read_bytes()
        data = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
        for record in data["Records"]:
            lowered = {k.lower(): v for k, v in record.items()}
            values = [serde(lowered.get(n), t) for n, t in columns] + [account, region, f"{y}/{m}/{d}"]
            con.execute(f"INSERT INTO {table['Name']} VALUES ({', '.join('?' * len(values))})", values)
            rows += 1
    return rows


def cli_rows(binary, report):
    out = subprocess.run([binary, "query", str(EVENTS), "--report", report, "--format", "jsonl", "--quiet"],
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def comparable(row, columns):
    """A row as a hashable tuple of the given columns; counts as text, JSON text parsed."""
    out = []
    for c in columns:
        v = row.get(c)
        if c == "request" and v is not None:
            v = json.dumps(json.loads(v), sort_keys=True)
        elif v is not None:
            v = str(v)
        out.append(v)
    return tuple(out)


def main():
    binary = sys.argv[1]
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)
    resources = template["Resources"]
    con = duckdb.connect()
    for macro in TRINO_FUNCTIONS:
        con.execute(macro)
    records = load_table(con, resources["CloudTrailTable"]["Properties"]["TableInput"])
    named = {n for n, r in resources.items() if r["Type"] == "AWS::Athena::NamedQuery"}
    failures = []
    if named != set(QUERIES):
        failures.append(f"named queries in the template {sorted(named)} differ from the ones tested {sorted(QUERIES)}")
    for name, (report, extra) in QUERIES.items():
        if name not in resources:
            continue
        sql = resources[name]["Properties"]["QueryString"]
        cursor = con.execute(sql, [FIRST_DAY, LAST_DAY, *extra])
        columns = [d[0] for d in cursor.description]
        sql_rows = [dict(zip(columns, r)) for r in cursor.fetchall()]
        cli = cli_rows(binary, report)
        missing = [c for c in columns if cli and c not in cli[0]]
        if missing:
            failures.append(f"{name}: columns {missing} are not in the report {report}")
            continue
        want = sorted((comparable(r, columns) for r in sql_rows), key=repr)
        got = sorted((comparable(r, columns) for r in cli), key=repr)
        if not sql_rows:
            failures.append(f"{name}: no rows on the samples (the test would prove nothing)")
        elif want != got:
            only_sql = [r for r in want if r not in got]
            only_cli = [r for r in got if r not in want]
            failures.append(f"{name} vs {report}: only in SQL {only_sql}; only in the CLI {only_cli}")
        else:
            print(f"ok   {name} = trailwatch query --report {report}: {len(sql_rows)} rows, {len(columns)} columns")
    for f in failures:
        print(f"FAIL {f}")
    print(f"athena queries: {len(QUERIES) - len(failures)} passed, {len(failures)} failed ({records} records loaded)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
