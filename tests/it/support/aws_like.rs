//! What makes the emulator answer like AWS where moto is more lenient (../shared/aws-facts.md):
//!
//! 1. **Paging.** ListLayerVersions and ListLayers return at most 50 items a page (MaxItems
//!    1-50), ListFunctions at most 50 a page (MaxItems 1-10000); newest version first; an opaque
//!    `NextMarker` anchored on the next item, so it does not shift when versions are published
//!    between pages; `InvalidParameterValueException` for a marker this layer did not issue.
//!    ListLayerVersions items lose `Content`: AWS list items carry no hash.
//! 2. **Cross-account layer reads.** The caller's account comes from the access key of its
//!    request (learned from the AssumeRole answers that pass through here). GetLayerVersion with
//!    another account's layer ARN, and GetLayerVersionByArn, succeed only when that version's
//!    policy grants the caller: its account, an organization it belongs to ([`join_organization`]),
//!    or `*`. Anything else, a version that does not exist included, is `AccessDeniedException`;
//!    every other operation on another account's layer is denied too. moto lacks
//!    GetLayerVersionByArn (it answers 200 with an empty body); this layer answers it.
//! 3. **S3's CompleteMultipartUpload and GetBucketVersioning** answers get AWS's root element.
//! 4. **Signing**: Signer's jobs, signed versions and `S3ObjectVersion` ([`super::signing_jobs`]).
//! 5. **Functions that use another account's layer** ([`super::functions`]) are listed with
//!    moto's own, and answer ListAliases.
//!
//! Failing one region's calls and recording calls are the [`super::proxy`]'s part.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::{Reply, signing_jobs};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An answer from moto, read whole.
pub struct Answer {
    pub head: hyper::http::response::Parts,
    pub body: Bytes,
}

impl Answer {
    pub fn into_response(self) -> Response<Full<Bytes>> {
        Response::from_parts(self.head, Full::new(self.body))
    }

    /// Replace the body (moto's HEAD answers keep their length header otherwise).
    pub fn with_body(mut self, body: Bytes) -> Answer {
        self.head
            .headers
            .insert(hyper::header::CONTENT_LENGTH, body.len().into());
        self.body = body;
        self
    }
}

/// The account moto gives any access key it did not issue.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// Layers and functions answer at most this many items a page.
const PAGE: usize = 50;

#[derive(Default)]
struct Registry {
    /// Access key id -> account, from AssumeRole answers.
    accounts: HashMap<String, String>,
    /// Account -> one access key moto knows for it, to read a layer as its owner.
    keys: HashMap<String, String>,
    /// Account -> AWS Organization.
    organizations: HashMap<String, String>,
    /// Issued NextMarker -> what it continues.
    markers: HashMap<String, Marker>,
}

/// Where a listing goes on: the listing it belongs to and the key of its next item.
#[derive(Debug, Clone, PartialEq)]
struct Marker {
    listing: String,
    next: Value,
}

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| Mutex::new(Registry::default()))
        .lock()
        .unwrap()
}

/// Make `account` a member of the AWS Organization `organization` (for `aws:PrincipalOrgID`).
pub fn join_organization(account: &str, organization: &str) {
    registry()
        .organizations
        .insert(account.to_string(), organization.to_string());
}

/// Who signed a request and for which region: from its SigV4 credential scope
/// (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub key: String,
    pub account: String,
    pub region: String,
}

pub fn caller(parts: &Parts) -> Caller {
    let header = parts
        .headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let scope: Vec<&str> = header
        .split("Credential=")
        .nth(1)
        .and_then(|rest| rest.split([',', ' ']).next())
        .map(|scope| scope.split('/').collect())
        .unwrap_or_default();
    let key = scope.first().copied().unwrap_or_default().to_string();
    let account = registry()
        .accounts
        .get(&key)
        .cloned()
        .unwrap_or_else(|| DEFAULT_ACCOUNT.to_string());
    Caller {
        key,
        account,
        region: scope.get(2).copied().unwrap_or_default().to_string(),
    }
}

