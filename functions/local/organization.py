"""Template assertions for an organization's deployment (run by
check_template.py): the organization trail is multi-region, validated and
writes to the log-archive bucket; data events on any trail trailwatch creates
never include its own buckets and functions (each read of a log file would
otherwise log itself and be read again); only the log-archive account's S3
events reach the default bus; log-archive.yaml lets the organization trail
write only under the organization's prefix, lets the security account only
read, and forwards Object Created events with a role and a dead-letter queue;
per-team alert topics are reachable by name prefix only."""
import json

# The trails trailwatch creates, and the ARN prefix of the bucket each writes to.
TRAILS = {"Trail": "${LogBucket.Arn}/", "OrgTrail": "${ExistingLogBucket}/"}
# What every S3 data-event selector must leave out, besides the trail's own bucket.
OWN_BUCKETS = ("${StateBucket.Arn}/", "${AccessLogsBucket.Arn}/")
OWN_FUNCTIONS = ("DetectFunction.Arn", "SummaryFunction.Arn")


def flat(value):
    """Selectors through Fn::If (both branches), without AWS::NoValue."""
    if isinstance(value, dict) and "Fn::If" in value:
        for branch in value["Fn::If"][1:]:
            yield from flat(branch)
    elif isinstance(value, list):
        for item in value:
            yield from flat(item)
    elif isinstance(value, dict) and value != {"Ref": "AWS::NoValue"}:
        yield value


def field(selector, name):
    return next((f for f in selector["FieldSelectors"] if f["Field"] == name), {})


def data_events(check, resources):
    for name, own_bucket in TRAILS.items():
        selectors = list(flat(resources[name]["Properties"].get("AdvancedEventSelectors", [])))
        check(bool(selectors), f"{name}: data events can be turned on (advanced event selectors)")
        check(any(field(s, "eventCategory").get("Equals") == ["Management"] for s in selectors),
              f"{name}: management events stay on with data events")
        for s in (s for s in selectors if field(s, "eventCategory").get("Equals") == ["Data"]):
            kind = field(s, "resources.type").get("Equals")
            left_out = json.dumps(field(s, "resources.ARN").get("NotStartsWith", []))
            if kind == ["AWS::S3::Object"]:
                for bucket in (own_bucket, *OWN_BUCKETS):
                    check(bucket in left_out, f"{name}: S3 data events leave out {bucket} (no feedback loop)")
            elif kind == ["AWS::Lambda::Function"]:
                for function in OWN_FUNCTIONS:
                    check(function in left_out, f"{name}: Lambda data events leave out {function} (no feedback loop)")
            else:
                check(False, f"{name}: data events are only S3 objects or Lambda functions (got {kind})")


def organization_trail(check, resources):
    trail = resources["OrgTrail"]["Properties"]
    check(trail["IsOrganizationTrail"] is True, "OrgTrail: an organization trail")
    check(trail["IsMultiRegionTrail"] is True and trail["EnableLogFileValidation"] is True, "OrgTrail: multi-region, validated")
    check(trail["S3BucketName"] == {"Ref": "ExistingLogBucket"}, "OrgTrail: writes to the log-archive bucket")
    bus = resources["LogArchiveEvents"]["Properties"]["Statement"]
    check("LogArchiveAccountId" in json.dumps(bus["Principal"]), "event bus: only the log-archive account may put events")
    check(bus["Condition"]["StringEquals"] == {"events:source": "aws.s3", "events:detail-type": "Object Created"},
          "event bus: only S3 Object Created events")
    detect = json.dumps(resources["DetectFunction"]["Properties"]["Policies"])
    check("${NamePrefix}-team-*" in detect, "detect publishes to team topics by name prefix only")


def log_archive(check, archive, statements):
    policy = {s["Sid"]: s for s in statements(archive["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"])}
    writes = policy["OrganizationTrailWrites"]
    check(all("${OrganizationId}" in json.dumps(r) or "${ManagementAccountId}" in json.dumps(r) for r in writes["Resource"]),
          "log-archive: the trail writes only under AWSLogs/<organization>/ and AWSLogs/<management account>/")
    check("aws:SourceArn" in json.dumps(writes["Condition"]), "log-archive: writes name the organization trail as source")
    readers = [s for s in policy.values() if "SecurityAccountId" in json.dumps(s.get("Principal", {}))]
    check(readers and all(s["Action"] in ("s3:GetObject", "s3:ListBucket") for s in readers),
          "log-archive: the security account only reads and lists")
    key = {s["Sid"]: s for s in statements(archive["ArchiveKey"]["Properties"]["KeyPolicy"])}
    check("kms:ViaService" in json.dumps(key["ReadersDecryptThroughS3"]["Condition"]), "log-archive: logs decrypt only through S3")
    check(archive["ArchiveKey"]["Properties"]["EnableKeyRotation"] is True, "log-archive: key rotates")
    bucket = archive["ArchiveBucket"]["Properties"]
    check(bucket["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"] is True,
          "log-archive: the bucket sends its events to EventBridge")
    check("LoggingConfiguration" in bucket, "log-archive: server access logging")
    for target in archive["ForwardObjectCreated"]["Properties"]["Targets"]:
        check("SecurityAccountId" in json.dumps(target["Arn"]) and "RoleArn" in target and "DeadLetterConfig" in target,
              "log-archive: events go to the security account's bus, with a role and a dead-letter queue")
    role = [s for p in archive["ForwardRole"]["Properties"]["Policies"] for s in statements(p["PolicyDocument"])]
    check([s["Action"] for s in role] == ["events:PutEvents"], "log-archive: the forwarding role may only put events")


def check_all(check, resources, archive, statements):
    data_events(check, resources)
    organization_trail(check, resources)
    log_archive(check, archive, statements)
