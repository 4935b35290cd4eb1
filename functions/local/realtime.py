"""Template assertions for the real-time lane (run by check_template.py):
the default bus's rules and the central bus's rule feed the detection
function with retries and dead letters; the central bus takes events from
other accounts only within the organization or from the listed accounts;
forwarder.yaml is StackSet-ready (no literal region, account or partition),
its role may only put events on the central bus, and each of its rules
sends there with that role and a dead-letter queue; the CloudWatch Logs
intake's log group is encrypted and kept for a set time, CloudTrail's role
only writes its streams, and the function may be invoked by that log group
alone."""
import json
import re

# What a template deployed in every region and account must not spell out.
LITERALS = re.compile(r"\b(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d\b|\b\d{12}\b|arn:aws:")


def targets_detect(check, name, rule):
    for target in rule["Properties"]["Targets"]:
        check(target["Arn"] == {"Fn::GetAtt": "DetectFunction.Arn"}, f"{name}: targets the detection function")
        check("RetryPolicy" in target and "DeadLetterConfig" in target, f"{name}: retries, then a dead-letter queue")


def central_bus(check, resources):
    for name in ("RealTimeRule1", "RealTimeRule2", "RealTimeForwardedRule"):
        targets_detect(check, name, resources[name])
    check(resources["RealTimeForwardedRule"]["Properties"]["EventBusName"] == {"Ref": "RealTimeBus"},
          "the forwarded rule listens on the central bus")
    org = resources["RealTimeBusFromOrganization"]["Properties"]["Statement"]
    check(org["Principal"] == "*" and org["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == {"Ref": "OrganizationId"},
          "central bus: any principal only within the organization")
    accounts = resources["RealTimeBusFromAccounts"]["Properties"]["Statement"]
    check(accounts["Principal"] == {"AWS": {"Ref": "RealTimeSourceAccountIds"}}, "central bus: or the listed accounts")
    for policy in (org, accounts):
        check(policy["Action"] == "events:PutEvents" and policy["Resource"] == {"Fn::GetAtt": "RealTimeBus.Arn"},
              "central bus policy: put events on this bus only")
    permission = resources["DetectFromRealTimeForwardedPermission"]["Properties"]
    check(permission["SourceArn"] == {"Fn::GetAtt": "RealTimeForwardedRule.Arn"}, "only the central bus's rule invokes detect")


def forwarder(check, fwd, text, statements):
    check(not LITERALS.search(text), "forwarder.yaml: no literal region, account id or partition (StackSet-ready)")
    rules = {n: r for n, r in fwd.items() if r["Type"] == "AWS::Events::Rule"}
    check(len(rules) >= 1, "forwarder.yaml: forwarding rules")
    for name, rule in rules.items():
        props = rule["Properties"]
        check(props["EventBusName"] == "default", f"{name}: reads the region's default bus")
        for target in props["Targets"]:
            check(target["Arn"] == {"Ref": "CentralBusArn"}, f"{name}: sends to the central bus")
            check(target["RoleArn"] == {"Fn::GetAtt": "ForwardRole.Arn"}, f"{name}: with the forwarding role")
            check("DeadLetterConfig" in target and "RetryPolicy" in target, f"{name}: retries, then a dead-letter queue")
    role = fwd["ForwardRole"]["Properties"]
    check("RoleName" not in role, "forwarder.yaml: the role is unnamed (one stack per region, IAM names are global)")
    granted = [s for p in role["Policies"] for s in statements(p["PolicyDocument"])]
    check([(s["Action"], s["Resource"]) for s in granted] == [("events:PutEvents", {"Ref": "CentralBusArn"})],
          "forwarder.yaml: the role may only put events on the central bus")
    trust = list(statements(role["AssumeRolePolicyDocument"]))
    check(all("aws:SourceAccount" in json.dumps(s.get("Condition", {})) for s in trust),
          "forwarder.yaml: only this account's rules assume the role")


def logs_intake(check, resources, statements):
    group = resources["TrailLogGroup"]["Properties"]
    check("KmsKeyId" in group and "RetentionInDays" in group, "trail log group: encrypted, with retention")
    trail = resources["Trail"]["Properties"]
    check("CloudWatchLogsRoleArn" in trail and "CloudWatchLogsLogGroupArn" in trail, "trail: can deliver to the log group")
    role = resources["TrailLogsRole"]["Properties"]
    granted = [s for p in role["Policies"] for s in statements(p["PolicyDocument"])]
    check(all(set(s["Action"]) == {"logs:CreateLogStream", "logs:PutLogEvents"} and ":log-stream:" in json.dumps(s["Resource"])
              for s in granted), "trail logs role: only writes the group's streams")
    check("aws:SourceArn" in json.dumps(role["AssumeRolePolicyDocument"]), "trail logs role: assumed for this trail only")
    key = json.dumps(resources["TrailKey"]["Properties"]["KeyPolicy"])
    check("kms:EncryptionContext:aws:logs:arn" in key, "trail key: CloudWatch Logs may use it for that log group only")
    subscription = resources["TrailLogsSubscription"]["Properties"]
    check(subscription["DestinationArn"] == {"Fn::GetAtt": "DetectFunction.Arn"}, "the subscription feeds detect")
    permission = resources["DetectFromTrailLogsPermission"]["Properties"]
    check(permission["Principal"] == "logs.amazonaws.com" and "SourceAccount" in permission
          and ":log-group:" in json.dumps(permission["SourceArn"]), "only the trail's log group invokes detect")


def check_all(check, resources, fwd, fwd_text, statements):
    central_bus(check, resources)
    forwarder(check, fwd, fwd_text, statements)
    logs_intake(check, resources, statements)
