//! Lambda's limits and value patterns, checked locally because nothing may reach AWS before
//! validation passes. Each rule returns the problem and its fix as one sentence.
//!
//! Sources: Lambda API reference (PublishLayerVersion, AddLayerVersionPermission) and
//! <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>.

use aws_sdk_lambda::types::{Architecture, Runtime};

type Check = Result<(), String>;

/// Direct upload (`Content.ZipFile`) quota: 50 MB zipped. AWS rejects bigger request bodies with
/// "Request must be smaller than 69905067 bytes" (the base64 of 52,428,800 bytes).
pub const MAX_ZIP_BYTES: u64 = 52_428_800;
/// Function code plus all its layers, unzipped.
pub const MAX_UNZIPPED_BYTES: u64 = 262_144_000;
/// PublishLayerVersion `Description`.
pub const MAX_DESCRIPTION_AWS: usize = 256;
/// The description marker cargo-layer appends so a re-run finds the version without extra calls.
pub const MARKER_PREFIX: &str = "[cargo-layer sha256:";
/// Length of " [cargo-layer sha256:<44 base64 chars> run:<8 hex>]".
pub const MARKER_LEN: usize = 1 + MARKER_PREFIX.len() + 44 + " run:".len() + 8 + 1;
/// What is left of the description for the user.
pub const MAX_DESCRIPTION: usize = MAX_DESCRIPTION_AWS - MARKER_LEN;
pub const MAX_LICENSE: usize = 512;
pub const MAX_LAYER_NAME: usize = 140;
/// A full LayerVersionArn may not be longer than this.
pub const MAX_VERSION_ARN: usize = 140;
pub const MAX_RUNTIMES: usize = 15;
pub const MAX_ARCHITECTURES: usize = 2;
/// Lambda's architectures, in the order a two-architecture layer's halves are made.
pub const ARCH_NAMES: [&str; 2] = ["x86_64", "arm64"];
/// StatementId is 1-100 chars; `cargo-layer-<stage>-org-<org id>` must fit.
pub const MAX_STAGE_NAME: usize = 40;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

pub fn layer_name(name: &str) -> Check {
    if name.is_empty() || name.len() > MAX_LAYER_NAME {
        return Err(format!(
            "\"{name}\" must be 1 to {MAX_LAYER_NAME} characters long; choose a shorter name"
        ));
    }
    if let Some(c) = name.chars().find(|&c| !is_name_char(c)) {
        return Err(format!(
            "\"{name}\" contains '{c}'; a layer name may only use letters, digits, '-' and '_'"
        ));
    }
    Ok(())
}

/// The placeholders names, descriptions and `build-env` values may hold.
pub const PLACEHOLDERS: [&str; 2] = ["{version}", "{arch}"];

/// Every `{...}` in `text` is one of [`PLACEHOLDERS`].
fn known_placeholders(text: &str) -> Check {
    placeholders_of(text, &PLACEHOLDERS)
}

/// Every `{...}` in `text` is one of `known`.
fn placeholders_of(text: &str, known: &[&str]) -> Check {
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        let found = &rest[start..end];
        if !known.contains(&found) {
            return Err(format!(
                "\"{text}\" holds {found}; the placeholders are {}",
                match known {
                    [one, two] => format!("{one} and {two}"),
                    _ => known.join(", "),
                }
            ));
        }
        rest = &rest[end..];
    }
    Ok(())
}

/// A layer name that may hold placeholders; the expanded name is checked with [`layer_name`].
pub fn name_template(name: &str) -> Check {
    known_placeholders(name)?;
    let mut plain = name.to_string();
    for placeholder in PLACEHOLDERS {
        plain = plain.replace(placeholder, "x");
    }
    layer_name(&plain).map_err(|_| layer_name(name).unwrap_err())
}

/// A description or `build-env` value that may hold placeholders.
pub fn text_template(text: &str) -> Check {
    known_placeholders(text)
}

/// An environment variable name: letters, digits and '_', not starting with a digit.
pub fn env_name(name: &str) -> Check {
    let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    holds(
        ok,
        name,
        "an environment variable name (letters, digits and '_')",
    )
}

