//! The commands cargo-layer suggests in its messages. Each is complete for the run that prints
//! it: it repeats this run's `--manifest-path` and AWS flags, and the caller adds what picks the
//! layer, region and version, so the command works as printed from where this run started.

use std::sync::OnceLock;

/// What every suggested command repeats from this run.
#[derive(Debug, Default)]
struct Invocation {
    manifest_path: Vec<String>,
    aws: Vec<String>,
}

static INVOCATION: OnceLock<Invocation> = OnceLock::new();
/// Layer name -> the `-p` that picks it alone, when the run selected several layers.
static PICKS: OnceLock<Vec<(String, String)>> = OnceLock::new();

/// Record the layers this run selected (name and `-p` spec): a command suggested for one of
/// several must pick it with `-p`.
pub fn selected(layers: Vec<(String, String)>) {
    let picks = if layers.len() > 1 { layers } else { Vec::new() };
    let _ = PICKS.set(picks);
}

/// `-p <spec>` for `layer` when the run selected several layers, else nothing.
pub fn pick(layer: &str) -> Vec<String> {
    PICKS
        .get()
        .and_then(|picks| picks.iter().find(|(name, _)| name == layer))
        .map(|(_, spec)| vec!["-p".to_string(), spec.clone()])
        .unwrap_or_default()
}

/// `cargo layer <command>` for one layer in one region: `pick(layer)`, `--region`, then `args`.
pub fn for_layer(command_name: &str, layer: &str, region: &str, args: &[&str]) -> String {
    let mut words: Vec<String> = pick(layer);
    words.extend(["--region".to_string(), region.to_string()]);
    words.extend(args.iter().map(|a| a.to_string()));
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    command(command_name, &words)
}

/// Record, once per run, this run's `--manifest-path` and AWS flags (`--aws-profile`,
/// `--endpoint-url`, `--assume-role`, as given).
pub fn remember(manifest_path: Option<&std::path::Path>, aws: Vec<String>) {
    let manifest_path = manifest_path
        .map(|p| vec!["--manifest-path".into(), p.to_string_lossy().into_owned()])
        .unwrap_or_default();
    let _ = INVOCATION.set(Invocation { manifest_path, aws });
}

/// `cargo layer <command> <args>`, quoted for a shell, with this run's selection and, for the
/// commands that talk to AWS, its AWS flags.
pub fn command(command: &str, args: &[&str]) -> String {
    let empty = Invocation::default();
    let run = INVOCATION.get().unwrap_or(&empty);
    let mut words = vec!["cargo", "layer", command];
    words.extend(run.manifest_path.iter().map(String::as_str));
    words.extend(args);
    if !matches!(command, "package" | "iam-policy") {
        words.extend(run.aws.iter().map(String::as_str));
    }
    let shell = shlex::try_join(words.iter().copied()).unwrap_or_else(|_| words.join(" "));
    format!("`{shell}`")
}

/// `cargo layer revoke` for the stage a cargo-layer statement ID belongs to
/// (`cargo-layer-<stage>-<account | org-<id> | public>`, see `aws::policy::statement_id`).
pub fn revoke_statement(
    layer: &str,
    region: &str,
    version: i64,
    sid: &str,
) -> Option<(String, String)> {
    use crate::project::limits;
    let rest = sid.strip_prefix("cargo-layer-")?;
    let stage = match rest.rsplit_once('-') {
        _ if rest.ends_with("-public") => rest.strip_suffix("-public")?,
        Some((stage, account)) if limits::is_account(account) => stage,
        _ => {
            let (stage, org) = rest.rsplit_once("-org-")?;
            limits::is_organization(org).then_some(stage)?
        }
    };
    let number = version.to_string();
    let revoke = for_layer(
        "revoke",
        layer,
        region,
        &["--stage", stage, "--version", &number],
    );
    Some((stage.to_string(), revoke))
}

/// This very run again, as it was typed (`cargo layer ...`).
pub fn again(args: &[std::ffi::OsString]) -> String {
    let words: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut all = vec!["cargo", "layer"];
    all.extend(words.iter().map(String::as_str));
    let shell = shlex::try_join(all.iter().copied()).unwrap_or_else(|_| all.join(" "));
    format!("`{shell}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_names_its_stage() {
        let stage = |sid| revoke_statement("x", "eu-central-1", 3, sid).map(|(stage, _)| stage);
        assert_eq!(
            stage("cargo-layer-dev-eu-222222222222").as_deref(),
            Some("dev-eu")
        );
        assert_eq!(
            stage("cargo-layer-prod-org-o-abcdefghij").as_deref(),
            Some("prod")
        );
        assert_eq!(stage("cargo-layer-qa-public").as_deref(), Some("qa"));
        assert_eq!(stage("hand-made"), None);
        let (_, revoke) =
            revoke_statement("x", "eu-central-1", 3, "cargo-layer-qa-public").unwrap();
        assert_eq!(
            revoke,
            "`cargo layer revoke --region eu-central-1 --stage qa --version 3`"
        );
    }

    #[test]
    fn a_command_is_quoted_for_the_shell() {
        let line = again(&[
            "cargo-layer".into(),
            "publish".into(),
            "--manifest-path".into(),
            "my dir/Cargo.toml".into(),
        ]);
        assert_eq!(
            line,
            "`cargo layer publish --manifest-path 'my dir/Cargo.toml'`"
        );
    }
}
