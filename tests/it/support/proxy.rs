//! A loopback HTTP proxy between the tool and moto, answering like AWS ([`super::aws_like`]:
//! paging, cross-account reads decided by the version policy, S3's multipart answer). It records
//! every call with its caller's account and region (so tests can prove "no write call" and count
//! reads), fails chosen operations, in one region or all, and injects faults into Lambda calls
//! at a seeded rate: throttling (429 TooManyRequestsException), 500 and 503 ServiceException,
//! connections closed before the request is forwarded, and responses dropped after moto applied
//! the request.
//!
//! When a proxy is dropped, every operation it saw must be allowed by the policy
//! `cargo layer iam-policy` prints (see [`super::iam`]); a test that made a call the policy does
//! not grant fails there.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};

use super::aws_like::{self, error};
use super::moto::moto;
use super::{Reply, iam, serve};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    Status500,
    Status503,
    /// The connection closes before the request reaches moto.
    Reset,
    /// moto applies the request, then the connection closes without a response.
    DropResponse,
}

pub const ALL_FAULTS: [Fault; 5] = [
    Fault::Throttle,
    Fault::Status500,
    Fault::Status503,
    Fault::Reset,
    Fault::DropResponse,
];

#[derive(Debug, Clone)]
pub struct Call {
    pub operation: String,
    pub fault: Option<Fault>,
    /// The account the caller's credentials act as.
    pub account: String,
    /// The access key the call was signed with.
    pub key: String,
    /// The region the call was signed for.
    pub region: String,
}

impl Call {
    /// Lambda calls that change state.
    pub fn is_lambda_write(&self) -> bool {
        matches!(
            self.operation.as_str(),
            "PublishLayerVersion"
                | "DeleteLayerVersion"
                | "AddLayerVersionPermission"
                | "RemoveLayerVersionPermission"
        )
    }

    /// Any call that changes state: Lambda's, S3 uploads and signing jobs.
    pub fn is_write(&self) -> bool {
        self.is_lambda_write()
            || matches!(
                self.operation.as_str(),
                "PutObject"
                    | "CreateMultipartUpload"
                    | "UploadPart"
                    | "CompleteMultipartUpload"
                    | "StartSigningJob"
            )
    }

    pub fn is_lambda(&self) -> bool {
        self.operation.contains("Layer")
    }
}

/// What a targeted rule does to a call.
#[derive(Debug, Clone)]
enum Action {
    /// Answer with this AWS error instead of forwarding.
    Fail {
        status: u16,
        code: String,
        message: String,
    },
    /// Forward to moto, then drop the response.
    DropResponse,
    /// Hold the request this long, then forward it.
    Stall(std::time::Duration),
}

/// Apply `action` to the next `times` calls of `operation` (in `region` only, when set).
#[derive(Debug, Clone)]
struct Rule {
    operation: String,
    region: Option<String>,
    /// Only calls whose body holds this text.
    body: Option<String>,
    times: usize,
    action: Action,
}

struct State {
    rules: Mutex<Vec<Rule>>,
    upstream: String,
    calls: Mutex<Vec<Call>>,
    /// Every operation seen, and the account that made it, kept when `calls` is cleared: what
    /// the IAM check covers.
    seen: Mutex<BTreeSet<(String, String)>>,
    /// Accounts whose calls are the stage role's, checked against its policy.
    stage_accounts: Mutex<BTreeSet<String>>,
    rate: Mutex<f64>,
    rng: Mutex<fastrand::Rng>,
    kinds: Mutex<Vec<Fault>>,
}

pub struct Proxy {
    pub endpoint: String,
    state: Arc<State>,
    /// The actions the calls are checked against; `cargo layer iam-policy`'s when not set.
    policy: Option<BTreeSet<String>>,
}

