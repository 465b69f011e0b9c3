//! The GitHub runner, emulated for the composite action: inputs become the steps' `env:`, each
//! script runs with `bash --noprofile --norc -eo pipefail {0}`, `GITHUB_OUTPUT` and
//! `GITHUB_STEP_SUMMARY` are files, and outputs are parsed with the runner's file-command
//! grammar. `install: none` uses the cargo-layer built for these tests; AWS calls go to moto
//! through a recording proxy. Another action a step `uses:` cannot run here: a test stands in
//! for it with [`Runner::stub`], which records the step's `with:` and sets its outcome and outputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::moto::aws_vars;
use super::proxy::Proxy;
use super::{repo_root, venv_bin};

/// A finished process, for a failure message.
pub fn output_text(out: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// YAML files as JSON, through PyYAML in .venv (see tests/it/support/yaml2json.py).
pub fn yaml(paths: &[PathBuf]) -> Vec<Value> {
    let out = Command::new(venv_bin("python"))
        .arg(repo_root().join("tests/it/support/yaml2json.py"))
        .args(paths)
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    let mut all: serde_json::Map<String, Value> = serde_json::from_slice(&out.stdout).unwrap();
    paths
        .iter()
        .map(|p| all.remove(p.to_str().unwrap()).unwrap())
        .collect()
}

/// `GITHUB_OUTPUT` / `GITHUB_ENV` as the runner reads them (actions/runner, FileCommandManager):
/// `name=value` lines, and `name<<DELIMITER` heredocs whose value runs to the first line that
/// is exactly the delimiter. Empty lines are skipped, a later value of a name replaces an
/// earlier one, and anything else is an error that fails the step.
pub fn parse_file_command(text: &str) -> Result<BTreeMap<String, String>, String> {
    // One line from `index`: its text without the line break, and the break ("\n", "\r\n" or
    // none at the end of the text).
    fn read_line<'a>(text: &'a str, index: &mut usize) -> Option<(&'a str, Option<&'a str>)> {
        if *index >= text.len() {
            return None;
        }
        let rest = &text[*index..];
        match rest.find('\n') {
            Some(lf) => {
                *index += lf + 1;
                let line = &rest[..lf];
                match line.strip_suffix('\r') {
                    Some(line) => Some((line, Some("\r\n"))),
                    None => Some((line, Some("\n"))),
                }
            }
            None => {
                *index = text.len();
                Some((rest, None))
            }
        }
    }

    let mut values = BTreeMap::new();
    let mut index = 0;
    while let Some((line, _)) = read_line(text, &mut index) {
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        let (name, value) = match (equals, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                (line[..e].to_string(), line[e + 1..].to_string())
            }
            (_, Some(_)) => {
                let parts: Vec<&str> = line.split("<<").collect();
                if parts.len() != 2 || parts[0].is_empty() || parts[1].is_empty() {
                    return Err(format!("Invalid format '{line}'"));
                }
                let delimiter = parts[1];
                let start = index;
                let mut end = index;
                loop {
                    match read_line(text, &mut index) {
                        None => {
                            return Err(format!(
                                "Invalid value. Matching delimiter not found '{delimiter}'"
                            ));
                        }
                        Some((l, _)) if l == delimiter => break,
                        Some((_, None)) => {
                            return Err("Invalid value. EOF marker missing new line.".into());
                        }
                        Some((_, Some(newline))) => end = index - newline.len(),
                    }
                }
                (
                    parts[0].to_string(),
                    text[start..end.max(start)].to_string(),
                )
            }
            _ => return Err(format!("Invalid format '{line}'")),
        };
        if name.is_empty() {
            return Err(format!("Invalid format '{line}'"));
        }
        values.insert(name, value);
    }
    Ok(values)
}

/// action.yml, run step by step on this machine.
pub struct Runner {
    action: Value,
    /// `github.action_path` / `GITHUB_ACTION_PATH`.
    action_path: PathBuf,
    /// `GITHUB_WORKSPACE`, where each step starts.
    workspace: PathBuf,
    /// `RUNNER_TEMP`, `RUNNER_TOOL_CACHE` and the per-step files.
    pub temp: tempfile::TempDir,
    env: Vec<(String, String)>,
    /// `github.event.repository.visibility`.
    visibility: String,
    stubs: Vec<Stub>,
    /// Between the steps and moto, checking every AWS call against the IAM policy.
    _proxy: Option<Proxy>,
}

