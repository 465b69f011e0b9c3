//! What a release ships: the archives `cargo binstall` finds, the crate `cargo publish` uploads,
//! and the shell completions and man pages inside the archives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::runner::{output_text, yaml};
use crate::support::{cargo_layer_process, repo_root, which};

// ---------------------------------------------------------------------------------------------
// cargo binstall
// ---------------------------------------------------------------------------------------------

/// `[package]` of Cargo.toml.
fn package_table() -> toml_edit::Table {
    let text = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let doc: toml_edit::DocumentMut = text.parse().unwrap();
    doc["package"].as_table().unwrap().clone()
}

fn string(item: &toml_edit::Item) -> Option<String> {
    item.as_str().map(str::to_string)
}

/// A binstall template with `{ key }` placeholders filled in; an unknown key fails the test.
fn expand(template: &str, vars: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("unclosed { in template") + start;
        let key = rest[start + 1..end].trim();
        out.push_str(
            vars.get(key)
                .unwrap_or_else(|| panic!("template key {key} is not modelled")),
        );
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn template_expansion_fills_keys_with_or_without_spaces() {
    let vars = BTreeMap::from([("name", "x".to_string()), ("target", "t".to_string())]);
    assert_eq!(expand("{ name }-{target}.tgz", &vars), "x-t.tgz");
}

/// A `run:` script of a step of a job in release.yml, by the step's name.
fn release_step(release: &Value, job: &str, step: &str) -> String {
    release["jobs"][job]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == step)
        .unwrap_or_else(|| panic!("release.yml job {job} has no step {step}"))["run"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The value assigned to `name` in a shell script (`name="..."`), without the quotes.
fn assigned(script: &str, name: &str) -> String {
    let prefix = format!("{name}=");
    let line = script
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {name}= in:\n{script}"));
    line[prefix.len()..].trim_matches('"').to_string()
}

#[test]
fn binstall_finds_the_archive_the_release_makes_for_every_target() {
    let package = package_table();
    let name = string(&package["name"]).unwrap();
    let version = string(&package["version"]).unwrap();
    let repo = string(&package["repository"]).expect("[package] repository");
    let binstall = package["metadata"]["binstall"].as_table().unwrap();

    let release = yaml(&[PathBuf::from(".github/workflows/release.yml")]).remove(0);
    let targets: Vec<String> = release["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["target"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        targets,
        [
            "x86_64-unknown-linux-gnu",
            "aarch64-unknown-linux-gnu",
            "x86_64-apple-darwin",
            "aarch64-apple-darwin"
        ]
    );
    let archive = release_step(&release, "archive", "Archive and checksum");
    let tag = format!("v{version}");
    // The release job's download URL: `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/releases/download/$TAG/$asset`.
    assert!(
        archive.contains("$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/releases/download/$TAG/$asset"),
        "{archive}"
    );
    // The binary at the archive's root, where bin-dir points.
    assert!(
        archive.contains(r#"tar -czf "out/$asset" -C "$stage" cargo-layer "#),
        "{archive}"
    );

    for target in &targets {
        let mut meta: BTreeMap<&str, toml_edit::Item> = ["pkg-url", "bin-dir", "pkg-fmt"]
            .into_iter()
            .map(|key| (key, binstall[key].clone()))
            .collect();
        let overrides = binstall
            .get("overrides")
            .and_then(|o| o.get(target))
            .and_then(|o| o.as_table());
        for (key, value) in overrides.into_iter().flatten() {
            assert!(
                !(key == "disabled-strategies"
                    && value
                        .as_array()
                        .is_some_and(|a| a.iter().any(|s| s.as_str() == Some("crate-meta-data")))),
                "{target}: the release has an archive, but binstall is told not to look for it"
            );
            if let Some(item) = meta.get_mut(key) {
                *item = value.clone();
            }
        }
        let pkg_fmt = string(&meta["pkg-fmt"]).unwrap();
        let suffix = match pkg_fmt.as_str() {
            "tgz" => ".tar.gz",
            other => panic!("pkg-fmt {other}: the release makes .tar.gz archives"),
        };
        let vars = BTreeMap::from([
            ("repo", repo.clone()),
            ("name", name.clone()),
            ("version", version.clone()),
            ("target", target.clone()),
            ("archive-suffix", suffix.to_string()),
            ("archive-format", pkg_fmt.clone()),
            ("bin", name.clone()),
            ("binary-ext", String::new()),
        ]);
        let url = expand(&string(&meta["pkg-url"]).unwrap(), &vars);

        let asset = assigned(&archive, "asset")
            .replace("$TAG", &tag)
            .replace("$target", target);
        let github_repository = repo.strip_prefix("https://github.com/").unwrap();
        let released =
            format!("https://github.com/{github_repository}/releases/download/{tag}/{asset}");
        assert_eq!(url, released, "{target}");
        assert_eq!(
            asset,
            format!("cargo-layer-v{version}-{target}.tar.gz"),
            "the asset names stay what dist/checksums.txt and the action expect"
        );
        assert_eq!(expand(&string(&meta["bin-dir"]).unwrap(), &vars), name);
    }

    // The action looks for the same name in dist/checksums.txt.
    let action = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    assert!(
        action.contains(r#"asset="cargo-layer-v$version-$target.tar.gz""#),
        "action.yml names the archives differently"
    );
}

// ---------------------------------------------------------------------------------------------
// crates.io
// ---------------------------------------------------------------------------------------------

/// All a user downloads from crates.io, and the largest file (Cargo.lock) with room to grow.
const PACKAGE_BUDGET: u64 = 1_500_000;
const FILE_BUDGET: u64 = 200_000;

#[test]
fn the_crate_holds_what_users_need_within_the_size_budget() {
    let out = Command::new(env!("CARGO"))
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    let files: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "CHANGELOG.md",
        "src/main.rs",
        "src/lib.rs",
        "docs/results.schema.json",
        "docs/stability.md",
    ] {
        assert!(
            files.iter().any(|f| f == needed),
            "{needed} is not packaged"
        );
    }
    let mut total = 0;
    for file in &files {
        assert!(
            ![
                "tests/",
                "benches/",
                "examples/",
                "dist/",
                ".github/",
                "scripts/"
            ]
            .iter()
            .any(|dir| file.starts_with(dir)),
            "{file} is for developers, not for users of the crate"
        );
        // cargo writes these two itself.
        if matches!(file.as_str(), "Cargo.toml.orig" | ".cargo_vcs_info.json") {
            continue;
        }
        let size = std::fs::metadata(repo_root().join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .len();
        assert!(size <= FILE_BUDGET, "{file} is {size} bytes");
        total += size;
    }
    assert!(
        total <= PACKAGE_BUDGET,
        "the package is {total} bytes, over {PACKAGE_BUDGET}"
    );
}

// ---------------------------------------------------------------------------------------------
// Shell completions and man pages
// ---------------------------------------------------------------------------------------------

const COMMANDS: [&str; 10] = [
    "package",
    "publish",
    "promote",
    "verify",
    "revoke",
    "status",
    "iam-policy",
    "prune",
    "completions",
    "man",
];

/// `cargo layer completions <shell>` (as cargo runs it: `cargo-layer layer completions`).
fn completions(shell: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = cargo_layer_process(dir.path())
        .args(["layer", "completions", shell])
        .output()
        .unwrap();
    assert!(out.status.success(), "{shell}: {}", output_text(&out));
    assert!(out.stderr.is_empty(), "{shell}: {}", output_text(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_cover_every_command_in_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = completions(shell);
        for command in COMMANDS {
            assert!(script.contains(command), "{shell}: no {command}");
        }
        assert!(script.contains("manifest-path"), "{shell}");
    }
    // zsh's own cargo completion calls `_cargo-<subcommand>` for `cargo <subcommand> …`.
    let zsh = completions("zsh");
    assert!(zsh.starts_with("#compdef cargo-layer\n"), "{zsh}");
    assert!(zsh.contains("\n_cargo-layer() {"), "{zsh}");
}

/// Bash completion of `words`, the last one being completed, with the script loaded.
fn complete_in_bash(script: &Path, words: &[&str]) -> Vec<String> {
    let function = std::fs::read_to_string(script)
        .unwrap()
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("complete -F ")
                .map(|rest| rest.split(' ').next().unwrap().to_string())
        })
        .expect("a complete -F line");
    let words: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let last = words.len() - 1;
    let command = format!(
        "source \"$1\"; COMP_WORDS=({}); COMP_CWORD={last}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; {function} cargo-layer \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$((COMP_CWORD - 1))]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        words.join(" ")
    );
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-c", &command, "bash"])
        .arg(script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_bash_script_loads_and_completes_commands_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("cargo-layer.bash");
    std::fs::write(&script, completions("bash")).unwrap();
    let out = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));

    assert_eq!(
        complete_in_bash(&script, &["cargo-layer", "pr"]),
        ["promote", "prune"]
    );
    let flags = complete_in_bash(&script, &["cargo-layer", "publish", "--dry"]);
    assert_eq!(flags, ["--dry-run"]);
    let shells = complete_in_bash(&script, &["cargo-layer", "completions", ""]);
    for shell in ["bash", "zsh", "fish", "powershell"] {
        assert!(shells.iter().any(|s| s == shell), "{shells:?}");
    }
}

#[test]
fn the_zsh_and_fish_scripts_parse_where_those_shells_are_installed() {
    for (shell, check) in [("zsh", "-n"), ("fish", "--no-execute")] {
        let Some(program) = which(shell) else {
            continue;
        };
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join(format!("cargo-layer.{shell}"));
        std::fs::write(&script, completions(shell)).unwrap();
        let out = Command::new(program)
            .arg(check)
            .arg(&script)
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {}", output_text(&out));
    }
}

#[test]
fn man_writes_one_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man");
    let out = cargo_layer_process(dir.path())
        .args(["layer", "man", "--out-dir"])
        .arg(&pages)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    let mut written: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut expected: Vec<String> = COMMANDS
        .iter()
        .map(|c| format!("cargo-layer-{c}.1"))
        .chain(["cargo-layer.1".to_string()])
        .collect();
    expected.sort();
    assert_eq!(written, expected);
    // stdout lists the pages it wrote.
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 11);

    let top = std::fs::read_to_string(pages.join("cargo-layer.1")).unwrap();
    assert!(top.starts_with(".ie") || top.starts_with(".TH"), "{top}");
    assert!(top.contains(".TH cargo-layer 1"), "{top}");
    assert!(top.contains("publish"), "{top}");
    let publish = std::fs::read_to_string(pages.join("cargo-layer-publish.1")).unwrap();
    assert!(
        publish.contains(&format!(
            ".TH cargo-layer-publish 1  \"cargo-layer {}\"",
            env!("CARGO_PKG_VERSION")
        )),
        "{publish}"
    );
    assert!(publish.contains("\\-\\-dry\\-run"), "{publish}");
}
