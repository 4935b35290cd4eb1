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

/// One request a [`Receiver`] took.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// A local HTTP receiver on a loopback port, standing in for Slack or a
/// webhook endpoint: keeps every request, and answers with the statuses it
/// is told to (then 200).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    statuses: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<u16>>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        use hyper::service::service_fn;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let receiver = Receiver { url, received: Default::default(), statuses: Default::default() };
        let state = receiver.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let state = state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let state = state.clone();
                        async move {
                            use http_body_util::BodyExt;
                            let path = request.uri().path().to_string();
                            let headers = request
                                .headers()
                                .iter()
                                .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                                .collect();
                            let body = request.into_body().collect().await.map(|b| b.to_bytes().to_vec());
                            let status = state.statuses.lock().unwrap().pop_front().unwrap_or(200);
                            if status == 200 {
                                state.received.lock().unwrap().push(Received {
                                    path,
                                    headers,
                                    body: body.unwrap_or_default(),
                                });
                            }
                            let response = hyper::Response::builder()
                                .status(status)
                                .body(http_body_util::Full::new(hyper::body::Bytes::from_static(b"echo: secret")))
                                .unwrap();
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        receiver
    }

    /// The next requests are answered with these statuses (and not kept).
    pub fn answer(&self, statuses: &[u16]) {
        self.statuses.lock().unwrap().extend(statuses);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}
