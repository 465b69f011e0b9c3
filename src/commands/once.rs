//! Publishing once: the whole protocol that gives one artifact one version.
//!
//! Two notions, kept apart: the **artifact digest** (base64 SHA-256 of the zip cargo-layer
//! built; the dedupe key, written into the Description's marker) and the **CodeSha256 AWS
//! holds**. They are equal for an unsigned layer. A signed zip differs from the artifact, and
//! every signing job makes new bytes, so for a signed layer a version holds the artifact only
//! when the evidence chains: its SigningJobArn -> that job's source object version -> the
//! SHA-256 cargo-layer recorded on that object at upload equals the artifact's. Nothing is
//! downloaded.
//!
//! The protocol: find a version that holds the artifact (the marker is a hint; GetLayerVersion
//! and, when signed, the chain confirm it); else stage the zip (S3 when needed), sign it, and
//! publish with one retry policy: PublishLayerVersion is not idempotent, so before any retry it
//! looks for the version a lost response may have created; after publishing it defers to an
//! older twin a concurrent run made, deleting only this run's own duplicate. A version whose
//! chain breaks is neither reused nor deleted, and a note says why. The chain ([`Evidence`]) is
//! also how `prune` tells cargo-layer's own signed versions and `status` marks the local zip.

use std::time::{Duration, Instant};

use crate::aws::dedupe::{Identity, read_marker};
use crate::aws::layers::{Content, LayerApi, PublishInput, Version};
use crate::aws::s3::{self, Location};
use crate::aws::signer::{self, JobStatus, ObjectVersion, Profile};
use crate::aws::{self, Session};
use crate::error::{Error, Kind, Result};
use crate::output::{self, progress::Progress};
use crate::pack::Packaged;
use crate::project::config::LayerConfig;
use crate::schema::{Search, SearchMethod};

/// Unmarked versions compared by hash, newest first, before giving up.
pub const FALLBACK_SCAN: usize = 10;

/// How long a signing job may take before the run gives up on it.
const SIGNING_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Exponential backoff with full jitter, capped at 20 s: the protocol's one retry policy, for
/// a publish attempt and for polling a signing job.
pub fn backoff(attempt: u32) -> Duration {
    let cap_ms = (200u64 << attempt.min(7)).min(20_000);
    Duration::from_millis(fastrand::u64(cap_ms / 2..=cap_ms))
}

// ---- signing: checked before any write ------------------------------------------------------

/// What signs a layer's zips in one region: checked, before any write, by [`preflight`].
pub struct Signer {
    pub client: aws_sdk_signer::Client,
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub profile: Profile,
    pub region: String,
    /// The account that starts (and so owns) the signing jobs.
    pub account: String,
}