/// A Linux target triple that builds `arch` (x86_64 or arm64).
pub fn target(arch: &str, triple: &str) -> Check {
    let machine = if arch == "arm64" { "aarch64" } else { arch };
    let parts: Vec<&str> = triple.split('-').collect();
    if parts.first() != Some(&machine) || !parts.contains(&"linux") {
        return Err(format!(
            "\"{triple}\" does not build Linux {arch} binaries; use a triple like {machine}-unknown-linux-musl or {machine}-unknown-linux-gnu"
        ));
    }
    Ok(())
}

/// The longest version ARN this name can produce in this region must stay within 140 chars.
pub fn version_arn_length(name: &str, region: &str) -> Check {
    let longest = format!("arn:aws-us-gov:lambda:{region}:123456789012:layer:{name}:99999999");
    if longest.len() > MAX_VERSION_ARN {
        let room = MAX_VERSION_ARN - (longest.len() - name.len());
        return Err(format!(
            "\"{name}\" makes LayerVersionArns longer than {MAX_VERSION_ARN} characters in {region}; use at most {room} characters"
        ));
    }
    Ok(())
}

pub fn description(text: &str) -> Check {
    let len = text.chars().count();
    if len > MAX_DESCRIPTION {
        return Err(format!(
            "is {len} characters; at most {MAX_DESCRIPTION} fit (Lambda allows {MAX_DESCRIPTION_AWS} and cargo-layer appends a {MARKER_LEN}-character content marker); shorten it"
        ));
    }
    Ok(())
}

pub fn license(text: &str) -> Check {
    if text.chars().count() > MAX_LICENSE {
        return Err(format!(
            "is longer than {MAX_LICENSE} characters; use an SPDX identifier or a URL"
        ));
    }
    Ok(())
}

pub fn runtime(value: &str) -> Check {
    one_of(
        value,
        Runtime::values(),
        "a Lambda runtime; for Rust use \"provided.al2023\" or \"provided.al2\"",
    )
}

pub fn runtimes_count(values: &[String]) -> Check {
    at_most(values, MAX_RUNTIMES, "runtimes", "")
}

pub fn architecture(value: &str) -> Check {
    one_of(
        value,
        Architecture::values(),
        "a Lambda architecture; use \"x86_64\" or \"arm64\"",
    )
}

/// `value` is one of the SDK's own list of allowed values.
fn one_of(value: &str, allowed: &[&str], what: &str) -> Check {
    holds(allowed.contains(&value), value, what)
}

fn at_most(values: &[String], max: usize, what: &str, which: &str) -> Check {
    if values.len() > max {
        return Err(format!(
            "lists {} {what}; Lambda allows at most {max}{which}",
            values.len()
        ));
    }
    Ok(())
}

pub fn architectures_count(values: &[String]) -> Check {
    at_most(
        values,
        MAX_ARCHITECTURES,
        "architectures",
        " (\"x86_64\" and \"arm64\")",
    )?;
    if values.len() == 2 && values[0] == values[1] {
        return Err(format!(
            "lists \"{}\" twice; remove the duplicate",
            values[0]
        ));
    }
    Ok(())
}

/// The shape of every partition's region names (botocore's partitions.json `regionRegex`):
/// `us-east-1`, `eu-central-1`, `us-gov-west-1`, `cn-north-1`, `us-isob-east-1`,
/// `eusc-de-east-1`: lowercase words joined by '-', the first of 2 to 4 letters, then a number.
/// A syntax, not a list, so regions AWS adds later keep working.
pub fn region(value: &str) -> Check {
    let parts: Vec<&str> = value.split('-').collect();
    let ok = parts.len() >= 3
        && (2..=4).contains(&parts[0].len())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    holds(
        ok,
        value,
        "an AWS region code; write it like \"eu-central-1\"",
    )
}

