#!/usr/bin/env python3
"""Security assertions on template.yaml (run by `make test` after cfn-lint and
`sam validate --lint`): every bucket encrypted, public access blocked and
TLS-only; every topic KMS-encrypted; the queue encrypted; no wildcard action
or resource in any function policy; failed invocations go to the dead-letter
queue; alarms on errors, throttles and dead letters notify the alert topic;
the trail is multi-region with log file validation. The same storage checks
hold for log-archive.yaml; an organization trail is scoped to its
organization; data events never include trailwatch's own buckets and
functions (no feedback loop); the real-time lane's buses, forwarder.yaml
and the CloudWatch Logs intake are scoped (realtime.py)."""
import json
import sys
from pathlib import Path

import yaml

import organization
import realtime


class Loader(yaml.SafeLoader):
    pass


def tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {("Ref" if suffix == "Ref" else "Fn::" + suffix): value}


Loader.add_multi_constructor("!", tag)


def load(name):
    return yaml.load((Path(__file__).resolve().parents[2] / name).read_text(), Loader=Loader)


template = load("template.yaml")
resources = template["Resources"]
passed, failed = 0, []


def check(ok, what):
    global passed
    if ok:
        passed += 1
    else:
        failed.append(what)


def of_type(kind, within=None):
    return {name: r for name, r in (within or resources).items() if r["Type"] == kind}


def statements(policy):
    """Policy statements, looking through Fn::If (both branches)."""
    if isinstance(policy, dict) and "Fn::If" in policy:
        for branch in policy["Fn::If"][1:]:
            yield from statements(branch)
    elif isinstance(policy, dict) and "Statement" in policy:
        for s in policy["Statement"]:
            yield from statements(s)
    elif isinstance(policy, dict) and "Effect" in policy:
        yield policy


def as_list(v):
    return v if isinstance(v, list) else [v]


def alternatives(v):
    """Both branches of an Fn::If, or the value itself."""
    if isinstance(v, dict) and "Fn::If" in v:
        return [x for branch in v["Fn::If"][1:] for x in alternatives(branch)]
    return [v]