/// For a layer with `signing-profile`: the profile exists, is Active and signs for Lambda, and
/// the bucket has versioning (Signer signs one object version). Makes no write.
pub async fn preflight(
    session: &Session,
    layer: &LayerConfig,
    region: &str,
) -> Result<Option<Signer>> {
    let Some(signing) = &layer.signing else {
        return Ok(None);
    };
    let key = |name: &str| format!("package.metadata.layer.{name}");
    let client = session.signer(region);
    let owner = signing.owner.as_deref();
    let whose = owner.map_or(String::new(), |o| format!(" of account {o}"));
    let name = &signing.profile;
    let profile = signer::profile(&client, name, owner).await?.ok_or_else(|| {
        Error::new(Kind::Config, format!("AWS Signer has no signing profile \"{name}\"{whose} in {region} (signer:GetSigningProfile: ResourceNotFoundException)"))
            .fix(format!("create it for platform {} in {region} (aws signer put-signing-profile --profile-name {name} --platform-id {}), or name an existing one in signing-profile (and profile-owner)", signer::LAMBDA_PLATFORM, signer::LAMBDA_PLATFORM))
            .at(&layer.cargo_toml, key("signing-profile"))
    })?;
    if profile.status != "Active" {
        return Err(Error::new(Kind::Config, format!("signing profile \"{name}\"{whose} in {region} is {}, not Active", profile.status))
            .fix("a canceled or revoked profile signs nothing; create a new profile and name it in signing-profile")
            .at(&layer.cargo_toml, key("signing-profile")));
    }
    if profile.platform != signer::LAMBDA_PLATFORM {
        return Err(Error::new(Kind::Config, format!("signing profile \"{name}\"{whose} in {region} is for platform {}, but Lambda verifies only {}", profile.platform, signer::LAMBDA_PLATFORM))
            .fix(format!("name a profile made for platform {} in signing-profile", signer::LAMBDA_PLATFORM))
            .at(&layer.cargo_toml, key("signing-profile")));
    }
    let account = &session.caller().account;
    let bucket = layer
        .bucket(region, account)
        .expect("configuration refuses signing-profile without s3-bucket");
    let s3 = session.s3(region);
    let versioning = s3::versioning(&s3, &bucket).await?;
    if versioning.as_deref() != Some("Enabled") {
        let state = versioning.map_or("never enabled".to_string(), |s| s.to_lowercase());
        return Err(Error::new(Kind::Config, format!("bucket {bucket} has versioning {state}; AWS Signer signs one S3 object version, so signing-profile needs a versioned bucket"))
            .fix(format!("enable versioning on it (aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled) or name a versioned bucket in s3-bucket"))
            .at(&layer.cargo_toml, key("s3-bucket")));
    }
    Ok(Some(Signer {
        client,
        s3,
        bucket,
        profile,
        region: region.to_string(),
        account: account.clone(),
    }))
}

// ---- what a version holds -------------------------------------------------------------------

/// The artifact this run brings, and how a version proves it holds it.
pub struct Artifact<'a> {
    pub identity: Identity,
    /// The zip's hex SHA-256, as recorded on the S3 object at upload.
    pub sha256: &'a str,
    pub signer: Option<&'a Signer>,
}

/// What checking one version found.
enum Verdict {
    Holds,
    /// It does not hold this artifact (other bytes, or deleted since the listing).
    Other,
    /// It may hold it, but the evidence does not chain: neither reused nor deleted.
    Unproven(String),
}

impl Artifact<'_> {
    /// Whether `version`, as GetLayerVersion reported it, holds this artifact.
    async fn check(&self, version: &Version) -> Result<Verdict> {
        let number = version.number;
        if !self.identity.same_metadata(version) {
            return Ok(Verdict::Other);
        }
        let Some(signer) = self.signer else {
            if version.signing_job_arn.is_some() {
                return Ok(Verdict::Unproven(format!(
                    "version {number} is signed, and this layer sets no signing-profile; not reused, not deleted"
                )));
            }
            let holds = version.code_sha256.as_deref() == Some(self.identity.artifact.as_str());
            return Ok(if holds {
                Verdict::Holds
            } else {
                Verdict::Other
            });
        };
        let Some(job_arn) = &version.signing_job_arn else {
            return Ok(Verdict::Unproven(format!(
                "version {number} carries this artifact's marker but is not signed; a layer with signing-profile does not reuse it (not deleted)"
            )));
        };
        let profile = &signer.profile;
        let signed_by = version
            .signing_profile_version_arn
            .as_deref()
            .unwrap_or("(none)");
        if signed_by != profile.version_arn {
            return Ok(Verdict::Unproven(format!(
                "version {number} is signed by profile version {signed_by}, not by signing-profile's {}; not reused, not deleted",
                profile.version_arn
            )));
        }
        let evidence = Evidence {
            signer: &signer.client,
            s3: &signer.s3,
        };
        Ok(match evidence.follow(job_arn, self.sha256).await? {
            Chain::Holds => Verdict::Holds,
            Chain::Broken(why) => Verdict::Unproven(format!(
                "version {number} is not confirmed to hold this artifact: {why}; not reused, not deleted"
            )),
        })
    }
}

