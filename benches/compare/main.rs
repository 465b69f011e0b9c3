//! The benchmark (numbers, never assertions): cargo-layer side by side with what users would use
//! instead (Info-ZIP `zip`, the AWS CLI, `cargo lambda deploy --extension`), all against one local
//! moto server, printed as a Markdown table on stdout (progress on stderr).
//!
//! Run it with `./scripts/bench.sh` (installs the contenders, then `cargo bench --bench compare`).
//! Options after `--`: `--runs N` (default 3; medians are reported), `--skip-cold-build`,
//! `--keep` (keep the generated inputs in target/bench), and `--only PART` (repeatable; one of
//! packaging, api, end-to-end, fan-out, tool) to measure only those rows.

#[path = "../../tests/it/support/mod.rs"]
#[allow(dead_code, unused_imports)]
mod support;

/// The test support the benchmark shares: moto, accounts, the recording proxy, fixture crates.
mod aws {
    pub use super::support::moto::*;
    pub use super::support::{FilesCrate, proxy, repo_root};
}
mod measure;
mod packaging;
mod publishing;
mod real;
mod tool;
mod tree;

use std::path::PathBuf;

use measure::{max_rss, median_cpu, median_seconds};

/// The parts of the benchmark, each a group of rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Packaging,
    Api,
    EndToEnd,
    /// Fan-out over regions and grants, and over stage accounts.
    FanOut,
    /// The tool itself: cold build, binary size, start-up.
    Tool,
}

const PARTS: [(&str, Part); 5] = [
    ("packaging", Part::Packaging),
    ("api", Part::Api),
    ("end-to-end", Part::EndToEnd),
    ("fan-out", Part::FanOut),
    ("tool", Part::Tool),
];

struct Options {
    runs: usize,
    cold_build: bool,
    /// Keep target/bench (the generated trees) for a closer look.
    keep: bool,
    /// The parts to measure; every part when empty.
    only: Vec<Part>,
}

impl Options {
    fn wants(&self, part: Part) -> bool {
        self.only.is_empty() || self.only.contains(&part)
    }
}

fn options() -> Options {
    let mut opts = Options {
        runs: 3,
        cold_build: true,
        keep: false,
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                opts.runs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .expect("--runs takes a positive number");
            }
            "--skip-cold-build" => opts.cold_build = false,
            "--keep" => opts.keep = true,
            "--only" => {
                let name = args.next().unwrap_or_default();
                let part = PARTS.iter().find(|(n, _)| *n == name).map(|(_, p)| *p);
                let names: Vec<&str> = PARTS.iter().map(|(n, _)| *n).collect();
                opts.only.push(
                    part.unwrap_or_else(|| panic!("--only takes one of {}", names.join(", "))),
                );
            }
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            other => panic!(
                "unknown option {other}; use --runs N, --skip-cold-build, --keep and --only PART"
            ),
        }
    }
    opts
}

fn main() {
    let opts = options();
    let tool = PathBuf::from(env!("CARGO_BIN_EXE_cargo-layer"));
    let work = aws::repo_root().join("target/bench");
    std::fs::create_dir_all(&work).unwrap();
    let load_before = measure::load();
    let mut packaging: Vec<packaging::Packaging> = Vec::new();
    if opts.wants(Part::Packaging) {
        for (i, tree) in tree::TREES.iter().enumerate() {
            packaging.push(packaging::run(&work, &tool, opts.runs, tree, i));
        }
    }
    let api = opts.wants(Part::Api).then(publishing::api_cost);
    let e2e = opts
        .wants(Part::EndToEnd)
        .then(|| publishing::end_to_end(&work, &tool, opts.runs));
    let fan_out = opts
        .wants(Part::FanOut)
        .then(|| publishing::fan_out(&work, &tool, opts.runs));
    let stages = opts
        .wants(Part::FanOut)
        .then(|| publishing::stages(&work, &tool, opts.runs));
    if !opts.keep {
        // The cold build needs the disk space more than the generated inputs do.
        let _ = std::fs::remove_dir_all(&work);
    }
    let itself = opts
        .wants(Part::Tool)
        .then(|| tool::run(&work, &tool, opts.cold_build));
    let results = Results {
        packaging,
        api,
        e2e,
        fan_out,
        stages,
        itself,
    };
    let load_after = measure::load();
    print_machine(&load_before, &load_after, opts.runs);
    print_table(&results);
    if let Some(e2e) = &results.e2e {
        print_end_to_end(e2e);
    }
    if !opts.keep {
        let _ = std::fs::remove_dir_all(&work);
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

/// Exact bytes, then MiB: size ratios near 1.00× need the bytes.
fn bytes(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped} B ({})", mib(n))
}

fn secs(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1000.0)
    } else {
        format!("{seconds:.2} s")
    }
}

