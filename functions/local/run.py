#!/usr/bin/env python3
"""Run trailwatch's Lambda functions locally, end to end, with no AWS account.

Starts a moto server (S3, SNS, SQS) on a free loopback port, creates what the
SAM template would create (log and state buckets, alert topic, an SQS queue
subscribed to it), uploads the sample CloudTrail logs, runs the functions
under `cargo lambda watch`, invokes them, and prints every message a
subscriber of the topic receives. A local receiver on another loopback port
stands in for Slack (its URL kept in an SSM SecureString parameter) and for
a webhook (URL and signing secret in a Secrets Manager secret): it checks
each webhook signature and prints what arrived. Everything stops at the end.

  run.py invoke           the detection function with events/s3-put.json
  run.py invoke-summary   the detection function for every sample log, its
                          flush of the dedup windows once they have closed,
                          then the summary function with events/schedule.json
  run.py all              the same, and between the flush and the summary
                          the real-time lane (lanes.py): a root sign-in
                          through EventBridge, a CreateUser through a
                          CloudWatch Logs subscription, then their log file
                          (alerting only on the event EventBridge missed),
                          with the time to alert of each lane; then the
                          summary of today too (what `make local` runs)
"""
import hashlib
import hmac
import http.server
import json
import os
import threading
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3

import lanes

ROOT = Path(__file__).resolve().parents[2]
# The local run's dedup window, in minutes (deployed: 60), with no flush
# grace, so that the follow-up of each window is seen within the run.
DEDUP_MINUTES = 1
VENV_BIN = ROOT / ".venv" / "bin"
LOGS, STATE = "trailwatch-logs", "trailwatch-state"
REGION = "us-east-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, what, seconds=600):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"{what} did not start on port {port}")


WEBHOOK_SECRET = "local-signing-secret-0123456789"


class Receiver(http.server.BaseHTTPRequestHandler):
    """Keeps each POST; webhook signatures are checked as a receiver would."""
    got = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        ok = None
        if self.path == "/webhook":
            stamp = self.headers.get("x-trailwatch-timestamp", "")
            want = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
            ok = hmac.compare_digest(want, self.headers.get("x-trailwatch-signature", ""))
        Receiver.got.append((self.path, body, ok))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def log_key(path):
    # 123456789012_CloudTrail_us-east-1_20261120T0910Z_x.json.gz
    account, _, region, stamp, _ = path.name.split("_", 4)
    return f"AWSLogs/{account}/CloudTrail/{region}/{stamp[0:4]}/{stamp[4:6]}/{stamp[6:8]}/{path.name}"


