//! Which version a command acts on, per region: from `--manifest` (every region it names,
//! each with the CodeSha256 that was tested there), `--arn`, or `--version`; and the checks
//! that it belongs to the configured layer, region, account and partition.

use std::path::PathBuf;

use crate::aws;
use crate::aws::layers::VersionArn;
use crate::cli::VersionArgs;
use crate::error::{Error, Kind, Result};
use crate::project::config::LayerConfig;
use crate::schema;

/// The version a command acts on in one region, as the user named it.
pub struct Pick {
    pub name: String,
    pub region: Option<String>,
    pub account: Option<String>,
    pub version: i64,
    /// From a manifest: the content that was tested in this region.
    pub code_sha256: Option<String>,
    /// From a manifest: how the version tested in this region was signed (none: unsigned).
    pub signature: Option<schema::Signature>,
    /// The manifest it comes from.
    pub file: Option<PathBuf>,
    /// The commit the manifest records, for the stages' parameters.
    pub git_commit: Option<String>,
}

/// The picks `--manifest`, `--arn` or `--version` name, narrowed to `--region`.
pub fn picks(which: &VersionArgs, flag: Option<&str>, layers: &[LayerConfig]) -> Result<Vec<Pick>> {
    narrow(named(which, flag, layers)?, flag)
}

/// The picks grouped by layer, each checked against the layer's configuration: every check
/// before the first AWS call.
pub fn by_layer<'a, 'p>(
    picks: &'p [Pick],
    layers: &'a [LayerConfig],
    flag: Option<&str>,
) -> Result<Vec<(&'a LayerConfig, Vec<&'p Pick>)>> {
    let mut groups: Vec<(&LayerConfig, Vec<&Pick>)> = Vec::new();
    for pick in picks {
        let layer = pick_layer(layers, pick)?;
        check_region(layer, pick, flag)?;
        check_account(layer, pick)?;
        match groups.iter_mut().find(|(l, _)| l.name == layer.name) {
            Some((_, group)) => group.push(pick),
            None => groups.push((layer, vec![pick])),
        }
    }
    Ok(groups)
}

fn named(args: &VersionArgs, flag: Option<&str>, layers: &[LayerConfig]) -> Result<Vec<Pick>> {
    if !args.manifest.is_empty() {
        let mut picks: Vec<Pick> = Vec::new();
        for path in &args.manifest {
            for pick in manifest_picks(path)? {
                let same = picks
                    .iter()
                    .find(|p| p.name == pick.name && p.region == pick.region);
                match same {
                    Some(p) if p.version == pick.version => {}
                    Some(p) => {
                        return Err(Error::new(
                            Kind::Config,
                            format!(
                                "--manifest {} and --manifest {} name different versions of {} in {}",
                                p.file.as_deref().unwrap_or(path).display(),
                                path.display(),
                                pick.name,
                                pick.region.as_deref().unwrap_or("the default region")
                            ),
                        )
                        .fix("pass one manifest per layer"));
                    }
                    None => picks.push(pick),
                }
            }
        }
        return Ok(picks);
    }
    if let Some(arn) = &args.arn {
        let parsed = VersionArn::parse(arn).ok_or_else(|| {
            Error::new(Kind::Config, format!("--arn {arn}: not a LayerVersionArn"))
                .fix("it looks like arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION")
        })?;
        check_partition(arn, &parsed)?;
        return Ok(vec![Pick {
            name: parsed.name,
            region: Some(parsed.region),
            account: Some(parsed.account),
            version: parsed.version,
            code_sha256: None,
            signature: None,
            file: None,
            git_commit: None,
        }]);
    }
    let version = args
        .version
        .expect("clap requires one of --version, --arn, --manifest");
    let [layer] = layers else {
        return Err(Error::new(
            Kind::Config,
            "--version names a version of one layer, but several packages are selected",
        )
        .fix("pick one with -p"));
    };
    if layer.regions.len() > 1 && flag.is_none() {
        return Err(Error::new(
            Kind::Config,
            format!(
                "--version {version}: layer {} is configured for several regions ({}), and version numbers differ per region",
                layer.name,
                layer.regions.join(", ")
            ),
        )
        .fix("name the region with --region, or pass --manifest to promote every region of a publish"));
    }
    Ok(vec![Pick {
        name: layer.name.clone(),
        region: layer.one_region(flag)?,
        account: None,
        version,
        code_sha256: None,
        signature: None,
        file: None,
        git_commit: None,
    }])
}