fn ratio(a: f64, b: f64) -> String {
    format!("{:.2}×", a / b)
}

fn verdict(met: bool) -> &'static str {
    if met { "yes" } else { "**no**" }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into())
}

fn print_machine(before: &str, after: &str, runs: usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let priority = if measure::is_prioritized() {
        "contenders at nice -10"
    } else {
        "contenders at normal priority"
    };
    println!(
        "Machine: {cores} cores ({}), load average {before} before and {after} after; {priority}; medians of {runs} runs.\n",
        cpu_model()
    );
}

fn row(cells: [&str; 6]) {
    println!("| {} |", cells.join(" | "));
}

/// What the parts measured; a part left out with `--only` has no rows.
struct Results {
    packaging: Vec<packaging::Packaging>,
    api: Option<publishing::ApiCost>,
    e2e: Option<publishing::EndToEnd>,
    fan_out: Option<publishing::FanOut>,
    stages: Option<publishing::FanOut>,
    itself: Option<tool::Tool>,
}

fn print_table(results: &Results) {
    row([
        "Measure",
        "cargo-layer",
        "Compared with",
        "Ratio",
        "Target",
        "Met",
    ]);
    row(["---", "---", "---", "---", "---", "---"]);
    for p in &results.packaging {
        packaging_rows(p);
    }
    if let Some(api) = &results.api {
        api_rows(api);
    }
    if let Some(e2e) = &results.e2e {
        end_to_end_rows(e2e);
    }
    if let Some(fan) = &results.fan_out {
        fan_out_row(
            "Fan-out, first publish, +80 ms per call: 5 regions × 24 grants vs 1 region × 4 grants",
            fan,
            3.0,
        );
    }
    if let Some(fan) = &results.stages {
        fan_out_row(
            "Stage accounts, first publish with verify and hand-off, +80 ms per call: 5 regions × 3 stages × 10 accounts vs 1 region × 1 stage × 1 account",
            fan,
            4.0,
        );
    }
    if let Some(itself) = &results.itself {
        tool_rows(itself);
    }
}

fn api_rows(api: &publishing::ApiCost) {
    row([
        "API: first publish, 3 stages",
        &api.first.summary(),
        &api.first.operations(),
        "",
        "",
        "",
    ]);
    row([
        &format!(
            "API: unchanged re-publish, layer with {} versions",
            api.versions
        ),
        &api.rerun.summary(),
        &api.rerun.operations(),
        "",
        "0 writes, ≤ 3 Lambda reads",
        verdict(api.rerun.lambda_writes == 0 && api.rerun.lambda_reads <= 3),
    ]);
}

/// A large configuration against a small one; the target is at most `times` the small one's time.
fn fan_out_row(measure: &str, fan: &publishing::FanOut, times: f64) {
    let big = median_seconds(&fan.big);
    let small = median_seconds(&fan.small);
    let calls = publishing::FanOut::calls;
    row([
        measure,
        &format!("{} ({} calls)", secs(big), calls(&fan.big_calls)),
        &format!("{} ({} calls)", secs(small), calls(&fan.small_calls)),
        &ratio(big, small),
        &format!("≤ {times}×"),
        verdict(big <= times * small),
    ]);
}

fn tool_rows(itself: &tool::Tool) {
    row([
        "Cold release build (`cargo build --release --locked`)",
        &match &itself.cold_build {
            None => "not measured (--skip-cold-build)".into(),
            Some(Ok(seconds)) => secs(*seconds),
            Some(Err(e)) => first_line(e),
        },
        "",
        "",
        "",
        "",
    ]);
    row([
        "Release binary size",
        &mib(itself.binary_bytes),
        "",
        "",
        "",
        "",
    ]);
    row([
        "`cargo layer --version` start-up",
        &secs(itself.startup),
        "",
        "",
        "",
        "",
    ]);
}

