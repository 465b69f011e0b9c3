//! The IAM actions `cargo layer iam-policy` grants, and which action each AWS operation the
//! recording proxy sees needs, so that every call the suite makes is checked against the policy
//! users are told to give the publishing role.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::Value;

use super::{TempCrate, cargo_layer, fixture_manifest, json, success};

/// What a recorded operation needs from the publisher policy.
#[derive(Debug, PartialEq, Eq)]
pub enum Needs {
    Action(&'static str),
    /// sts:GetCallerIdentity is allowed for everyone; sts:AssumeRole is the caller's permission
    /// on the role (its trust policy), not one the role's own policy grants.
    Nothing,
    /// An operation the proxy could not name: nothing can vouch for it.
    Unknown,
}

/// The IAM action behind an operation as the proxy names it (see `proxy::operation`).
pub fn needs(operation: &str) -> Needs {
    match operation {
        "GetCallerIdentity" | "AssumeRole" => Needs::Nothing,
        "ListLayerVersions" => Needs::Action("lambda:ListLayerVersions"),
        "PublishLayerVersion" => Needs::Action("lambda:PublishLayerVersion"),
        "GetLayerVersion" | "GetLayerVersionByArn" => Needs::Action("lambda:GetLayerVersion"),
        "ListLayers" => Needs::Action("lambda:ListLayers"),
        "ListFunctions" => Needs::Action("lambda:ListFunctions"),
        "ListAliases" => Needs::Action("lambda:ListAliases"),
        "DeleteLayerVersion" => Needs::Action("lambda:DeleteLayerVersion"),
        "GetLayerVersionPolicy" => Needs::Action("lambda:GetLayerVersionPolicy"),
        "AddLayerVersionPermission" => Needs::Action("lambda:AddLayerVersionPermission"),
        "RemoveLayerVersionPermission" => Needs::Action("lambda:RemoveLayerVersionPermission"),
        "HeadObject" => Needs::Action("s3:GetObject"),
        "HeadObjectVersion" => Needs::Action("s3:GetObjectVersion"),
        "GetBucketVersioning" => Needs::Action("s3:GetBucketVersioning"),
        "GetSigningProfile" => Needs::Action("signer:GetSigningProfile"),
        "StartSigningJob" => Needs::Action("signer:StartSigningJob"),
        "DescribeSigningJob" => Needs::Action("signer:DescribeSigningJob"),
        "PutObject" | "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" => {
            Needs::Action("s3:PutObject")
        }
        "AbortMultipartUpload" => Needs::Action("s3:AbortMultipartUpload"),
        "GetParameter" => Needs::Action("ssm:GetParameter"),
        "PutParameter" => Needs::Action("ssm:PutParameter"),
        "GetParameterHistory" => Needs::Action("ssm:GetParameterHistory"),
        _ => Needs::Unknown,
    }
}

/// The operations among `operations` that `policy` (a set of IAM actions) does not allow, each
/// with what it needs.
pub fn not_allowed<'a>(
    operations: impl IntoIterator<Item = &'a str>,
    policy: &BTreeSet<String>,
) -> Vec<String> {
    operations
        .into_iter()
        .filter_map(|operation| match needs(operation) {
            Needs::Nothing => None,
            Needs::Action(action) if policy.contains(action) => None,
            Needs::Action(action) => Some(format!("{operation} needs {action}")),
            Needs::Unknown => Some(format!("{operation} is no operation the proxy knows")),
        })
        .collect()
}

/// Every action the policy grants, from the real binary's `iam-policy` for a layer with
/// `s3-bucket` and `signing-profile` set (so the S3 upload and signing statements are there
/// too); run once per test binary.
pub fn granted() -> &'static BTreeSet<String> {
    static GRANTED: OnceLock<BTreeSet<String>> = OnceLock::new();
    GRANTED.get_or_init(|| {
        let krate = TempCrate::new(&[
            (
                "Cargo.toml",
                &fixture_manifest(
                    "[package.metadata.layer]\nkind = \"files\"\ninclude = [{ from = \"config/*\", to = \"config/\" }]\nregion = \"eu-central-1\"\nartifacts-account = \"111111111111\"\ns3-bucket = \"artifacts-{account}-{region}\"\nsigning-profile = \"LayerSigner\"",
                ),
            ),
            ("config/settings.txt", "x\n"),
            ("src/lib.rs", ""),
        ]);
        let out = cargo_layer(&krate.target_dir())
            .args(["iam-policy", "--manifest-path"])
            .arg(krate.manifest())
            .output()
            .unwrap();
        success(&out);
        let actions = actions(&json(&out));
        assert!(
            actions.contains("s3:PutObject"),
            "the policy for a layer with s3-bucket grants the upload: {actions:?}"
        );
        assert!(
            actions.contains("signer:StartSigningJob"),
            "the policy for a layer with signing-profile grants signing: {actions:?}"
        );
        actions
    })
}

/// Every action `iam-policy --stage-role` grants the stage role, for a layer whose stages have
/// a role and a parameter; run once per test binary.
pub fn stage_granted() -> &'static BTreeSet<String> {
    static GRANTED: OnceLock<BTreeSet<String>> = OnceLock::new();
    GRANTED.get_or_init(|| {
        let krate = TempCrate::new(&[
            (
                "Cargo.toml",
                &fixture_manifest(
                    "[package.metadata.layer]\nkind = \"files\"\ninclude = [{ from = \"config/*\", to = \"config/\" }]\nregion = \"eu-central-1\"\nartifacts-account = \"111111111111\"\nstage-role = \"arn:aws:iam::{account}:role/layer-consumer\"\nparameter = \"/layers/{name}\"\n[package.metadata.layer.stages.dev]\naccounts = [\"222222222222\"]",
                ),
            ),
            ("config/settings.txt", "x\n"),
            ("src/lib.rs", ""),
        ]);
        let out = cargo_layer(&krate.target_dir())
            .args(["iam-policy", "--stage-role", "--manifest-path"])
            .arg(krate.manifest())
            .output()
            .unwrap();
        success(&out);
        actions(&json(&out)["PolicyDocument"])
    })
}

/// The actions of every Allow statement of a policy document; `Action` is a string or a list.
pub fn actions(policy: &Value) -> BTreeSet<String> {
    let statements = policy["Statement"]
        .as_array()
        .unwrap_or_else(|| panic!("a policy has a Statement list: {policy}"));
    statements
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| match &s["Action"] {
            Value::String(action) => vec![action.clone()],
            Value::Array(list) => list
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect(),
            other => panic!("Action is a string or a list, not {other}"),
        })
        .collect()
}
