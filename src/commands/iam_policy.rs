//! `cargo layer iam-policy`: the least-privilege policy the publishing role needs, scoped to the
//! configured layers. Resource types per the Lambda service authorization reference:
//! PublishLayerVersion and ListLayerVersions act on the layer ARN, the version calls on
//! `layer:NAME:*`; sts:GetCallerIdentity needs no permission. Layers with `s3-bucket` also get
//! the S3 object actions of the upload path, on their own key prefix only. Layers with
//! `signing-profile` also get GetSigningProfile and StartSigningJob on that profile,
//! DescribeSigningJob on the account's signing jobs, GetBucketVersioning on the bucket, and the
//! object actions on their signed prefix (Signer reads and writes S3 as the caller). With `stage-role`,
//! the publishing role may assume the stage roles, and `--stage-role` prints what a stage role
//! needs in its own account (read the version, keep the parameter, list the functions and their
//! aliases) and whom it trusts.

use serde_json::{Value, json};

use crate::aws;
use crate::cli::{IamPolicyArgs, PolicyFormat};
use crate::commands::setup;
use crate::error::Result;
use crate::output::progress::Progress;
use crate::project;
use crate::project::config::{self, LayerConfig};

/// The policy document; it is no cargo-layer result, so it is printed as it is. The regions
/// follow the rule every command uses: `--region` (one of the configured ones), else the
/// configured regions, else the environment's (AWS_REGION, AWS_DEFAULT_REGION, the profile).
pub async fn run(args: &IamPolicyArgs, progress: &Progress) -> Result<Value> {
    setup::check_flag(args.region.as_deref())?;
    let project = project::load(&args.select.selection())?;
    let flag = args.region.as_deref();
    // No AWS flags here: the profile is AWS_PROFILE's.
    let profile = aws::client::profile(&aws::AwsArgs::default());
    let environment = setup::environment_region(&project.layers, flag, profile).await?;
    let mut targets = Vec::new();
    for layer in &project.layers {
        if layer.artifacts_account.is_none() {
            progress.warn(format!(
                "layer {} has no artifacts-account; the policy uses * for the account",
                layer.name
            ));
        }
        let regions: Vec<String> = setup::regions(layer, flag)?
            .into_iter()
            .filter_map(|r| r.or_else(|| environment.as_ref().map(|e| e.region.clone())))
            .collect();
        if regions.is_empty() {
            progress.warn(format!(
                "layer {} has no region; the policy uses * for the region (set region in Cargo.toml, export AWS_REGION, or pass --region)",
                layer.name
            ));
        }
        targets.push((layer, regions));
    }
    if args.stage_role {
        return stage_role(&targets, args.format, progress);
    }
    Ok(publisher(&targets))
}

/// The publishing role's policy.
fn publisher(targets: &[(&LayerConfig, Vec<String>)]) -> Value {
    let mut layer_arns = Vec::new();
    let mut object_arns = Vec::new();
    let mut signing = Signing::default();
    let mut stage_roles = Vec::new();
    for (layer, regions) in targets {
        layer_arns.extend(arns(layer, regions));
        object_arns.extend(object_arns_of(layer, regions));
        signing.add(layer, regions, &mut object_arns);
        stage_roles.extend(stage_role_arns(layer, regions));
    }
    let versions: Vec<String> = layer_arns.iter().map(|arn| format!("{arn}:*")).collect();
    let mut document = policy(&layer_arns, &versions);
    let statements = document["Statement"]
        .as_array_mut()
        .expect("the policy has a statement list");
    if !object_arns.is_empty() {
        statements.push(upload_statement(&object_arns));
    }
    if !signing.profiles.is_empty() {
        statements.extend(signing.statements());
    }
    stage_roles.sort();
    stage_roles.dedup();
    if !stage_roles.is_empty() {
        statements.push(json!({
            "Sid": "AssumeStageRoles",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": stage_roles,
        }));
    }
    document
}

/// Every stage role the publisher assumes: each stage account that reads the version, in the
/// partition of each region.
fn stage_role_arns(layer: &LayerConfig, regions: &[String]) -> Vec<String> {
    let mut roles = Vec::new();
    for (name, stage) in &layer.stages {
        let Some(role) = &stage.role else { continue };
        for account in stage.readers() {
            for region in or_any(regions)
                .into_iter()
                .filter(|r| *r == "*" || stage.is_in(r))
            {
                let partition = partition_of(region);
                roles.push(config::fill(role, account, &layer.name, name, partition));
            }
        }
    }
    roles
}

/// The artifacts account `region` publishes from (its override, else the layer's), `*` when
/// none is configured.
fn account_in(layer: &LayerConfig, region: &str) -> String {
    let region = (region != "*").then_some(region);
    layer
        .access(region)
        .artifacts_account
        .unwrap_or_else(|| "*".to_string())
}

fn partition_of(region: &str) -> &'static str {
    match region {
        "*" => "aws",
        region => crate::aws::partition(region),
    }
}

