//! Results as people read them. stdout carries what scripts capture (the ARN alone for publish
//! and promote, so `ARN=$(cargo layer publish -q)` works; the table for status); stderr carries
//! the summary.

use crate::hint;
use crate::output::progress::Progress;
use crate::output::run::Delivered;
use crate::output::stdout;
use crate::schema::{
    GrantResult, GrantStatus, Header, LayerStatus, LookedInto, Manifest, Outcome, Package,
    Parameter, ParameterStatus, Plan, PlanAction, Pruned, ResultType, Revoked, StageAccount,
    Unverified, Verified, VersionStatus,
};

const REVOKED_STILL_WORKS: &str = "functions that already use this version keep working; only new deployments and configuration updates that reference it from those accounts are refused";
const DELETED_STILL_WORKS: &str = "functions that already use a deleted version keep working; new deployments and configuration updates can no longer use it";

/// The result on stdout (unless JSON took its place) and its summary on stderr.
pub fn print(delivered: &Delivered, results_on_stdout: bool, progress: &Progress) {
    let outcome = &delivered.outcome;
    if results_on_stdout {
        match outcome {
            Outcome::Package(p) => package(p),
            Outcome::Manifest(m) => stdout::line(&m.layer_version_arn),
            Outcome::Plan(p) => lines(&plan(p)),
            Outcome::Revoke(r) => revoked(r),
            Outcome::Status(s) => lines(&status(s)),
            Outcome::Prune(p) => pruned(p),
            Outcome::Verify(v) => lines(&verified(v)),
        }
    }
    match outcome {
        Outcome::Manifest(m) => manifest(m, delivered.file.as_deref(), progress),
        Outcome::Revoke(_) => progress.info(format!("note: {REVOKED_STILL_WORKS}")),
        Outcome::Prune(p) if !p.deleted.is_empty() => {
            progress.info(format!("note: {DELETED_STILL_WORKS}"))
        }
        _ => {}
    }
}

fn lines(lines: &[String]) {
    for line in lines {
        stdout::line(line);
    }
}

fn package(p: &Package) {
    stdout::line(format_args!("{}  {}", p.header.name, p.zip.display()));
    stdout::line(format_args!(
        "  zip size       {} ({} bytes)",
        human_size(p.zip_size),
        p.zip_size
    ));
    stdout::line(format_args!(
        "  unzipped size  {} ({} bytes)",
        human_size(p.unzipped_size),
        p.unzipped_size
    ));
    stdout::line(format_args!("  sha256         {}", p.sha256));
    stdout::line(format_args!("  CodeSha256     {}", p.code_sha256));
}

/// The summary of a manifest on stderr.
fn manifest(m: &Manifest, file: Option<&std::path::Path>, progress: &Progress) {
    let what = match (m.header.r#type, m.published) {
        (ResultType::Publish, true) => "published",
        (ResultType::Publish, false) => "reused (same CodeSha256)",
        _ => "promoted",
    };
    let h = &m.header;
    progress.info(format!(
        "{} version {} in {} (account {}): {what}",
        h.name, m.version, h.region, h.account
    ));
    progress.info(format!("  CodeSha256  {}", m.code_sha256));
    if let Some(signature) = &m.signature {
        progress.info(format!("  signed by   {}", signature.profile_version_arn));
    }
    if let Some(file) = file {
        progress.info(format!("  manifest    {}", file.display()));
    }
    for line in grant_lines(&m.grants) {
        progress.info(line);
    }
    for line in stage_account_lines(&m.stage_accounts) {
        progress.info(line);
    }
    for note in &m.notes {
        progress.info(format!("  note: {note}"));
    }
}

/// What a dry run would do, in a few words.
pub fn plan_action(plan: &Plan) -> String {
    let version = plan.version.map(|v| v.to_string()).unwrap_or_default();
    match plan.action {
        PlanAction::Publish => "would publish a new version".to_string(),
        PlanAction::Reuse => format!("would reuse version {version}"),
        PlanAction::Revoke => format!("would revoke grants from version {version}"),
        PlanAction::Grant => format!("would promote version {version}"),
    }
}

fn plan(plan: &Plan) -> Vec<String> {
    let h = &plan.header;
    let arn = plan
        .layer_version_arn
        .as_deref()
        .map(|arn| format!(" ({arn})"))
        .unwrap_or_default();
    let head = format!(
        "dry run: {} in {} (account {}): {}{arn}",
        h.name,
        h.region,
        h.account,
        plan_action(plan)
    );
    let notes = plan.notes.iter().map(|n| format!("  note: {n}"));
    std::iter::once(head)
        .chain(grant_lines(&plan.grants))
        .chain(notes)
        .collect()
}