def storage(within):
    """Every bucket encrypted, public access blocked, TLS-only, ACLs off;
    every topic and queue encrypted."""
    bucket_policies = {p["Properties"]["Bucket"]["Ref"]: p for p in of_type("AWS::S3::BucketPolicy", within).values()}
    for name, bucket in of_type("AWS::S3::Bucket", within).items():
        props = bucket["Properties"]
        check("BucketEncryption" in props, f"{name}: encrypted")
        pab = props.get("PublicAccessBlockConfiguration", {})
        check(all(pab.get(k) is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")),
              f"{name}: public access blocked")
        policy = bucket_policies.get(name)
        tls = policy and any(s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
                             for s in statements(policy["Properties"]["PolicyDocument"]))
        check(bool(tls), f"{name}: TLS-only bucket policy")
        check(props.get("OwnershipControls") is not None, f"{name}: ACLs disabled")

    for name, topic in of_type("AWS::SNS::Topic", within).items():
        check("KmsMasterKeyId" in topic["Properties"], f"{name}: KMS-encrypted")
    for name, queue in of_type("AWS::SQS::Queue", within).items():
        props = queue["Properties"]
        check(props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, f"{name}: encrypted")


storage(resources)

functions = of_type("AWS::Serverless::Function")
check(set(functions) == {"DetectFunction", "SummaryFunction"}, "both functions defined")
for name, fn in functions.items():
    props = fn["Properties"]
    check(props.get("EventInvokeConfig", {}).get("DestinationConfig", {}).get("OnFailure", {}).get("Type") == "SQS",
          f"{name}: failed invocations go to the dead-letter queue")
    for policy in props.get("Policies", []):
        for s in statements(policy):
            for action in [a for v in as_list(s["Action"]) for a in alternatives(v)]:
                check(action != "*" and not action.endswith(":*"), f"{name}: action {action} is not a wildcard")
            for resource in as_list(s["Resource"]):
                # Only actions without resource-level permissions may name "*".
                check(resource != "*" or as_list(s["Action"]) == ["cloudtrail:ListPublicKeys"],
                      f"{name}: resource is not '*' (actions {s['Action']})")
    check(fn["Metadata"]["BuildMethod"] == "rust-cargolambda", f"{name}: built with cargo-lambda")
    env = props.get("Environment", {}).get("Variables", {})
    # Output URLs and signing secrets come from Secrets Manager or SSM, by ARN.
    check(not any(k.endswith("_URL") or k.endswith("_SIGNING_SECRET") for k in env), f"{name}: no secret in plain environment")
    check("ALLOW_LOOPBACK_HTTP" not in env, f"{name}: plain-HTTP outputs stay a local-run setting")

globals_fn = template["Globals"]["Function"]
check(globals_fn["Runtime"] == "provided.al2023" and globals_fn["Architectures"] == ["arm64"], "al2023 on arm64")
check(globals_fn["LoggingConfig"]["LogFormat"] == "JSON", "JSON logs")

for name, rule in of_type("AWS::Events::Rule").items():
    for target in rule["Properties"]["Targets"]:
        check("DeadLetterConfig" in target, f"{name}: target has a dead-letter queue")

archive = load("log-archive.yaml")["Resources"]
storage(archive)
organization.check_all(check, resources, archive, statements)
fwd = load("forwarder.yaml")["Resources"]
storage(fwd)
realtime.check_all(check, resources, fwd, (Path(__file__).resolve().parents[2] / "forwarder.yaml").read_text(), statements)

alarms = of_type("AWS::CloudWatch::Alarm").values()
for metric in ("Errors", "Throttles", "ApproximateNumberOfMessagesVisible"):
    check(any(a["Properties"].get("MetricName") == metric and a["Properties"]["AlarmActions"] == [{"Ref": "AlertTopic"}] for a in alarms),
          f"alarm on {metric} notifies the alert topic")
# Permanent failures finish the invocation (Errors does not see them): a
# metric filter on each function's log group counts them, and an alarm tells.
filters = of_type("AWS::Logs::MetricFilter").values()
for group in ("DetectLogGroup", "SummaryLogGroup"):
    check(any(f["Properties"]["LogGroupName"] == {"Ref": group} and "retryable IS FALSE" in f["Properties"]["FilterPattern"] for f in filters),
          f"{group} counts permanent failures")
check(any(a["Properties"]["AlarmActions"] == [{"Ref": "AlertTopic"}] and "Metrics" in a["Properties"] for a in alarms),
      "an alarm on permanent failures notifies the alert topic")

detect_actions = {a for s in statements(functions["DetectFunction"]["Properties"]["Policies"][0]) for a in as_list(s["Action"])}
check("cloudtrail:ListPublicKeys" in detect_actions, "detect may read CloudTrail's public keys (digest signatures)")

trail = resources["Trail"]["Properties"]
check(trail["IsMultiRegionTrail"] is True and trail["EnableLogFileValidation"] is True, "trail: multi-region, validated")

key_policy = resources["TopicKey"]["Properties"]["KeyPolicy"]
check(any(s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com" for s in statements(key_policy)),
      "topic key lets CloudWatch alarms publish")

# Investigation: the workgroup enforces encrypted results and a scan cap;
# the table is projected (no crawler); the investigator policy is scoped.
workgroup = resources["AthenaWorkGroup"]["Properties"]["WorkGroupConfiguration"]
check(workgroup["EnforceWorkGroupConfiguration"] is True, "athena workgroup: configuration enforced")
check("BytesScannedCutoffPerQuery" in workgroup, "athena workgroup: bytes scanned capped")
check(workgroup["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] in ("SSE_S3", "SSE_KMS", "CSE_KMS"),
      "athena workgroup: results encrypted")
results_rules = resources["AthenaResultsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
check(any("ExpirationInDays" in r for r in results_rules), "athena results expire")
table = resources["CloudTrailTable"]["Properties"]["TableInput"]
check(table["Parameters"]["projection.enabled"] == "true", "cloudtrail table: partition projection")
check([k["Name"] for k in table["PartitionKeys"]] == ["account", "region", "log_date"], "cloudtrail table: account/region/day partitions")
check(table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "com.amazon.emr.hive.serde.CloudTrailSerde",
      "cloudtrail table: CloudTrail SerDe")
queries = of_type("AWS::Athena::NamedQuery")
for name, query in queries.items():
    sql = query["Properties"]["QueryString"]
    check("log_date BETWEEN ? AND ?" in sql, f"{name}: partition-pruned by day")
for s in statements(resources["InvestigatorPolicy"]["Properties"]["PolicyDocument"]):
    for action in as_list(s["Action"]):
        check(action != "*" and not action.endswith(":*"), f"InvestigatorPolicy: action {action} is not a wildcard")
    for resource in as_list(s["Resource"]):
        check(resource != "*", "InvestigatorPolicy: resource is not '*'")

# Hardening: trusted accounts write only under their own prefix; the trail
# is KMS-encrypted; access to the log bucket is logged; logs are retained
# for a set time; EventBridge may dead-letter only for trailwatch's rule.
log_policy = list(statements(resources["LogBucketPolicy"]["Properties"]["PolicyDocument"]))
cross = [s for s in log_policy if s.get("Sid") == "CloudTrailCrossAccountWrite"]
check(len(cross) == 1, "cross-account trails have one scoped write statement")
for s in cross:
    text = json.dumps(s["Resource"])
    check("${!aws:SourceAccount}" in text and not text.rstrip('"]}').endswith("AWSLogs/*"),
          "cross-account writes are limited to AWSLogs/<their own account>/")
    check("aws:SourceArn" in json.dumps(s["Condition"]), "cross-account writes name a CloudTrail trail as source")
check("KMSKeyId" in resources["Trail"]["Properties"], "trail: encrypted with a customer KMS key")
check(resources["TrailKey"]["Properties"].get("EnableKeyRotation") is True, "trail key rotates")
check("LoggingConfiguration" in resources["LogBucket"]["Properties"], "log bucket: server access logging")
for name in ("DetectFunction", "SummaryFunction"):
    group = functions[name]["Properties"].get("LoggingConfig", {}).get("LogGroup", {}).get("Ref")
    check(group in resources and "RetentionInDays" in resources[group]["Properties"], f"{name}: log group with retention")
dlq = json.dumps(resources["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"])
check("ExistingBucketRule.Arn" in dlq and "aws:SourceArn" in dlq, "EventBridge dead letters only from trailwatch's rule")

for what in failed:
    print(f"FAIL {what}")
print(f"template: {passed} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
