//! Functions that use another account's layer. moto's CreateFunction looks a layer ARN up in
//! the caller's own account, so a stage account's function that uses the artifacts account's
//! layer cannot exist there; these are emulated instead, in the shapes of the Lambda API
//! (FunctionConfiguration: FunctionName, FunctionArn, qualified for a published version,
//! Version, Layers [{Arn, CodeSize}]; AliasConfiguration: Name, FunctionVersion, AliasArn).
//!
//! A test deploys them as a pipeline would ([`create`], [`update`], [`publish`], [`alias`]);
//! [`super::aws_like`] lists them among moto's own in ListFunctions, paged as AWS pages, and
//! answers ListAliases for them (at most 50 a page, MaxItems 1-10000, an opaque NextMarker).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use http_body_util::Full;
use hyper::http::request::Parts;
use hyper::{Method, Response};
use serde_json::{Value, json};

use super::aws_like::{Caller, error, query};

/// One emulated function: `$LATEST` and its published versions, and its aliases.
#[derive(Default)]
struct Function {
    /// `$LATEST`'s layers, then each published version's, in order (version 1 first).
    latest: Vec<String>,
    published: Vec<Vec<String>>,
    /// Alias -> version.
    aliases: BTreeMap<String, String>,
}

#[derive(Default)]
struct Registry {
    /// (account, region) -> function name -> function.
    functions: HashMap<(String, String), BTreeMap<String, Function>>,
    /// Issued NextMarker -> (function ARN, alias name to go on from).
    markers: HashMap<String, (String, String)>,
}

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| Mutex::new(Registry::default()))
        .lock()
        .unwrap()
}

fn with<T>(account: &str, region: &str, name: &str, f: impl FnOnce(&mut Function) -> T) -> T {
    let mut registry = registry();
    let functions = registry
        .functions
        .entry((account.to_string(), region.to_string()))
        .or_default();
    let function = functions
        .get_mut(name)
        .unwrap_or_else(|| panic!("function {name} does not exist in {account} {region}"));
    f(function)
}

/// CreateFunction in `account` and `region` with these layer version ARNs.
pub fn create(account: &str, region: &str, name: &str, layers: &[&str]) {
    let mut registry = registry();
    let functions = registry
        .functions
        .entry((account.to_string(), region.to_string()))
        .or_default();
    assert!(!functions.contains_key(name), "function {name} exists");
    functions.insert(
        name.to_string(),
        Function {
            latest: layers.iter().map(|l| l.to_string()).collect(),
            ..Function::default()
        },
    );
}

/// UpdateFunctionConfiguration: `$LATEST` uses these layers now.
pub fn update(account: &str, region: &str, name: &str, layers: &[&str]) {
    with(account, region, name, |f| {
        f.latest = layers.iter().map(|l| l.to_string()).collect()
    });
}

/// PublishVersion: `$LATEST` as it is becomes the next version; its number.
pub fn publish(account: &str, region: &str, name: &str) -> String {
    with(account, region, name, |f| {
        f.published.push(f.latest.clone());
        f.published.len().to_string()
    })
}

/// CreateAlias (or UpdateAlias): `alias` points at `version`.
pub fn alias(account: &str, region: &str, name: &str, alias: &str, version: &str) {
    with(account, region, name, |f| {
        f.aliases.insert(alias.to_string(), version.to_string())
    });
}

fn arn(caller: &Caller, name: &str) -> String {
    format!(
        "arn:aws:lambda:{}:{}:function:{name}",
        caller.region, caller.account
    )
}

fn configuration(caller: &Caller, name: &str, version: &str, layers: &[String]) -> Value {
    let arn = match version {
        "$LATEST" => arn(caller, name),
        number => format!("{}:{number}", arn(caller, name)),
    };
    json!({
        "FunctionName": name,
        "FunctionArn": arn,
        "Runtime": "provided.al2023",
        "Role": format!("arn:aws:iam::{}:role/lambda", caller.account),
        "Handler": "bootstrap",
        "CodeSize": 1024,
        "Version": version,
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "Layers": layers.iter().map(|l| json!({"Arn": l, "CodeSize": 512})).collect::<Vec<_>>(),
    })
}

/// The caller's emulated functions as ListFunctions lists them: `$LATEST` only, or with
/// `FunctionVersion=ALL` every published version too.
pub fn listed(caller: &Caller, function_version: Option<&str>) -> Vec<Value> {
    let all = function_version == Some("ALL");
    let registry = registry();
    let key = (caller.account.clone(), caller.region.clone());
    let Some(functions) = registry.functions.get(&key) else {
        return Vec::new();
    };
    let mut items = Vec::new();
    for (name, f) in functions {
        items.push(configuration(caller, name, "$LATEST", &f.latest));
        if all {
            for (i, layers) in f.published.iter().enumerate() {
                items.push(configuration(caller, name, &(i + 1).to_string(), layers));
            }
        }
    }
    items
}

/// ListAliases (`GET /2015-03-31/functions/{FunctionName}/aliases`) of an emulated function;
/// `None` for any other request, which moto answers.
pub fn answer(parts: &Parts, caller: &Caller) -> Option<Response<Full<Bytes>>> {
    let name = parts
        .uri
        .path()
        .strip_prefix("/2015-03-31/functions/")?
        .strip_suffix("/aliases")?
        .to_string();
    if parts.method != Method::GET || name.contains('/') {
        return None;
    }
    let registry_key = (caller.account.clone(), caller.region.clone());
    let mut registry = registry();
    let aliases: Vec<(String, String)> = registry
        .functions
        .get(&registry_key)?
        .get(&name)?
        .aliases
        .iter()
        .map(|(a, v)| (a.clone(), v.clone()))
        .collect();
    let function_arn = arn(caller, &name);
    let max = match query(parts, "MaxItems") {
        None => 50,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=10_000).contains(&n) => n.min(50),
            _ => {
                return Some(error(
                    400,
                    "ValidationException",
                    &format!(
                        "1 validation error detected: Value '{raw}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000"
                    ),
                ));
            }
        },
    };
    let from = match query(parts, "Marker") {
        None => String::new(),
        Some(marker) => match registry.markers.get(&marker) {
            Some((listing, next)) if *listing == function_arn => next.clone(),
            _ => {
                return Some(error(
                    400,
                    "InvalidParameterValueException",
                    "The marker is not valid for this request.",
                ));
            }
        },
    };
    let mut page: Vec<&(String, String)> = aliases.iter().filter(|(a, _)| *a >= from).collect();
    let rest = page.split_off(max.min(page.len()));
    let mut answer = json!({
        "Aliases": page
            .iter()
            .map(|(alias, version)| json!({
                "AliasArn": format!("{function_arn}:{alias}"),
                "Name": alias,
                "FunctionVersion": version,
                "Description": "",
                "RevisionId": "00000000-0000-0000-0000-000000000000",
            }))
            .collect::<Vec<_>>(),
    });
    if let Some((next, _)) = rest.first() {
        let marker = format!("{:032x}", fastrand::u128(..));
        registry
            .markers
            .insert(marker.clone(), (function_arn, next.clone()));
        answer["NextMarker"] = Value::String(marker);
    }
    Some(
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(answer.to_string())))
            .unwrap(),
    )
}