/// What the stage role needs, and whom it trusts: JSON documents, or a CloudFormation template
/// that creates it in each stage account (a StackSet across the organization).
fn stage_role(
    targets: &[(&LayerConfig, Vec<String>)],
    format: PolicyFormat,
    progress: &Progress,
) -> Result<Value> {
    let account = match format {
        PolicyFormat::Json => "*",
        PolicyFormat::Cloudformation => "${AWS::AccountId}",
    };
    let mut versions = Vec::new();
    let mut functions = Vec::new();
    let mut parameters = Vec::new();
    let mut trusted = Vec::new();
    let mut names = Vec::new();
    for (layer, regions) in targets {
        versions.extend(
            arns(layer, regions)
                .into_iter()
                .map(|arn| format!("{arn}:*")),
        );
        trusted.extend(publishing_principals(layer, regions));
        functions.extend(or_any(regions).into_iter().map(|region| {
            let partition = partition_of(region);
            format!("arn:{partition}:lambda:{region}:{account}:function:*")
        }));
        for (name, stage) in layer.stages.iter().filter(|(_, s)| s.role.is_some()) {
            let role = stage.role.as_deref().unwrap_or_default();
            names.push(role_name(&config::fill(role, "", &layer.name, name, "")));
            let Some(parameter) = &stage.parameter else {
                continue;
            };
            for region in or_any(regions)
                .into_iter()
                .filter(|r| *r == "*" || stage.is_in(r))
            {
                let partition = partition_of(region);
                let filled = config::fill(parameter, account, &layer.name, name, partition);
                let path = filled.strip_prefix('/').unwrap_or(&filled);
                parameters.push(format!(
                    "arn:{partition}:ssm:{region}:{account}:parameter/{path}"
                ));
            }
        }
    }
    if names.is_empty() {
        progress
            .warn("no stage has a stage-role; set `stage-role` in [package.metadata.layer] first");
    }
    for list in [&mut versions, &mut functions, &mut parameters, &mut trusted] {
        list.sort();
        list.dedup();
    }
    names.sort();
    names.dedup();
    let mut statements = vec![json!({
        "Sid": "ReadTheLayerVersions",
        "Effect": "Allow",
        "Action": "lambda:GetLayerVersion",
        "Resource": versions,
    })];
    // `status --where-used` and `prune` list what the account runs. ListFunctions takes no
    // resource; ListAliases names the aliases of each function that uses the layer.
    statements.push(json!({
        "Sid": "ListTheFunctions",
        "Effect": "Allow",
        "Action": "lambda:ListFunctions",
        "Resource": "*",
    }));
    statements.push(json!({
        "Sid": "ListTheirAliases",
        "Effect": "Allow",
        "Action": "lambda:ListAliases",
        "Resource": functions,
    }));
    if !parameters.is_empty() {
        statements.push(json!({
            "Sid": "HandOffTheArn",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:PutParameter", "ssm:GetParameterHistory"],
            "Resource": parameters,
        }));
    }
    let permissions = json!({"Version": "2012-10-17", "Statement": statements});
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": trusted},
            "Action": "sts:AssumeRole",
        }]
    });
    Ok(match format {
        PolicyFormat::Json => json!({
            "AssumeRolePolicyDocument": trust,
            "PolicyDocument": permissions,
        }),
        PolicyFormat::Cloudformation => template(&names, trust, permissions),
    })
}

/// Whom the stage role trusts: each region's publishing role, else its artifacts account.
fn publishing_principals(layer: &LayerConfig, regions: &[String]) -> Vec<String> {
    or_any(regions)
        .into_iter()
        .map(|region| {
            let access = layer.access((region != "*").then_some(region));
            match access.role_arn {
                Some(role) => role,
                None => format!(
                    "arn:{}:iam::{}:root",
                    partition_of(region),
                    account_in(layer, region)
                ),
            }
        })
        .collect()
}

/// The path and name of a role ARN: `arn:aws:iam::1:role/a/b` -> (`/a/`, `b`).
fn role_name(arn: &str) -> (String, String) {
    let rest = arn.split_once(":role/").map_or(arn, |(_, rest)| rest);
    match rest.rsplit_once('/') {
        Some((path, name)) => (format!("/{path}/"), name.to_string()),
        None => ("/".to_string(), rest.to_string()),
    }
}

/// A CloudFormation template (JSON, which CloudFormation reads as well as YAML) that creates
/// each stage role in the account it is deployed to.
fn template(names: &[(String, String)], trust: Value, permissions: Value) -> Value {
    let sub = |value: &Value| -> Value {
        let mut value = value.clone();
        for statement in value["Statement"].as_array_mut().into_iter().flatten() {
            if let Some(resources) = statement["Resource"].as_array_mut() {
                for resource in resources {
                    let text = resource.as_str().unwrap_or_default().to_string();
                    if text.contains("${") {
                        *resource = json!({"Fn::Sub": text});
                    }
                }
            }
        }
        value
    };
    let mut resources = serde_json::Map::new();
    let mut outputs = serde_json::Map::new();
    for (i, (path, name)) in names.iter().enumerate() {
        let id = format!("StageRole{}", i + 1);
        resources.insert(
            id.clone(),
            json!({
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": name,
                    "Path": path,
                    "Description": "Assumed by cargo-layer to verify a shared Lambda layer version from this account, hand its ARN over in SSM, and list the functions that use the layer",
                    "AssumeRolePolicyDocument": trust,
                    "Policies": [{"PolicyName": "cargo-layer-stage", "PolicyDocument": sub(&permissions)}],
                }
            }),
        );
        outputs.insert(
            format!("{id}Arn"),
            json!({"Value": {"Fn::GetAtt": [id, "Arn"]}}),
        );
    }
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "The role cargo-layer assumes in each stage account (deploy it with a StackSet across the organization)",
        "Resources": resources,
        "Outputs": outputs,
    })
}

