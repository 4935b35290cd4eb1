"""The real-time lane, locally (run by run.py for `make local`).

Three events happen now, in the samples' account:

  1. a root console sign-in, delivered through EventBridge;
  2. a StopLogging, which EventBridge never delivers (best effort);
  3. a CreateUser, delivered through a CloudWatch Logs subscription.

Each real-time delivery invokes the detection function as AWS would; then
the log file holding all three lands in the log bucket and its S3 event
invokes it too. The file must alert on event 2 only: 1 and 3 were alerted
already, once. Each alert's time to alert (the record's eventTime to the
SNS message's sent_at) is printed per lane; the run stops with an error
when an alert is missing or sent twice.
"""
import base64
import copy
import datetime
import gzip
import json
import random
import string
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, REGION = "123456789012", "us-east-1"


def sample(event_id):
    """A record of the sample logs, by its eventID."""
    for path in sorted((ROOT / "events" / "cloudtrail").glob("*.json*")):
        data = path.read_bytes()
        records = json.loads(gzip.decompress(data) if path.suffix == ".gz" else data)["Records"]
        for record in records:
            if record.get("eventID") == event_id:
                return record
    sys.exit(f"no sample record {event_id}")


def stamp(at):
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def fresh(record, at):
    """The record as if it happened at `at`, with its own eventID."""
    record = copy.deepcopy(record)
    record["eventTime"], record["eventID"], record["requestID"] = stamp(at), str(uuid.uuid4()), str(uuid.uuid4())
    return record


def now_on_a_second():
    """Waits for the next whole second (eventTime has no fraction) and returns it."""
    time.sleep(1 - time.time() % 1)
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def eventbridge(record):
    event = json.loads((ROOT / "events" / "eventbridge-root-signin.json").read_text())
    event.update(id=str(uuid.uuid4()), time=record["eventTime"], detail=record)
    return event


def cloudwatch_logs(record):
    at = datetime.datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    payload = {
        "messageType": "DATA_MESSAGE", "owner": ACCOUNT, "logGroup": f"aws-cloudtrail-logs-{ACCOUNT}",
        "logStream": f"{ACCOUNT}_CloudTrail_{REGION}", "subscriptionFilters": ["trailwatch"],
        "logEvents": [{"id": str(random.getrandbits(120)), "timestamp": int(at.timestamp() * 1000),
                       "message": json.dumps(record, separators=(",", ":"))}],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()}}


def log_file_key(at):
    unique = "".join(random.choices(string.ascii_letters + string.digits, k=16))
    day, name_time = at.strftime("%Y/%m/%d"), at.strftime("%Y%m%dT%H%MZ")
    return f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{day}/{ACCOUNT}_CloudTrail_{REGION}_{name_time}_{unique}.json.gz"


def drain(sqs, queue):
    """Every message on the subscribed queue: (subject, attributes, body)."""
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not got:
            return out
        for m in got:
            note = json.loads(m["Body"])
            attrs = {k: v["Value"] for k, v in note.get("MessageAttributes", {}).items()}
            out.append((note.get("Subject"), attrs, note["Message"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])


def seconds(sent_at, event_time):
    sent = datetime.datetime.fromisoformat(sent_at.replace("Z", "+00:00"))
    return (sent - datetime.datetime.fromisoformat(event_time.replace("Z", "+00:00"))).total_seconds()


def show(step, messages, record, timings, lane):
    print(f"\n{step}", file=sys.stderr)
    for subject, attrs, _ in messages:
        lag = seconds(attrs["sent_at"], record["eventTime"])
        timings.setdefault(lane, []).append(lag)
        print(f"  alert: {subject}  (rule {attrs.get('rule')}, sent {lag:.2f} s after the event)", file=sys.stderr)
    if not messages:
        print("  no alert", file=sys.stderr)


def about(messages, record):
    return [m for m in messages if record["eventID"] in m[2]]


def run(invoke, s3, sqs, queue, bucket, s3_event):
    """The three deliveries, then the log file; returns {lane: [seconds]}."""
    drain(sqs, queue)  # what the samples' steps left is printed with them, not here
    timings = {}
    signin = fresh(sample("b13e6955-aae2-532b-9fd4-b622280f068e"), now_on_a_second())
    invoke(eventbridge(signin))
    got = drain(sqs, queue)
    show(f"real-time lane: root console sign-in {signin['eventID']} at {signin['eventTime']}, through EventBridge",
         got, signin, timings, "eventbridge")
    if not got or len(about(got, signin)) != len(got):
        sys.exit("the root sign-in did not alert through EventBridge")

    create = fresh(sample("1777657d-5067-57f1-85f6-8c8b20485e03"), now_on_a_second())
    invoke(cloudwatch_logs(create))
    got = drain(sqs, queue)
    show(f"real-time lane: CreateUser {create['eventID']}, through a CloudWatch Logs subscription",
         got, create, timings, "cloudwatch-logs")
    if not got or len(about(got, create)) != len(got):
        sys.exit("the CloudWatch Logs subscription payload did not alert")

    at = now_on_a_second()
    stop = fresh(sample("dad725d8-4deb-5cb0-9f0a-a5c12090789c"), at)
    print(f"\n(StopLogging {stop['eventID']} at {stop['eventTime']} never comes through EventBridge: best effort)",
          file=sys.stderr)
    key = log_file_key(at)
    body = gzip.compress(json.dumps({"Records": [signin, stop, create]}).encode())
    etag = s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"]
    invoke(s3_event(key, etag))
    got = drain(sqs, queue)
    show(f"file lane: s3://{bucket}/{key} (all three events)", got, stop, timings, "file")
    again = about(got, signin) + about(got, create)
    if again:
        sys.exit(f"sent again from the file: {[s for s, _, _ in again]}")
    if not about(got, stop):
        sys.exit("the event EventBridge missed was not alerted from the file")
    print("  the sign-in and the CreateUser: not sent again (claimed by the real-time lane)", file=sys.stderr)

    print("\ntime to alert, event time to SNS publish (this machine, emulator):", file=sys.stderr)
    for lane, lags in timings.items():
        lags = sorted(lags)
        print(f"  {lane:<16} {len(lags)} alert(s), median {lags[len(lags) // 2]:.2f} s, max {lags[-1]:.2f} s",
              file=sys.stderr)
    print("  (each event is delivered as soon as it happens, the log file too: in AWS, EventBridge's delivery and\n"
          "   CloudTrail's delivery of the file, about 5 minutes on average, come first)", file=sys.stderr)
    return timings


def schedule_for_today():
    """A scheduled event whose summary window is today (UTC): where the events above are."""
    event = json.loads((ROOT / "events" / "schedule.json").read_text())
    tomorrow = datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=1)
    event["time"] = f"{tomorrow.isoformat()}T00:05:00Z"
    return event
