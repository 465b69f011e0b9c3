//! Which Amazon Linux, and so which glibc, each Lambda runtime runs on, and when Lambda deprecates
//! the runtimes cargo-layer tracks. A binary that needs a newer glibc than its runtime has is
//! published fine and then dies at cold start (`version 'GLIBC_2.28' not found`).
//!
//! Source: "Lambda runtimes", <https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html>
//! (the operating system of each runtime, and the deprecation table of the OS-only runtimes).

use std::fmt;

use time::{Date, Month};

/// A glibc version such as 2.26 (`GLIBC_2.2.5` has a third part).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Glibc {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Glibc {
    pub const fn new(major: u32, minor: u32) -> Glibc {
        Glibc {
            major,
            minor,
            patch: 0,
        }
    }

    /// `2.26` or `2.2.5`, as in a `GLIBC_` version name.
    pub fn parse(text: &str) -> Option<Glibc> {
        let mut parts = text.split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = parts.next().unwrap_or(Some(0))?;
        parts.next().is_none().then_some(Glibc {
            major,
            minor,
            patch,
        })
    }
}

impl fmt::Display for Glibc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if self.patch != 0 {
            write!(f, ".{}", self.patch)?;
        }
        Ok(())
    }
}

/// An Amazon Linux release a Lambda runtime runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    AmazonLinux1,
    AmazonLinux2,
    AmazonLinux2023,
}

impl Os {
    pub fn glibc(self) -> Glibc {
        match self {
            Os::AmazonLinux1 => Glibc::new(2, 17),
            Os::AmazonLinux2 => Glibc::new(2, 26),
            Os::AmazonLinux2023 => Glibc::new(2, 34),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Os::AmazonLinux1 => "Amazon Linux",
            Os::AmazonLinux2 => "Amazon Linux 2",
            Os::AmazonLinux2023 => "Amazon Linux 2023",
        }
    }
}

/// The three dates of Lambda's deprecation table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deprecation {
    pub deprecated: Date,
    pub block_create: Option<Date>,
    pub block_update: Option<Date>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Supported; deprecation dates as the table lists them, if it lists any yet.
    Dated(Deprecation),
    /// Deprecated long ago; the table no longer matters for a new layer.
    Retired,
    /// Supported, and cargo-layer tracks no date for it.
    Untracked,
}

#[derive(Debug, Clone, Copy)]
pub struct Runtime {
    pub id: &'static str,
    pub os: Os,
    pub lifecycle: Lifecycle,
}

impl Runtime {
    pub fn glibc(&self) -> Glibc {
        self.os.glibc()
    }
}

/// The runtime a layer is checked against when `compatible-runtimes` is empty.
pub const DEFAULT_RUNTIME: &str = "provided.al2023";

const fn date(year: i32, month: Month, day: u8) -> Date {
    match Date::from_calendar_date(year, month, day) {
        Ok(date) => date,
        Err(_) => panic!("invalid date in the runtime table"),
    }
}

const PROVIDED_AL2: Lifecycle = Lifecycle::Dated(Deprecation {
    deprecated: date(2026, Month::June, 30),
    block_create: Some(date(2026, Month::July, 31)),
    block_update: Some(date(2026, Month::August, 31)),
});

const PROVIDED_AL2023: Lifecycle = Lifecycle::Dated(Deprecation {
    deprecated: date(2029, Month::June, 30),
    block_create: None,
    block_update: None,
});

use Lifecycle::{Retired, Untracked};
use Os::{AmazonLinux1 as AL1, AmazonLinux2 as AL2, AmazonLinux2023 as AL2023};

const fn rt(id: &'static str, os: Os, lifecycle: Lifecycle) -> Runtime {
    Runtime { id, os, lifecycle }
}