/// What a stubbed action does: succeed or fail, and set these outputs.
struct Stub {
    uses: String,
    success: bool,
    outputs: BTreeMap<String, String>,
}

/// The repository the emulated workflow runs in (`GITHUB_REPOSITORY`).
pub const REPOSITORY: &str = "example-org/layers";

/// What a run of the action left: its outputs, the step summary, and the log.
#[derive(Debug)]
pub struct Run {
    pub success: bool,
    pub failed_step: Option<String>,
    pub outputs: BTreeMap<String, String>,
    pub steps: BTreeMap<String, BTreeMap<String, String>>,
    /// The `with:` of each stubbed step, by step id, as the runner would pass it.
    pub with: BTreeMap<String, BTreeMap<String, String>>,
    pub summary: String,
    pub log: String,
}

/// State while the steps run: inputs and what earlier steps left behind.
struct Context {
    inputs: BTreeMap<String, String>,
    steps: BTreeMap<String, BTreeMap<String, String>>,
    /// `success`, `failure` or `skipped`, by step id.
    outcomes: BTreeMap<String, String>,
    path: Vec<String>,
    env: BTreeMap<String, String>,
}

pub fn runner_os() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "macOS",
        "windows" => "Windows",
        other => other,
    }
}

pub fn runner_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "X64",
        "aarch64" => "ARM64",
        other => other,
    }
}

impl Runner {
    pub fn new(workspace: &Path) -> Runner {
        Runner::with_action_path(workspace, &repo_root())
    }

    pub fn with_action_path(workspace: &Path, action_path: &Path) -> Runner {
        let action = yaml(&[action_path.join("action.yml")]).remove(0);
        assert_eq!(action["runs"]["using"], "composite");
        Runner {
            action,
            action_path: action_path.to_path_buf(),
            workspace: workspace.to_path_buf(),
            temp: tempfile::tempdir().unwrap(),
            env: Vec::new(),
            visibility: "public".into(),
            stubs: Vec::new(),
            _proxy: None,
        }
    }