/// What follows a signed version's evidence: Signer and S3 in the version's region.
pub struct Evidence<'a> {
    pub signer: &'a aws_sdk_signer::Client,
    pub s3: &'a aws_sdk_s3::Client,
}

/// Where a signed version's evidence leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chain {
    /// It was signed from the artifact.
    Holds,
    /// The chain breaks, or leads to another artifact: why, as a phrase about the version.
    Broken(String),
}

impl Evidence<'_> {
    /// Whether the version signed by `job_arn` (its SigningJobArn) was signed from the artifact
    /// whose hex SHA-256 is `sha256`: that job's source object version records it. Nothing is
    /// downloaded.
    pub async fn follow(&self, job_arn: &str, sha256: &str) -> Result<Chain> {
        let broken = |why: String| Ok(Chain::Broken(why));
        let Some(id) = signer::job_id(job_arn) else {
            return broken(format!("its SigningJobArn {job_arn} names no signing job"));
        };
        let Some(job) = signer::describe(self.signer, id).await? else {
            return broken(format!("Signer has no record of its signing job {id}"));
        };
        let Some(source) = job.source else {
            return broken(format!("its signing job {id} names no source object"));
        };
        let at = format!(
            "s3://{}/{} version {}",
            source.bucket, source.key, source.version
        );
        let head = s3::head(self.s3, &source.bucket, &source.key, Some(&source.version)).await?;
        match head.and_then(|h| h.sha256) {
            Some(sha) if sha == sha256 => Ok(Chain::Holds),
            Some(sha) => broken(format!(
                "its signing job {id} signed {at}, which records SHA-256 {sha}"
            )),
            None => broken(format!(
                "the object its signing job {id} signed ({at}) is gone or records no SHA-256"
            )),
        }
    }
}

/// GetLayerVersion, kept only when the version holds the artifact; else why not, when a
/// reader should know.
async fn confirm(
    api: &LayerApi,
    number: i64,
    artifact: &Artifact<'_>,
) -> Result<std::result::Result<Version, Option<String>>> {
    let Some(version) = api.get(number).await? else {
        return Ok(Err(None));
    };
    Ok(match artifact.check(&version).await? {
        Verdict::Holds => Ok(version),
        Verdict::Other => Err(None),
        Verdict::Unproven(why) => Err(Some(why)),
    })
}

// ---- finding ---------------------------------------------------------------------------------

pub struct Found {
    /// The oldest version confirmed to hold this artifact, on the first page that holds one.
    pub version: Option<Version>,
    pub search: Search,
    /// What the search saw that a reader should know: twins, copied markers, changed metadata,
    /// broken evidence.
    pub notes: Vec<String>,
}

/// Versions of one listing page that carry this artifact's marker, sorted into what can be
/// reused and what cannot.
#[derive(Default)]
struct Page {
    /// Same marker and same metadata: candidates, oldest first.
    marked: Vec<Version>,
    /// Same marker, other metadata: another artifact (says why a new version is needed).
    other_metadata: Vec<(i64, Vec<String>)>,
    /// No cargo-layer marker at all, same metadata: candidates for the hash scan.
    unmarked: Vec<Version>,
}

fn sort_page(versions: Vec<Version>, identity: &Identity) -> Page {
    let mut page = Page::default();
    for version in versions {
        let same_metadata = identity.same_metadata(&version);
        match read_marker(&version.description) {
            Some(m) if m.artifact != identity.artifact => {}
            Some(_) if same_metadata => page.marked.push(version),
            Some(_) => {
                let why = identity.differences(&version);
                page.other_metadata.push((version.number, why));
            }
            None if same_metadata => page.unmarked.push(version),
            None => {}
        }
    }
    page.marked.sort_by_key(|v| v.number);
    page
}