def s3_event(key, etag):
    event = json.loads((ROOT / "events" / "s3-put.json").read_text())
    obj = event["Records"][0]["s3"]["object"]
    obj["key"], obj["eTag"] = key, etag.strip('"')
    return event


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "invoke"
    procs = []
    try:
        moto_port = free_port()
        procs.append(subprocess.Popen([str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(moto_port, "moto_server", 30)
        endpoint = f"http://127.0.0.1:{moto_port}"
        env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION)
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        s3, sns, sqs = (session.client(n, endpoint_url=endpoint) for n in ("s3", "sns", "sqs"))
        for bucket in (LOGS, STATE):
            s3.create_bucket(Bucket=bucket)
        topic = sns.create_topic(Name="trailwatch-alerts")["TopicArn"]
        summary_topic = sns.create_topic(Name="trailwatch-summary")["TopicArn"]
        queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for arn in (topic, summary_topic):
            sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)

        receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{receiver.server_address[1]}"
        ssm = session.client("ssm", endpoint_url=endpoint)
        ssm.put_parameter(Name="/trailwatch/slack", Type="SecureString", Value=f"{base}/slack")
        slack_arn = ssm.get_parameter(Name="/trailwatch/slack")["Parameter"]["ARN"]
        secrets = session.client("secretsmanager", endpoint_url=endpoint)
        webhook_arn = secrets.create_secret(
            Name="trailwatch/webhook",
            SecretString=json.dumps({"url": f"{base}/webhook", "signing_secret": WEBHOOK_SECRET}))["ARN"]

        samples = sorted((ROOT / "events" / "cloudtrail").glob("*.json*"))
        if mode == "invoke":
            wanted = json.loads((ROOT / "events" / "s3-put.json").read_text())["Records"][0]["s3"]["object"]["key"]
            samples = [p for p in samples if log_key(p) == wanted]
        events = []
        for path in samples:
            key = log_key(path)
            etag = s3.put_object(Bucket=LOGS, Key=key, Body=path.read_bytes())["ETag"]
            events.append((key, s3_event(key, etag)))

        watch_port = free_port()
        fn_env = []
        for setting in (f"ALERT_TOPIC_ARN={topic}", f"SUMMARY_TOPIC_ARN={summary_topic}", f"STATE_BUCKET={STATE}",
                        f"LOG_BUCKET={LOGS}", f"AWS_ENDPOINT_URL={endpoint}", "LOG_LEVEL=warn",
                        f"SLACK_SECRET_ARN={slack_arn}", "SLACK_MIN_SEVERITY=high", f"WEBHOOK_SECRET_ARN={webhook_arn}",
                        # Plain HTTP to the loopback receiver: a local-run setting only.
                        "ALLOW_LOOPBACK_HTTP=1", f"DEDUP_WINDOW_MINUTES={DEDUP_MINUTES}", "FLUSH_GRACE_SECONDS=0"):
            fn_env += ["--env-var", setting]
        cargo_lambda = ["cargo", "lambda"]
        env["PATH"] = f"{VENV_BIN}:{env['PATH']}"
        procs.append(subprocess.Popen(cargo_lambda + ["watch", "--ignore-changes", "-P", str(watch_port)] + fn_env,
                                      cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        wait_for(watch_port, "cargo lambda watch")
        for key, event in events:
            print(f"invoking detect for s3://{LOGS}/{key}", file=sys.stderr)
            out = subprocess.run(cargo_lambda + ["invoke", "detect", "-P", str(watch_port), "--data-ascii", json.dumps(event)],
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
            if out.returncode != 0:
                sys.exit(f"invoke failed: {out.stdout}{out.stderr}")
        if mode in ("invoke-summary", "all"):
            flush(cargo_lambda, watch_port, env)
            if mode == "all":
                print_messages(sqs, queue)
                lanes.run(lambda payload: invoke(cargo_lambda, watch_port, env, "detect", payload), s3, sqs, queue, LOGS,
                          s3_event)
            print("invoking summary with events/schedule.json", file=sys.stderr)
            invoke(cargo_lambda, watch_port, env, "summary", json.loads((ROOT / "events" / "schedule.json").read_text()))
            if mode == "all":
                today = lanes.schedule_for_today()
                print(f"invoking summary for today (time {today['time']}): the time to alert per lane", file=sys.stderr)
                invoke(cargo_lambda, watch_port, env, "summary", today)
        print_messages(sqs, queue)
        print_received()
    finally:
        for p in reversed(procs):
            try:
                os.killpg(p.pid, signal.SIGTERM) if p.args[0] == "cargo" else p.terminate()
            except ProcessLookupError:
                pass
            p.wait(timeout=30)


def invoke(cargo_lambda, watch_port, env, function, payload):
    out = subprocess.run(cargo_lambda + ["invoke", function, "-P", str(watch_port), "--data-ascii", json.dumps(payload)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        sys.exit(f"invoke failed: {out.stdout}{out.stderr}")
    return out.stdout


def flush(cargo_lambda, watch_port, env):
    """Waits for the last dedup window to close, then runs the detection function's flush (the schedule's job)."""
    wait = DEDUP_MINUTES * 60 + 1
    for left in range(wait, 0, -15):
        print(f"waiting for the {DEDUP_MINUTES}-minute dedup windows to close: {left} s", file=sys.stderr)
        time.sleep(min(15, left))
    print("invoking detect with events/schedule.json: the follow-ups of the closed windows", file=sys.stderr)
    out = subprocess.run(cargo_lambda + ["invoke", "detect", "-P", str(watch_port), "--data-file", "events/schedule.json"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        sys.exit(f"invoke failed: {out.stdout}{out.stderr}")
    flushed = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"flush: {flushed['follow_ups']} follow-up(s) for {flushed['folded_events']} folded finding(s)", file=sys.stderr)
    if not flushed["follow_ups"]:
        sys.exit("no follow-up: the samples' repeats should have been folded into one")


def print_messages(sqs, queue):
    count = 0
    while True:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not got:
            break
        for m in got:
            note = json.loads(m["Body"])
            attrs = {k: v["Value"] for k, v in note.get("MessageAttributes", {}).items()}
            print("=" * 78)
            print(f"Subject: {note.get('Subject')}")
            print(f"Attributes: {json.dumps(attrs, sort_keys=True)}")
            print()
            print(note["Message"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
            count += 1
    print(f"{count} message(s) on the topic.", file=sys.stderr)


def print_received():
    for path, body, ok in Receiver.got:
        payload = json.loads(body)
        if path == "/webhook":
            alert = payload["alert"]
            print(f"webhook: [{alert['severity']}] {alert['title']} ({alert['rule']}) signature {'valid' if ok else 'INVALID'}")
        else:
            print(f"slack: {payload['text']}")
    bad = sum(1 for path, _, ok in Receiver.got if path == "/webhook" and not ok)
    slack = sum(1 for path, _, _ in Receiver.got if path == "/slack")
    webhook = sum(1 for path, _, _ in Receiver.got if path == "/webhook")
    print(f"{slack} Slack message(s), {webhook} webhook delivery(ies), {bad} bad signature(s) at the local receiver.",
          file=sys.stderr)
    if bad or not webhook:
        sys.exit("the webhook receiver got no delivery or a bad signature")


if __name__ == "__main__":
    main()
