//! What an account runs: its functions, `$LATEST` and every published version, with the layer
//! versions each one's configuration names, and the aliases that point at them. Facts only.

use aws_sdk_lambda::types::FunctionVersion;

use crate::aws;
use crate::error::Result;

/// One function version as ListFunctions reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    /// `$LATEST` or a published version's number.
    pub version: String,
    /// The LayerVersionArns of its configuration.
    pub layers: Vec<String>,
}

/// One alias of a function and the versions it sends traffic to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    pub name: String,
    /// Its version, then those of its routing configuration (weighted traffic).
    pub versions: Vec<String>,
}

/// ListFunctions with `FunctionVersion=ALL`, every page: without it Lambda lists `$LATEST`
/// only, and a published version behind an alias is what most deployments run.
pub async fn list(lambda: &aws_sdk_lambda::Client, region: &str) -> Result<Vec<Function>> {
    lambda
        .list_functions()
        .function_version(FunctionVersion::All)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map(|items| items.iter().map(function).collect())
        .map_err(|e| {
            aws::sdk_error(
                "lambda:ListFunctions",
                &format!("the functions in {region}"),
                e,
            )
        })
}

fn function(item: &aws_sdk_lambda::types::FunctionConfiguration) -> Function {
    Function {
        name: item.function_name().unwrap_or_default().to_string(),
        version: item.version().unwrap_or("$LATEST").to_string(),
        layers: item
            .layers()
            .iter()
            .filter_map(|l| l.arn())
            .map(str::to_string)
            .collect(),
    }
}

/// ListAliases of one function, every page.
pub async fn aliases(lambda: &aws_sdk_lambda::Client, function: &str) -> Result<Vec<Alias>> {
    lambda
        .list_aliases()
        .function_name(function)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map(|items| items.iter().map(alias).collect())
        .map_err(|e| aws::sdk_error("lambda:ListAliases", &format!("function {function}"), e))
}

fn alias(item: &aws_sdk_lambda::types::AliasConfiguration) -> Alias {
    let mut versions: Vec<String> = item
        .function_version()
        .into_iter()
        .map(str::to_string)
        .collect();
    if let Some(weights) = item
        .routing_config()
        .and_then(|r| r.additional_version_weights())
    {
        let mut routed: Vec<String> = weights.keys().cloned().collect();
        routed.sort();
        versions.extend(routed);
    }
    Alias {
        name: item.name().unwrap_or_default().to_string(),
        versions,
    }
}
