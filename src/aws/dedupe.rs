//! One artifact, one version: finding the version that already holds these exact bytes and this
//! exact metadata, and, after a publish, deferring to an older one without ever deleting a
//! version this run cannot prove it made.
//!
//! ListLayerVersions returns no CodeSha256, so cargo-layer writes it into the Description as a
//! marker, with the id of the run that published it. The marker is only a hint: a version is
//! reused or deleted only after GetLayerVersion confirmed its CodeSha256. An unchanged re-run
//! costs one list call per page of 50 versions up to the match, and one GetLayerVersion.
//! Versions other tools published carry no marker; the newest few of them are compared by
//! GetLayerVersion, and the result says how many were left unchecked.

use crate::aws::layers::{LayerApi, Version};
use crate::error::Result;
use crate::project::limits::MARKER_PREFIX;
use crate::schema::{Search, SearchMethod};

/// Unmarked versions compared by hash, newest first, before giving up.
pub const FALLBACK_SCAN: usize = 10;

/// What makes two versions one artifact. Lambda stores the runtimes, architectures and license
/// on the version and never lets them change, so a version with other metadata is another
/// artifact even when its bytes are equal. The description is not part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub code_sha256: String,
    pub runtimes: Vec<String>,
    pub architectures: Vec<String>,
    pub license: Option<String>,
}

impl Identity {
    pub fn new(
        code_sha256: &str,
        runtimes: &[String],
        architectures: &[String],
        license: Option<&str>,
    ) -> Identity {
        Identity {
            code_sha256: code_sha256.to_string(),
            runtimes: sorted(runtimes),
            architectures: sorted(architectures),
            license: license.filter(|l| !l.is_empty()).map(str::to_string),
        }
    }

    /// How `version`'s metadata differs from this identity, one phrase per key; empty when
    /// it is the same.
    pub fn differences(&self, version: &Version) -> Vec<String> {
        let mut out = Vec::new();
        let mut compare = |key: &str, ours: String, theirs: String| {
            if ours != theirs {
                out.push(format!("{key} {theirs} (Cargo.toml: {ours})"));
            }
        };
        compare(
            "compatible-runtimes",
            list(&self.runtimes),
            list(&sorted(&version.runtimes)),
        );
        compare(
            "compatible-architectures",
            list(&self.architectures),
            list(&sorted(&version.architectures)),
        );
        compare(
            "license",
            quoted(self.license.as_deref()),
            quoted(version.license.as_deref().filter(|l| !l.is_empty())),
        );
        out
    }

    fn same_metadata(&self, version: &Version) -> bool {
        self.differences(version).is_empty()
    }
}

fn sorted(items: &[String]) -> Vec<String> {
    let mut items = items.to_vec();
    items.sort();
    items
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

fn quoted(text: Option<&str>) -> String {
    text.map_or_else(|| "(none)".to_string(), |t| format!("\"{t}\""))
}

/// A fresh id for this run, written into the marker of every version it publishes: the proof
/// that a version is this run's own, even when the publish response was lost.
pub fn run_id() -> String {
    format!("{:08x}", fastrand::u32(..))
}

pub fn marker(code_sha256: &str, run: &str) -> String {
    format!("{MARKER_PREFIX}{code_sha256} run:{run}]")
}

/// The Description to publish: the user's text, then the marker.
pub fn description(user: Option<&str>, code_sha256: &str, run: &str) -> String {
    match user.map(str::trim) {
        Some(text) if !text.is_empty() => format!("{text} {}", marker(code_sha256, run)),
        _ => marker(code_sha256, run),
    }
}

/// What a Description's marker says: the content hash, and the run that published it (markers
/// written before run ids existed carry none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker<'a> {
    pub code_sha256: &'a str,
    pub run: Option<&'a str>,
}

pub fn read_marker(description: &str) -> Option<Marker<'_>> {
    let start = description.find(MARKER_PREFIX)? + MARKER_PREFIX.len();
    let body = &description[start..];
    let body = &body[..body.find(']')?];
    Some(match body.split_once(" run:") {
        Some((code_sha256, run)) => Marker {
            code_sha256,
            run: Some(run),
        },
        None => Marker {
            code_sha256: body,
            run: None,
        },
    })
}

pub struct Found {
    /// The oldest version confirmed to hold this identity, on the first page that holds one.
    pub version: Option<Version>,
    pub search: Search,
    /// What the search saw that a reader should know: twins, copied markers, changed metadata.
    pub notes: Vec<String>,
}

/// Versions of one listing page that carry this content's marker, sorted into what can be
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
            Some(m) if m.code_sha256 != identity.code_sha256 => {}
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

