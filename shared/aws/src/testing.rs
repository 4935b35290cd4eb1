//! Integration-test harness: a real moto server (S3, SNS, SQS emulator) on a
//! free loopback port, started for a test and stopped when dropped, and SDK
//! clients pointed at it. moto is installed into the project's `.venv` by
//! `make venv`; `MOTO_SERVER` may name another `moto_server` binary.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;

/// A running moto server; killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
    pub config: SdkConfig,
}

fn moto_binary() -> PathBuf {
    if let Ok(path) = std::env::var("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let candidate = dir.join(".venv/bin/moto_server");
        if candidate.exists() {
            return candidate;
        }
        if !dir.pop() {
            panic!("moto_server not found: run `make venv` (it installs moto into .venv) or set MOTO_SERVER");
        }
    }
}

impl Moto {
    pub async fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let child = Command::new(moto_binary())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not start on port {port}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let endpoint = format!("http://127.0.0.1:{port}");
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .http_client(crate::config::http_client())
            .load()
            .await;
        Moto { child, endpoint, config }
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        crate::config::s3_client(&self.config)
    }

    pub fn sns(&self) -> aws_sdk_sns::Client {
        crate::config::sns_client(&self.config)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.config)
    }

    /// A topic with an SQS queue subscribed to it; returns (topic ARN, queue URL).
    pub async fn topic_with_queue(&self, name: &str) -> (String, String) {
        let topic = self.sns().create_topic().name(name).send().await.expect("create topic");
        let topic_arn = topic.topic_arn().expect("topic arn").to_string();
        let queue = self.sqs().create_queue().queue_name(format!("{name}-inbox")).send().await.expect("create queue");
        let queue_url = queue.queue_url().expect("queue url").to_string();
        let attrs = self
            .sqs()
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes");
        let queue_arn = attrs
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .expect("queue arn")
            .clone();
        self.sns()
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .expect("subscribe");
        (topic_arn, queue_url)
    }

    /// Every SNS notification waiting in the queue (parsed envelopes).
    pub async fn drain(&self, queue_url: &str) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        loop {
            let got = self
                .sqs()
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .expect("receive");
            let messages = got.messages();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                out.push(serde_json::from_str(m.body().unwrap_or("{}")).expect("SNS envelope"));
                if let Some(handle) = m.receipt_handle() {
                    self.sqs()
                        .delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("delete");
                }
            }
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