/// Answer one request as AWS would, with moto at `upstream` (host:port) behind.
pub async fn answer(upstream: &str, parts: Parts, body: Bytes) -> Reply {
    let caller = caller(&parts);
    if let Some(reply) = signing_jobs::answer(upstream, &parts, &body, &caller).await {
        return reply;
    }
    let path = parts.uri.path().to_string();
    if let Some(rest) = path.strip_prefix("/2018-10-31/layers/") {
        let call = LayerCall::parse(parts.method.clone(), rest);
        return layer_call(upstream, parts, body, &caller, call).await;
    }
    if path == "/2018-10-31/layers" || path == "/2018-10-31/layers/" {
        if query(&parts, "find").as_deref() == Some("LayerVersion") {
            return by_arn(upstream, parts, &caller).await;
        }
        let listing = format!("layers:{}:{}", caller.account, caller.region);
        return paged(upstream, parts, body, listing, PAGE, Listing::Layers).await;
    }
    if let Some(reply) = super::functions::answer(&parts, &caller) {
        return Ok(reply);
    }
    if path.trim_end_matches('/') == "/2015-03-31/functions" && parts.method == Method::GET {
        let listing = format!(
            "functions:{}:{}:{}",
            caller.account,
            caller.region,
            query(&parts, "FunctionVersion").unwrap_or_default()
        );
        return paged(upstream, parts, body, listing, 10_000, Listing::Functions).await;
    }
    let assume_role = form_field(&body, "Action").as_deref() == Some("AssumeRole");
    let role = form_field(&body, "RoleArn");
    let answer = forward(upstream, parts, body).await?;
    if assume_role {
        learn_key(role.as_deref(), &answer.body);
    }
    Ok(in_aws_form(answer).into_response())
}

/// A call on `/2018-10-31/layers/{LayerName}/...`.
struct LayerCall {
    method: Method,
    /// The layer's name, or the account, region and name of a layer ARN.
    owner: Option<(String, String)>,
    name: String,
    version: Option<i64>,
    /// The path after the version number (`policy`, `policy/{sid}`).
    rest: usize,
}

impl LayerCall {
    fn parse(method: Method, rest: &str) -> LayerCall {
        let parts: Vec<&str> = rest.split('/').collect();
        let raw = percent_decode(parts[0]);
        let (owner, name) = match parse_layer_arn(&raw) {
            Some((account, region, name)) => (Some((account, region)), name),
            None => (None, raw),
        };
        LayerCall {
            method,
            owner,
            name,
            version: parts.get(2).and_then(|n| n.parse().ok()),
            rest: parts.len(),
        }
    }

    fn is_get_version(&self) -> bool {
        self.method == Method::GET && self.rest == 3
    }

    fn is_list(&self) -> bool {
        self.method == Method::GET && self.rest == 2
    }
}

async fn layer_call(
    upstream: &str,
    parts: Parts,
    body: Bytes,
    caller: &Caller,
    call: LayerCall,
) -> Reply {
    if let Some((owner, region)) = call.owner.clone()
        && owner != caller.account
    {
        let version = call.version.unwrap_or_default();
        let arn = format!("{}:{version}", layer_arn(&region, &owner, &call.name));
        if !call.is_get_version() {
            return Ok(access_denied(caller, &operation_action(&call), &arn));
        }
        return read_as_owner(upstream, parts, caller, &owner, &call.name, version, &arn).await;
    }
    if call.is_list() {
        let listing = format!(
            "versions:{}:{}:{}",
            caller.account, caller.region, call.name
        );
        return paged(upstream, parts, body, listing, PAGE, Listing::Versions).await;
    }
    if call.method == Method::POST && call.rest == 2 {
        return signing_jobs::publish_version(upstream, &parts, &body).await;
    }
    let answer = forward(upstream, parts, body).await?;
    Ok(signing_jobs::with_signature(answer).into_response())
}

fn operation_action(call: &LayerCall) -> String {
    let op = match (call.method.as_str(), call.rest) {
        ("GET", 2) => "ListLayerVersions",
        ("POST", 2) => "PublishLayerVersion",
        ("DELETE", 3) => "DeleteLayerVersion",
        ("GET", 4) => "GetLayerVersionPolicy",
        ("POST", 4) => "AddLayerVersionPermission",
        ("DELETE", 5) => "RemoveLayerVersionPermission",
        _ => "GetLayerVersion",
    };
    format!("lambda:{op}")
}