    /// Stand in for the action a step `uses:` (matched by its name before `@`).
    pub fn stub(mut self, uses: &str, success: bool, outputs: &[(&str, &str)]) -> Runner {
        self.stubs.push(Stub {
            uses: uses.into(),
            success,
            outputs: outputs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
        self
    }

    /// The job has `permissions: id-token: write`: the runner hands every step the OIDC
    /// request variables (never called here; the actions that would call them are stubbed).
    pub fn id_token(mut self) -> Runner {
        self.env.push((
            "ACTIONS_ID_TOKEN_REQUEST_URL".into(),
            "http://127.0.0.1:9/token".into(),
        ));
        self.env
            .push(("ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(), "dummy".into()));
        self
    }

    /// `github.event.repository.visibility`: public (the default), private or internal.
    pub fn visibility(mut self, visibility: &str) -> Runner {
        self.visibility = visibility.into();
        self
    }

    /// The AWS environment configure-aws-credentials would leave, aimed at moto.
    pub fn aws(mut self) -> Runner {
        let proxy = Proxy::start();
        for (key, value) in aws_vars(&proxy.endpoint) {
            self.env.push((key.to_string(), value));
        }
        self._proxy = Some(proxy);
        self
    }

    pub fn run(&self, inputs: &[(&str, &str)]) -> Run {
        self.run_until(inputs, None)
    }

    /// Run the steps in order, up to the step with id `last` when given.
    pub fn run_until(&self, given: &[(&str, &str)], last: Option<&str>) -> Run {
        let mut ctx = Context {
            inputs: self.inputs(given),
            steps: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            path: Vec::new(),
            env: BTreeMap::new(),
        };
        let mut run = Run {
            success: true,
            failed_step: None,
            outputs: BTreeMap::new(),
            steps: BTreeMap::new(),
            with: BTreeMap::new(),
            summary: String::new(),
            log: String::new(),
        };
        let steps = self.action["runs"]["steps"].as_array().unwrap();
        for (i, step) in steps.iter().enumerate() {
            let id = step["id"]
                .as_str()
                .map(str::to_string)
                .unwrap_or(format!("__{i}"));
            let name = step["name"].as_str().unwrap_or(&id).to_string();
            if let Some(condition) = step.get("if") {
                let condition = scalar(condition);
                if !self.condition(&condition, &ctx) {
                    run.log.push_str(&format!("--- skipped: {name}\n"));
                    ctx.outcomes.insert(id.clone(), "skipped".into());
                    continue;
                }
            }
            let (success, outputs) = match step["uses"].as_str() {
                Some(uses) => self.stubbed_step(step, uses, &name, &id, &ctx, &mut run),
                None => self.run_step(i, step, &name, &mut ctx, &mut run),
            };
            ctx.steps.insert(id.clone(), outputs);
            let outcome = if success { "success" } else { "failure" };
            ctx.outcomes.insert(id.clone(), outcome.into());
            if !success && step["continue-on-error"] == true {
                run.log
                    .push_str(&format!("--- failed, continue-on-error: {name}\n"));
            } else if !success {
                run.success = false;
                run.failed_step = Some(name);
                break;
            }
            if last == Some(id.as_str()) {
                break;
            }
        }
        for (name, output) in self.action["outputs"].as_object().unwrap() {
            let value = self.substitute(output["value"].as_str().unwrap(), &ctx);
            run.outputs.insert(name.clone(), value);
        }
        run.steps = ctx.steps;
        run
    }

    /// Inputs as the runner resolves them: given values, else the defaults in action.yml.
    fn inputs(&self, given: &[(&str, &str)]) -> BTreeMap<String, String> {
        let declared = self.action["inputs"].as_object().unwrap();
        for (name, _) in given {
            assert!(
                declared.contains_key(*name),
                "action.yml has no input {name}"
            );
        }
        declared
            .iter()
            .map(|(name, spec)| {
                let value = given
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.to_string())
                    .or_else(|| spec.get("default").map(scalar))
                    .unwrap_or_default();
                if spec["required"] == true {
                    assert!(!value.is_empty(), "input {name} is required");
                }
                (name.clone(), value)
            })
            .collect()
    }

    /// A step that `uses:` another action, answered by its stub.
    fn stubbed_step(
        &self,
        step: &Value,
        uses: &str,
        name: &str,
        id: &str,
        ctx: &Context,
        run: &mut Run,
    ) -> (bool, BTreeMap<String, String>) {
        let action = uses.split('@').next().unwrap();
        let stub = self
            .stubs
            .iter()
            .find(|s| s.uses == action)
            .unwrap_or_else(|| {
                panic!(
                    "step `{name}` uses {uses}: this local runner cannot run other actions; stub it (Runner::stub) or give inputs (install: none) under which it is skipped"
                )
            });
        let with = step["with"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), self.substitute(&scalar(v), ctx)))
            .collect();
        run.with.insert(id.to_string(), with);
        run.log.push_str(&format!(
            "--- stub: {name} ({uses}) success={}\n",
            stub.success
        ));
        (stub.success, stub.outputs.clone())
    }

    /// One `run:` step: `bash --noprofile --norc -eo pipefail {0}` with fresh file commands.
    fn run_step(
        &self,
        index: usize,
        step: &Value,
        name: &str,
        ctx: &mut Context,
        run: &mut Run,
    ) -> (bool, BTreeMap<String, String>) {
        assert_eq!(
            step["shell"], "bash",
            "step `{name}`: composite run steps need shell: bash"
        );
        let dir = self.temp.path().join(format!("step-{index}"));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("script.sh");
        std::fs::write(&script, step["run"].as_str().unwrap()).unwrap();
        let files = [
            "GITHUB_OUTPUT",
            "GITHUB_STEP_SUMMARY",
            "GITHUB_PATH",
            "GITHUB_ENV",
        ]
        .map(|var| (var, dir.join(var.to_lowercase())));
        for (_, file) in &files {
            std::fs::write(file, "").unwrap();
        }

        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script);
        // The test process's own AWS, GitHub and runner settings must not leak in.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if [
                "AWS_",
                "GITHUB_",
                "RUNNER_",
                "INPUT_",
                "ACTIONS_",
                "CARGO_LAYER",
            ]
            .iter()
            .any(|prefix| key.starts_with(prefix))
                || key == "SOURCE_DATE_EPOCH"
            {
                cmd.env_remove(key.as_ref());
            }
        }
        // The debug cargo-layer is on PATH, as `install: none` expects.
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_cargo-layer"))
            .parent()
            .unwrap();
        let mut path: Vec<String> = ctx.path.iter().rev().cloned().collect();
        path.push(bin_dir.to_string_lossy().into());
        path.push(std::env::var("PATH").unwrap_or_default());
        cmd.env("PATH", path.join(":"))
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_ACTION_PATH", &self.action_path)
            .env("GITHUB_WORKSPACE", &self.workspace)
            .env("GITHUB_REPOSITORY", REPOSITORY)
            .env("RUNNER_OS", runner_os())
            .env("RUNNER_ARCH", runner_arch())
            .env("RUNNER_TEMP", self.temp.path())
            .env("RUNNER_TOOL_CACHE", self.temp.path().join("toolcache"));
        for (var, file) in &files {
            cmd.env(var, file);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.envs(&ctx.env);
        for (key, value) in step["env"].as_object().into_iter().flatten() {
            cmd.env(key, self.substitute(&scalar(value), ctx));
        }
        let cwd = match step["working-directory"].as_str() {
            Some(dir) => self.workspace.join(self.substitute(dir, ctx)),
            None => self.workspace.clone(),
        };
        let out = cmd.current_dir(cwd).output().unwrap();
        run.log.push_str(&format!(
            "--- step: {name} ({})\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));

        // The runner reads the file commands after every step, failed or not.
        let read = |var: &str| {
            std::fs::read_to_string(&files.iter().find(|(v, _)| *v == var).unwrap().1).unwrap()
        };
        let outputs = parse_file_command(&read("GITHUB_OUTPUT"))
            .unwrap_or_else(|e| panic!("step `{name}` wrote a bad GITHUB_OUTPUT: {e}"));
        let env = parse_file_command(&read("GITHUB_ENV"))
            .unwrap_or_else(|e| panic!("step `{name}` wrote a bad GITHUB_ENV: {e}"));
        ctx.env.extend(env);
        ctx.path.extend(
            read("GITHUB_PATH")
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        );
        run.summary.push_str(&read("GITHUB_STEP_SUMMARY"));
        (out.status.success(), outputs)
    }

    /// `${{ ... }}` replaced by its value.
    fn substitute(&self, text: &str, ctx: &Context) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find("}}")
                .unwrap_or_else(|| panic!("unclosed expression in {text}"));
            out.push_str(&self.eval(&rest[start + 3..start + end], ctx));
            rest = &rest[start + end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// The expressions action.yml uses. Anything else fails the test, rather than being
    /// guessed: the test must model what the runner would do.
    fn eval(&self, expr: &str, ctx: &Context) -> String {
        let expr = expr.trim();
        if let Some(name) = expr.strip_prefix("inputs.") {
            return ctx
                .inputs
                .get(name)
                .cloned()
                .unwrap_or_else(|| panic!("${{{{ {expr} }}}}: no such input"));
        }
        if let Some(rest) = expr.strip_prefix("steps.") {
            if let Some(id) = rest.strip_suffix(".outcome") {
                return ctx.outcomes.get(id).cloned().unwrap_or_default();
            }
            let (id, output) = rest
                .split_once(".outputs.")
                .unwrap_or_else(|| panic!("${{{{ {expr} }}}} is not modelled"));
            // An output a step did not set, or a step that was skipped, is empty.
            return ctx
                .steps
                .get(id)
                .and_then(|o| o.get(output))
                .cloned()
                .unwrap_or_default();
        }
        if let Some(literal) = expr.strip_prefix('\'').and_then(|e| e.strip_suffix('\'')) {
            return literal.replace("''", "'");
        }
        match expr {
            "github.action_path" => self.action_path.to_string_lossy().into(),
            "github.workspace" => self.workspace.to_string_lossy().into(),
            "github.repository" => REPOSITORY.into(),
            "github.event.repository.visibility" => self.visibility.clone(),
            "runner.os" => runner_os().into(),
            "runner.arch" => runner_arch().into(),
            "runner.temp" => self.temp.path().to_string_lossy().into(),
            _ => panic!("${{{{ {expr} }}}} is not modelled by this local runner"),
        }
    }

    /// An `if:` of `&&`-joined `a == b` / `a != b` comparisons, which compare strings without
    /// regard to case, as GitHub's expressions do.
    fn condition(&self, condition: &str, ctx: &Context) -> bool {
        let condition = condition.trim();
        let condition = condition
            .strip_prefix("${{")
            .and_then(|c| c.strip_suffix("}}"))
            .unwrap_or(condition);
        condition.split("&&").all(|part| {
            if let Some((a, b)) = part.split_once("!=") {
                !self.eval(a, ctx).eq_ignore_ascii_case(&self.eval(b, ctx))
            } else if let Some((a, b)) = part.split_once("==") {
                self.eval(a, ctx).eq_ignore_ascii_case(&self.eval(b, ctx))
            } else {
                panic!("if: {condition} is not modelled by this local runner")
            }
        })
    }
}

/// A YAML scalar as the string the runner would see.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
