//! AWS Signer and the signed-layer side of Lambda, where moto falls short
//! (../shared/aws-facts.md, "Signing layers"), answered in the shapes of the botocore model:
//!
//! 1. **GetSigningProfile** of a missing profile: moto crashes (HTTP 500); AWS answers 404
//!    `ResourceNotFoundException`.
//! 2. **StartSigningJob / DescribeSigningJob**, which moto lacks. A job reads the exact source
//!    object version as its caller, and on success writes `<prefix><jobId>.zip`: the source zip
//!    with one more entry naming the job, so it is still a zip, differs from the source and
//!    differs for every job. DescribeSigningJob answers `InProgress` first, then `Succeeded`
//!    (with `signedObject.s3`) or `Failed` with a `statusReason`. A job fails as AWS's would
//!    for an empty, non-zip or already-signed object, or when the profile is not Active; a test
//!    can make every job of an account fail ([`fail_jobs`]).
//! 3. **Signed versions.** The signature is in the bytes: a version whose CodeSha256 is that of
//!    a signed zip reports `Content.SigningProfileVersionArn` and `Content.SigningJobArn`
//!    (PublishLayerVersion, GetLayerVersion, GetLayerVersionByArn), as Lambda does.
//! 4. **PublishLayerVersion with `S3ObjectVersion`** reads that version (moto reads the latest):
//!    an older version's bytes are sent to moto as they are; a version that does not exist is
//!    `InvalidParameterValueException`, as Lambda answers.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use hyper::http::request::Parts;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use super::Reply;
use super::aws_like::{Answer, Caller, error, forward};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The entry a signed zip carries; its name holds the job id, so every job's bytes differ.
pub const SIGNATURE_ENTRY: &str = "META-INF/cargo-layer-test-signature-";

struct Job {
    account: String,
    body: Value,
    /// What the job ends as once it has been described in progress once.
    outcome: Result<Value, String>,
    polls: u32,
}

#[derive(Default)]
struct Jobs {
    jobs: HashMap<String, Job>,
    /// Account -> the reason every signing job of it fails with.
    failing: HashMap<String, String>,
    /// CodeSha256 of a signed zip -> (profile version ARN, job ARN).
    signed: HashMap<String, (String, String)>,
}

fn jobs() -> std::sync::MutexGuard<'static, Jobs> {
    static JOBS: OnceLock<Mutex<Jobs>> = OnceLock::new();
    JOBS.get_or_init(|| Mutex::new(Jobs::default()))
        .lock()
        .unwrap()
}

/// Make every signing job `account` starts from now on fail with `reason`.
pub fn fail_jobs(account: &str, reason: &str) {
    jobs()
        .failing
        .insert(account.to_string(), reason.to_string());
}

/// How many signing jobs `account` started.
pub fn started(account: &str) -> usize {
    jobs()
        .jobs
        .values()
        .filter(|j| j.account == account)
        .count()
}

/// A Signer call this module answers, if `parts` is one.
pub async fn answer(upstream: &str, parts: &Parts, body: &Bytes, caller: &Caller) -> Option<Reply> {
    let path = parts.uri.path().trim_end_matches('/').to_string();
    let method = parts.method.clone();
    if method == Method::GET && path.starts_with("/signing-profiles/") {
        return Some(get_profile(upstream, parts.clone(), body.clone()).await);
    }
    if method == Method::POST && path == "/signing-jobs" {
        return Some(start_job(upstream, parts, body, caller).await);
    }
    if let Some(id) = path.strip_prefix("/signing-jobs/")
        && method == Method::GET
    {
        return Some(Ok(describe_job(id, caller).into_response()));
    }
    None
}

async fn get_profile(upstream: &str, parts: Parts, body: Bytes) -> Reply {
    let name = parts
        .uri
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let answer = forward(upstream, parts, body).await?;
    // moto raises on a missing profile (500); every other answer is AWS's shape already.
    if answer.head.status == StatusCode::INTERNAL_SERVER_ERROR {
        return Ok(error(
            404,
            "ResourceNotFoundException",
            &format!("Signing profile {name} does not exist"),
        ));
    }
    Ok(answer.into_response())
}