/// GetLayerVersionByArn (`GET /2018-10-31/layers?find=LayerVersion&Arn=...`), which moto lacks.
async fn by_arn(upstream: &str, parts: Parts, caller: &Caller) -> Reply {
    let arn = query(&parts, "Arn").unwrap_or_default();
    let parsed = arn.rsplit_once(':').and_then(|(layer, version)| {
        let (account, region, name) = parse_layer_arn(layer)?;
        Some((account, region, name, version.parse::<i64>().ok()?))
    });
    let Some((owner, _region, name, version)) = parsed else {
        return Ok(error(
            400,
            "ValidationException",
            &format!(
                "1 validation error detected: Value '{arn}' at 'arn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{{2}}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{{1}}:\\d{{12}}:layer:[a-zA-Z0-9-_]+:[0-9]+"
            ),
        ));
    };
    read_as_owner(upstream, parts, caller, &owner, &name, version, &arn).await
}

/// GetLayerVersion of `owner`'s version, for `caller`: allowed to the owner itself, and to
/// others only when the version's policy grants them.
async fn read_as_owner(
    upstream: &str,
    parts: Parts,
    caller: &Caller,
    owner: &str,
    name: &str,
    version: i64,
    arn: &str,
) -> Reply {
    let Some(owner_key) = key_of(owner, caller) else {
        return Ok(access_denied(caller, "lambda:GetLayerVersion", arn));
    };
    if owner != caller.account {
        let policy_path = format!("/2018-10-31/layers/{name}/versions/{version}/policy");
        let policy = send(upstream, &parts, Method::GET, &policy_path, &owner_key).await?;
        if policy.head.status != StatusCode::OK || !grants(&policy.body, caller, arn) {
            return Ok(access_denied(caller, "lambda:GetLayerVersion", arn));
        }
    }
    let path = format!("/2018-10-31/layers/{name}/versions/{version}");
    let answer = send(upstream, &parts, Method::GET, &path, &owner_key).await?;
    Ok(signing_jobs::with_signature(answer).into_response())
}

/// An access key that acts as `account`: the caller's own, or one learned from AssumeRole.
fn key_of(account: &str, caller: &Caller) -> Option<String> {
    if account == caller.account {
        return Some(caller.key.clone());
    }
    registry().keys.get(account).cloned()
}

/// Whether a GetLayerVersionPolicy answer lets `caller` read `arn`, in AWS's stored form or
/// moto's raw one.
fn grants(body: &Bytes, caller: &Caller, arn: &str) -> bool {
    let Ok(answer) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let Some(Ok(policy)) = answer["Policy"].as_str().map(serde_json::from_str::<Value>) else {
        return false;
    };
    let statements = match &policy["Statement"] {
        Value::Array(items) => items.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => Vec::new(),
    };
    let organization = registry().organizations.get(&caller.account).cloned();
    statements
        .iter()
        .any(|s| allows(s, &caller.account, organization.as_deref(), arn))
}

fn allows(statement: &Value, account: &str, organization: Option<&str>, arn: &str) -> bool {
    let effect = statement["Effect"].as_str() == Some("Allow");
    // AddLayerVersionPermission takes only this action, and AWS stores the version's ARN as
    // the statement's Resource (moto too).
    let action = strings(&statement["Action"])
        .iter()
        .any(|a| a == "lambda:GetLayerVersion");
    let resource = strings(&statement["Resource"]).iter().any(|r| r == arn);
    let partition = arn.split(':').nth(1).unwrap_or("aws");
    let principals = match &statement["Principal"] {
        Value::Object(map) => map.get("AWS").map(strings).unwrap_or_default(),
        other => strings(other),
    };
    let principal = principals
        .iter()
        .any(|p| p == "*" || p == account || *p == format!("arn:{partition}:iam::{account}:root"));
    let wanted_org = statement["Condition"]
        .as_object()
        .into_iter()
        .flat_map(|ops| ops.values())
        .find_map(|keys| keys.get("aws:PrincipalOrgID"))
        .map(strings)
        .or_else(|| statement.get("OrganizationId").map(strings));
    let in_org = match wanted_org {
        None => true,
        Some(orgs) => organization.is_some_and(|o| orgs.iter().any(|w| w == o)),
    };
    effect && action && resource && principal && in_org
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// What a listing holds and how its items are ordered and named.
#[derive(Clone, Copy)]
enum Listing {
    Versions,
    Layers,
    Functions,
}

impl Listing {
    fn items_key(self) -> &'static str {
        match self {
            Listing::Versions => "LayerVersions",
            Listing::Layers => "Layers",
            Listing::Functions => "Functions",
        }
    }

    /// The key an item is ordered by, in listing order.
    fn key(self, item: &Value) -> Value {
        match self {
            Listing::Versions => item["Version"].clone(),
            Listing::Layers => item["LayerName"].clone(),
            Listing::Functions => {
                Value::Array(vec![item["FunctionName"].clone(), item["Version"].clone()])
            }
        }
    }

    fn order(self, a: &Value, b: &Value) -> std::cmp::Ordering {
        let (a, b) = (self.key(a), self.key(b));
        match self {
            // Newest first.
            Listing::Versions => b.as_i64().cmp(&a.as_i64()),
            _ => a.to_string().as_str().cmp(b.to_string().as_str()),
        }
    }

    /// Whether `item` comes at or after the anchor `next` in listing order.
    fn from(self, item: &Value, next: &Value) -> bool {
        match self {
            Listing::Versions => self.key(item).as_i64() <= next.as_i64(),
            _ => self.key(item).to_string().as_str() >= next.to_string().as_str(),
        }
    }
}

