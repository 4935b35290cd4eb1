//! POSTing to an HTTPS endpoint for the Slack and webhook outputs.
//!
//! The URL is a secret (a Slack incoming-webhook URL is all it takes to
//! post to the channel), so it never appears in an error or a log line, and
//! neither does a response body. HTTPS only (plain HTTP is allowed to a
//! loopback address only when the caller asks, for local runs and tests);
//! no redirects (they could carry the payload elsewhere); short timeouts.

use std::time::Duration;

use reqwest::{redirect, Client, StatusCode, Url};

use crate::ports::{Failure, FailureKind, Result};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const TIMEOUT: Duration = Duration::from_secs(10);

/// A request to POST: its JSON body and extra headers.
pub type Request = (Vec<u8>, Vec<(&'static str, String)>);

/// One endpoint. `label` names it in errors instead of its URL.
#[derive(Clone)]
pub struct Endpoint {
    label: String,
    url: Url,
    client: Client,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Endpoint({}, {})", self.label, self.url.host_str().unwrap_or("?"))
    }
}

/// Checks a URL: `https://`, or `http://` to a loopback host when
/// `allow_loopback_http`. The error never repeats the URL.
pub fn check_url(url: &str, allow_loopback_http: bool) -> anyhow::Result<Url> {
    let url = Url::parse(url.trim()).map_err(|e| anyhow::anyhow!("not a URL ({e})"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if allow_loopback_http && loopback => Ok(url),
        "http" => anyhow::bail!("plain http is not allowed: use an https:// URL"),
        other => anyhow::bail!("'{other}' URLs are not allowed: use an https:// URL"),
    }
}

impl Endpoint {
    pub fn new(label: &str, url: Url) -> anyhow::Result<Endpoint> {
        let client = Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            .redirect(redirect::Policy::none())
            .https_only(url.scheme() == "https")
            .user_agent(concat!("trailwatch/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Endpoint { label: label.to_string(), url, client })
    }

    /// POSTs a JSON body with extra headers; 2xx is success.
    pub async fn post_json(&self, body: Vec<u8>, headers: &[(&str, String)]) -> Result<()> {
        let mut request = self.client.post(self.url.clone()).header("content-type", "application/json").body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.map_err(|e| {
            // Without the URL: it is the secret.
            let e = e.without_url();
            Failure::new(FailureKind::Transient, format!("{}: {e}", self.label))
        })?;
        let status = response.status();
        // The body is read and dropped (never logged): it may echo the request.
        drop(response);
        classify_status(&self.label, status)
    }
}

impl Endpoint {
    /// POSTs each message as `render` shapes it (body, extra headers), one
    /// request per message; one result per message, in order. A message
    /// that does not render is refused for good, never sent empty.
    pub async fn post_each(
        &self,
        messages: &[super::Message],
        render: impl Fn(&super::Message) -> Result<Request>,
    ) -> Result<Vec<Result<()>>> {
        let mut results = Vec::with_capacity(messages.len());
        for message in messages {
            results.push(match render(message) {
                Ok((body, headers)) => self.post_json(body, &headers).await,
                Err(f) => Err(f),
            });
        }
        Ok(results)
    }
}

/// `value` as a JSON body; one that would not serialize is refused for good.
pub fn json_body<T: serde::Serialize>(label: &str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value)
        .map_err(|e| Failure::new(FailureKind::Permanent, format!("{label}: the message would not serialize: {e}")))
}

/// 2xx: delivered. 408, 429 and 5xx: try again later. Other 4xx: the
/// endpoint refuses this request and will again.
fn classify_status(label: &str, status: StatusCode) -> Result<()> {
    if status.is_success() {
        return Ok(());
    }
    let kind =
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT || status.is_server_error()
        {
            FailureKind::Transient
        } else {
            FailureKind::Permanent
        };
    Err(Failure::new(kind, format!("{label}: HTTP {}", status.as_u16())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_when_asked() {
        assert!(check_url("https://hooks.slack.com/services/T/B/x", false).is_ok());
        assert!(check_url("http://hooks.slack.com/services/T/B/x", true).is_err());
        assert!(check_url("http://127.0.0.1:8080/hook", false).is_err());
        assert!(check_url("http://127.0.0.1:8080/hook", true).is_ok());
        assert!(check_url("http://[::1]:8080/hook", true).is_ok());
        assert!(check_url("http://localhost/hook", true).is_ok());
        assert!(check_url("ftp://example.com/x", true).is_err());
        let error = check_url("http://example.com/secret-token", false).unwrap_err().to_string();
        assert!(!error.contains("secret-token"), "{error}");
    }

    #[test]
    fn statuses_are_sorted_into_retry_or_refuse() {
        assert!(classify_status("x", StatusCode::OK).is_ok());
        assert!(classify_status("x", StatusCode::NO_CONTENT).is_ok());
        for transient in [429, 408, 500, 502, 503] {
            let f = classify_status("x", StatusCode::from_u16(transient).unwrap()).unwrap_err();
            assert_eq!(f.kind, FailureKind::Transient, "{transient}");
        }
        for permanent in [400, 403, 404, 410] {
            let f = classify_status("x", StatusCode::from_u16(permanent).unwrap()).unwrap_err();
            assert_eq!(f.kind, FailureKind::Permanent, "{permanent}");
        }
    }
}
