//! The test harness itself answers like AWS where moto is lenient: one test per rule
//! (support/aws_like.rs), so a test that passes here would pass against AWS.

use crate::support::aws_like::join_organization;
use crate::support::moto::{Lambda, fresh_account, lambda_as};
use crate::support::proxy::Proxy;
use crate::support::{block_on, code_sha256};

fn zip(text: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("data.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut zip, text.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

/// Publish `count` versions of `layer`, each with other bytes.
fn publish(owner: &Lambda, layer: &str, count: usize) {
    for i in 0..count {
        owner.publish_raw(layer, zip(&i.to_string()), "v", &["provided.al2023"]);
    }
}

fn layer_arn(account: &str, layer: &str) -> String {
    format!("arn:aws:lambda:eu-central-1:{account}:layer:{layer}")
}

/// The error code of a failed SDK call, or "ok".
fn outcome<T, E: aws_sdk_lambda::error::ProvideErrorMetadata>(
    result: Result<T, aws_sdk_lambda::error::SdkError<E>>,
) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(e) => e
            .as_service_error()
            .and_then(|e| e.code())
            .unwrap_or("no service error")
            .to_string(),
    }
}

/// Send a request built on a client and say how it ended ([`outcome`]).
macro_rules! answer {
    ($request:expr) => {
        block_on(async { outcome($request.send().await) })
    };
}

/// GetLayerVersion by the layer's ARN, as `reader`.
fn read(reader: &Lambda, owner: &str, layer: &str, version: i64) -> String {
    let arn = layer_arn(owner, layer);
    answer!(
        reader
            .client
            .get_layer_version()
            .layer_name(arn)
            .version_number(version)
    )
}

fn read_by_arn(reader: &Lambda, owner: &str, layer: &str, version: i64) -> String {
    let arn = format!("{}:{version}", layer_arn(owner, layer));
    answer!(reader.client.get_layer_version_by_arn().arn(arn))
}

#[test]
fn another_account_reads_a_version_only_when_its_policy_grants_it() {
    let (owner, reader) = (fresh_account(), fresh_account());
    let a = lambda_as(&owner);
    let b = lambda_as(&reader);
    publish(&a, "shared", 2);
    assert_eq!(read(&b, &owner, "shared", 1), "AccessDeniedException");
    assert_eq!(
        read_by_arn(&b, &owner, "shared", 1),
        "AccessDeniedException"
    );
    a.add_foreign_statement("shared", 1, "to-b", &reader);
    assert_eq!(read(&b, &owner, "shared", 1), "ok");
    assert_eq!(read_by_arn(&b, &owner, "shared", 1), "ok");
    // The grant is per version, and a version that does not exist is not revealed.
    assert_eq!(read(&b, &owner, "shared", 2), "AccessDeniedException");
    assert_eq!(read(&b, &owner, "shared", 9), "AccessDeniedException");
    // The owner reads its own versions by ARN, and learns that a missing one is missing.
    assert_eq!(read_by_arn(&a, &owner, "shared", 2), "ok");
    assert_eq!(read(&a, &owner, "shared", 9), "ResourceNotFoundException");
    // Nothing but GetLayerVersion crosses the border, granted or not.
    let arn = layer_arn(&owner, "shared");
    let c = &b.client;
    let listed = answer!(c.list_layer_versions().layer_name(&arn));
    let policy = answer!(
        c.get_layer_version_policy()
            .layer_name(&arn)
            .version_number(1)
    );
    let deleted = answer!(c.delete_layer_version().layer_name(&arn).version_number(1));
    for code in [listed, policy, deleted] {
        assert_eq!(code, "AccessDeniedException");
    }
    assert_eq!(a.versions("shared"), [2, 1]);
}

#[test]
fn what_the_reader_gets_is_the_owners_version() {
    let (owner, reader) = (fresh_account(), fresh_account());
    let a = lambda_as(&owner);
    let b = lambda_as(&reader);
    let bytes = zip("exact");
    a.publish_raw("exact", bytes.clone(), "v", &["provided.al2023"]);
    a.add_foreign_statement("exact", 1, "everyone", "*");
    let got = block_on(async {
        b.client
            .get_layer_version_by_arn()
            .arn(format!("{}:1", layer_arn(&owner, "exact")))
            .send()
            .await
            .unwrap()
    });
    assert_eq!(
        got.content().unwrap().code_sha256(),
        Some(code_sha256(&bytes).as_str())
    );
    assert_eq!(
        got.layer_version_arn(),
        Some(format!("{}:1", layer_arn(&owner, "exact")).as_str())
    );
}