fn revoked(r: &Revoked) {
    if r.removed.is_empty() {
        stdout::line(format_args!(
            "stage {} has no cargo-layer grant on {}; nothing to remove",
            r.stage, r.layer_version_arn
        ));
    }
    for grant in &r.removed {
        stdout::line(format_args!(
            "removed {} ({}) from {}",
            grant.statement_id,
            grant.grantee(),
            r.layer_version_arn
        ));
    }
}

fn status(status: &LayerStatus) -> Vec<String> {
    let h = &status.header;
    let mut out = vec![format!(
        "{} in {} (account {}): {}",
        h.name,
        h.region,
        h.account,
        status.shown()
    )];
    for v in &status.versions {
        out.extend(version(h, v));
    }
    out.extend(used_by(status));
    for history in &status.handoffs {
        out.push(format!(
            "\nstage {} account {}: parameter {}",
            history.stage, history.account, history.parameter
        ));
        if let Some(error) = &history.error {
            out.push(format!("  could not read it: {error}"));
        }
        if history.entries.is_empty() && history.error.is_none() {
            out.push("  never written".to_string());
        }
        for entry in &history.entries {
            out.push(format!(
                "  {:<4} {}  {}",
                entry.version,
                entry.written.as_deref().unwrap_or("?"),
                entry.value
            ));
        }
    }
    out
}

fn version(h: &Header, v: &VersionStatus) -> Vec<String> {
    let local = if v.matches_local_zip {
        "  = local zip"
    } else {
        ""
    };
    let mut out = vec![format!(
        "\nversion {:<5} created {}  CodeSha256 {}{local}",
        v.version,
        v.created,
        v.code_sha256.as_deref().unwrap_or("?")
    )];
    if let Some(signature) = &v.signature {
        out.push(format!(
            "  signed     by profile version {} (job {})",
            signature.profile_version_arn, signature.job_arn
        ));
    }
    if let Some(older) = v.twin_of {
        out.push(format!(
            "  twin       same content and metadata as version {older}, which publish reuses; deploy that one"
        ));
    }
    for (stage, s) in &v.stages {
        let state = match (s.granted.is_empty(), s.is_granted()) {
            _ if !s.mismatched.is_empty() => "mismatched",
            (_, true) => "granted",
            (true, false) => "not granted",
            (false, false) => "partly granted",
        };
        let mut detail = Vec::new();
        if !s.granted.is_empty() {
            detail.push(format!("granted {}", s.granted.join(", ")));
        }
        if !s.missing.is_empty() {
            detail.push(format!("missing {}", s.missing.join(", ")));
        }
        if !s.mismatched.is_empty() {
            detail.push(format!(
                "its statement for {} grants someone else; `cargo layer revoke --stage {stage}` removes it",
                s.mismatched.join(", ")
            ));
        }
        out.push(format!("  {stage:<10} {state:<15} {}", detail.join("; ")));
    }
    for sid in &v.stale_statements {
        out.push(format!(
            "  stale      {sid} (no longer in Cargo.toml{})",
            revoke_stale(h, v, sid)
        ));
    }
    for sid in &v.other_statements {
        out.push(format!("  other      {sid} (not made by cargo-layer)"));
    }
    out
}

/// How a stale statement goes away: revoke removes every statement of its stage from the
/// version, and a promote adds back what Cargo.toml still lists.
fn revoke_stale(h: &Header, v: &VersionStatus, sid: &str) -> String {
    match hint::revoke_statement(&h.name, &h.region, v.version, sid) {
        Some((stage, revoke)) => format!(
            "; {revoke} removes stage {stage}'s statements from this version, and a promote adds back what Cargo.toml lists"
        ),
        None => String::new(),
    }
}

fn pruned(p: &Pruned) {
    let verb = if p.dry_run { "would delete" } else { "deleted" };
    let h = &p.header;
    stdout::line(format_args!(
        "{} in {} (account {}): keep {}, {verb} {}",
        h.name,
        h.region,
        h.account,
        p.kept.len(),
        p.deleted.len()
    ));
    for kept in &p.kept {
        stdout::line(format_args!(
            "  keep    {:<6} {}",
            kept.version,
            kept.sentence()
        ));
    }
    for number in &p.deleted {
        stdout::line(format_args!("  {verb:<7} {number}"));
    }
    lines(&looked_into(&p.looked_into));
}

