//! `cargo layer iam-policy`: the least-privilege policy the publishing role needs, scoped to the
//! configured layers. Resource types per the Lambda service authorization reference:
//! PublishLayerVersion and ListLayerVersions act on the layer ARN, the version calls on
//! `layer:NAME:*`; sts:GetCallerIdentity needs no permission.

use serde_json::{Value, json};

use crate::cli::IamPolicyArgs;
use crate::config::LayerConfig;
use crate::error::Result;
use crate::output;
use crate::progress::Progress;
use crate::project;

pub fn run(args: &IamPolicyArgs, progress: &Progress) -> Result<()> {
    let project = project::load(&args.select.selection())?;
    let mut layer_arns = Vec::new();
    for layer in &project.layers {
        if layer.artifacts_account.is_none() {
            progress.warn(format!(
                "layer {} has no artifacts-account; the policy uses * for the account",
                layer.name
            ));
        }
        if layer.regions.is_empty() && args.region.is_none() {
            progress.warn(format!(
                "layer {} has no region; the policy uses * for the region (or pass --region)",
                layer.name
            ));
        }
        layer_arns.extend(arns(layer, args.region.as_deref()));
    }
    let versions: Vec<String> = layer_arns.iter().map(|arn| format!("{arn}:*")).collect();
    print!(
        "{}",
        String::from_utf8_lossy(&output::to_pretty_json(&policy(&layer_arns, &versions)))
    );
    Ok(())
}

fn arns(layer: &LayerConfig, region: Option<&str>) -> Vec<String> {
    let account = layer.artifacts_account.as_deref().unwrap_or("*");
    let regions: Vec<&str> = match region {
        Some(region) => vec![region],
        None if layer.regions.is_empty() => vec!["*"],
        None => layer.regions.iter().map(String::as_str).collect(),
    };
    regions
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
    // DeleteLayerVersion only ever removes a version the same publish run just created, before
    // it named that version anywhere, after GetLayerVersion confirmed that an older version holds
    // the same bytes (two publishers raced). Nothing else is ever deleted.
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
