//! The team's state store in S3 (issue 15): `s3://BUCKET/PREFIX`. S3's conditional writes are
//! the whole of the locking: a key is created only if absent (`If-None-Match: *`), replaced or
//! removed only if it still has the ETag that was read (`If-Match`). Times are S3's own: the
//! `Last-Modified` of an object written just now.
//!
//! [`Store`] is synchronous (the lease and the mirror run on their own threads); the SDK is not.
//! Every call therefore goes to one thread of this store's own, which runs the requests on a
//! small runtime, so a caller on any thread (a runtime's or not) waits for the answer safely.
//! Each call is bounded by pilotlight's timeouts, and writes are sent once (a lost answer is
//! read back by the caller, as with a folder).

use std::future::Future;
use std::pin::Pin;

use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};

use super::clients::{Access, Clients, Endpoints, Timeouts};
pub use super::s3_url::parse_url;
use crate::runtime::store::{check_key, Object, Store, StoreError};

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A state store in an S3 bucket, under a prefix.
pub struct S3Store {
    bucket: String,
    /// `PREFIX/`, or empty: every key is under it.
    root: String,
    reads: aws_sdk_s3::Client,
    writes: aws_sdk_s3::Client,
    jobs: tokio::sync::mpsc::UnboundedSender<Job>,
}

impl S3Store {
    /// The store at `url` (`s3://BUCKET/PREFIX`) in `region`, with the standard AWS
    /// configuration. A read-only store (`watch --follow`) sends no write: the guard refuses it.
    pub fn open(
        url: &str,
        region: &str,
        access: Access,
        timeouts: Timeouts,
    ) -> Result<S3Store, StoreError> {
        S3Store::open_with(url, region, access, timeouts, None)
    }