/// The stage accounts whose functions could not be listed, and why.
fn looked_into(accounts: &[LookedInto]) -> Vec<String> {
    accounts
        .iter()
        .filter_map(|a| {
            let error = a.error.as_deref()?;
            Some(format!(
                "  could not look into stage account {} (stage {}): {error}",
                a.account, a.stage
            ))
        })
        .collect()
}

/// `status --where-used`: one line per function version that uses the layer.
fn used_by(status: &LayerStatus) -> Vec<String> {
    if status.looked_into.is_empty() {
        return Vec::new();
    }
    let mut out = vec![format!(
        "
used by functions of {} stage account(s) in {}:",
        status.looked_into.len(),
        status.header.region
    )];
    if status.used_by.is_empty() {
        out.push("  none".to_string());
    }
    for u in &status.used_by {
        let aliases = match u.aliases.as_slice() {
            [] => String::new(),
            names => format!(" (alias {})", names.join(", ")),
        };
        let granted = if u.granted {
            "granted"
        } else {
            "NOT GRANTED: a redeploy is refused"
        };
        out.push(format!(
            "  {:<10} {}  {}:{}{aliases}  uses version {}, {granted}",
            u.stage, u.account, u.function, u.qualifier, u.version
        ));
    }
    out.extend(looked_into(&status.looked_into));
    out
}

/// One line per grant: stage, who, and what happened.
pub fn grant_lines(grants: &[GrantResult]) -> Vec<String> {
    grants
        .iter()
        .map(|g| {
            let status = match g.status {
                GrantStatus::Failed => "FAILED",
                other => other.word(),
            };
            let error = g
                .error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            format!("  {:<8} {:<28} {status}{error}", g.stage, g.grantee())
        })
        .collect()
}

/// One line per stage account: whether it reads the version, and its parameter.
pub fn stage_account_lines(accounts: &[StageAccount]) -> Vec<String> {
    accounts
        .iter()
        .map(|a| {
            let read = match (a.verified, a.unverified) {
                (true, _) => "reads this version".to_string(),
                (false, why) => format!(
                    "CANNOT USE IT ({}{})",
                    why.map_or("unverified", unverified_word),
                    a.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ),
            };
            let parameter = a
                .parameter
                .as_ref()
                .map(|p| format!("; parameter {} {}", p.name, parameter_word(p)))
                .unwrap_or_default();
            format!("  {:<8} {:<28} {read}{parameter}", a.stage, a.account)
        })
        .collect()
}

pub fn unverified_word(why: Unverified) -> &'static str {
    match why {
        Unverified::Denied => "denied",
        Unverified::OtherBytes => "other bytes",
        Unverified::NoSession => "stage role not assumed",
        Unverified::Failed => "failed",
    }
}

pub fn parameter_word(p: &Parameter) -> String {
    let word = match p.status {
        ParameterStatus::Written => "written",
        ParameterStatus::Present => "present",
        ParameterStatus::Skipped => "skipped",
        ParameterStatus::Failed => "FAILED",
        ParameterStatus::Differs => "NAMES ANOTHER VALUE",
        ParameterStatus::Missing => "MISSING",
    };
    let detail = p
        .error
        .as_deref()
        .or(p.value.as_deref())
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    format!("{word}{detail}")
}

/// `verify`: the version, then one line per stage account.
fn verified(v: &Verified) -> Vec<String> {
    let mut out = vec![format!(
        "{} version {} in {} (CodeSha256 {})",
        v.header.name, v.version, v.header.region, v.code_sha256
    )];
    out.extend(stage_account_lines(&v.stage_accounts));
    out
}

/// "2 added, 1 already present" for a progress line.
pub fn grant_counts(grants: &[GrantResult]) -> String {
    let count = |s: GrantStatus| grants.iter().filter(|g| g.status == s).count();
    let parts: Vec<String> = [
        (GrantStatus::Added, "added"),
        (GrantStatus::Present, "already present"),
        (GrantStatus::Failed, "failed"),
        (GrantStatus::WouldAdd, "would be added"),
    ]
    .into_iter()
    .filter(|(status, _)| count(*status) > 0)
    .map(|(status, word)| format!("{} {word}", count(status)))
    .collect();
    if parts.is_empty() {
        "no grants configured".into()
    } else {
        parts.join(", ")
    }
}

/// Bytes in a unit people read.
pub fn human_size(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}