async fn start_job(upstream: &str, parts: &Parts, body: &Bytes, caller: &Caller) -> Reply {
    let request: Value = serde_json::from_slice(body)?;
    let source = &request["source"]["s3"];
    let destination = &request["destination"]["s3"];
    let (Some(bucket), Some(key), Some(version), Some(name)) = (
        source["bucketName"].as_str(),
        source["key"].as_str(),
        source["version"].as_str(),
        request["profileName"].as_str(),
    ) else {
        return Ok(error(
            400,
            "ValidationException",
            "source.s3 {bucketName, key, version} and profileName are required",
        ));
    };
    let profile_path = format!("/signing-profiles/{name}");
    let profile = send(
        upstream,
        parts,
        Method::GET,
        &profile_path,
        "signer",
        Bytes::new(),
    )
    .await?;
    if profile.head.status != StatusCode::OK {
        return Ok(error(
            404,
            "ResourceNotFoundException",
            &format!("Signing profile {name} does not exist"),
        ));
    }
    let profile: Value = serde_json::from_slice(&profile.body)?;
    let id = format!("{:032x}", fastrand::u128(..));
    let job_arn = format!(
        "arn:aws:signer:{}:{}:/signing-jobs/{id}",
        caller.region, caller.account
    );
    let object = format!("/{bucket}/{}?versionId={}", encode(key), encode(version));
    let read = send(upstream, parts, Method::GET, &object, "s3", Bytes::new()).await?;
    let failing = jobs().failing.get(&caller.account).cloned();
    let outcome = if let Some(reason) = failing {
        Err(reason)
    } else if profile["status"] != "Active" {
        Err(format!("Signing profile {name} is not active"))
    } else if read.head.status != StatusCode::OK {
        Err(format!(
            "Unable to read the source object s3://{bucket}/{key} version {version}"
        ))
    } else {
        sign(&read.body, &id).map(|signed| (signed, profile.clone()))
    };
    let outcome = match outcome {
        Ok((signed, profile)) => {
            let dest_bucket = destination["bucketName"].as_str().unwrap_or(bucket);
            let prefix = destination["prefix"].as_str().unwrap_or_default();
            let dest_key = format!("{prefix}{id}.zip");
            let path = format!("/{dest_bucket}/{}", encode(&dest_key));
            let put = send(
                upstream,
                parts,
                Method::PUT,
                &path,
                "s3",
                Bytes::from(signed.clone()),
            )
            .await?;
            if put.head.status != StatusCode::OK {
                Err(format!(
                    "Unable to write the signed object to s3://{dest_bucket}/{dest_key}"
                ))
            } else {
                let profile_version_arn = profile["profileVersionArn"].as_str().unwrap_or_default();
                jobs().signed.insert(
                    super::code_sha256(&signed),
                    (profile_version_arn.to_string(), job_arn.clone()),
                );
                Ok(json!({ "s3": { "bucketName": dest_bucket, "key": dest_key } }))
            }
        }
        Err(reason) => Err(reason),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = json!({
        "jobId": id,
        "source": { "s3": { "bucketName": bucket, "key": key, "version": version } },
        "platformId": profile["platformId"],
        "platformDisplayName": profile["platformDisplayName"],
        "profileName": name,
        "profileVersion": profile["profileVersion"],
        "createdAt": now,
        "requestedBy": format!("arn:aws:iam::{}:root", caller.account),
        "jobOwner": caller.account,
        "jobInvoker": caller.account,
    });
    jobs().jobs.insert(
        id.clone(),
        Job {
            account: caller.account.clone(),
            body,
            outcome,
            polls: 0,
        },
    );
    let answer = json!({ "jobId": id, "jobOwner": caller.account });
    Ok(json_answer(200, &answer).into_response())
}

/// The signed zip: the source with one more entry, or why a signing job would fail on it.
fn sign(source: &[u8], id: &str) -> Result<Vec<u8>, String> {
    if source.is_empty() {
        return Err("Signing failed: the source object is empty".into());
    }
    let cursor = std::io::Cursor::new(source.to_vec());
    let mut zip = zip::ZipWriter::new_append(cursor)
        .map_err(|e| format!("Signing failed: the source object is not a zip archive ({e})"))?;
    let reader = zip::ZipArchive::new(std::io::Cursor::new(source.to_vec()))
        .map_err(|e| format!("Signing failed: the source object is not a zip archive ({e})"))?;
    if reader
        .file_names()
        .any(|n| n.is_ok_and(|n| n.starts_with(SIGNATURE_ENTRY)))
    {
        return Err("Signing failed: the source object is already signed".into());
    }
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file(format!("{SIGNATURE_ENTRY}{id}"), options)
        .map_err(|e| e.to_string())?;
    zip.write_all(format!("signed by job {id}\n").as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(zip.finish().map_err(|e| e.to_string())?.into_inner())
}

fn describe_job(id: &str, caller: &Caller) -> Answer {
    let mut jobs = jobs();
    let Some(job) = jobs
        .jobs
        .get_mut(id)
        .filter(|j| j.account == caller.account)
    else {
        return error_answer(
            404,
            "ResourceNotFoundException",
            &format!("Signing job {id} does not exist"),
        );
    };
    job.polls += 1;
    let mut body = job.body.clone();
    if job.polls == 1 {
        body["status"] = json!("InProgress");
        return json_answer(200, &body);
    }
    body["completedAt"] = body["createdAt"].clone();
    match &job.outcome {
        Ok(signed) => {
            body["status"] = json!("Succeeded");
            body["signedObject"] = signed.clone();
        }
        Err(reason) => {
            body["status"] = json!("Failed");
            body["statusReason"] = json!(reason);
        }
    }
    json_answer(200, &body)
}

/// PublishLayerVersion: read the S3 object version asked for, and report a signed zip's
/// signature.
pub async fn publish_version(upstream: &str, parts: &Parts, body: &Bytes) -> Reply {
    let mut request: Value = serde_json::from_slice(body)?;
    let content = request["Content"].clone();
    let mut body = body.clone();
    if let (Some(bucket), Some(key), Some(version)) = (
        content["S3Bucket"].as_str(),
        content["S3Key"].as_str(),
        content["S3ObjectVersion"].as_str(),
    ) {
        let latest = send(
            upstream,
            parts,
            Method::HEAD,
            &format!("/{bucket}/{}", encode(key)),
            "s3",
            Bytes::new(),
        )
        .await?;
        let latest_version = latest
            .head
            .headers
            .get("x-amz-version-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if latest_version != version {
            let path = format!("/{bucket}/{}?versionId={}", encode(key), encode(version));
            let read = send(upstream, parts, Method::GET, &path, "s3", Bytes::new()).await?;
            if read.head.status != StatusCode::OK {
                return Ok(error(
                    400,
                    "InvalidParameterValueException",
                    &format!(
                        "Error occurred while GetObject. S3 Error Code: NoSuchVersion. S3 Error Message: The specified version does not exist. ({bucket}/{key} version {version})"
                    ),
                ));
            }
            use base64::Engine;
            let zip = base64::engine::general_purpose::STANDARD.encode(&read.body);
            request["Content"] = json!({ "ZipFile": zip });
            body = Bytes::from(request.to_string());
        }
    }
    let mut parts = parts.clone();
    parts.headers.remove(hyper::header::CONTENT_LENGTH);
    let answer = forward(upstream, parts, body).await?;
    Ok(with_signature(answer).into_response())
}

/// A version's answer, with the signature its bytes carry (when they are a signed zip).
pub fn with_signature(answer: Answer) -> Answer {
    if answer.head.status != StatusCode::OK && answer.head.status != StatusCode::CREATED {
        return answer;
    }
    let Ok(mut value) = serde_json::from_slice::<Value>(&answer.body) else {
        return answer;
    };
    let Some(code) = value["Content"]["CodeSha256"].as_str() else {
        return answer;
    };
    let Some((profile, job)) = jobs().signed.get(code).cloned() else {
        return answer;
    };
    value["Content"]["SigningProfileVersionArn"] = json!(profile);
    value["Content"]["SigningJobArn"] = json!(job);
    answer.with_body(Bytes::from(value.to_string()))
}

fn json_answer(status: u16, body: &Value) -> Answer {
    let response = hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(())
        .unwrap();
    let (head, ()) = response.into_parts();
    Answer {
        head,
        body: Bytes::from(body.to_string()),
    }
}

fn error_answer(status: u16, code: &str, message: &str) -> Answer {
    let mut answer = json_answer(status, &json!({ "message": message }));
    answer
        .head
        .headers
        .insert("x-amzn-ErrorType", code.parse().unwrap());
    answer
}

/// A request of the caller's own to moto for `service` (S3 reads and writes a signing job
/// makes with the caller's permissions, as Signer does).
async fn send(
    upstream: &str,
    like: &Parts,
    method: Method,
    path: &str,
    service: &str,
    body: Bytes,
) -> Result<Answer, BoxError> {
    let (mut parts, ()) = hyper::Request::new(()).into_parts();
    parts.method = method;
    parts.uri = path.parse()?;
    for name in ["x-amz-date", "x-amz-security-token", "host"] {
        if let Some(value) = like.headers.get(name) {
            parts.headers.insert(name, value.clone());
        }
    }
    parts
        .headers
        .insert("x-amz-content-sha256", "UNSIGNED-PAYLOAD".parse()?);
    if let Some(auth) = like
        .headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let mut scope = auth.split('/');
        let service_of = scope.nth(3).unwrap_or_default();
        let rewritten = auth.replacen(
            &format!("/{service_of}/aws4_request"),
            &format!("/{service}/aws4_request"),
            1,
        );
        parts
            .headers
            .insert(hyper::header::AUTHORIZATION, rewritten.parse()?);
    }
    forward(upstream, parts, body).await
}

/// Percent-encode what an S3 key or version id may hold in a path or query.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