/// Look through the listed versions for one that holds the artifact.
pub async fn find(layer: &LayerApi, artifact: &Artifact<'_>) -> Result<Found> {
    let identity = &artifact.identity;
    let mut search = Search::default();
    let mut notes = Vec::new();
    let mut unmarked = Vec::new();
    let mut next = None;
    loop {
        let listed = layer.list_page(next).await?;
        search.versions_listed += listed.versions.len();
        let page = sort_page(listed.versions, identity);
        notes.extend(page.other_metadata.iter().map(|(number, why)| {
            format!(
                "version {number} holds this content under other metadata ({}); Lambda never changes a version's metadata, so it is another artifact",
                why.join("; ")
            )
        }));
        unmarked.extend(page.unmarked);
        // Oldest first: concurrent publishers settle on the oldest twin, so all runs agree.
        let (confirmed, rejected) = oldest_confirmed(layer, &page.marked, artifact).await?;
        notes.extend(rejected_notes(&rejected));
        if let Some(version) = confirmed {
            let newer: Vec<i64> = page
                .marked
                .iter()
                .map(|v| v.number)
                .filter(|&n| n > version.number)
                .collect();
            notes.extend(twins_note(layer, &newer, &version));
            search.method = SearchMethod::Marker;
            return Ok(Found {
                version: Some(version),
                search,
                notes,
            });
        }
        next = listed.next;
        if next.is_none() {
            break;
        }
    }
    search.unmarked_unchecked = unmarked.len().saturating_sub(FALLBACK_SCAN);
    // The newest few, compared oldest first, so the oldest confirmed one of them is reused.
    let mut window: Vec<Version> = unmarked.into_iter().take(FALLBACK_SCAN).collect();
    window.sort_by_key(|v| v.number);
    let (confirmed, rejected) = oldest_confirmed(layer, &window, artifact).await?;
    search.unmarked_checked = rejected.len() + usize::from(confirmed.is_some());
    search.method = if confirmed.is_some() {
        SearchMethod::HashScan
    } else {
        SearchMethod::None
    };
    Ok(Found {
        version: confirmed,
        search,
        notes,
    })
}

/// A candidate that did not hold the artifact, and why, when it may.
type Rejected = (i64, Option<String>);

/// GetLayerVersion on each candidate in order until one holds the artifact: that version (with
/// what AWS says it holds), and the candidates read before it that did not.
async fn oldest_confirmed(
    layer: &LayerApi,
    candidates: &[Version],
    artifact: &Artifact<'_>,
) -> Result<(Option<Version>, Vec<Rejected>)> {
    let mut rejected = Vec::new();
    for candidate in candidates {
        match confirm(layer, candidate.number, artifact).await? {
            Ok(version) => return Ok((Some(version), rejected)),
            Err(why) => rejected.push((candidate.number, why)),
        }
    }
    Ok((None, rejected))
}

/// Marked versions that were not confirmed: the evidence that broke, else a copied marker or a
/// version deleted since the listing.
fn rejected_notes(rejected: &[Rejected]) -> impl Iterator<Item = String> + '_ {
    rejected.iter().map(|(number, why)| match why {
        Some(why) => why.clone(),
        None => format!(
            "version {number} carries this content's marker, but GetLayerVersion did not confirm these bytes; ignored and left alone"
        ),
    })
}

fn twins_note(layer: &LayerApi, newer: &[i64], reused: &Version) -> Option<String> {
    if newer.is_empty() {
        return None;
    }
    let numbers: Vec<String> = newer.iter().map(i64::to_string).collect();
    let status = crate::hint::for_layer("status", &layer.name, &layer.aws.region, &[]);
    Some(format!(
        "version(s) {} also carry this content's marker; version {} is the oldest confirmed one and is reused; nothing is deleted ({status} shows which hold the same bytes)",
        numbers.join(", "),
        reused.number
    ))
}

// ---- publishing ------------------------------------------------------------------------------