/// Every runtime identifier Lambda's API accepts (a unit test keeps this in step with the SDK).
pub const RUNTIMES: &[Runtime] = &[
    rt("provided.al2023", AL2023, PROVIDED_AL2023),
    rt("provided.al2", AL2, PROVIDED_AL2),
    rt("provided", AL1, Retired),
    rt("python3.15", AL2023, Untracked),
    rt("python3.14", AL2023, Untracked),
    rt("python3.13", AL2023, Untracked),
    rt("python3.12", AL2023, Untracked),
    rt("python3.11", AL2, Untracked),
    rt("python3.10", AL2, Untracked),
    rt("python3.9", AL2, Untracked),
    rt("python3.8", AL2, Retired),
    rt("python3.7", AL1, Retired),
    rt("python3.6", AL1, Retired),
    rt("python2.7", AL1, Retired),
    rt("nodejs26.x", AL2023, Untracked),
    rt("nodejs24.x", AL2023, Untracked),
    rt("nodejs22.x", AL2023, Untracked),
    rt("nodejs20.x", AL2023, Untracked),
    rt("nodejs18.x", AL2, Untracked),
    rt("nodejs16.x", AL2, Retired),
    rt("nodejs14.x", AL2, Retired),
    rt("nodejs12.x", AL2, Retired),
    rt("nodejs10.x", AL2, Retired),
    rt("nodejs8.10", AL1, Retired),
    rt("nodejs6.10", AL1, Retired),
    rt("nodejs4.3-edge", AL1, Retired),
    rt("nodejs4.3", AL1, Retired),
    rt("nodejs", AL1, Retired),
    rt("java25", AL2023, Untracked),
    rt("java21", AL2023, Untracked),
    rt("java17.al2023", AL2023, Untracked),
    rt("java11.al2023", AL2023, Untracked),
    rt("java8.al2023", AL2023, Untracked),
    rt("java17", AL2, Untracked),
    rt("java11", AL2, Untracked),
    rt("java8.al2", AL2, Untracked),
    rt("java8", AL1, Retired),
    rt("dotnet10", AL2023, Untracked),
    rt("dotnet8", AL2023, Untracked),
    rt("dotnet6", AL2, Retired),
    rt("dotnetcore3.1", AL2, Retired),
    rt("dotnetcore2.1", AL1, Retired),
    rt("dotnetcore2.0", AL1, Retired),
    rt("dotnetcore1.0", AL1, Retired),
    rt("ruby4.0", AL2023, Untracked),
    rt("ruby3.4", AL2023, Untracked),
    rt("ruby3.3", AL2023, Untracked),
    rt("ruby3.2", AL2, Untracked),
    rt("ruby2.7", AL2, Retired),
    rt("ruby2.5", AL1, Retired),
    rt("go1.x", AL1, Retired),
];

pub fn find(id: &str) -> Option<&'static Runtime> {
    RUNTIMES.iter().find(|r| r.id == id)
}

/// The runtimes a layer's binaries must run on: `compatible-runtimes`, else provided.al2023.
/// Identifiers the table does not know (validation lets through only the API's list) are left
/// out rather than guessed.
pub fn of_layer(compatible_runtimes: &[String]) -> Vec<&'static Runtime> {
    if compatible_runtimes.is_empty() {
        return find(DEFAULT_RUNTIME).into_iter().collect();
    }
    compatible_runtimes
        .iter()
        .filter_map(|id| find(id))
        .collect()
}

/// The runtime with the oldest glibc: what every binary of the layer must run on.
pub fn oldest<'a>(runtimes: &[&'a Runtime]) -> Option<&'a Runtime> {
    runtimes.iter().copied().min_by_key(|r| r.glibc())
}