fn packaging_rows(p: &packaging::Packaging) {
    let zip = median_seconds(&p.zip);
    let cold = median_seconds(&p.layer_cold);
    row([
        &format!(
            "Packaging, cold: {} ({} files, {}; {} threads)",
            p.tree,
            p.files,
            mib(p.tree_bytes),
            p.threads
        ),
        &format!("{} (CPU {})", secs(cold), secs(median_cpu(&p.layer_cold))),
        &format!(
            "`zip -X -r -6`: {} (CPU {})",
            secs(zip),
            secs(median_cpu(&p.zip))
        ),
        &ratio(cold, zip),
        if p.real { "" } else { "≤ 0.3×" },
        if p.real {
            ""
        } else {
            verdict(cold <= 0.3 * zip)
        },
    ]);
    let size = p.layer_zip_bytes as f64 / p.zip_bytes as f64;
    row([
        &format!("Output size ({})", short(p.tree)),
        &bytes(p.layer_zip_bytes),
        &format!("zip: {}", bytes(p.zip_bytes)),
        &format!("{size:.3}×"),
        "≤ 1.00×",
        verdict(p.layer_zip_bytes <= p.zip_bytes),
    ]);
    if p.real {
        return;
    }
    let rss = max_rss(&p.layer_cold);
    let budget = p.zip_bytes + (64 << 20);
    row([
        &format!("Peak RSS, cold packaging ({})", short(p.tree)),
        &mib(rss),
        &format!(
            "zip's size + 64 MiB: {} (Info-ZIP's own peak: {})",
            mib(budget),
            mib(max_rss(&p.zip))
        ),
        "",
        "≤ zip + 64 MiB",
        verdict(rss <= budget),
    ]);
    let repack = median_seconds(&p.layer_repack);
    row([
        &format!(
            "Unchanged re-pack after touching every file ({})",
            short(p.tree)
        ),
        &secs(repack),
        &format!("`zip -X -r -6`: {}", secs(zip)),
        &ratio(repack, zip),
        "≤ 0.1×",
        verdict(repack <= 0.1 * zip),
    ]);
}

/// The first words of a tree's description.
fn short(tree: &str) -> &str {
    tree.split(':').next().unwrap_or(tree)
}

fn contender<'a>(e2e: &'a publishing::EndToEnd, prefix: &str) -> &'a publishing::Contender {
    e2e.contenders
        .iter()
        .find(|c| c.name.starts_with(prefix))
        .unwrap()
}

fn first_line(error: &str) -> String {
    let line = error.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    format!("could not run: {}", line.trim())
}

fn end_to_end_rows(e2e: &publishing::EndToEnd) {
    let layer = contender(e2e, "cargo layer");
    let cli = contender(e2e, "AWS CLI");
    let lambda = contender(e2e, "cargo lambda");
    let (Ok(layer_first), Ok(layer_rerun)) = (&layer.first, &layer.rerun) else {
        row([
            "End to end",
            &first_line(layer.first.as_ref().err().unwrap_or(&String::new())),
            "",
            "",
            "",
            "**no**",
        ]);
        return;
    };
    let first = median_seconds(layer_first);
    match &cli.first {
        Ok(runs) => {
            let other = median_seconds(runs);
            row([
                "End to end, first run: package, publish, grant 3 stages",
                &secs(first),
                &format!("AWS CLI (zip + 4 calls): {}", secs(other)),
                &ratio(first, other),
                "≤ 0.4× AWS CLI",
                verdict(first <= 0.4 * other),
            ]);
        }
        Err(e) => row([
            "End to end, first run",
            &secs(first),
            &format!("AWS CLI: {}", first_line(e)),
            "",
            "≤ 0.4× AWS CLI",
            "not measured",
        ]),
    }
    let rerun = median_seconds(layer_rerun);
    match &lambda.rerun {
        Ok(runs) => {
            let other = median_seconds(runs);
            row([
                "End to end, unchanged re-run (fresh mtimes)",
                &secs(rerun),
                &format!("`cargo lambda deploy --extension`: {}", secs(other)),
                &ratio(rerun, other),
                "≤ 0.2× cargo-lambda",
                verdict(rerun <= 0.2 * other),
            ]);
        }
        Err(e) => row([
            "End to end, unchanged re-run",
            &secs(rerun),
            &format!("cargo-lambda: {}", first_line(e)),
            "",
            "≤ 0.2× cargo-lambda",
            "not measured",
        ]),
    }
}

fn print_end_to_end(e2e: &publishing::EndToEnd) {
    println!(
        "\nEnd to end, one layer ({} unzipped: an extension binary and assets), every tool against the same moto server through the recording proxy:\n",
        mib(e2e.unzipped_bytes)
    );
    row([
        "Tool",
        "First run",
        "Unchanged re-run",
        "Calls, first run",
        "Calls, re-run",
        "CodeSize",
    ]);
    row(["---", "---", "---", "---", "---", "---"]);
    for c in &e2e.contenders {
        let time = |runs: &Result<Vec<measure::Run>, String>| match runs {
            Ok(runs) => format!(
                "{} (peak RSS {})",
                secs(median_seconds(runs)),
                mib(max_rss(runs))
            ),
            Err(e) => first_line(e),
        };
        row([
            c.name,
            &time(&c.first),
            &time(&c.rerun),
            &c.first_calls.summary(),
            &c.rerun_calls.summary(),
            &mib(c.code_size),
        ]);
    }
}
