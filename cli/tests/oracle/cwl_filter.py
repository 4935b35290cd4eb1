#!/usr/bin/env python3
"""An independent implementation of CloudWatch Logs JSON filter patterns.

Used as a differential-test oracle: it evaluates the built-in rules tagged
securityhub/CloudWatch.N or cis/4.15 over CloudTrail log files and prints one
JSON line per match: {"rule", "file", "record_index"}. It shares no code with
trailwatch (different language, a tokenizer + Pratt-style parser, evaluation
on Python objects), only the documented semantics:

- a missing field, or one holding an object/array/null, makes = and != false;
- '*' as first/last character of a value is a wildcard; '= *' is any value;
- a numeric literal compares numerically with numbers, as text with strings;
- && binds tighter than ||.

Usage: cwl_filter.py RULES.toml FILE...
"""
import gzip
import json
import re
import sys
import tomllib

TOKEN = re.compile(r'\s*(?:(\|\|)|(&&)|(\()|(\))|(\{)|(\})|(!=|<=|>=|=|<|>)|(IS\s+NULL|IS\s+TRUE|IS\s+FALSE|NOT\s+EXISTS)|("(?:[^"\\]|\\.)*")|(\$[^\s=!<>()&|{}]*)|([^\s()&|{}=!<>]+))')


def tokenize(text):
    pos, out = 0, []
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"cannot tokenize at {pos}: {text[pos:]!r}")
        kinds = ["or", "and", "(", ")", "{", "}", "op", "kw", "str", "sel", "word"]
        for kind, group in zip(kinds, m.groups()):
            if group is not None:
                out.append((kind, group))
                break
        pos = m.end()
    return out


def parse(text):
    toks = tokenize(text)
    assert toks[0] == ("{", "{") and toks[-1] == ("}", "}"), text
    toks = toks[1:-1]
    i = 0

    def term():
        nonlocal i
        kind, val = toks[i]
        if kind == "(":
            i += 1
            e = expr()
            assert toks[i][0] == ")"
            i += 1
            return e
        assert kind == "sel", toks[i]
        path = selector(val)
        i += 1
        kind, op = toks[i]
        i += 1
        if kind == "kw":
            return ("kw", path, " ".join(op.split()))
        vkind, value = toks[i]
        i += 1
        if vkind == "str":
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            return ("cmp", path, op, value, False)
        return ("cmp", path, op, value, True)

    def conj():
        nonlocal i
        parts = [term()]
        while i < len(toks) and toks[i][0] == "and":
            i += 1
            parts.append(term())
        return ("and", parts)

    def expr():
        nonlocal i
        parts = [conj()]
        while i < len(toks) and toks[i][0] == "or":
            i += 1
            parts.append(conj())
        return ("or", parts)

    e = expr()
    assert i == len(toks), (text, toks[i:])
    return e


def selector(text):
    path = []
    for m in re.finditer(r"\.([^.\[]+)|\[(\d+|\*)\]", text[1:]):
        key, index = m.groups()
        if key is not None:
            path.append("*" if key == "*" else key)
        else:
            path.append("*" if index == "*" else int(index))
    return path


MISSING = object()


def reach(record, path):
    values = [record]
    for step in path:
        nxt = []
        for v in values:
            if step == "*":
                if isinstance(v, dict):
                    nxt.extend(v.values())
                elif isinstance(v, list):
                    nxt.extend(v)
            elif isinstance(step, int):
                if isinstance(v, list) and step < len(v):
                    nxt.append(v[step])
            elif isinstance(v, dict) and step in v:
                nxt.append(v[step])
        values = nxt
    return values


def as_number(text):
    try:
        return float(text) if re.fullmatch(r"-?\d[\d.eE+-]*", text) else None
    except ValueError:
        return None


def text_of(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))
    return v


def equals(v, literal, bare):
    if v is None or isinstance(v, (dict, list)):
        return None  # not comparable
    if literal == "*":
        return True
    num = as_number(literal) if bare else None
    if num is not None and isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v) == num
    s = text_of(v)
    starts, ends = literal.startswith("*"), literal.endswith("*") and len(literal) > 1
    if starts and ends:
        return literal[1:-1] in s
    if starts:
        return s.endswith(literal[1:])
    if ends:
        return s.startswith(literal[:-1])
    return s == literal


def evaluate(e, record):
    kind = e[0]
    if kind == "or":
        return any(evaluate(p, record) for p in e[1])
    if kind == "and":
        return all(evaluate(p, record) for p in e[1])
    if kind == "kw":
        vals = reach(record, e[1])
        return {
            "NOT EXISTS": lambda: len(vals) == 0,
            "IS NULL": lambda: any(v is None for v in vals),
            "IS TRUE": lambda: any(v is True for v in vals),
            "IS FALSE": lambda: any(v is False for v in vals),
        }[e[2]]()
    _, path, op, literal, bare = e
    for v in reach(record, path):
        if op in ("=", "!="):
            eq = equals(v, literal, bare)
            if eq is None:
                continue
            if (op == "=") == eq:
                return True
        else:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                n = float(literal)
                if {"<": v < n, ">": v > n, "<=": v <= n, ">=": v >= n}[op]:
                    return True
    return False


def main():
    with open(sys.argv[1], "rb") as f:
        rules = tomllib.load(f)["rule"]
    chosen = [(r["id"], parse(r["pattern"])) for r in rules
              if any(t.startswith("securityhub/CloudWatch.") or t == "cis/4.15" for t in r.get("tags", []))]
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            data = f.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        for index, record in enumerate(json.loads(data)["Records"]):
            for rule_id, e in chosen:
                if evaluate(e, record):
                    print(json.dumps({"rule": rule_id, "file": path, "record_index": index}))


if __name__ == "__main__":
    main()
