#!/usr/bin/env python3
"""Runs checkov on template.yaml, log-archive.yaml and forwarder.yaml and holds its findings to the accepted list
(functions/local/checkov-accepted.yaml): any other finding fails, and so does
an accepted entry that no longer fires.

Usage: scan_template.py PATH-TO-checkov
"""
import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def main():
    checkov = sys.argv[1]
    out = subprocess.run(
        [checkov, "-f", str(ROOT / "template.yaml"), "-f", str(ROOT / "log-archive.yaml"), "-f", str(ROOT / "forwarder.yaml"),
         "--framework", "cloudformation", "-o", "json", "--quiet"],
        capture_output=True,
        text=True,
    )
    report = json.loads(out.stdout)
    results = report["results"] if isinstance(report, dict) else report[0]["results"]
    found = {(f["check_id"], f["resource"]): f["check_name"] for f in results["failed_checks"]}
    accepted = {(a["check"], a["resource"]): a["why"] for a in yaml.safe_load((ROOT / "functions/local/checkov-accepted.yaml").read_text())}
    unexpected = sorted(set(found) - set(accepted))
    stale = sorted(set(accepted) - set(found))
    for check, resource in unexpected:
        print(f"FAIL {check} {resource}: {found[(check, resource)]}")
    for check, resource in stale:
        print(f"STALE accepted entry no longer fires: {check} {resource}")
    passed = report.get("summary", {}).get("passed", 0) if isinstance(report, dict) else 0
    print(f"checkov: {passed} passed, {len(found)} findings ({len(found) - len(unexpected)} accepted), {len(unexpected)} unexpected, {len(stale)} stale")
    sys.exit(1 if unexpected or stale else 0)


if __name__ == "__main__":
    main()