/// Look through the listed versions for one that holds `identity`.
pub async fn find(layer: &LayerApi, identity: &Identity) -> Result<Found> {
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
        let (confirmed, rejected) = oldest_confirmed(layer, &page.marked, identity).await?;
        notes.extend(copied_markers(&rejected));
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
    let (confirmed, rejected) = oldest_confirmed(layer, &window, identity).await?;
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

/// GetLayerVersion on each candidate in order until one holds `identity`: that version (with
/// what AWS says it holds), and the candidates read before it that did not.
async fn oldest_confirmed(
    layer: &LayerApi,
    candidates: &[Version],
    identity: &Identity,
) -> Result<(Option<Version>, Vec<i64>)> {
    let mut rejected = Vec::new();
    for candidate in candidates {
        match confirm(layer, candidate.number, identity).await? {
            Some(version) => return Ok((Some(version), rejected)),
            None => rejected.push(candidate.number),
        }
    }
    Ok((None, rejected))
}

/// Marked versions whose bytes GetLayerVersion did not confirm: a copied marker, or a version
/// deleted since the listing.
fn copied_markers(rejected: &[i64]) -> impl Iterator<Item = String> + '_ {
    rejected.iter().map(|number| {
        format!(
            "version {number} carries this content's marker, but GetLayerVersion did not confirm these bytes; ignored and left alone"
        )
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

/// GetLayerVersion, kept only when the version really holds `identity`: its CodeSha256 and its
/// metadata as AWS reports them now.
pub async fn confirm(
    layer: &LayerApi,
    number: i64,
    identity: &Identity,
) -> Result<Option<Version>> {
    Ok(layer.get(number).await?.filter(|v| {
        v.code_sha256.as_deref() == Some(identity.code_sha256.as_str()) && identity.same_metadata(v)
    }))
}

/// After this run published `candidate` (`own_candidate`), or found it with `find` after a lost
/// response: if an older version is confirmed to hold the same artifact, use that one, and
/// delete the versions this run provably made (they carry its run id, or `candidate` came back
/// from its own publish call) and whose bytes were confirmed equal. Runs before anything names
/// the version, so no ARN that was handed out is ever deleted. Nothing another run or tool made
/// is touched: their twins are reported. Twins are recent, so the newest page holds them.
pub async fn settle(
    layer: &LayerApi,
    candidate: Version,
    own_candidate: bool,
    identity: &Identity,
    run: &str,
    notes: &mut Vec<String>,
) -> Result<Version> {
    let listed = layer.list_page(None).await?;
    let page = sort_page(listed.versions, identity);
    let older: Vec<Version> = page
        .marked
        .iter()
        .filter(|v| v.number < candidate.number)
        .cloned()
        .collect();
    // What the run defers to must be confirmed by GetLayerVersion: an older twin, or the
    // candidate itself when `find` confirmed it after a lost response. A candidate this run just
    // published with no confirmed older twin is kept, and nothing is deleted.
    let survivor = match oldest_confirmed(layer, &older, identity).await?.0 {
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
        delete_own_twin(layer, version, &survivor, identity, notes).await?;
    }
    Ok(survivor)
}

async fn delete_own_twin(
    layer: &LayerApi,
    version: Version,
    survivor: &Version,
    identity: &Identity,
    notes: &mut Vec<String>,
) -> Result<()> {
    let number = version.number;
    let holds_bytes = match version.code_sha256 {
        Some(_) => version.code_sha256.as_deref() == Some(identity.code_sha256.as_str()),
        None => confirm(layer, number, identity).await?.is_some(),
    };
    if !holds_bytes {
        return Ok(());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::limits::{MARKER_LEN, MAX_DESCRIPTION, MAX_DESCRIPTION_AWS};

    const SHA: &str = "88NlK8yq5ogouk7uW0BstGjk5o7cLMPlCUFKc+rooak=";

    #[test]
    fn description_fits_lambda() {
        let run = run_id();
        assert_eq!(marker(SHA, &run).len() + 1, MARKER_LEN);
        let longest = description(Some(&"x".repeat(MAX_DESCRIPTION)), SHA, &run);
        assert_eq!(longest.chars().count(), MAX_DESCRIPTION_AWS);
        assert_eq!(description(None, SHA, &run), marker(SHA, &run));
        assert_eq!(description(Some("  "), SHA, &run), marker(SHA, &run));
    }

    #[test]
    fn markers_read_back_with_and_without_a_run_id() {
        let text = description(Some("my layer"), SHA, "0a1b2c3d");
        assert_eq!(
            read_marker(&text),
            Some(Marker {
                code_sha256: SHA,
                run: Some("0a1b2c3d")
            })
        );
        let old = format!("{MARKER_PREFIX}{SHA}]");
        assert_eq!(
            read_marker(&old),
            Some(Marker {
                code_sha256: SHA,
                run: None
            })
        );
        assert_eq!(read_marker("published by another tool"), None);
        assert_eq!(read_marker(&format!("{MARKER_PREFIX}{SHA}")), None);
    }

    #[test]
    fn identity_ignores_order_and_names_what_differs() {
        let runtimes = ["provided.al2023".to_string(), "provided.al2".to_string()];
        let ours = Identity::new(SHA, &runtimes, &["x86_64".into()], Some("MIT"));
        let mut version = Version {
            runtimes: vec!["provided.al2".into(), "provided.al2023".into()],
            architectures: vec!["x86_64".into()],
            license: Some("MIT".into()),
            ..Version::default()
        };
        assert!(ours.differences(&version).is_empty());
        version.runtimes = vec!["provided.al2023".into()];
        version.license = None;
        assert_eq!(
            ours.differences(&version),
            [
                "compatible-runtimes [provided.al2023] (Cargo.toml: [provided.al2, provided.al2023])",
                "license (none) (Cargo.toml: \"MIT\")"
            ]
        );
    }
}
