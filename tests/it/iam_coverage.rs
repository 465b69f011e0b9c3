//! Every AWS call the suite makes goes through a recording proxy that, when dropped, checks each
//! operation against the actions `cargo layer iam-policy` grants (`support::iam`). These tests
//! show that check can fail, and that it knows every operation the tool makes.

use std::collections::BTreeSet;

use crate::support::iam::{self, Needs, granted, needs, not_allowed};
use crate::support::moto::fresh_account;
use crate::support::proxy::Proxy;
use crate::support::{FilesCrate, success};

/// Every operation the proxy can name.
const OPERATIONS: [&str; 15] = [
    "GetCallerIdentity",
    "AssumeRole",
    "ListLayerVersions",
    "PublishLayerVersion",
    "GetLayerVersion",
    "DeleteLayerVersion",
    "GetLayerVersionPolicy",
    "AddLayerVersionPermission",
    "RemoveLayerVersionPermission",
    "HeadObject",
    "PutObject",
    "CreateMultipartUpload",
    "UploadPart",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
];

fn without(action: &str) -> BTreeSet<String> {
    let mut policy = granted().clone();
    assert!(policy.remove(action), "{action} is in {policy:?}");
    policy
}

#[test]
fn the_policy_grants_every_operation_the_tool_makes() {
    assert_eq!(not_allowed(OPERATIONS, granted()), Vec::<String>::new());
}

#[test]
fn each_operation_maps_to_its_iam_action() {
    let actions: Vec<Needs> = OPERATIONS.iter().map(|op| needs(op)).collect();
    assert_eq!(
        actions,
        [
            Needs::Nothing,
            Needs::Nothing,
            Needs::Action("lambda:ListLayerVersions"),
            Needs::Action("lambda:PublishLayerVersion"),
            Needs::Action("lambda:GetLayerVersion"),
            Needs::Action("lambda:DeleteLayerVersion"),
            Needs::Action("lambda:GetLayerVersionPolicy"),
            Needs::Action("lambda:AddLayerVersionPermission"),
            Needs::Action("lambda:RemoveLayerVersionPermission"),
            Needs::Action("s3:GetObject"),
            Needs::Action("s3:PutObject"),
            Needs::Action("s3:PutObject"),
            Needs::Action("s3:PutObject"),
            Needs::Action("s3:PutObject"),
            Needs::Action("s3:AbortMultipartUpload"),
        ]
    );
}

#[test]
fn an_operation_the_policy_lacks_is_reported() {
    let policy = without("lambda:PublishLayerVersion");
    assert_eq!(
        not_allowed(["GetCallerIdentity", "PublishLayerVersion"], &policy),
        ["PublishLayerVersion needs lambda:PublishLayerVersion"]
    );
    let policy = without("s3:PutObject");
    assert_eq!(
        not_allowed(["HeadObject", "UploadPart"], &policy),
        ["UploadPart needs s3:PutObject"]
    );
    // A call the proxy could not name is never taken as allowed.
    assert_eq!(
        not_allowed(["Unknown"], granted()),
        ["Unknown is no operation the proxy knows"]
    );
}

#[test]
fn the_policy_is_read_from_every_allow_statement() {
    let policy = serde_json::json!({
        "Statement": [
            { "Effect": "Allow", "Action": "lambda:GetLayerVersion", "Resource": "*" },
            { "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "*" },
            { "Effect": "Deny", "Action": "lambda:DeleteLayerVersion", "Resource": "*" },
        ]
    });
    assert_eq!(
        iam::actions(&policy),
        ["lambda:GetLayerVersion", "s3:GetObject", "s3:PutObject"]
            .map(String::from)
            .into()
    );
}

#[test]
fn a_proxy_that_saw_a_call_the_policy_lacks_fails_when_dropped() {
    let krate = FilesCrate::new(&fresh_account(), "dev = { accounts = [\"222222222222\"] }");
    let proxy = Proxy::start().with_policy(without("lambda:ListLayerVersions"));
    success(&krate.run(&proxy.endpoint, &["status"]).success());
    assert_eq!(
        proxy.not_allowed(),
        ["ListLayerVersions needs lambda:ListLayerVersions"]
    );
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(proxy)));
    let message = dropped.expect_err("the drop check panics");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("ListLayerVersions needs lambda:ListLayerVersions"),
        "{message}"
    );
}