/// What signing layers need beyond the upload: their profiles, jobs and buckets.
#[derive(Default)]
struct Signing {
    profiles: Vec<String>,
    jobs: Vec<String>,
    buckets: Vec<String>,
}

impl Signing {
    fn add(&mut self, layer: &LayerConfig, regions: &[String], object_arns: &mut Vec<String>) {
        let Some(signing) = &layer.signing else {
            return;
        };
        for region in or_any(regions) {
            let account = &account_in(layer, region);
            let owner = signing.owner.as_deref().unwrap_or(account);
            let partition = crate::aws::partition(region);
            let signer = format!("arn:{partition}:signer:{region}");
            push_new(
                &mut self.profiles,
                format!("{signer}:{owner}:/signing-profiles/{}", signing.profile),
            );
            push_new(
                &mut self.jobs,
                format!("{signer}:{account}:/signing-jobs/*"),
            );
            if let Some(bucket) = layer.bucket(region, account) {
                push_new(&mut self.buckets, format!("arn:{partition}:s3:::{bucket}"));
                let prefix = crate::aws::s3::signed_prefix(&layer.name);
                push_new(
                    object_arns,
                    format!("arn:{partition}:s3:::{bucket}/{prefix}*"),
                );
            }
        }
    }

    fn statements(&self) -> Vec<Value> {
        vec![
            json!({
                "Sid": "SignLayerZips",
                "Effect": "Allow",
                "Action": ["signer:GetSigningProfile", "signer:StartSigningJob"],
                "Resource": self.profiles,
            }),
            json!({
                "Sid": "ReadSigningJobs",
                "Effect": "Allow",
                "Action": ["signer:DescribeSigningJob"],
                "Resource": self.jobs,
            }),
            json!({
                "Sid": "CheckBucketVersioning",
                "Effect": "Allow",
                "Action": ["s3:GetBucketVersioning"],
                "Resource": self.buckets,
            }),
        ]
    }
}

fn push_new(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// The regions, or `*` when none is known.
fn or_any(regions: &[String]) -> Vec<&str> {
    if regions.is_empty() {
        return vec!["*"];
    }
    regions.iter().map(String::as_str).collect()
}

/// The zips a layer uploads: `s3-bucket` in each region, its own `cargo-layer/<name>/` prefix.
fn object_arns_of(layer: &LayerConfig, regions: &[String]) -> Vec<String> {
    or_any(regions)
        .into_iter()
        .filter_map(|region| {
            let bucket = layer.bucket(region, &account_in(layer, region))?;
            let key = crate::aws::s3::key(&layer.name, "*");
            Some(format!(
                "arn:{}:s3:::{bucket}/{key}",
                crate::aws::partition(region)
            ))
        })
        .collect()
}

/// Upload (single or multipart), and read back: HeadObject, and Lambda reading the zip with
/// the caller's permissions (a specific object version in a versioned bucket).
fn upload_statement(object_arns: &[String]) -> Value {
    json!({
        "Sid": "UploadLayerZips",
        "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:AbortMultipartUpload"],
        "Resource": object_arns,
    })
}

fn arns(layer: &LayerConfig, regions: &[String]) -> Vec<String> {
    or_any(regions)
        .into_iter()
        .map(|region| {
            format!(
                "arn:{}:lambda:{region}:{}:layer:{}",
                crate::aws::partition(region),
                account_in(layer, region),
                layer.name
            )
        })
        .collect()
}

pub fn policy(layer_arns: &[String], version_arns: &[String]) -> Value {
    // DeleteLayerVersion: publish removes only a version the same run just created, before it
    // named that version anywhere, after GetLayerVersion confirmed that an older version holds
    // the same bytes (two publishers raced); `prune` deletes old versions no stage uses.
    let version_actions = [
        "lambda:GetLayerVersion",
        "lambda:GetLayerVersionPolicy",
        "lambda:AddLayerVersionPermission",
        "lambda:RemoveLayerVersionPermission",
        "lambda:DeleteLayerVersion",
    ];
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublishAndListLayer",
                "Effect": "Allow",
                "Action": ["lambda:PublishLayerVersion", "lambda:ListLayerVersions"],
                "Resource": layer_arns,
            },
            {
                "Sid": "ReadAndShareLayerVersions",
                "Effect": "Allow",
                "Action": version_actions,
                "Resource": version_arns,
            }
        ]
    })
}
