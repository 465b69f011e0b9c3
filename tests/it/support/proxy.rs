//! A loopback HTTP proxy between the tool and moto. It records every call (so tests can prove
//! "no write call" and count reads) and injects faults into Lambda calls at a seeded rate:
//! throttling (429 TooManyRequestsException), 500 and 503 ServiceException, connections closed
//! before the request is forwarded, and responses dropped after moto applied the request.
//! It also puts the one S3 answer moto words differently from AWS back into AWS's form.
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
use hyper_util::rt::TokioIo;

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

/// Apply `action` to the next `times` calls of `operation`.
#[derive(Debug, Clone)]
struct Rule {
    operation: String,
    times: usize,
    action: Action,
}

struct State {
    rules: Mutex<Vec<Rule>>,
    upstream: String,
    calls: Mutex<Vec<Call>>,
    /// Every operation seen, kept when `calls` is cleared: what the IAM check covers.
    seen: Mutex<BTreeSet<String>>,
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
    /// A proxy in front of `upstream` (http://127.0.0.1:PORT) that injects no faults yet.
    pub fn start(upstream: &str) -> Proxy {
        let state = Arc::new(State {
            rules: Mutex::new(Vec::new()),
            upstream: upstream.trim_start_matches("http://").to_string(),
            calls: Mutex::new(Vec::new()),
            seen: Mutex::new(BTreeSet::new()),
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

    fn add_rule(&self, operation: &str, times: usize, action: Action) {
        self.state.rules.lock().unwrap().push(Rule {
            operation: operation.into(),
            times,
            action,
        });
    }

    /// Make the next `times` calls of `operation` fail with the AWS error `code`.
    pub fn fail(&self, operation: &str, times: usize, status: u16, code: &str, message: &str) {
        let action = Action::Fail {
            status,
            code: code.into(),
            message: message.into(),
        };
        self.add_rule(operation, times, action);
    }

    /// Let the next `times` calls of `operation` reach moto, then drop their responses.
    pub fn drop_response(&self, operation: &str, times: usize) {
        self.add_rule(operation, times, Action::DropResponse);
    }

    /// Hold the next `times` calls of `operation` for `how_long` before forwarding them.
    pub fn stall(&self, operation: &str, times: usize, how_long: std::time::Duration) {
        self.add_rule(operation, times, Action::Stall(how_long));
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

    /// Every operation seen that the policy does not allow.
    pub fn not_allowed(&self) -> Vec<String> {
        let seen = self.state.seen.lock().unwrap().clone();
        if seen.is_empty() {
            return Vec::new();
        }
        let policy = self.policy.as_ref().unwrap_or_else(|| iam::granted());
        iam::not_allowed(seen.iter().map(String::as_str), policy)
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
    let operation = operation(parts.method.as_str(), &parts.uri, &body);
    state.seen.lock().unwrap().insert(operation.clone());
    if let Some(rule) = take_rule(&state, &operation) {
        let fault = matches!(rule.action, Action::DropResponse).then_some(Fault::DropResponse);
        state.calls.lock().unwrap().push(Call {
            operation: operation.clone(),
            fault,
        });
        return match rule.action {
            Action::Stall(how_long) => {
                tokio::time::sleep(how_long).await;
                forward(&state.upstream, parts, body).await
            }
            Action::DropResponse => {
                forward(&state.upstream, parts, body).await?;
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
    state.calls.lock().unwrap().push(Call { operation, fault });
    match fault {
        Some(Fault::Throttle) => {
            return Ok(error(429, "TooManyRequestsException", "Rate exceeded"));
        }
        Some(Fault::Status500) => return Ok(error(500, "ServiceException", "injected 500")),
        Some(Fault::Status503) => return Ok(error(503, "ServiceException", "injected 503")),
        Some(Fault::Reset) => return Err("injected connection reset".into()),
        _ => {}
    }
    let response = forward(&state.upstream, parts, body).await?;
    if fault == Some(Fault::DropResponse) {
        return Err("injected dropped response".into());
    }
    Ok(response)
}

fn take_rule(state: &State, operation: &str) -> Option<Rule> {
    let mut rules = state.rules.lock().unwrap();
    let rule = rules
        .iter_mut()
        .find(|r| r.operation == operation && r.times > 0)?;
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

fn error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-amzn-ErrorType", code)
        .body(Full::new(Bytes::from(format!(
            r#"{{"__type":"{code}","message":"{message}"}}"#
        ))))
        .unwrap()
}

async fn forward(upstream: &str, parts: hyper::http::request::Parts, body: Bytes) -> Reply {
    let stream = tokio::net::TcpStream::connect(upstream).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut request = Request::from_parts(parts, Full::new(body));
    *request.uri_mut() = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().parse().unwrap())
        .unwrap_or_else(|| "/".parse().unwrap());
    let response = sender.send_request(request).await?;
    let (mut parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    let fixed = in_aws_form(&body);
    if fixed.len() != body.len() {
        parts
            .headers
            .insert(hyper::header::CONTENT_LENGTH, fixed.len().into());
    }
    Ok(Response::from_parts(parts, Full::new(fixed)))
}

/// moto names the root of S3's CompleteMultipartUpload answer `...Response`; AWS (and the SDK's
/// parser) say `CompleteMultipartUploadResult`. Everything else passes as moto sent it.
fn in_aws_form(body: &Bytes) -> Bytes {
    const MOTO: &str = "CompleteMultipartUploadResponse";
    if !body.windows(MOTO.len()).any(|w| w == MOTO.as_bytes()) {
        return body.clone();
    }
    let text = String::from_utf8_lossy(body).replace(MOTO, "CompleteMultipartUploadResult");
    Bytes::from(text)
}

/// The API operation of a request: Lambda's REST paths, S3's object calls by method and query,
/// or STS's `Action=` form field.
pub fn operation(method: &str, uri: &hyper::Uri, body: &[u8]) -> String {
    let path = uri.path();
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
    let query = uri.query().unwrap_or_default();
    let has = |key: &str| query.split('&').any(|kv| kv.split('=').next() == Some(key));
    if path.matches('/').count() >= 2 && !path.ends_with('/') {
        let op = match method {
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
