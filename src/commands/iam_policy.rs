//! `cargo layer iam-policy`: the least-privilege policy the publishing role needs, scoped to the
//! configured layers. Resource types per the Lambda service authorization reference:
//! PublishLayerVersion and ListLayerVersions act on the layer ARN, the version calls on
//! `layer:NAME:*`; sts:GetCallerIdentity needs no permission. Layers with `s3-bucket` also get
//! the S3 object actions of the upload path, on their own key prefix only. Layers with
//! `signing-profile` also get GetSigningProfile and StartSigningJob on that profile,
//! DescribeSigningJob on the account's signing jobs, GetBucketVersioning on the bucket, and the
//! object actions on their signed prefix (Signer reads and writes S3 as the caller).

use serde_json::{Value, json};

use crate::aws;
use crate::cli::IamPolicyArgs;
use crate::commands::setup;
use crate::error::Result;
use crate::output::progress::Progress;
use crate::project;
use crate::project::config::LayerConfig;

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
    let mut layer_arns = Vec::new();
    let mut object_arns = Vec::new();
    let mut signing = Signing::default();
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
        layer_arns.extend(arns(layer, &regions));
        object_arns.extend(object_arns_of(layer, &regions));
        signing.add(layer, &regions, &mut object_arns);
    }
    let versions: Vec<String> = layer_arns.iter().map(|arn| format!("{arn}:*")).collect();
    let mut document = policy(&layer_arns, &versions);
    if !object_arns.is_empty() {
        document["Statement"]
            .as_array_mut()
            .expect("the policy has a statement list")
            .push(upload_statement(&object_arns));
    }
    if !signing.profiles.is_empty() {
        let statements = document["Statement"]
            .as_array_mut()
            .expect("the policy has a statement list");
        statements.extend(signing.statements());
    }
    Ok(document)
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
        let account = layer.artifacts_account.as_deref().unwrap_or("*");
        let owner = signing.owner.as_deref().unwrap_or(account);
        for region in or_any(regions) {
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
    let account = layer.artifacts_account.as_deref().unwrap_or("*");
    or_any(regions)
        .into_iter()
        .filter_map(|region| {
            let bucket = layer.bucket(region, account)?;
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
    let account = layer.artifacts_account.as_deref().unwrap_or("*");
    or_any(regions)
        .into_iter()
        .map(|region| {
            format!(
                "arn:{}:lambda:{region}:{account}:layer:{}",
                crate::aws::partition(region),
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