/// One pick per region of the manifest's `layer_version_arns`, each with the CodeSha256 the
/// manifest records for that region.
fn manifest_picks(path: &std::path::Path) -> Result<Vec<Pick>> {
    let m = schema::read_manifest(path)?;
    let shown = path.display();
    let own = &m.header.region;
    // The manifest's own version is named twice; both must say the same.
    let mut arns = m.layer_version_arns.clone();
    let mut codes = m.code_sha256s.clone();
    let arn = arns
        .entry(own.clone())
        .or_insert(m.layer_version_arn.clone());
    let code = codes.entry(own.clone()).or_insert(m.code_sha256.clone());
    let mut signatures = m.signatures.clone();
    if let Some(signature) = &m.signature {
        signatures.entry(own.clone()).or_insert(signature.clone());
    }
    let signed_alike = signatures.get(own) == m.signature.as_ref();
    if *arn != m.layer_version_arn || *code != m.code_sha256 || !signed_alike {
        return Err(Error::new(
            Kind::Guard,
            format!("--manifest {shown}: layer_version_arn, code_sha256 and signature disagree with layer_version_arns.{own}, code_sha256s.{own} and signatures.{own}"),
        )
        .fix("the manifest was edited; refusing to promote anything other than what was tested"));
    }
    let mut picks = Vec::new();
    for (region, arn) in arns {
        let parsed = VersionArn::parse(&arn).ok_or_else(|| {
            Error::new(
                Kind::Config,
                format!("--manifest {shown}: layer_version_arns.{region} is not a LayerVersionArn ({arn})"),
            )
            .fix("pass the JSON that publish wrote")
        })?;
        let code = codes.get(&region).cloned().ok_or_else(|| {
            Error::new(
                Kind::Guard,
                format!("--manifest {shown}: it records no CodeSha256 for {region}, so the version there cannot be checked"),
            )
            .fix("publish again with this cargo-layer to record each region's CodeSha256, or promote that region with --arn")
        })?;
        if parsed.name != m.header.name || parsed.region != region {
            return Err(Error::new(
                Kind::Guard,
                format!("--manifest {shown}: layer_version_arns.{region} names {arn}, another layer or region"),
            )
            .fix("refusing to promote a version the manifest does not describe"));
        }
        picks.push(Pick {
            name: m.header.name.clone(),
            signature: signatures.get(&region).cloned(),
            region: Some(region),
            account: Some(parsed.account),
            version: parsed.version,
            code_sha256: Some(code),
            file: Some(path.to_path_buf()),
            git_commit: m.git_commit.clone(),
        });
    }
    Ok(picks)
}

/// `--region` narrows a multi-region promotion to that region.
fn narrow(picks: Vec<Pick>, flag: Option<&str>) -> Result<Vec<Pick>> {
    let Some(flag) = flag else {
        return Ok(picks);
    };
    if picks.iter().any(|p| p.region.as_deref() == Some(flag))
        || picks.iter().all(|p| p.region.is_none())
    {
        return Ok(picks
            .into_iter()
            .filter(|p| p.region.is_none() || p.region.as_deref() == Some(flag))
            .collect());
    }
    let found: Vec<&str> = picks.iter().filter_map(|p| p.region.as_deref()).collect();
    Err(Error::new(
        Kind::Guard,
        format!(
            "the version is in {}, but --region is {flag}",
            found.join(", ")
        ),
    )
    .fix("layers are regional and a grant never crosses regions"))
}

fn check_partition(arn: &str, parsed: &VersionArn) -> Result<()> {
    let partition = aws::partition(&parsed.region);
    if parsed.partition == partition {
        return Ok(());
    }
    Err(Error::new(
        Kind::Guard,
        format!(
            "--arn {arn}: the partition is {}, but {} is in partition {partition}",
            parsed.partition, parsed.region
        ),
    )
    .fix(format!(
        "ARNs of that region start with arn:{partition}:lambda:"
    )))
}

fn pick_layer<'a>(layers: &'a [LayerConfig], pick: &Pick) -> Result<&'a LayerConfig> {
    layers.iter().find(|l| l.name == pick.name).ok_or_else(|| {
        let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
        Error::new(
            Kind::Guard,
            format!(
                "the version belongs to layer \"{}\", but the selected Cargo.toml configures {}",
                pick.name,
                names.join(", ")
            ),
        )
        .fix("refusing to grant another layer's version")
    })
}

/// The version's region must be one the layer is configured for.
fn check_region(layer: &LayerConfig, pick: &Pick, flag: Option<&str>) -> Result<()> {
    let Some(region) = &pick.region else {
        return layer.one_region(flag).map(|_| ());
    };
    if !layer.regions.is_empty() && !layer.regions.contains(region) {
        return Err(Error::new(
            Kind::Guard,
            format!(
                "the version is in {region}, but layer {} is configured for {}",
                layer.name,
                layer.regions.join(", ")
            ),
        )
        .fix("layers are regional and a grant never crosses regions"));
    }
    Ok(())
}

fn check_account(layer: &LayerConfig, pick: &Pick) -> Result<()> {
    let configured = layer.access(pick.region.as_deref()).artifacts_account;
    match (&configured, &pick.account) {
        (Some(configured), Some(actual)) if configured != actual => Err(Error::new(
            Kind::Guard,
            format!("the version lives in account {actual}, but artifacts-account is {configured}"),
        )
        .fix("promote versions of the artifacts account only")),
        _ => Ok(()),
    }
}