/// AWS's partitions: the first part of every ARN.
pub const PARTITIONS: [&str; 8] = [
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

pub fn is_account(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

pub fn account(value: &str) -> Check {
    holds(
        is_account(value),
        value,
        "a 12-digit AWS account ID; write all 12 digits as a string, e.g. \"123456789012\"",
    )
}

/// `Ok` when `ok`, else "\"value\" is not <what>".
fn holds(ok: bool, value: &str, what: &str) -> Check {
    if ok {
        Ok(())
    } else {
        Err(format!("\"{value}\" is not {what}"))
    }
}

pub fn is_organization(value: &str) -> bool {
    value.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

pub fn organization(value: &str) -> Check {
    holds(
        is_organization(value),
        value,
        "an AWS Organizations ID; it looks like \"o-\" and 10 to 32 lowercase letters or digits, e.g. \"o-abcdefghij\"",
    )
}

pub fn role_arn(value: &str) -> Check {
    let ok = value
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":iam::"))
        .and_then(|(partition, rest)| partition.starts_with("aws").then_some(rest))
        .and_then(|rest| rest.split_once(":role/"))
        .is_some_and(|(account, role)| is_account(account) && !role.is_empty());
    holds(
        ok,
        value,
        "an IAM role ARN; write it like \"arn:aws:iam::123456789012:role/layer-publisher\"",
    )
}

/// An S3 bucket name, where `{region}` and `{account}` stand for values filled in later: 3-63
/// lowercase letters, digits, '.' and '-', starting and ending with a letter or digit.
pub fn bucket_template(template: &str) -> Check {
    let name = template
        .replace("{region}", "eu-central-1")
        .replace("{account}", "123456789012");
    let chars_ok = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends_ok = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if (3..=63).contains(&name.len()) && chars_ok && ends_ok && !name.contains("..") {
        return Ok(());
    }
    Err(format!(
        "\"{template}\" is not an S3 bucket name; use 3-63 lowercase letters, digits, '.' and '-', with {{region}} for the layer's region, e.g. \"my-artifacts-{{region}}\" (the bucket must be in the layer's region)"
    ))
}

/// The placeholders of `stage-role` and `parameter`, filled in for each stage account.
pub const STAGE_PLACEHOLDERS: [&str; 4] = ["{account}", "{name}", "{stage}", "{partition}"];

/// `stage-role` or `parameter` with sample values, to check what any expansion looks like.
fn stage_sample(template: &str) -> String {
    template
        .replace("{account}", "123456789012")
        .replace("{name}", "layer")
        .replace("{stage}", "stage")
        .replace("{partition}", "aws")
}

/// A role ARN assumed in each stage account; `{account}` is the stage account.
pub fn stage_role_template(template: &str) -> Check {
    placeholders_of(template, &STAGE_PLACEHOLDERS)?;
    role_arn(&stage_sample(template)).map_err(|_| {
        format!(
            "\"{template}\" is not an IAM role ARN once filled in; write it like \"arn:{{partition}}:iam::{{account}}:role/layer-consumer\""
        )
    })
}

/// The account a role ARN lives in.
pub fn role_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4)
}

/// SSM's longest parameter name, and its deepest hierarchy.
pub const MAX_PARAMETER_NAME: usize = 1011;
pub const MAX_PARAMETER_LEVELS: usize = 15;

/// An SSM parameter name in each stage account: letters, digits and `_.-/`, a hierarchy starting
/// with '/', at most 15 levels, not under the reserved `aws` or `ssm` prefixes.
pub fn parameter_template(template: &str) -> Check {
    placeholders_of(template, &STAGE_PLACEHOLDERS)?;
    parameter_name(&stage_sample(template)).map_err(|m| format!("\"{template}\": {m}"))
}

