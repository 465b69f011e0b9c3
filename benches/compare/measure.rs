//! Running a contender: wall time from here, peak RSS from GNU time (`/usr/bin/time -f %M`).

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

/// One finished run.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub seconds: f64,
    /// User plus system CPU time.
    pub cpu_seconds: f64,
    /// Peak resident set size in bytes (VmHWM of the process).
    pub peak_rss: u64,
}

/// Run `cmd` under GNU time; panic with its output if it fails (a benchmark of a failing run
/// would measure nothing).
pub fn run(cmd: &Command) -> Run {
    run_output(cmd).0
}

/// [`run`], and what the command printed on stdout.
pub fn run_output(cmd: &Command) -> (Run, String) {
    try_run(cmd).unwrap_or_else(|e| panic!("{e}"))
}

/// Run `cmd` under GNU time: the run and its stdout, or what it printed when it failed.
pub fn try_run(cmd: &Command) -> Result<(Run, String), String> {
    let rss_file = tempfile::NamedTempFile::new().unwrap();
    let mut timed = prioritized("/usr/bin/time");
    timed
        .arg("-f")
        .arg("%M %U %S")
        .arg("-o")
        .arg(rss_file.path())
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => timed.env(key, value),
            None => timed.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        timed.current_dir(dir);
    }
    let start = Instant::now();
    let out = timed
        .output()
        .expect("run /usr/bin/time (Debian package time)");
    let seconds = start.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "{} {:?} failed: {}{}",
            cmd.get_program().to_string_lossy(),
            cmd.get_args().collect::<Vec<&OsStr>>(),
            stdout,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let report = std::fs::read_to_string(rss_file.path()).unwrap();
    let numbers: Vec<f64> = report
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .map(|n| n.parse().unwrap_or(0.0))
        .collect();
    let run = Run {
        seconds,
        cpu_seconds: numbers[1] + numbers[2],
        peak_rss: numbers[0] as u64 * 1024,
    };
    Ok((run, stdout))
}

/// `program`, ahead of the other work on a shared machine where that is allowed (root): every
/// contender gets the same priority, so their ratio depends less on what else runs.
pub fn prioritized(program: &str) -> Command {
    static ALLOWED: OnceLock<bool> = OnceLock::new();
    let allowed = *ALLOWED.get_or_init(|| {
        Command::new("nice")
            .args(["-n", "-10", "true"])
            .output()
            .is_ok_and(|out| out.status.success() && out.stderr.is_empty())
    });
    if !allowed {
        return Command::new(program);
    }
    let mut cmd = Command::new("nice");
    cmd.args(["-n", "-10", program]);
    cmd
}

/// Whether contenders run ahead of other work (see [`prioritized`]).
pub fn is_prioritized() -> bool {
    prioritized("true").get_program() == "nice"
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

pub fn median_seconds(runs: &[Run]) -> f64 {
    median(runs.iter().map(|r| r.seconds).collect())
}

pub fn median_cpu(runs: &[Run]) -> f64 {
    median(runs.iter().map(|r| r.cpu_seconds).collect())
}

pub fn max_rss(runs: &[Run]) -> u64 {
    runs.iter().map(|r| r.peak_rss).max().unwrap_or(0)
}

/// Set every file's mtime below `root` to now, as a fresh checkout does.
pub fn touch_all(root: &Path) {
    let now = std::time::SystemTime::now();
    for entry in walkdir::WalkDir::new(root) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            std::fs::File::options()
                .write(true)
                .open(entry.path())
                .unwrap()
                .set_modified(now)
                .unwrap();
        }
    }
}

/// CPU load while measuring, from /proc/loadavg.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