/// A listing moto answers whole, cut into AWS's pages.
async fn paged(
    upstream: &str,
    parts: Parts,
    body: Bytes,
    listing: String,
    max: usize,
    kind: Listing,
) -> Reply {
    let max_items = match query(&parts, "MaxItems") {
        None => PAGE.min(max),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n.min(PAGE),
            _ => {
                return Ok(error(
                    400,
                    "ValidationException",
                    &format!(
                        "1 validation error detected: Value '{raw}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and {max}"
                    ),
                ));
            }
        },
    };
    let next = match query(&parts, "Marker") {
        None => None,
        Some(marker) => match registry().markers.get(&marker) {
            Some(m) if m.listing == listing => Some(m.next.clone()),
            _ => {
                return Ok(error(
                    400,
                    "InvalidParameterValueException",
                    "The marker is not valid for this request.",
                ));
            }
        },
    };
    let filters: Vec<(&str, String)> = [
        ("CompatibleRuntime", "CompatibleRuntimes"),
        ("CompatibleArchitecture", "CompatibleArchitectures"),
    ]
    .into_iter()
    .filter_map(|(param, field)| Some((field, query(&parts, param)?)))
    .collect();
    let whole = forward(upstream, without_paging(&parts), body).await?;
    if whole.head.status != StatusCode::OK {
        return Ok(whole.into_response());
    }
    let mut answer: Value = serde_json::from_slice(&whole.body)?;
    let mut listed = answer[kind.items_key()]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if let Listing::Functions = kind {
        let version = query(&parts, "FunctionVersion");
        listed.extend(super::functions::listed(
            &caller(&parts),
            version.as_deref(),
        ));
    }
    let mut items: Vec<Value> = listed
        .into_iter()
        .filter(|item| {
            filters
                .iter()
                .all(|(field, want)| strings(&item[*field]).contains(want))
        })
        .filter(|item| next.as_ref().is_none_or(|n| kind.from(item, n)))
        .collect();
    items.sort_by(|a, b| kind.order(a, b));
    if let Listing::Versions = kind {
        for item in &mut items {
            if let Some(map) = item.as_object_mut() {
                map.remove("Content");
            }
        }
    }
    let rest = items.split_off(max_items.min(items.len()));
    let next_marker = rest.first().map(|item| {
        let marker = format!("{:032x}", fastrand::u128(..));
        registry().markers.insert(
            marker.clone(),
            Marker {
                listing: listing.clone(),
                next: kind.key(item),
            },
        );
        marker
    });
    answer[kind.items_key()] = Value::Array(items);
    match next_marker {
        Some(marker) => answer["NextMarker"] = Value::String(marker),
        None => {
            if let Some(map) = answer.as_object_mut() {
                map.remove("NextMarker");
            }
        }
    }
    Ok(whole
        .with_body(Bytes::from(answer.to_string()))
        .into_response())
}

/// The same request without MaxItems and Marker: moto answers the whole listing either way,
/// and this layer pages it.
fn without_paging(like: &Parts) -> Parts {
    let (mut parts, ()) = hyper::Request::new(()).into_parts();
    parts.method = like.method.clone();
    parts.headers = like.headers.clone();
    let kept: Vec<&str> = like
        .uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|kv| {
            let key = kv.split('=').next().unwrap_or_default();
            !kv.is_empty() && key != "MaxItems" && key != "Marker"
        })
        .collect();
    let uri = match kept.is_empty() {
        true => like.uri.path().to_string(),
        false => format!("{}?{}", like.uri.path(), kept.join("&")),
    };
    parts.uri = uri.parse().unwrap();
    parts
}