pub fn parameter_name(name: &str) -> Check {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_.-/".contains(c);
    if name.is_empty() || name.len() > MAX_PARAMETER_NAME {
        return Err(format!(
            "an SSM parameter name is 1 to {MAX_PARAMETER_NAME} characters"
        ));
    }
    if let Some(c) = name.chars().find(|&c| !allowed(c)) {
        return Err(format!(
            "an SSM parameter name may only use letters, digits and '_', '.', '-', '/', not '{c}'"
        ));
    }
    if name.contains('/') && !name.starts_with('/') {
        return Err("a parameter hierarchy starts with '/', e.g. \"/layers/{name}\"".into());
    }
    if name.ends_with('/') || name.contains("//") {
        return Err("a parameter name has no empty level between '/'".into());
    }
    if name.matches('/').count() > MAX_PARAMETER_LEVELS {
        return Err(format!(
            "a parameter hierarchy has at most {MAX_PARAMETER_LEVELS} levels"
        ));
    }
    let first = name.trim_start_matches('/').to_ascii_lowercase();
    if first.starts_with("aws") || first.starts_with("ssm") {
        return Err("names starting with \"aws\" or \"ssm\" are reserved by AWS; start it with another word, e.g. \"/layers/{name}\"".into());
    }
    Ok(())
}

/// A Signer profile name (2-64 letters, digits and '_'), or its ARN
/// (`arn:aws:signer:REGION:ACCOUNT:/signing-profiles/NAME`).
pub fn signing_profile(value: &str) -> Check {
    let (name, _) = signing_profile_parts(value);
    let name_ok = (2..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let arn_ok = !value.starts_with("arn:") || signing_profile_arn(value).is_some();
    if name_ok && arn_ok {
        return Ok(());
    }
    Err(format!(
        "\"{value}\" is not a signing profile; use the profile's name (2-64 letters, digits and '_', e.g. \"LayerSigner\") or its ARN, arn:aws:signer:REGION:ACCOUNT:/signing-profiles/NAME"
    ))
}

/// The profile's name and, for an ARN, the account that owns it.
pub fn signing_profile_parts(value: &str) -> (String, Option<String>) {
    match signing_profile_arn(value) {
        Some((account, name)) => (name.to_string(), Some(account.to_string())),
        None => (value.to_string(), None),
    }
}

fn signing_profile_arn(value: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "signer", _, account, resource] if is_account(account) => {
            let name = resource.strip_prefix("/signing-profiles/")?;
            (!name.is_empty() && !name.contains('/')).then_some((*account, name))
        }
        _ => None,
    }
}

pub fn stage_name(name: &str) -> Check {
    if name.is_empty() || name.len() > MAX_STAGE_NAME || !name.chars().all(is_name_char) {
        return Err(format!(
            "stage name \"{name}\" must be 1 to {MAX_STAGE_NAME} letters, digits, '-' or '_' (it becomes part of the policy StatementId)"
        ));
    }
    Ok(())
}

fn escapes(path: &str) -> bool {
    path.starts_with('/')
        || path.starts_with('\\')
        || path.contains('\\')
        || path.split('/').any(|part| part == "..")
        || path.as_bytes().get(1) == Some(&b':')
}

pub fn include_from(pattern: &str) -> Check {
    if pattern.is_empty() {
        return Err("is empty; give a glob relative to the package, e.g. \"config/*.yaml\"".into());
    }
    if escapes(pattern) {
        return Err(format!(
            "\"{pattern}\" leaves the package directory; use a relative glob without '..'"
        ));
    }
    Ok(())
}

pub fn include_to(dest: &str) -> Check {
    if escapes(dest) {
        return Err(format!(
            "\"{dest}\" would escape the layer root (/opt); use a relative path without '..', e.g. \"config/\""
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_is_checked_by_its_shape() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "ap-southeast-7",
            "us-gov-west-1",
            "cn-northwest-1",
            "us-isob-east-1",
            "eu-isoe-west-1",
            "eusc-de-east-1",
            "mx-central-1",
        ] {
            assert_eq!(region(ok), Ok(()), "{ok}");
        }
        for bad in [
            "us-east-1; rm -rf /",
            "eu-central",
            "EU-central-1",
            "eu_west_1",
            "e-central-1",
            "europe-central-1",
            "us--1",
            "us-east-",
            "",
        ] {
            assert!(region(bad).is_err(), "{bad}");
        }
    }
}