impl Proxy {
    /// A proxy in front of the test binary's moto server that injects no faults yet.
    pub fn start() -> Proxy {
        let state = Arc::new(State {
            rules: Mutex::new(Vec::new()),
            upstream: moto().upstream.trim_start_matches("http://").to_string(),
            calls: Mutex::new(Vec::new()),
            seen: Mutex::new(BTreeSet::new()),
            stage_accounts: Mutex::new(BTreeSet::new()),
            rate: Mutex::new(0.0),
            rng: Mutex::new(fastrand::Rng::with_seed(0)),
            kinds: Mutex::new(ALL_FAULTS.to_vec()),
        });
        let served = state.clone();
        let address = serve(move |req| handle(req, served.clone()));
        Proxy {
            endpoint: format!("http://{address}"),
            state,
            policy: None,
        }
    }

    /// Check the calls against these IAM actions instead of `cargo layer iam-policy`'s.
    pub fn with_policy(mut self, actions: BTreeSet<String>) -> Proxy {
        self.policy = Some(actions);
        self
    }

    /// Inject one of `kinds` into each Lambda call with probability `rate`, from `seed`.
    pub fn inject(&self, rate: f64, seed: u64, kinds: &[Fault]) {
        *self.state.rate.lock().unwrap() = rate;
        *self.state.rng.lock().unwrap() = fastrand::Rng::with_seed(seed);
        *self.state.kinds.lock().unwrap() = kinds.to_vec();
    }

    fn add_rule(&self, operation: &str, region: Option<&str>, times: usize, action: Action) {
        self.state.rules.lock().unwrap().push(Rule {
            operation: operation.into(),
            region: region.map(str::to_string),
            body: None,
            times,
            action,
        });
    }

    /// The calls these accounts make are a stage role's: the IAM check holds them against
    /// `cargo layer iam-policy --stage-role`, not the publisher's policy.
    pub fn stage_accounts(&self, accounts: &[&str]) {
        let mut known = self.state.stage_accounts.lock().unwrap();
        known.extend(accounts.iter().map(|a| a.to_string()));
    }

    /// Refuse sts:AssumeRole into `role` as AWS does when its trust policy does not allow the
    /// caller.
    pub fn refuse_role(&self, role: &str) {
        let encoded = role.replace(':', "%3A").replace('/', "%2F");
        self.state.rules.lock().unwrap().push(Rule {
            operation: "AssumeRole".into(),
            region: None,
            body: Some(format!("RoleArn={encoded}")),
            times: usize::MAX,
            action: Action::Fail {
                status: 403,
                code: "AccessDenied".into(),
                message: format!(
                    "User is not authorized to perform: sts:AssumeRole on resource: {role}"
                ),
            },
        });
    }

    /// Make the next `times` calls of `operation` fail with the AWS error `code`.
    pub fn fail(&self, operation: &str, times: usize, status: u16, code: &str, message: &str) {
        let action = Action::Fail {
            status,
            code: code.into(),
            message: message.into(),
        };
        self.add_rule(operation, None, times, action);
    }

    /// Make every call of `operation` signed for `region` fail with the AWS error `code`, so a
    /// test can prove that one region's failure leaves the others alone.
    pub fn fail_in_region(
        &self,
        region: &str,
        operation: &str,
        status: u16,
        code: &str,
        message: &str,
    ) {
        let action = Action::Fail {
            status,
            code: code.into(),
            message: message.into(),
        };
        self.add_rule(operation, Some(region), usize::MAX, action);
    }

    /// Let the next `times` calls of `operation` reach moto, then drop their responses.
    pub fn drop_response(&self, operation: &str, times: usize) {
        self.add_rule(operation, None, times, Action::DropResponse);
    }

    /// Hold the next `times` calls of `operation` for `how_long` before forwarding them.
    pub fn stall(&self, operation: &str, times: usize, how_long: std::time::Duration) {
        self.add_rule(operation, None, times, Action::Stall(how_long));
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    /// How many calls of `operation` were made.
    pub fn count(&self, operation: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.operation == operation)
            .count()
    }