/// Remember which account an AssumeRole answer's access key acts as.
fn learn_key(role: Option<&str>, body: &Bytes) {
    let Some(account) = role.and_then(|r| r.split(':').nth(4)) else {
        return;
    };
    let text = String::from_utf8_lossy(body);
    let Some(key) = text
        .split("<AccessKeyId>")
        .nth(1)
        .and_then(|rest| rest.split("</AccessKeyId>").next())
    else {
        return;
    };
    let mut registry = registry();
    registry
        .accounts
        .insert(key.to_string(), account.to_string());
    registry
        .keys
        .entry(account.to_string())
        .or_insert_with(|| key.to_string());
}

/// `arn:PARTITION:lambda:REGION:ACCOUNT:layer:NAME` -> (account, region, name).
fn parse_layer_arn(arn: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", region, account, "layer", name] => {
            Some((account.to_string(), region.to_string(), name.to_string()))
        }
        _ => None,
    }
}

fn layer_arn(region: &str, account: &str, name: &str) -> String {
    let partition = match region {
        r if r.starts_with("cn-") => "aws-cn",
        r if r.starts_with("us-gov-") => "aws-us-gov",
        _ => "aws",
    };
    format!("arn:{partition}:lambda:{region}:{account}:layer:{name}")
}

fn access_denied(caller: &Caller, action: &str, resource: &str) -> Response<Full<Bytes>> {
    error(
        403,
        "AccessDeniedException",
        &format!(
            "User: arn:aws:sts::{}:assumed-role/caller/session is not authorized to perform: {action} on resource: {resource} because no resource-based policy allows the {action} action",
            caller.account
        ),
    )
}

/// A Lambda error answer (JSON, with the type in `x-amzn-ErrorType`).
pub fn error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "__type": code, "message": message, "Message": message });
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-amzn-ErrorType", code)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// The value of `key` in the request's query string, percent-decoded.
pub fn query(parts: &Parts, key: &str) -> Option<String> {
    parts
        .uri
        .query()?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| percent_decode(v))
}

/// A field of an `application/x-www-form-urlencoded` body (STS's), decoded.
fn form_field(body: &[u8], key: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| percent_decode(&v.replace('+', " ")))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A request of its own to moto, signed (as moto reads it) with `key`'s account.
async fn send(
    upstream: &str,
    like: &Parts,
    method: Method,
    path: &str,
    key: &str,
) -> Result<Answer, BoxError> {
    let (mut parts, ()) = hyper::Request::new(()).into_parts();
    parts.method = method;
    parts.uri = path.parse()?;
    parts.headers = like.headers.clone();
    parts.headers.remove(hyper::header::CONTENT_LENGTH);
    parts.headers.remove(hyper::header::CONTENT_TYPE);
    if let Some(auth) = like
        .headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let old = caller(like).key;
        let forged = auth.replacen(
            &format!("Credential={old}/"),
            &format!("Credential={key}/"),
            1,
        );
        parts
            .headers
            .insert(hyper::header::AUTHORIZATION, forged.parse()?);
    }
    forward(upstream, parts, Bytes::new()).await
}

/// Send the request to moto as it is; the whole answer, read.
pub async fn forward(upstream: &str, parts: Parts, body: Bytes) -> Result<Answer, BoxError> {
    let stream = tokio::net::TcpStream::connect(upstream).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut request = hyper::Request::from_parts(parts, Full::new(body));
    *request.uri_mut() = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().parse().unwrap())
        .unwrap_or_else(|| "/".parse().unwrap());
    let response = sender.send_request(request).await?;
    let (head, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Answer { head, body })
}

/// Root elements moto names `...Response` where AWS (and the SDK's parser) use another name:
/// S3's CompleteMultipartUpload and GetBucketVersioning answers.
const ROOTS: [(&str, &str); 2] = [
    (
        "CompleteMultipartUploadResponse",
        "CompleteMultipartUploadResult",
    ),
    ("GetBucketVersioningResponse", "VersioningConfiguration"),
];

fn in_aws_form(answer: Answer) -> Answer {
    let Some((moto, aws)) = ROOTS.iter().find(|(moto, _)| {
        answer
            .body
            .windows(moto.len())
            .any(|w| w == moto.as_bytes())
    }) else {
        return answer;
    };
    let fixed = String::from_utf8_lossy(&answer.body).replace(moto, aws);
    answer.with_body(Bytes::from(fixed))
}