#[test]
fn an_organization_grant_admits_its_members_only() {
    let (owner, member, outsider) = (fresh_account(), fresh_account(), fresh_account());
    let org = format!("o-{}", &member[2..]);
    join_organization(&member, &org);
    let a = lambda_as(&owner);
    publish(&a, "org", 1);
    block_on(async {
        a.client
            .add_layer_version_permission()
            .layer_name("org")
            .version_number(1)
            .statement_id("org")
            .action("lambda:GetLayerVersion")
            .principal("*")
            .organization_id(&org)
            .send()
            .await
            .unwrap()
    });
    assert_eq!(read(&lambda_as(&member), &owner, "org", 1), "ok");
    assert_eq!(
        read(&lambda_as(&outsider), &owner, "org", 1),
        "AccessDeniedException"
    );
}

/// Every page of ListLayerVersions, as (versions, marker) pairs.
fn pages(owner: &Lambda, layer: &str, max_items: Option<i32>) -> Vec<(Vec<i64>, bool)> {
    let mut pages = Vec::new();
    let mut marker = None;
    loop {
        let out = block_on(async {
            owner
                .client
                .list_layer_versions()
                .layer_name(layer)
                .set_max_items(max_items)
                .set_marker(marker.clone())
                .send()
                .await
                .unwrap()
        });
        for item in out.layer_versions() {
            assert!(item.layer_version_arn().is_some());
        }
        let versions = out.layer_versions().iter().map(|v| v.version()).collect();
        marker = out.next_marker().map(str::to_string);
        pages.push((versions, marker.is_some()));
        if marker.is_none() {
            return pages;
        }
    }
}

#[test]
fn listings_come_in_pages_of_at_most_fifty_newest_first() {
    let owner = fresh_account();
    let a = lambda_as(&owner);
    publish(&a, "paged", 53);
    let all = pages(&a, "paged", None);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].0, (4..=53).rev().collect::<Vec<i64>>());
    assert_eq!(all[1].0, vec![3, 2, 1]);
    assert!(all[0].1 && !all[1].1);
    // MaxItems above AWS's 50 still gives 50; below, that many.
    assert_eq!(pages(&a, "paged", Some(20))[0].0.len(), 20);
    let too_many = answer!(
        a.client
            .list_layer_versions()
            .layer_name("paged")
            .max_items(51)
    );
    assert_eq!(too_many, "ValidationException");
}

#[test]
fn a_marker_does_not_shift_when_versions_are_published_between_pages() {
    let owner = fresh_account();
    let a = lambda_as(&owner);
    publish(&a, "moving", 5);
    let first = block_on(async {
        a.client
            .list_layer_versions()
            .layer_name("moving")
            .max_items(2)
            .send()
            .await
            .unwrap()
    });
    assert_eq!(
        first
            .layer_versions()
            .iter()
            .map(|v| v.version())
            .collect::<Vec<_>>(),
        [5, 4]
    );
    publish(&a, "moving", 3);
    let second = block_on(async {
        a.client
            .list_layer_versions()
            .layer_name("moving")
            .max_items(2)
            .marker(first.next_marker().unwrap())
            .send()
            .await
            .unwrap()
    });
    let versions: Vec<i64> = second
        .layer_versions()
        .iter()
        .map(|v| v.version())
        .collect();
    assert_eq!(versions, [3, 2]);
}

#[test]
fn a_marker_the_service_did_not_issue_is_refused() {
    let owner = fresh_account();
    let a = lambda_as(&owner);
    publish(&a, "marked", 1);
    let forged = answer!(
        a.client
            .list_layer_versions()
            .layer_name("marked")
            .marker("3")
    );
    assert_eq!(forged, "InvalidParameterValueException");
}

/// A Lambda client acting as `account` in `region`, through `endpoint` (a recording proxy), with
/// no retries so every call the proxy answers is seen once.
fn client_through(endpoint: &str, account: &str, region: &str) -> aws_sdk_lambda::Client {
    let (key, secret, token) = crate::support::moto::assumed_keys(account);
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .region(aws_sdk_lambda::config::Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            key,
            secret,
            Some(token),
            None,
            "test",
        ))
        .build();
    aws_sdk_lambda::Client::from_conf(config)
}