/// What the protocol publishes from, in one region.
pub struct Publish<'a> {
    pub api: &'a LayerApi,
    pub session: &'a Session,
    pub packaged: &'a Packaged,
    pub artifact: &'a Artifact<'a>,
    /// This run's id, written into the marker: the proof that a version is its own.
    pub run: &'a str,
}

/// The version that holds the artifact after publishing, and whether this run made it.
pub struct Published {
    pub version: Version,
    pub published: bool,
}

/// Stage, sign when configured, publish once, and settle a race.
pub async fn publish(
    p: &Publish<'_>,
    notes: &mut Vec<String>,
    progress: &Progress,
) -> Result<Published> {
    let packaged = p.packaged;
    let layer = &packaged.layer;
    let identity = &p.artifact.identity;
    let description =
        crate::aws::dedupe::description(layer.description.as_deref(), &identity.artifact, p.run);
    let staged = stage(p, progress).await?;
    let signed = match (p.artifact.signer, &staged) {
        (Some(signer), Some(unsigned)) => Some(sign(signer, unsigned, layer, progress).await?),
        _ => None,
    };
    let input = PublishInput {
        content: match (&signed, &staged) {
            (Some((location, _)), _) | (None, Some(location)) => Content::S3(location),
            (None, None) => Content::Zip(&packaged.archive.bytes),
        },
        description: &description,
        license: layer.license.as_deref(),
        runtimes: &layer.compatible_runtimes,
        architectures: &packaged.architectures,
    };
    let (created, own) = publish_attempts(p, &input, notes, progress).await?;
    match &signed {
        Some((_, job_arn)) if own => check_signature(&created, job_arn, p.artifact)?,
        None if own => check_hash(&created, &identity.artifact)?,
        _ => {}
    }
    let number = created.number;
    let survivor = settle(p.api, created, own, p.artifact, p.run, notes).await?;
    if survivor.number != number {
        progress.info(format!(
            "  another run published the same content first; using version {}",
            survivor.number
        ));
    }
    let published = own && survivor.number == number
        || read_marker(&survivor.description).and_then(|m| m.run) == Some(p.run);
    Ok(Published {
        version: survivor,
        published,
    })
}

/// PublishLayerVersion, with the SDK's retries off: before each retry, look for the version a
/// lost response may have created. The version, and whether this run's call returned it.
async fn publish_attempts(
    p: &Publish<'_>,
    input: &PublishInput<'_>,
    notes: &mut Vec<String>,
    progress: &Progress,
) -> Result<(Version, bool)> {
    let api = p.api;
    let name = &p.packaged.layer.name;
    let max = api.aws.max_attempts;
    let mut attempt = 1;
    let step = progress.step(format!(
        "publishing {name} ({})",
        output::human_size(p.packaged.archive.bytes.len() as u64)
    ));
    loop {
        match api.publish_attempt(input).await {
            Ok(version) => {
                step.finish(format!("using version {}", version.number));
                return Ok((version, true));
            }
            Err(err) if aws::is_transient(&err) && attempt < max => {
                progress.warn(format!(
                    "lambda:PublishLayerVersion attempt {attempt} of {max} failed ({}); checking whether it went through before retrying",
                    aws::sdk_error("lambda:PublishLayerVersion", name, err)
                ));
                tokio::time::sleep(backoff(attempt)).await;
                if let Some(version) = find(api, p.artifact).await?.version {
                    notes.push(format!(
                        "publish attempt {attempt} may have reached Lambda although its response was lost; using version {} instead of publishing again",
                        version.number
                    ));
                    step.finish(format!("using version {}", version.number));
                    return Ok((version, false));
                }
                attempt += 1;
            }
            Err(err) => {
                step.fail();
                let resource = format!("layer {name} in {}", api.aws.region);
                return Err(aws::sdk_error("lambda:PublishLayerVersion", &resource, err));
            }
        }
    }
}

