//! The stage account's SSM parameter that names the version it may use: read it, write it only
//! when it names another value (every write adds a history entry), and read its history.

use aws_sdk_ssm::types::{ParameterTier, ParameterType};

use crate::aws;
use crate::error::Result;

/// One value the parameter held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: String,
    pub version: i64,
    /// When it was written, RFC 3339.
    pub written: Option<String>,
    pub description: Option<String>,
}

/// GetParameter; `None` when the parameter does not exist.
pub async fn get(client: &aws_sdk_ssm::Client, name: &str) -> Result<Option<Entry>> {
    match client.get_parameter().name(name).send().await {
        Ok(out) => Ok(out.parameter().map(|p| Entry {
            value: p.value().unwrap_or_default().to_string(),
            version: p.version(),
            written: p.last_modified_date().map(date),
            description: None,
        })),
        Err(e) if aws::error_code(&e) == Some("ParameterNotFound") => Ok(None),
        Err(e) => Err(aws::sdk_error("ssm:GetParameter", name, e)),
    }
}

/// PutParameter with overwrite: a Standard String parameter, the form every IaC tool reads.
pub async fn put(
    client: &aws_sdk_ssm::Client,
    name: &str,
    value: &str,
    description: &str,
) -> Result<i64> {
    client
        .put_parameter()
        .name(name)
        .value(value)
        .description(description)
        .r#type(ParameterType::String)
        .tier(ParameterTier::Standard)
        .overwrite(true)
        .send()
        .await
        .map(|out| out.version())
        .map_err(|e| aws::sdk_error("ssm:PutParameter", name, e))
}

/// GetParameterHistory, every page, newest last as SSM returns it; the last `keep` entries.
pub async fn history(client: &aws_sdk_ssm::Client, name: &str, keep: usize) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut token = None;
    loop {
        let out = client
            .get_parameter_history()
            .name(name)
            .set_next_token(token)
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) if aws::error_code(&e) == Some("ParameterNotFound") => return Ok(Vec::new()),
            Err(e) => return Err(aws::sdk_error("ssm:GetParameterHistory", name, e)),
        };
        entries.extend(out.parameters().iter().map(|p| Entry {
            value: p.value().unwrap_or_default().to_string(),
            version: p.version(),
            written: p.last_modified_date().map(date),
            description: p.description().map(str::to_string),
        }));
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    entries.sort_by_key(|e| e.version);
    let skip = entries.len().saturating_sub(keep);
    Ok(entries.split_off(skip))
}

fn date(when: &aws_sdk_ssm::primitives::DateTime) -> String {
    when.fmt(aws_sdk_ssm::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default()
}