    /// As [`S3Store::open`], with this AWS configuration (`None`: the standard chain's).
    pub fn open_with(
        url: &str,
        region: &str,
        access: Access,
        timeouts: Timeouts,
        sdk: Option<aws_config::SdkConfig>,
    ) -> Result<S3Store, StoreError> {
        let (bucket, prefix) = parse_url(url).map_err(|why| StoreError::Io {
            what: "the state store".into(),
            why,
        })?;
        let (jobs, mut rx) = tokio::sync::mpsc::unbounded_channel::<Job>();
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let region = region.to_string();
        let worker = std::thread::Builder::new()
            .name("pilotlight-s3".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                rt.block_on(async move {
                    let sdk = match sdk {
                        Some(sdk) => sdk,
                        None => super::clients::load_config(timeouts).await,
                    };
                    let clients = Clients::new(sdk, access, timeouts, Endpoints::new());
                    let pair = (clients.s3(&region, false), clients.s3(&region, true));
                    let _ = ready_tx.send(Ok(pair));
                    while let Some(job) = rx.recv().await {
                        tokio::spawn(job);
                    }
                });
            });
        if let Err(e) = worker {
            return Err(io_err(url, e.to_string()));
        }
        let (reads, writes) = ready_rx
            .recv()
            .map_err(|_| io_err(url, "its thread stopped".into()))?
            .map_err(|e| io_err(url, e))?;
        Ok(S3Store {
            bucket,
            root: match prefix.is_empty() {
                true => String::new(),
                false => format!("{prefix}/"),
            },
            reads,
            writes,
            jobs,
        })
    }

    /// The bucket's own region, as S3 says it (`GetBucketLocation`), when it answers.
    pub fn bucket_region(&self) -> Option<String> {
        let (client, bucket) = (self.reads.clone(), self.bucket.clone());
        self.call(async move {
            let out = client
                .get_bucket_location()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| io_err("GetBucketLocation", e.to_string()))?;
            // No constraint is us-east-1; `EU` is the old name of eu-west-1.
            Ok(match out.location_constraint().map(|c| c.as_str()) {
                None | Some("") => "us-east-1".to_string(),
                Some("EU") => "eu-west-1".to_string(),
                Some(r) => r.to_string(),
            })
        })
        .ok()
    }

    /// Runs `call` on the store's thread and waits for its answer.
    fn call<T: Send + 'static>(
        &self,
        call: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let job: Job = Box::pin(async move {
            let _ = tx.send(call.await);
        });
        self.jobs
            .send(job)
            .map_err(|_| io_err(&self.describe(), "its thread stopped".into()))?;
        rx.recv()
            .map_err(|_| io_err(&self.describe(), "its thread stopped".into()))?
    }

    fn key(&self, key: &str) -> Result<String, StoreError> {
        check_key(key)?;
        Ok(format!("{}{key}", self.root))
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

fn io_err(what: &str, why: String) -> StoreError {
    StoreError::Io {
        what: what.to_string(),
        why,
    }
}

/// A refused condition: `If-None-Match` or `If-Match` did not hold (412), or another writer's
/// conditional write of the same key was in progress (409).
fn condition_failed<E: ProvideErrorMetadata>(e: &E) -> bool {
    matches!(
        e.code(),
        Some("PreconditionFailed" | "ConditionalRequestConflict")
    )
}

/// A failed call, said as the AWS layer says every failure (what to check, what to do).
fn failed<E>(
    url: &str,
    action: &str,
    e: aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    // S3 answers a request sent to the wrong region with a redirect the SDK does not follow.
    if matches!(
        e.code(),
        Some("PermanentRedirect" | "AuthorizationHeaderMalformed" | "301")
    ) {
        return io_err(
            url,
            "the bucket is in another region: set the runbook's `state: { region: … }` (or AWS_REGION) to the bucket's region".into(),
        );
    }
    io_err(url, super::errors::cloud_error(action, 20, e).to_string())
}

fn chrono_of(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

impl Store for S3Store {
    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.root.trim_end_matches('/'))
    }

    fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        let (k, url) = (self.key(key)?, self.url(key));
        let (client, bucket) = (self.reads.clone(), self.bucket.clone());
        self.call(async move {
            let out = match client.get_object().bucket(bucket).key(k).send().await {
                Ok(o) => o,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                    return Ok(None)
                }
                Err(e) => return Err(failed(&url, "s3:GetObject", e)),
            };
            let tag = out.e_tag().unwrap_or_default().to_string();
            let body = out
                .body
                .collect()
                .await
                .map_err(|e| io_err(&url, e.to_string()))?
                .into_bytes()
                .to_vec();
            Ok(Some(Object { body, tag }))
        })
    }

    fn create(&self, key: &str, body: &[u8]) -> Result<String, StoreError> {
        let (k, url) = (self.key(key)?, self.url(key));
        let (client, bucket, body) = (self.writes.clone(), self.bucket.clone(), body.to_vec());
        let key = key.to_string();
        self.call(async move {
            let put = client
                .put_object()
                .bucket(bucket)
                .key(k)
                .if_none_match("*")
                .body(ByteStream::from(body))
                .send()
                .await;
            match put {
                Ok(o) => Ok(o.e_tag().unwrap_or_default().to_string()),
                Err(e) if condition_failed(&e) => Err(StoreError::Exists(key)),
                Err(e) => Err(failed(&url, "s3:PutObject", e)),
            }
        })
    }

    fn replace(&self, key: &str, body: &[u8], tag: &str) -> Result<String, StoreError> {
        let (k, url) = (self.key(key)?, self.url(key));
        let (client, bucket, body) = (self.writes.clone(), self.bucket.clone(), body.to_vec());
        let (key, tag) = (key.to_string(), tag.to_string());
        self.call(async move {
            let put = client
                .put_object()
                .bucket(bucket)
                .key(k)
                .if_match(tag)
                .body(ByteStream::from(body))
                .send()
                .await;
            match put {
                Ok(o) => Ok(o.e_tag().unwrap_or_default().to_string()),
                // Gone since it was read is changed too.
                Err(e) if condition_failed(&e) || e.code() == Some("NoSuchKey") => {
                    Err(StoreError::Changed(key))
                }
                Err(e) => Err(failed(&url, "s3:PutObject", e)),
            }
        })
    }

    fn remove(&self, key: &str, tag: &str) -> Result<(), StoreError> {
        let (k, url) = (self.key(key)?, self.url(key));
        let (client, bucket) = (self.writes.clone(), self.bucket.clone());
        let (key, tag) = (key.to_string(), tag.to_string());
        self.call(async move {
            let del = client
                .delete_object()
                .bucket(bucket)
                .key(k)
                .if_match(tag)
                .send()
                .await;
            match del {
                Ok(_) => Ok(()),
                Err(e) if condition_failed(&e) || e.code() == Some("NoSuchKey") => {
                    Err(StoreError::Changed(key))
                }
                Err(e) => Err(failed(&url, "s3:DeleteObject", e)),
            }
        })
    }

    /// S3's clock: the `Last-Modified` S3 gives an object this process writes now.
    fn now(&self) -> Result<DateTime<Utc>, StoreError> {
        // One clock object per process, named so that any host name makes a valid key.
        let host: String = crate::runtime::lock::this_host()
            .chars()
            .map(|c| match c.is_ascii_alphanumeric() || c == '-' {
                true => c,
                false => '_',
            })
            .take(60)
            .collect();
        let name = format!(".clock/{host}-{}", std::process::id());
        let (k, url) = (self.key(&name)?, self.url(&name));
        let (writes, reads, bucket) =
            (self.writes.clone(), self.reads.clone(), self.bucket.clone());
        self.call(async move {
            writes
                .put_object()
                .bucket(&bucket)
                .key(&k)
                .body(ByteStream::from_static(b"clock\n"))
                .send()
                .await
                .map_err(|e| failed(&url, "s3:PutObject", e))?;
            let out = reads
                .get_object()
                .bucket(&bucket)
                .key(&k)
                .send()
                .await
                .map_err(|e| failed(&url, "s3:GetObject", e))?;
            out.last_modified()
                .and_then(chrono_of)
                .ok_or_else(|| io_err(&url, "S3 gave the object no Last-Modified time".into()))
        })
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.list_after(prefix, None)
    }

    /// Only the keys after `after` are asked for (`StartAfter`): a follower's look costs the
    /// same however long the journal is.
    fn list_after(&self, prefix: &str, after: Option<&str>) -> Result<Vec<String>, StoreError> {
        let (k, url) = (self.key(prefix.trim_end_matches('/'))?, self.url(prefix));
        let after = after.map(|a| self.key(a)).transpose()?;
        let (client, bucket, root) = (self.reads.clone(), self.bucket.clone(), self.root.clone());
        self.call(async move {
            let mut keys = Vec::new();
            let mut pages = client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(format!("{k}/"))
                .set_start_after(after)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| failed(&url, "s3:ListBucket", e))?;
                for o in page.contents() {
                    let Some(rel) = o.key().and_then(|key| key.strip_prefix(&root)) else {
                        continue;
                    };
                    // Staged files and clocks are not keys, as in a folder.
                    if rel.split('/').any(|p| p.starts_with('.')) {
                        continue;
                    }
                    keys.push(rel.to_string());
                }
            }
            keys.sort();
            Ok(keys)
        })
    }

    fn warning(&self) -> Option<String> {
        let (client, bucket) = (self.reads.clone(), self.bucket.clone());
        let protected = self.call(async move {
            let versioned = client
                .get_bucket_versioning()
                .bucket(&bucket)
                .send()
                .await
                .map(|v| v.status().is_some_and(|s| s.as_str() == "Enabled"))
                .unwrap_or(false);
            let locked = client
                .get_object_lock_configuration()
                .bucket(&bucket)
                .send()
                .await
                .map(|l| l.object_lock_configuration().is_some())
                .unwrap_or(false);
            Ok(versioned || locked)
        });
        match protected {
            Ok(true) => None,
            _ => Some(format!(
                "the bucket {} has neither versioning nor Object Lock (or they could not be read): pilotlight never overwrites a mirrored batch, but anyone with write access to the bucket could; turn on versioning (aws s3api put-bucket-versioning --bucket {} --versioning-configuration Status=Enabled)",
                self.bucket, self.bucket
            )),
        }
    }
}