/// Zips over the direct-upload limit, every zip of a layer with `s3-bucket`, and every zip to
/// sign, go up to S3 first (in the layer's region); a zip the bucket already holds is not sent
/// again.
async fn stage(p: &Publish<'_>, progress: &Progress) -> Result<Option<Location>> {
    let layer = &p.packaged.layer;
    let region = &p.api.aws.region;
    // Packaging already refused a zip over the direct-upload limit without a bucket.
    let Some(bucket) = layer.bucket(region, &p.session.caller().account) else {
        return Ok(None);
    };
    let client = p.session.s3(region);
    s3::stage(&client, &bucket, &layer.name, &p.packaged.archive, progress)
        .await
        .map(Some)
}

/// Sign the staged object version into the layer's signed prefix and wait for the job: where
/// the signed zip is (with its object version), and the job's ARN.
async fn sign(
    signer: &Signer,
    unsigned: &Location,
    layer: &LayerConfig,
    progress: &Progress,
) -> Result<(Location, String)> {
    let version = unsigned.version.clone().ok_or_else(|| {
        Error::new(
            Kind::Aws,
            format!(
                "s3:PutObject: s3://{}/{} got no version id, so it cannot be signed",
                unsigned.bucket, unsigned.key
            ),
        )
        .fix(format!("enable versioning on bucket {}", unsigned.bucket))
    })?;
    let source = ObjectVersion {
        bucket: unsigned.bucket.clone(),
        key: unsigned.key.clone(),
        version,
    };
    let prefix = s3::signed_prefix(&layer.name);
    let step = progress.step(format!(
        "signing s3://{}/{} with profile version {}",
        source.bucket, source.key, signer.profile.version_arn
    ));
    let id = signer::start(&signer.client, &source, &prefix, &signer.profile).await?;
    let region = &signer.region;
    let failed = |what: String| {
        step.fail();
        Err(Error::new(
            Kind::Aws,
            format!(
                "signer:StartSigningJob: signing job {id} for layer {} in {region} {what}",
                layer.name
            ),
        ))
    };
    let started = Instant::now();
    let mut attempt = 1;
    let job = loop {
        tokio::time::sleep(backoff(attempt)).await;
        attempt += 1;
        match signer::describe(&signer.client, &id).await? {
            Some(job) if job.status == JobStatus::Succeeded => break job,
            Some(job) if job.status == JobStatus::Failed => {
                let reason = job.reason.unwrap_or_else(|| "no reason given".into());
                return failed(format!("failed: {reason}"))
                    .map_err(|e: Error| e.fix("fix what the reason names (an empty or already-signed zip cannot be signed) and run again; nothing was published"));
            }
            // A job just started may not be visible yet; it is waited for like one in progress.
            _ if started.elapsed() > SIGNING_TIMEOUT => {
                return failed(format!("did not finish within {} minutes", SIGNING_TIMEOUT.as_secs() / 60))
                    .map_err(|e: Error| e.fix("run again (the signed zip of a finished job is not reused; a new job signs again), and check the job in the Signer console"));
            }
            _ => {}
        }
    };
    let Some((bucket, key)) = job.signed else {
        return failed("succeeded but names no signed object".into());
    };
    let head = s3::head(&signer.s3, &bucket, &key, None).await?;
    let Some(version) = head.and_then(|h| h.version) else {
        return failed(format!(
            "succeeded, but its signed object s3://{bucket}/{key} has no version"
        ));
    };
    step.finish(format!("signed as s3://{bucket}/{key}"));
    let job_arn = signer::job_arn(region, &signer.account, &id);
    Ok((
        Location {
            bucket,
            key,
            version: Some(version),
        },
        job_arn,
    ))
}

fn check_hash(version: &Version, code: &str) -> Result<()> {
    match version.code_sha256.as_deref() {
        Some(remote) if remote == code => Ok(()),
        remote => Err(Error::new(Kind::Guard, format!("Lambda reports CodeSha256 {} for the new version {}, but the local zip is {code}; the upload was altered on the way", remote.unwrap_or("(none)"), version.arn)).fix("delete that version and publish again")),
    }
}