    /// The calls made in `region`.
    pub fn calls_in(&self, region: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.region == region)
            .collect()
    }

    /// The Lambda calls that changed state, by operation.
    pub fn writes(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| c.is_lambda_write())
            .map(|c| c.operation)
            .collect()
    }

    pub fn clear(&self) {
        self.state.calls.lock().unwrap().clear();
    }

    /// Every operation seen that the policy does not allow: the stage role's for the stage
    /// accounts, the publisher's for everyone else.
    pub fn not_allowed(&self) -> Vec<String> {
        let seen = self.state.seen.lock().unwrap().clone();
        let stages = self.state.stage_accounts.lock().unwrap().clone();
        let (staged, published): (Vec<_>, Vec<_>) = seen
            .iter()
            .partition(|(_, account)| stages.contains(account));
        let mut missing = Vec::new();
        if !published.is_empty() {
            let policy = self.policy.as_ref().unwrap_or_else(|| iam::granted());
            missing.extend(iam::not_allowed(
                published.iter().map(|(op, _)| op.as_str()),
                policy,
            ));
        }
        if !staged.is_empty() {
            let policy = iam::stage_granted();
            let stage_missing = iam::not_allowed(staged.iter().map(|(op, _)| op.as_str()), policy);
            missing.extend(
                stage_missing
                    .into_iter()
                    .map(|m| format!("{m} (stage role)")),
            );
        }
        missing
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let missing = self.not_allowed();
        assert!(
            missing.is_empty(),
            "AWS calls that the policy `cargo layer iam-policy` prints does not allow: {missing:?}; grant those actions there"
        );
    }
}

async fn handle(req: Request<Incoming>, state: Arc<State>) -> Reply {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    let operation = operation(parts.method.as_str(), &parts.uri, target, &body);
    let caller = aws_like::caller(&parts);
    let seen = (operation.clone(), caller.account.clone());
    state.seen.lock().unwrap().insert(seen);
    let record = |fault| {
        state.calls.lock().unwrap().push(Call {
            operation: operation.clone(),
            fault,
            account: caller.account.clone(),
            key: caller.key.clone(),
            region: caller.region.clone(),
        })
    };
    if let Some(rule) = take_rule(&state, &operation, &caller.region, &body) {
        record(matches!(rule.action, Action::DropResponse).then_some(Fault::DropResponse));
        return match rule.action {
            Action::Stall(how_long) => {
                tokio::time::sleep(how_long).await;
                aws_like::answer(&state.upstream, parts, body).await
            }
            Action::DropResponse => {
                aws_like::answer(&state.upstream, parts, body).await?;
                Err("dropped response".into())
            }
            Action::Fail {
                status,
                code,
                message,
            } => Ok(aws_error(&operation, status, &code, &message)),
        };
    }
    let fault = pick_fault(&state, &operation);
    record(fault);
    match fault {
        Some(Fault::Throttle) => {
            return Ok(error(429, "TooManyRequestsException", "Rate exceeded"));
        }
        Some(Fault::Status500) => return Ok(error(500, "ServiceException", "injected 500")),
        Some(Fault::Status503) => return Ok(error(503, "ServiceException", "injected 503")),
        Some(Fault::Reset) => return Err("injected connection reset".into()),
        _ => {}
    }
    let response = aws_like::answer(&state.upstream, parts, body).await?;
    if fault == Some(Fault::DropResponse) {
        return Err("injected dropped response".into());
    }
    Ok(response)
}

fn take_rule(state: &State, operation: &str, region: &str, body: &[u8]) -> Option<Rule> {
    let mut rules = state.rules.lock().unwrap();
    let body = String::from_utf8_lossy(body);
    let rule = rules.iter_mut().find(|r| {
        r.operation == operation
            && r.times > 0
            && r.region.as_deref().is_none_or(|only| only == region)
            && r.body.as_deref().is_none_or(|text| body.contains(text))
    })?;
    rule.times -= 1;
    Some(rule.clone())
}