#[test]
fn list_items_carry_no_hash() {
    let owner = fresh_account();
    let a = lambda_as(&owner);
    publish(&a, "nohash", 1);
    let proxy = Proxy::start();
    let client = client_through(&proxy.endpoint, &owner, "eu-central-1");
    let raw = block_on(async {
        client
            .list_layer_versions()
            .layer_name("nohash")
            .customize()
            .interceptor(RawBody)
            .send()
            .await
            .unwrap();
        RawBody::last()
    });
    assert!(raw.contains("\"LayerVersions\""), "{raw}");
    assert!(!raw.contains("CodeSha256"), "{raw}");
}

/// Keeps the last response body the SDK read, to see what the wire said.
#[derive(Debug, Default)]
struct RawBody;

static LAST_BODY: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

impl RawBody {
    fn last() -> String {
        LAST_BODY.lock().unwrap().clone()
    }
}

impl aws_sdk_lambda::config::Intercept for RawBody {
    fn name(&self) -> &'static str {
        "RawBody"
    }

    fn read_after_deserialization(
        &self,
        context: &aws_sdk_lambda::config::interceptors::AfterDeserializationInterceptorContextRef<
            '_,
        >,
        _: &aws_sdk_lambda::config::RuntimeComponents,
        _: &mut aws_sdk_lambda::config::ConfigBag,
    ) -> Result<(), aws_sdk_lambda::error::BoxError> {
        let bytes = context.response().body().bytes().unwrap_or_default();
        *LAST_BODY.lock().unwrap() = String::from_utf8_lossy(bytes).into_owned();
        Ok(())
    }
}

#[test]
fn one_region_can_be_made_to_fail_and_calls_carry_account_and_region() {
    let owner = fresh_account();
    let a = lambda_as(&owner);
    a.publish_raw("regional", zip("x"), "v", &["provided.al2023"]);
    let proxy = Proxy::start();
    proxy.fail_in_region(
        "us-east-1",
        "GetLayerVersion",
        500,
        "ServiceException",
        "us-east-1 is down",
    );
    let get = |region: &str| {
        let client = client_through(&proxy.endpoint, &owner, region);
        answer!(
            client
                .get_layer_version()
                .layer_name("regional")
                .version_number(1)
        )
    };
    assert_eq!(get("us-east-1"), "ServiceException");
    assert_eq!(get("us-east-1"), "ServiceException");
    assert_eq!(get("eu-central-1"), "ok");
    let calls = proxy.calls_in("us-east-1");
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.account == owner), "{calls:?}");
    assert_eq!(proxy.calls_in("eu-central-1").len(), 1);
}

#[test]
fn functions_are_listed_fifty_a_page() {
    let owner = fresh_account();
    let a = lambda_as(&owner);
    let code = zip("def handler(event, context):\n    return 1\n");
    create_role(&owner, "lambda");
    for i in 0..51 {
        block_on(async {
            a.client
                .create_function()
                .function_name(format!("fn-{i:02}"))
                .runtime(aws_sdk_lambda::types::Runtime::Python312)
                .role(format!("arn:aws:iam::{owner}:role/lambda"))
                .handler("data.handler")
                .code(
                    aws_sdk_lambda::types::FunctionCode::builder()
                        .zip_file(aws_sdk_lambda::primitives::Blob::new(code.clone()))
                        .build(),
                )
                .send()
                .await
                .unwrap()
        });
    }
    let page = |marker: Option<String>, max: Option<i32>| {
        block_on(async {
            a.client
                .list_functions()
                .set_marker(marker)
                .set_max_items(max)
                .send()
                .await
                .unwrap()
        })
    };
    // MaxItems may ask for up to 10000, but a page holds at most 50.
    let first = page(None, Some(10_000));
    assert_eq!(first.functions().len(), 50);
    let second = page(first.next_marker().map(str::to_string), Some(10_000));
    let names: Vec<&str> = second
        .functions()
        .iter()
        .filter_map(|f| f.function_name())
        .collect();
    assert_eq!(names, ["fn-50"]);
    assert!(second.next_marker().is_none());
}

/// iam:CreateRole in `account` (moto checks that a function's role exists), through boto3 from
/// the emulator's own environment, so the tests need no IAM client of their own.
fn create_role(account: &str, name: &str) {
    let (key, secret, token) = crate::support::moto::assumed_keys(account);
    let script = format!(
        "import boto3; boto3.client('iam', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='{key}', aws_secret_access_key='{secret}', aws_session_token='{token}').create_role(RoleName='{name}', AssumeRolePolicyDocument='{{}}')",
        crate::support::moto::moto().endpoint
    );
    let status = std::process::Command::new(crate::support::venv_bin("python"))
        .args(["-c", &script])
        .status()
        .unwrap();
    assert!(status.success(), "iam:CreateRole through boto3");
}