/// A version published from a signed zip must say it was signed by this run's job, with the
/// configured profile version.
fn check_signature(version: &Version, job_arn: &str, artifact: &Artifact<'_>) -> Result<()> {
    let profile = artifact.signer.map(|s| s.profile.version_arn.as_str());
    let job = version.signing_job_arn.as_deref();
    let by = version.signing_profile_version_arn.as_deref();
    if signer::job_id(job.unwrap_or_default()) == signer::job_id(job_arn) && by == profile {
        return Ok(());
    }
    Err(Error::new(Kind::Guard, format!("Lambda reports the new version {} as signed by job {} with profile version {}, but this run's job is {job_arn} with {}; the signed zip was altered on the way", version.arn, job.unwrap_or("(none)"), by.unwrap_or("(none)"), profile.unwrap_or("(none)"))).fix("delete that version and publish again"))
}

// ---- settling a race ------------------------------------------------------------------------

/// After this run published `candidate` (`own_candidate`), or found it with `find` after a lost
/// response: if an older version is confirmed to hold the same artifact, use that one, and
/// delete the versions this run provably made (they carry its run id, or `candidate` came back
/// from its own publish call) and that are confirmed to hold the artifact. Runs before anything
/// names the version, so no ARN that was handed out is ever deleted. Nothing another run or tool
/// made is touched: their twins are reported. Twins are recent, so the newest page holds them.
pub async fn settle(
    layer: &LayerApi,
    candidate: Version,
    own_candidate: bool,
    artifact: &Artifact<'_>,
    run: &str,
    notes: &mut Vec<String>,
) -> Result<Version> {
    let listed = layer.list_page(None).await?;
    let page = sort_page(listed.versions, &artifact.identity);
    let older: Vec<Version> = page
        .marked
        .iter()
        .filter(|v| v.number < candidate.number)
        .cloned()
        .collect();
    // What the run defers to must be confirmed: an older twin, or the candidate itself when
    // `find` confirmed it after a lost response. A candidate this run just published with no
    // confirmed older twin is kept, and nothing is deleted.
    let survivor = match oldest_confirmed(layer, &older, artifact).await?.0 {
        Some(older) => older,
        None if !own_candidate => candidate.clone(),
        None => return Ok(candidate),
    };
    let is_own = |v: &Version| read_marker(&v.description).and_then(|m| m.run) == Some(run);
    let mut own: Vec<Version> = page
        .marked
        .into_iter()
        .filter(|v| v.number > survivor.number && v.number != candidate.number && is_own(v))
        .collect();
    if candidate.number != survivor.number && (own_candidate || is_own(&candidate)) {
        own.push(candidate);
    }
    for version in own {
        delete_own_twin(layer, version, &survivor, artifact, notes).await?;
    }
    Ok(survivor)
}

async fn delete_own_twin(
    layer: &LayerApi,
    version: Version,
    survivor: &Version,
    artifact: &Artifact<'_>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let number = version.number;
    // A listed version carries no content: read it first.
    let version = match version.code_sha256 {
        Some(_) => version,
        None => match layer.get(number).await? {
            Some(version) => version,
            None => return Ok(()),
        },
    };
    match artifact.check(&version).await? {
        Verdict::Holds => {}
        Verdict::Other => return Ok(()),
        Verdict::Unproven(why) => {
            notes.push(why);
            return Ok(());
        }
    }
    notes.push(match layer.delete(number).await {
        Ok(()) => format!(
            "this run's version {number} duplicated the older version {} (another run published the same content first); deleted it before handing out any ARN",
            survivor.number
        ),
        Err(err) => format!(
            "this run's version {number} duplicates version {} but could not be deleted ({err}); delete it by hand",
            survivor.number
        ),
    });
    Ok(())
}