/// Lambda answers errors in JSON; STS in XML.
fn aws_error(operation: &str, status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    if operation.contains("Layer") {
        return error(status, code, message);
    }
    let body = format!(
        r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"#,
        code, message
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn pick_fault(state: &State, operation: &str) -> Option<Fault> {
    if !operation.contains("Layer") {
        return None;
    }
    let rate = *state.rate.lock().unwrap();
    let mut rng = state.rng.lock().unwrap();
    let kinds = state.kinds.lock().unwrap();
    if rate <= 0.0 || kinds.is_empty() || rng.f64() >= rate {
        return None;
    }
    Some(kinds[rng.usize(..kinds.len())])
}

/// The API operation of a request: Lambda's REST paths, S3's object calls by method and query,
/// or STS's `Action=` form field.
pub fn operation(method: &str, uri: &hyper::Uri, target: Option<&str>, body: &[u8]) -> String {
    // JSON protocols (SSM) name the operation in X-Amz-Target: `AmazonSSM.GetParameter`.
    if let Some((_, op)) = target.and_then(|t| t.split_once('.')) {
        return op.to_string();
    }
    let path = uri.path();
    let query = uri.query().unwrap_or_default();
    let has = |key: &str| query.split('&').any(|kv| kv.split('=').next() == Some(key));
    match (method, path.trim_end_matches('/')) {
        ("GET", "/2018-10-31/layers") if query.contains("find=LayerVersion") => {
            return "GetLayerVersionByArn".into();
        }
        ("GET", "/2018-10-31/layers") => return "ListLayers".into(),
        ("GET", "/2015-03-31/functions") => return "ListFunctions".into(),
        ("GET", p) if p.starts_with("/2015-03-31/functions/") && p.ends_with("/aliases") => {
            return "ListAliases".into();
        }
        _ => {}
    }
    match (method, path.trim_end_matches('/')) {
        ("GET", p) if p.starts_with("/signing-profiles/") => return "GetSigningProfile".into(),
        ("PUT", p) if p.starts_with("/signing-profiles/") => return "PutSigningProfile".into(),
        ("DELETE", p) if p.starts_with("/signing-profiles/") => {
            return "CancelSigningProfile".into();
        }
        ("POST", "/signing-jobs") => return "StartSigningJob".into(),
        ("GET", p) if p.starts_with("/signing-jobs/") => return "DescribeSigningJob".into(),
        ("GET", _) if has("versioning") => return "GetBucketVersioning".into(),
        ("PUT", _) if has("versioning") => return "PutBucketVersioning".into(),
        _ => {}
    }
    if let Some(rest) = path.strip_prefix("/2018-10-31/layers/") {
        let parts: Vec<&str> = rest.split('/').collect();
        let op = match (method, parts.len()) {
            ("GET", 2) => "ListLayerVersions",
            ("POST", 2) => "PublishLayerVersion",
            ("GET", 3) => "GetLayerVersion",
            ("DELETE", 3) => "DeleteLayerVersion",
            ("GET", 4) => "GetLayerVersionPolicy",
            ("POST", 4) => "AddLayerVersionPermission",
            ("DELETE", 5) => "RemoveLayerVersionPermission",
            _ => "UnknownLayerCall",
        };
        return op.to_string();
    }
    if path.matches('/').count() >= 2 && !path.ends_with('/') {
        let op = match method {
            "HEAD" if has("versionId") => Some("HeadObjectVersion"),
            "HEAD" => Some("HeadObject"),
            "PUT" if has("partNumber") => Some("UploadPart"),
            "PUT" => Some("PutObject"),
            "POST" if has("uploads") => Some("CreateMultipartUpload"),
            "POST" if has("uploadId") => Some("CompleteMultipartUpload"),
            "DELETE" if has("uploadId") => Some("AbortMultipartUpload"),
            _ => None,
        };
        if let Some(op) = op {
            return op.to_string();
        }
    }
    let body = String::from_utf8_lossy(body);
    body.split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or("Unknown")
        .to_string()
}