/// A warning for a deprecated runtime (or one deprecated within 180 days), else None.
pub fn deprecation_warning(runtime: &Runtime, today: Date) -> Option<String> {
    let id = runtime.id;
    match runtime.lifecycle {
        Lifecycle::Untracked => None,
        Lifecycle::Retired => Some(format!(
            "runtime {id} is deprecated; Lambda blocks creating and then updating functions with it (see the deprecation table at https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html); move to a supported runtime such as {DEFAULT_RUNTIME}"
        )),
        Lifecycle::Dated(dates) => {
            if today < dates.deprecated {
                let days = (dates.deprecated - today).whole_days();
                return (days <= 180).then(|| {
                    format!(
                        "runtime {id} will be deprecated on {} (in {days} days); plan the move to {DEFAULT_RUNTIME}",
                        dates.deprecated
                    )
                });
            }
            let mut text = format!("runtime {id} was deprecated on {}", dates.deprecated);
            for (blocked, what) in [
                (dates.block_create, "creating functions with it"),
                (dates.block_update, "updating them"),
            ] {
                if let Some(day) = blocked {
                    let tense = if today >= day {
                        "blocked since"
                    } else {
                        "blocked from"
                    };
                    text.push_str(&format!("; {what} is {tense} {day}"));
                }
            }
            text.push_str(&format!(
                "; functions that use this layer should move to {DEFAULT_RUNTIME}"
            ));
            Some(text)
        }
    }
}

pub fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_covers_every_runtime_the_api_accepts() {
        for id in aws_sdk_lambda::types::Runtime::values() {
            assert!(find(id).is_some(), "{id} is missing from RUNTIMES");
        }
        for runtime in RUNTIMES {
            assert!(
                aws_sdk_lambda::types::Runtime::values().contains(&runtime.id),
                "{} is not a Lambda runtime",
                runtime.id
            );
        }
    }

    #[test]
    fn glibc_per_amazon_linux() {
        assert_eq!(find("provided.al2").unwrap().glibc(), Glibc::new(2, 26));
        assert_eq!(find("provided.al2023").unwrap().glibc(), Glibc::new(2, 34));
        assert_eq!(find("python3.11").unwrap().glibc(), Glibc::new(2, 26));
        assert_eq!(find("python3.12").unwrap().glibc(), Glibc::new(2, 34));
        assert_eq!(find("go1.x").unwrap().glibc(), Glibc::new(2, 17));
    }

    #[test]
    fn oldest_glibc_wins_and_empty_means_al2023() {
        let both = of_layer(&["provided.al2023".into(), "provided.al2".into()]);
        assert_eq!(oldest(&both).unwrap().id, "provided.al2");
        let none = of_layer(&[]);
        assert_eq!(oldest(&none).unwrap().id, "provided.al2023");
    }

    #[test]
    fn glibc_versions_parse_and_order() {
        assert_eq!(Glibc::parse("2.26"), Some(Glibc::new(2, 26)));
        let old = Glibc::parse("2.2.5").unwrap();
        assert_eq!(old.to_string(), "2.2.5");
        assert!(old < Glibc::new(2, 3));
        assert!(Glibc::new(2, 34) > Glibc::new(2, 26));
        assert_eq!(Glibc::parse("PRIVATE"), None);
        assert_eq!(Glibc::parse("2"), None);
    }

    #[test]
    fn provided_al2_deprecation_by_date() {
        let al2 = find("provided.al2").unwrap();
        let d = |y, m, day| date(y, m, day);
        assert_eq!(deprecation_warning(al2, d(2025, Month::June, 1)), None);
        let soon = deprecation_warning(al2, d(2026, Month::June, 1)).unwrap();
        assert!(
            soon.contains("will be deprecated on 2026-06-30 (in 29 days)"),
            "{soon}"
        );
        let between = deprecation_warning(al2, d(2026, Month::August, 1)).unwrap();
        assert!(
            between.contains("was deprecated on 2026-06-30"),
            "{between}"
        );
        assert!(
            between.contains("creating functions with it is blocked since 2026-07-31"),
            "{between}"
        );
        assert!(
            between.contains("updating them is blocked from 2026-08-31"),
            "{between}"
        );
        let after = deprecation_warning(al2, d(2026, Month::November, 21)).unwrap();
        assert!(
            after.contains("updating them is blocked since 2026-08-31"),
            "{after}"
        );
        let al2023 = find("provided.al2023").unwrap();
        assert_eq!(
            deprecation_warning(al2023, d(2026, Month::November, 21)),
            None
        );
        assert!(
            deprecation_warning(find("go1.x").unwrap(), d(2026, Month::November, 21)).is_some()
        );
    }
}
