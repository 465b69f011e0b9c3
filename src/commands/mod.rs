//! One module per subcommand, each with its `run`, and what several of them share: the
//! concurrent fan-out over a layer's regions, and (in `deliver`) what publish and promote both
//! deliver once a version is chosen.

pub mod deliver;
pub mod iam_policy;
pub mod once;
pub mod package;
pub mod pick;
pub mod promote;
pub mod prune;
pub mod publish;
pub mod revoke;
pub mod setup;
pub mod shell;
pub mod status;
pub mod used;
pub mod verify;

use futures_util::{StreamExt, stream};

use crate::aws::{Session, Sessions};
use crate::error::{Error, Kind, Result};
use crate::output::progress::Progress;
use crate::output::{Failure, Run};
use crate::project::config::LayerConfig;
use crate::schema::Outcome;

/// Regions handled at once; within a region, grants go four at a time (see `grant`).
const REGIONS_AT_ONCE: usize = 8;

/// Run `work` for each region, `REGIONS_AT_ONCE` at a time, and return every region's result
/// in the order of `regions`: a failing region neither stops nor hides the others. With more
/// than one region, each region's progress lines name it.
pub async fn each_region<'a, T, F, Fut>(
    regions: &'a [Option<String>],
    progress: &Progress,
    work: F,
) -> Vec<Result<T>>
where
    F: Fn(Option<&'a str>, Progress) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let several = regions.len() > 1;
    stream::iter(regions)
        .map(|region| {
            let progress = match region {
                Some(name) if several => progress.in_region(name),
                _ => progress.clone(),
            };
            work(region.as_deref(), progress)
        })
        .buffered(REGIONS_AT_ONCE)
        .collect()
        .await
}

/// The artifacts session of each region of a layer: one per partition or region that
/// configures its own account or role, each account confirmed before the command goes on.
pub struct Opened<'a> {
    sessions: &'a Sessions<'a>,
    layer: &'a LayerConfig,
    by_region: Vec<(Option<String>, Session)>,
}

impl<'a> Opened<'a> {
    pub async fn open(
        sessions: &'a Sessions<'a>,
        layer: &'a LayerConfig,
        regions: &[Option<String>],
    ) -> Result<Opened<'a>> {
        let mut by_region = Vec::with_capacity(regions.len());
        for region in regions {
            let session = sessions.session(layer, region.as_deref()).await?;
            by_region.push((region.clone(), session));
        }
        Ok(Opened {
            sessions,
            layer,
            by_region,
        })
    }

    /// The session of `region`, one of those it was opened for.
    pub fn session(&self, region: Option<&str>) -> &Session {
        self.by_region
            .iter()
            .find(|(r, _)| r.as_deref() == region)
            .map(|(_, session)| session)
            .expect("every region of the command was opened")
    }

    /// The stage-side work in `region`, through that region's session.
    pub fn stages(&self, region: Option<&str>) -> deliver::Stages<'_> {
        deliver::Stages {
            sessions: self.sessions,
            from: self.session(region),
            layer: self.layer,
        }
    }
}

/// Record one region's result in `run`: its outcome, or its failure (an interruption stops the
/// whole run).
pub fn record(
    run: &mut Run,
    layer: &str,
    region: Option<&str>,
    result: Result<Outcome>,
) -> Result<()> {
    match result {
        Ok(outcome) => run.push(outcome),
        Err(error) => failed(run, layer, region, error)?,
    }
    Ok(())
}

/// Record a region that failed; an interruption is returned instead.
pub fn failed(run: &mut Run, layer: &str, region: Option<&str>, error: Error) -> Result<()> {
    if error.kind == Kind::Interrupted {
        return Err(error);
    }
    run.failures.push(Failure {
        layer: layer.to_string(),
        region: region.unwrap_or("the default region").to_string(),
        error,
    });
    Ok(())
}
