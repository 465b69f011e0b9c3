//! What the stage accounts run: through each stage role, the function versions (`$LATEST` and
//! every published one) whose layers include a version of this layer, and the aliases that send
//! traffic to them. `status --where-used` shows them; `prune` never deletes what they use.

use futures_util::{StreamExt, stream};

use crate::aws::functions::{self, Function};
use crate::aws::grant::{self, Wanted};
use crate::aws::layers::VersionArn;
use crate::aws::policy::Policy;
use crate::aws::{self, SessionKey};
use crate::commands::deliver::{ACCOUNTS_AT_ONCE, Stages};
use crate::error::{Error, Result};
use crate::output::progress::Progress;
use crate::project::config::{self, LayerConfig, Stage};
use crate::schema::LookedInto;

/// One function version that uses a version of the layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    pub stage: String,
    pub account: String,
    pub function: String,
    /// `$LATEST` or the published version's number.
    pub qualifier: String,
    pub aliases: Vec<String>,
    /// The layer version.
    pub version: i64,
}

/// What looking into the stage accounts of one region found.
#[derive(Debug, Default)]
pub struct Seen {
    pub looked_into: Vec<LookedInto>,
    pub uses: Vec<Use>,
}

impl Seen {
    /// The accounts whose functions could not be listed, or not completely.
    pub fn unseen(&self) -> impl Iterator<Item = &LookedInto> {
        self.looked_into.iter().filter(|l| l.error.is_some())
    }
}

/// Every account of the stages that have a role and are granted in `region`, each once, with
/// the first stage naming it.
pub fn accounts<'a>(layer: &'a LayerConfig, region: &str) -> Vec<(&'a str, &'a Stage, &'a str)> {
    let mut accounts: Vec<(&str, &Stage, &str)> = Vec::new();
    let here = |(_, s): &(&String, &Stage)| s.role.is_some() && s.is_in(region);
    for (name, stage) in layer.stages.iter().filter(here) {
        for account in stage.readers() {
            if !accounts.iter().any(|(_, _, a)| *a == account) {
                accounts.push((name, stage, account));
            }
        }
    }
    accounts
}

/// Look into the stage accounts in `region`, with a progress line; nothing when no stage has
/// a role.
pub async fn look(stages: &Stages<'_>, region: &str, progress: &Progress) -> Seen {
    let count = accounts(stages.layer, region).len();
    if count == 0 {
        return Seen::default();
    }
    let step = progress.step(format!(
        "looking into {count} stage account(s) for the functions that use {} in {region}",
        stages.layer.name
    ));
    let seen = stages.uses(region).await;
    let unseen: Vec<&LookedInto> = seen.unseen().collect();
    step.finish(format!(
        "{} function version(s) use it; {} of {count} account(s) could not be looked into",
        seen.uses.len(),
        unseen.len()
    ));
    for looked in unseen {
        progress.warn(format!(
            "could not look into stage account {} (stage {}) in {region}: {}",
            looked.account,
            looked.stage,
            looked.error.as_deref().unwrap_or_default()
        ));
    }
    seen
}

impl Stages<'_> {
    /// Every stage account with a role, concurrently: the function versions in `region` that
    /// use a version of this layer, as published by the artifacts account (`from`'s).
    pub async fn uses(&self, region: &str) -> Seen {
        let looks: Vec<(LookedInto, Vec<Use>)> = stream::iter(accounts(self.layer, region))
            .map(|(name, stage, account)| self.look_into(name, stage, account, region))
            .buffered(ACCOUNTS_AT_ONCE)
            .collect()
            .await;
        let mut seen = Seen::default();
        for (looked, uses) in looks {
            seen.looked_into.push(looked);
            seen.uses.extend(uses);
        }
        seen
    }

    async fn look_into(
        &self,
        name: &str,
        stage: &Stage,
        account: &str,
        region: &str,
    ) -> (LookedInto, Vec<Use>) {
        let mut looked = LookedInto {
            stage: name.to_string(),
            account: account.to_string(),
            error: None,
        };
        let role = config::fill(
            stage.role.as_deref().unwrap_or_default(),
            account,
            &self.layer.name,
            name,
            aws::partition(region),
        );
        let key = SessionKey::stage(&role, account, name);
        let listed = async {
            let session = self.sessions.open_from(self.from, &key).await?;
            let lambda = session.region(Some(region))?.lambda;
            let listed = functions::list(&lambda, region).await?;
            Ok::<_, Error>((lambda, listed))
        };
        let (lambda, listed) = match listed.await {
            Ok(found) => found,
            Err(error) => {
                looked.error = Some(error.to_string());
                return (looked, Vec::new());
            }
        };
        let mut uses: Vec<Use> = listed
            .iter()
            .flat_map(|f| self.versions_used(f, region).map(move |v| (f, v)))
            .map(|(f, version)| Use {
                stage: name.to_string(),
                account: account.to_string(),
                function: f.name.clone(),
                qualifier: f.version.clone(),
                aliases: Vec::new(),
                version,
            })
            .collect();
        let mut names: Vec<String> = uses.iter().map(|u| u.function.clone()).collect();
        names.dedup();
        for function in names {
            match functions::aliases(&lambda, &function).await {
                Ok(aliases) => {
                    for used in uses.iter_mut().filter(|u| u.function == function) {
                        used.aliases = aliases
                            .iter()
                            .filter(|a| a.versions.contains(&used.qualifier))
                            .map(|a| a.name.clone())
                            .collect();
                    }
                }
                Err(error) => {
                    looked.error.get_or_insert(error.to_string());
                }
            }
        }
        (looked, uses)
    }

    /// The versions of this layer (the artifacts account's, in `region`) among a function's
    /// layers.
    fn versions_used<'f>(
        &self,
        function: &'f Function,
        region: &str,
    ) -> impl Iterator<Item = i64> + 'f {
        let owner = self.from.caller().account.clone();
        let (name, region) = (self.layer.name.clone(), region.to_string());
        function
            .layers
            .iter()
            .filter_map(|arn| VersionArn::parse(arn))
            .filter(move |a| a.account == owner && a.region == region && a.name == name)
            .map(|a| a.version)
    }
}

/// The grants of Cargo.toml that reach `account`: its own statement in each stage that names
/// it, and the organization or public statement of a stage that hands off to it.
pub fn reaching(layer: &LayerConfig, account: &str) -> Result<Vec<Wanted>> {
    Ok(grant::wanted(layer, &[])?
        .into_iter()
        .filter(|w| {
            let reads = layer
                .stages
                .get(&w.stage)
                .is_some_and(|s| s.readers().contains(&account));
            reads && (w.principal() == account || w.principal() == "*")
        })
        .collect())
}

/// `policy` holds one of `grants` as Cargo.toml wants it.
pub fn holds(policy: &Policy, grants: &[Wanted]) -> bool {
    grants
        .iter()
        .any(|w| policy.get(&w.statement_id()).is_some_and(|s| w.matches(s)))
}
