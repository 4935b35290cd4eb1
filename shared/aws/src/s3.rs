//! [`ObjectStore`] on Amazon S3 through the AWS SDK.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use tokio_util::io::SyncIoBridge;

use crate::ports::{Condition, Failure, FailureKind, Listed, Object, ObjectStore, Result};

/// S3 through the SDK. Cheap to clone.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
}

impl S3Store {
    pub fn new(client: Client) -> Self {
        S3Store { client }
    }

    /// One level of a listing: the objects directly under `prefix` and the
    /// folders (common prefixes, ending in `/`) below it.
    pub async fn list_level(&self, bucket: &str, prefix: &str) -> Result<(Vec<Listed>, Vec<String>)> {
        let what = format!("ListObjectsV2 s3://{bucket}/{prefix}");
        let mut pages =
            self.client.list_objects_v2().bucket(bucket).prefix(prefix).delimiter("/").into_paginator().send();
        let (mut objects, mut folders) = (Vec::new(), Vec::new());
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(&what, e))?;
            objects.extend(listed(page.contents()));
            folders.extend(page.common_prefixes().iter().filter_map(|p| p.prefix().map(str::to_string)));
        }
        Ok((objects, folders))
    }
}

/// The region a bucket lives in: HeadBucket's `x-amz-bucket-region`, which S3
/// sends on success and on the redirect or denial a request to the wrong
/// region gets. `None` when neither says.
pub async fn bucket_region(client: &Client, bucket: &str) -> Result<Option<String>> {
    match client.head_bucket().bucket(bucket).send().await {
        Ok(out) => Ok(out.bucket_region().map(str::to_string)),
        Err(err) => {
            let header = err.raw_response().and_then(|r| r.headers().get("x-amz-bucket-region")).map(str::to_string);
            match header {
                Some(region) => Ok(Some(region)),
                None => Err(classify(&format!("HeadBucket s3://{bucket}"), err)),
            }
        }
    }
}

fn listed(contents: &[aws_sdk_s3::types::Object]) -> impl Iterator<Item = Listed> + '_ {
    contents.iter().filter_map(|object| {
        Some(Listed {
            key: object.key()?.to_string(),
            size: object.size().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
        })
    })
}

/// Sorts an SDK error into what the caller can do about it, by error code
/// and, where the code is missing (HEAD-style answers), by HTTP status.
pub(crate) fn classify<E>(what: &str, err: SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let kind = match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            match (code, service.raw().status().as_u16()) {
                ("NoSuchKey" | "NotFound" | "NoSuchBucket", _) | (_, 404) => FailureKind::NotFound,
                ("PreconditionFailed", _) | (_, 412) => FailureKind::PreconditionFailed,
                (
                    "Throttling"
                    | "ThrottlingException"
                    | "SlowDown"
                    | "RequestTimeout"
                    | "InternalError"
                    | "ServiceUnavailable"
                    | "InternalFailure"
                    | "KMSThrottling"
                    | "ConditionalRequestConflict",
                    _,
                )
                | (_, 409 | 429 | 500..=599) => FailureKind::Transient,
                _ => FailureKind::Permanent,
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => FailureKind::Transient,
        _ => FailureKind::Permanent,
    };
    let detail = match err.as_service_error() {
        Some(e) => format!("{}: {}", e.code().unwrap_or("error"), e.message().unwrap_or("")),
        None => format!("{}", aws_smithy_types::error::display::DisplayErrorContext(&err)),
    };
    Failure::new(kind, format!("{what}: {detail}"))
}

impl ObjectStore for S3Store {
    async fn get(&self, bucket: &str, key: &str) -> Result<Object> {
        let what = format!("GetObject s3://{bucket}/{key}");
        let out = self.client.get_object().bucket(bucket).key(key).send().await.map_err(|e| classify(&what, e))?;
        let etag = out.e_tag().map(str::to_string);
        let size = out.content_length().and_then(|n| u64::try_from(n).ok());
        // The body streams: the reader pulls bytes from the connection as the
        // scan needs them, on the blocking thread that runs the scan.
        let metadata = out.metadata().cloned().unwrap_or_default();
        let body = SyncIoBridge::new(out.body.into_async_read());
        Ok(Object { etag, size, metadata, body: Box::new(body) })
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, only_if_absent: bool) -> Result<()> {
        let what = format!("PutObject s3://{bucket}/{key}");
        let mut request = self.client.put_object().bucket(bucket).key(key).body(ByteStream::from(body));
        if only_if_absent {
            request = request.if_none_match("*");
        }
        request.send().await.map(drop).map_err(|e| classify(&what, e))
    }

    async fn put_if(&self, bucket: &str, key: &str, body: Vec<u8>, condition: Condition) -> Result<String> {
        let what = format!("PutObject (conditional) s3://{bucket}/{key}");
        let request = self.client.put_object().bucket(bucket).key(key).body(ByteStream::from(body));
        let request = match condition {
            Condition::Absent => request.if_none_match("*"),
            Condition::Matches(etag) => request.if_match(etag),
        };
        let out = request.send().await.map_err(|e| classify(&what, e))?;
        Ok(out.e_tag().unwrap_or_default().to_string())
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<()> {
        let what = format!("DeleteObject s3://{bucket}/{key}");
        self.client.delete_object().bucket(bucket).key(key).send().await.map(drop).map_err(|e| classify(&what, e))
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<Listed>> {
        let what = format!("ListObjectsV2 s3://{bucket}/{prefix}");
        let mut pages = self.client.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(&what, e))?;
            out.extend(listed(page.contents()));
        }
        Ok(out)
    }

    async fn list_prefixes(&self, bucket: &str, prefix: &str) -> Result<Vec<String>> {
        let what = format!("ListObjectsV2 s3://{bucket}/{prefix} (folders)");
        let mut pages =
            self.client.list_objects_v2().bucket(bucket).prefix(prefix).delimiter("/").into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(&what, e))?;
            out.extend(page.common_prefixes().iter().filter_map(|p| p.prefix().map(str::to_string)));
        }
        Ok(out)
    }
}
