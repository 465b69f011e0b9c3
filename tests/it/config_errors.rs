//! `[package.metadata.layer]` validation, end to end through the binary with `--no-build`: every
//! bad value must stop the run with the documented exit code, one `error: ` line on stderr that
//! names the Cargo.toml, the key path and the bad value, and no zip written.

use std::path::Path;

use cargo_layer::project::config::{Builder, LayerKind};
use cargo_layer::project::limits;
use cargo_layer::project::{self, Selection};

use crate::support::{
    TempCrate, error_line, example_manifest, fixture_manifest, layer_crate, success,
};

const CONFIG: i32 = 3;
const PACKAGE: i32 = 5;

/// Run `package --no-build` and check the error contract. `key` is the full key path.
fn check_error(krate: &TempCrate, file: &Path, code: i32, key: &str, needles: &[&str]) {
    let out = krate.package(&["--no-build"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(code), "wrong exit code for: {line}");
    if code == CONFIG {
        // Validation runs before any progress output.
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).lines().count(),
            1,
            "a config error is the only stderr line"
        );
    }
    // `error: <file>:<line>: <key>: ...`: the line of the key in that file.
    let file_prefix = format!("error: {}:", file.display());
    let rest = line.strip_prefix(&file_prefix).unwrap_or_else(|| {
        panic!("expected the error to start with {file_prefix:?}, got:\n{line}")
    });
    let (number, rest) = rest
        .split_once(':')
        .unwrap_or_else(|| panic!("expected a line number after the file in:\n{line}"));
    assert!(
        number.parse::<usize>().is_ok_and(|n| n > 0),
        "expected a line number after the file in:\n{line}"
    );
    assert!(
        rest.starts_with(&format!(" {key}: ")),
        "expected the key {key:?} after the line number in:\n{line}"
    );
    for needle in needles {
        assert!(line.contains(needle), "expected {needle:?} in:\n{line}");
    }
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
    assert_eq!(krate.zips(), Vec::<std::path::PathBuf>::new(), "no zip");
}

/// The common case: `key` is relative to `package.metadata.layer`.
fn layer_error(layer: &str, code: i32, key: &str, needles: &[&str]) {
    layer_error_with(layer, &[], code, key, needles);
}

fn layer_error_with(layer: &str, files: &[(&str, &str)], code: i32, key: &str, needles: &[&str]) {
    let krate = layer_crate(layer, files);
    let key = format!("package.metadata.layer.{key}");
    check_error(&krate, &krate.manifest(), code, &key, needles);
}

fn quoted_list(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

// ---- schema: unknown keys and wrong types ----

#[test]
fn unknown_top_level_key() {
    layer_error(
        "nmae = \"x\"",
        CONFIG,
        "nmae",
        &["unknown field `nmae`", "`name`"],
    );
}

#[test]
fn unknown_stage_key() {
    layer_error(
        "[package.metadata.layer.stages.prod]\nacounts = [\"222222222222\"]",
        CONFIG,
        "stages.prod.acounts",
        &["unknown field `acounts`", "`accounts`"],
    );
}

#[test]
fn unknown_include_key() {
    layer_error(
        "kind = \"files\"\ninclude = [{ from = \"a\", dest = \"b\" }]",
        CONFIG,
        "include[0].dest",
        &["unknown field `dest`"],
    );
}

#[test]
fn bad_kind() {
    layer_error(
        "kind = \"extention\"",
        CONFIG,
        "kind",
        &["`extention`", "`extension`"],
    );
}

#[test]
fn account_as_integer_is_a_type_error() {
    layer_error(
        "[package.metadata.layer.stages.prod]\naccounts = [222222222222]",
        CONFIG,
        "stages.prod.accounts[0]",
        &["invalid type: integer `222222222222`", "expected a string"],
    );
}

// ---- name, description, license ----

#[test]
fn bad_layer_name_chars() {
    layer_error(
        "name = \"my.layer\"",
        CONFIG,
        "name",
        &["\"my.layer\"", "'.'"],
    );
}

#[test]
fn layer_name_too_long() {
    let name = "n".repeat(limits::MAX_LAYER_NAME + 1);
    layer_error(
        &format!("name = \"{name}\""),
        CONFIG,
        "name",
        &[&format!("\"{name}\""), "140"],
    );
}

#[test]
fn layer_name_too_long_for_the_version_arn() {
    // 100 characters is a valid name, but not with the ARN around it.
    let name = "n".repeat(100);
    layer_error(
        &format!("name = \"{name}\"\nregion = \"eu-central-1\""),
        CONFIG,
        "name",
        &[
            &format!("\"{name}\""),
            "eu-central-1",
            "at most 77 characters",
        ],
    );
}

#[test]
fn description_too_long() {
    let len = limits::MAX_DESCRIPTION + 1;
    layer_error(
        &format!("description = \"{}\"", "d".repeat(len)),
        CONFIG,
        "description",
        &[
            &format!("is {len} characters"),
            &format!("at most {}", limits::MAX_DESCRIPTION),
        ],
    );
}

#[test]
fn description_at_the_limit_is_accepted() {
    let krate = layer_crate(
        &format!(
            "kind = \"files\"\ninclude = [{{ from = \"a.txt\" }}]\ndescription = \"{}\"",
            "d".repeat(limits::MAX_DESCRIPTION)
        ),
        &[("a.txt", "a")],
    );
    success(&krate.package(&["--no-build"]));
}

#[test]
fn license_too_long() {
    layer_error(
        &format!("license = \"{}\"", "l".repeat(limits::MAX_LICENSE + 1)),
        CONFIG,
        "license",
        &["512"],
    );
}

// ---- runtimes and architectures ----

#[test]
fn bad_runtime() {
    layer_error(
        "compatible-runtimes = [\"provided.al2023\", \"rust1.0\"]",
        CONFIG,
        "compatible-runtimes[1]",
        &["\"rust1.0\"", "provided.al2023"],
    );
}

#[test]
fn too_many_runtimes() {
    let runtimes = [
        "provided",
        "provided.al2",
        "provided.al2023",
        "python3.9",
        "python3.10",
        "python3.11",
        "python3.12",
        "python3.13",
        "nodejs18.x",
        "nodejs20.x",
        "nodejs22.x",
        "java11",
        "java17",
        "java21",
        "ruby3.2",
        "ruby3.3",
    ];
    assert_eq!(runtimes.len(), limits::MAX_RUNTIMES + 1);
    layer_error(
        &format!("compatible-runtimes = {}", quoted_list(&runtimes)),
        CONFIG,
        "compatible-runtimes",
        &["16 runtimes", "at most 15"],
    );
}

#[test]
fn bad_architecture() {
    layer_error(
        "compatible-architectures = [\"amd64\"]",
        CONFIG,
        "compatible-architectures[0]",
        &["\"amd64\"", "\"x86_64\"", "\"arm64\""],
    );
}

#[test]
fn three_architectures() {
    layer_error(
        "compatible-architectures = [\"x86_64\", \"arm64\", \"x86_64\"]",
        CONFIG,
        "compatible-architectures",
        &["3 architectures", "at most 2"],
    );
}

#[test]
fn duplicate_architectures() {
    layer_error(
        "compatible-architectures = [\"arm64\", \"arm64\"]",
        CONFIG,
        "compatible-architectures",
        &["\"arm64\" twice"],
    );
}

// ---- regions and accounts ----

#[test]
fn region_and_regions_both_set() {
    layer_error(
        "region = \"eu-central-1\"\nregions = [\"eu-west-1\"]",
        CONFIG,
        "regions",
        &["`region` or `regions`"],
    );
}

#[test]
fn bad_region() {
    layer_error(
        "region = \"eu-central\"",
        CONFIG,
        "region",
        &["\"eu-central\"", "eu-central-1"],
    );
}

#[test]
fn bad_region_in_list() {
    layer_error(
        "regions = [\"eu-west-1\", \"EU-WEST-2\"]",
        CONFIG,
        "regions[1]",
        &["\"EU-WEST-2\""],
    );
}

#[test]
fn duplicate_region() {
    layer_error(
        "regions = [\"eu-west-1\", \"eu-west-1\"]",
        CONFIG,
        "regions[1]",
        &["\"eu-west-1\" is listed twice"],
    );
}

#[test]
fn empty_regions() {
    layer_error("regions = []", CONFIG, "regions", &["is empty"]);
}

#[test]
fn artifacts_account_with_11_digits() {
    layer_error(
        "artifacts-account = \"11111111111\"",
        CONFIG,
        "artifacts-account",
        &["\"11111111111\"", "12-digit"],
    );
}

#[test]
fn bad_role_arn() {
    layer_error(
        "role-arn = \"arn:aws:iam::1234:role/publisher\"",
        CONFIG,
        "role-arn",
        &["\"arn:aws:iam::1234:role/publisher\"", "IAM role ARN"],
    );
}

// ---- stages ----

#[test]
fn stage_account_too_short() {
    layer_error(
        "[package.metadata.layer.stages.prod]\naccounts = [\"222222222222\", \"12345\"]",
        CONFIG,
        "stages.prod.accounts[1]",
        &["\"12345\"", "12-digit"],
    );
}

#[test]
fn stage_account_star_must_say_public() {
    layer_error(
        "[package.metadata.layer.stages.prod]\naccounts = [\"*\"]",
        CONFIG,
        "stages.prod.accounts[0]",
        &["\"*\"", "public = true"],
    );
}

#[test]
fn duplicate_stage_account() {
    layer_error(
        "[package.metadata.layer.stages.prod]\naccounts = [\"222222222222\", \"333333333333\", \"222222222222\"]",
        CONFIG,
        "stages.prod.accounts[2]",
        &["\"222222222222\" is listed twice"],
    );
}

#[test]
fn bad_organization_id() {
    layer_error(
        "[package.metadata.layer.stages.prod]\norganization = \"o-abc\"",
        CONFIG,
        "stages.prod.organization",
        &["\"o-abc\"", "Organizations"],
    );
}

#[test]
fn stage_that_grants_nothing() {
    layer_error(
        "[package.metadata.layer.stages.prod]\npublic = false",
        CONFIG,
        "stages.prod",
        &["grants nothing"],
    );
}

#[test]
fn empty_stage_table_grants_nothing() {
    layer_error(
        "[package.metadata.layer.stages.dev]",
        CONFIG,
        "stages.dev",
        &["grants nothing"],
    );
}

#[test]
fn bad_stage_name() {
    layer_error(
        "[package.metadata.layer.stages.\"pr.od\"]\naccounts = [\"222222222222\"]",
        CONFIG,
        "stages.pr.od",
        &["stage name \"pr.od\""],
    );
}

#[test]
fn stage_name_too_long() {
    let name = "s".repeat(limits::MAX_STAGE_NAME + 1);
    layer_error(
        &format!("[package.metadata.layer.stages.{name}]\npublic = true"),
        CONFIG,
        &format!("stages.{name}"),
        &[&format!("\"{name}\""), "40"],
    );
}

// ---- kind and bins ----

#[test]
fn runtime_kind_with_two_bins() {
    layer_error_with(
        "kind = \"runtime\"\nbins = [\"fixture\", \"other\"]",
        &[("src/bin/other.rs", "fn main() {}\n")],
        CONFIG,
        "bins",
        &["exactly one bin", "found 2"],
    );
}

#[test]
fn runtime_kind_defaults_to_all_bins() {
    layer_error_with(
        "kind = \"runtime\"",
        &[("src/bin/other.rs", "fn main() {}\n")],
        CONFIG,
        "bins",
        &["exactly one bin", "found 2"],
    );
}

#[test]
fn bins_naming_a_missing_bin() {
    layer_error(
        "bins = [\"fixture\", \"nope\"]",
        CONFIG,
        "bins[1]",
        &["\"nope\"", "its bins are: fixture"],
    );
}

#[test]
fn duplicate_bins() {
    layer_error(
        "bins = [\"fixture\", \"fixture\"]",
        CONFIG,
        "bins[1]",
        &["\"fixture\" is listed twice"],
    );
}

#[test]
fn bins_with_kind_files() {
    layer_error_with(
        "kind = \"files\"\nbins = [\"fixture\"]\ninclude = [{ from = \"a.txt\" }]",
        &[("a.txt", "a")],
        CONFIG,
        "bins",
        &["kind = \"files\""],
    );
}

#[test]
fn kind_files_without_include() {
    layer_error(
        "kind = \"files\"",
        CONFIG,
        "include",
        &["kind = \"files\"", "`include`"],
    );
}

#[test]
fn kind_lib_without_cdylib() {
    layer_error_with(
        "kind = \"lib\"",
        &[("src/lib.rs", "")],
        CONFIG,
        "kind",
        &["cdylib", "`fixture`"],
    );
}

#[test]
fn extension_without_bin_target() {
    let manifest = fixture_manifest("[package.metadata.layer]\nkind = \"extension\"");
    let krate = TempCrate::new(&[("Cargo.toml", &manifest), ("src/lib.rs", "")]);
    check_error(
        &krate,
        &krate.manifest(),
        CONFIG,
        "package.metadata.layer.kind",
        &["kind = \"extension\"", "has none"],
    );
}

// ---- include: checked while parsing ----

#[test]
fn include_from_with_parent_dir() {
    layer_error(
        "kind = \"files\"\ninclude = [{ from = \"config/../../secrets/*\" }]",
        CONFIG,
        "include[0].from",
        &["\"config/../../secrets/*\"", "'..'"],
    );
}

#[test]
fn include_from_absolute() {
    layer_error(
        "kind = \"files\"\ninclude = [{ from = \"/etc/passwd\" }]",
        CONFIG,
        "include[0].from",
        &["\"/etc/passwd\""],
    );
}

#[test]
fn include_from_empty() {
    layer_error(
        "kind = \"files\"\ninclude = [{ from = \"\" }]",
        CONFIG,
        "include[0].from",
        &["is empty"],
    );
}

#[test]
fn include_to_with_parent_dir() {
    layer_error_with(
        "kind = \"files\"\ninclude = [{ from = \"a.txt\" }, { from = \"a.txt\", to = \"../etc/\" }]",
        &[("a.txt", "a")],
        CONFIG,
        "include[1].to",
        &["\"../etc/\"", "/opt"],
    );
}

// ---- builders and architectures ----

#[test]
fn bad_builder() {
    layer_error(
        "builder = \"docker\"",
        CONFIG,
        "builder",
        &["unknown variant `docker`", "`cargo`, `zigbuild`, `cross`"],
    );
}

#[test]
fn builder_is_inherited_from_the_workspace() {
    let krate = TempCrate::new(&[
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"ext\"]\n\n[workspace.metadata.layer]\nbuilder = \"zigbuild\"\n",
        ),
        (
            "ext/Cargo.toml",
            "[package]\nname = \"ext\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.layer]\nkind = \"bin\"\n",
        ),
        ("ext/src/main.rs", "fn main() {}\n"),
    ]);
    let project = project::load(&Selection {
        cargo_toml: Some(krate.manifest()),
        packages: Vec::new(),
    })
    .unwrap();
    assert_eq!(project.layers[0].builder, Builder::Zigbuild);
}

#[test]
fn two_architectures_split_into_one_layer_each() {
    let krate = layer_crate(
        "compatible-architectures = [\"arm64\", \"x86_64\"]\nregion = \"eu-central-1\"",
        &[],
    );
    let project = project::load(&Selection {
        cargo_toml: Some(krate.manifest()),
        packages: Vec::new(),
    })
    .unwrap();
    let layers: Vec<(&str, Vec<String>)> = project
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.compatible_architectures.clone().unwrap()))
        .collect();
    assert_eq!(
        layers,
        [
            ("fixture-x86_64", vec!["x86_64".to_string()]),
            ("fixture-arm64", vec!["arm64".to_string()])
        ]
    );
    assert!(project.layers.iter().all(|l| l.split));
}

#[test]
fn a_name_too_long_once_split_names_the_key() {
    let name = "n".repeat(limits::MAX_LAYER_NAME - 3);
    layer_error(
        &format!("name = \"{name}\"\ncompatible-architectures = [\"x86_64\", \"arm64\"]"),
        CONFIG,
        "name",
        &["with two compatible-architectures the layer is published as"],
    );
}

#[test]
fn p_with_a_layer_that_is_not_split() {
    let krate = layer_crate("compatible-architectures = [\"arm64\"]", &[]);
    let out = krate.package(&["--no-build", "-p", "fixture-arm64"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(CONFIG), "{line}");
    assert!(line.contains("-p fixture-arm64: no such layer"), "{line}");
    let out = krate.package(&["--no-build", "-p", "nothing-arm64"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(CONFIG), "{line}");
    assert!(
        line.contains("-p nothing-arm64: no such package in this workspace"),
        "{line}"
    );
}

#[test]
fn several_targets_without_compatible_architectures() {
    let krate = layer_crate("kind = \"bin\"", &[]);
    let out = krate.package(&[
        "--no-build",
        "--target",
        "x86_64-unknown-linux-gnu",
        "--target",
        "aarch64-unknown-linux-gnu",
    ]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(CONFIG), "{line}");
    assert!(
        line.starts_with(&format!(
            "error: {}:8: package.metadata.layer.compatible-architectures: is not set",
            krate.manifest().display()
        )),
        "{line}"
    );
    assert!(
        line.contains("set compatible-architectures = [\"x86_64\", \"arm64\"]"),
        "{line}"
    );
}

// ---- include: checked against the files (exit 5) ----

#[test]
fn include_glob_matching_nothing() {
    layer_error(
        "kind = \"files\"\ninclude = [{ from = \"config/*.yaml\" }]",
        PACKAGE,
        "include[0].from",
        &["\"config/*.yaml\"", "matches no files"],
    );
}

#[test]
fn include_to_a_file_name_matching_two_files() {
    layer_error_with(
        "kind = \"files\"\ninclude = [{ from = \"config/*.yaml\", to = \"etc/app.yaml\" }]",
        &[("config/a.yaml", "a"), ("config/b.yaml", "b")],
        PACKAGE,
        "include[0].to",
        &["\"etc/app.yaml\"", "2 files", "'/'"],
    );
}

#[cfg(unix)]
#[test]
fn include_symlink_outside_the_package() {
    let outside = tempfile::tempdir().unwrap();
    let secret = std::fs::canonicalize(outside.path())
        .unwrap()
        .join("secret");
    std::fs::write(&secret, "s3cr3t").unwrap();
    let krate = layer_crate(
        "kind = \"files\"\ninclude = [{ from = \"data/*\", to = \"data/\" }]",
        &[("data/ok.txt", "ok")],
    );
    std::os::unix::fs::symlink(&secret, krate.root.join("data/link")).unwrap();
    check_error(
        &krate,
        &krate.manifest(),
        PACKAGE,
        "package.metadata.layer.include[0].from",
        &[
            "symlink",
            &secret.display().to_string(),
            "outside the package",
        ],
    );
}

#[cfg(unix)]
#[test]
fn include_symlinked_directory_outside_the_package() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "s3cr3t").unwrap();
    let krate = layer_crate("kind = \"files\"\ninclude = [{ from = \"data\" }]", &[]);
    std::os::unix::fs::symlink(outside.path(), krate.root.join("data")).unwrap();
    check_error(
        &krate,
        &krate.manifest(),
        PACKAGE,
        "package.metadata.layer.include[0].from",
        &["outside the package"],
    );
}

const SAME_DESTINATION: &str = "kind = \"files\"\ninclude = [\n  { from = \"a/x.txt\", to = \"same.txt\" },\n  { from = \"b/x.txt\", to = \"same.txt\" },\n]";

#[test]
fn two_includes_with_one_destination_fail() {
    let krate = layer_crate(SAME_DESTINATION, &[("a/x.txt", "a"), ("b/x.txt", "b")]);
    let out = krate.package(&["--no-build"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(PACKAGE), "{line}");
    assert!(line.contains("same.txt"), "{line}");
    assert!(
        line.contains(&krate.root.join("a/x.txt").display().to_string()),
        "{line}"
    );
    assert!(
        line.contains(&krate.root.join("b/x.txt").display().to_string()),
        "{line}"
    );
    assert!(krate.zips().is_empty());
}

#[test]
fn two_includes_with_one_destination_name_the_key() {
    let krate = layer_crate(SAME_DESTINATION, &[("a/x.txt", "a"), ("b/x.txt", "b")]);
    check_error(
        &krate,
        &krate.manifest(),
        PACKAGE,
        "package.metadata.layer.include[1].to",
        &["same.txt"],
    );
}

// ---- workspace defaults ----

fn workspace(root_layer: &str, member_layer: &str, files: &[(&str, &str)]) -> TempCrate {
    let root = format!(
        "[workspace]\nmembers = [\"member\"]\nresolver = \"2\"\n\n[workspace.metadata.layer]\n{root_layer}\n"
    );
    let member = format!(
        "[package]\nname = \"member\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.layer]\n{member_layer}\n"
    );
    let krate = TempCrate::new(&[
        ("Cargo.toml", &root),
        ("member/Cargo.toml", &member),
        ("member/src/main.rs", "fn main() {}\n"),
    ]);
    for (path, contents) in files {
        krate.write(path, contents);
    }
    krate
}

#[test]
fn workspace_bad_region_names_the_workspace_manifest() {
    let ws = workspace(
        "regions = [\"eu-central-1\", \"mars-north\"]",
        "description = \"member\"",
        &[],
    );
    check_error(
        &ws,
        &ws.manifest(),
        CONFIG,
        "workspace.metadata.layer.regions[1]",
        &["\"mars-north\""],
    );
}

#[test]
fn workspace_bad_stage_account_names_the_workspace_manifest() {
    let ws = workspace(
        "[workspace.metadata.layer.stages.prod]\naccounts = [\"222222222222\", \"12345\"]",
        "description = \"member\"",
        &[],
    );
    check_error(
        &ws,
        &ws.manifest(),
        CONFIG,
        "workspace.metadata.layer.stages.prod.accounts[1]",
        &["\"12345\""],
    );
}

#[test]
fn workspace_unknown_key_names_the_workspace_manifest() {
    let ws = workspace("regoin = \"eu-central-1\"", "description = \"member\"", &[]);
    check_error(
        &ws,
        &ws.manifest(),
        CONFIG,
        "workspace.metadata.layer.regoin",
        &["unknown field `regoin`"],
    );
}

#[test]
fn member_error_names_the_member_manifest() {
    let ws = workspace(
        "region = \"eu-central-1\"",
        "artifacts-account = \"1\"",
        &[],
    );
    check_error(
        &ws,
        &ws.root.join("member/Cargo.toml"),
        CONFIG,
        "package.metadata.layer.artifacts-account",
        &["\"1\""],
    );
}

#[test]
fn duplicate_layer_names_in_a_workspace() {
    let root = "[workspace]\nmembers = [\"a\", \"b\"]\nresolver = \"2\"\n";
    let member = |name: &str| {
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.layer]\nname = \"shared\"\nkind = \"files\"\ninclude = [{{ from = \"f.txt\" }}]\n"
        )
    };
    let ws = TempCrate::new(&[
        ("Cargo.toml", root),
        ("a/Cargo.toml", &member("a")),
        ("a/src/lib.rs", ""),
        ("a/f.txt", "a"),
        ("b/Cargo.toml", &member("b")),
        ("b/src/lib.rs", ""),
        ("b/f.txt", "b"),
    ]);
    check_error(
        &ws,
        &ws.root.join("b/Cargo.toml"),
        CONFIG,
        "package.metadata.layer.name",
        &["\"shared\"", "`a`"],
    );
}

#[test]
fn workspace_include_error_names_the_workspace_key() {
    let ws = workspace(
        "kind = \"files\"\ninclude = [{ from = \"missing/*\" }]",
        "description = \"member\"",
        &[],
    );
    let out = ws.package(&["--no-build"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(PACKAGE), "{line}");
    assert!(
        line.contains("workspace.metadata.layer.include[0].from"),
        "the include was written in the workspace table: {line}"
    );
}

#[test]
fn long_cargo_description_names_package_description() {
    let long = "d".repeat(limits::MAX_DESCRIPTION + 1);
    let manifest = format!(
        "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\ndescription = \"{long}\"\n\n[workspace]\n\n[package.metadata.layer]\nkind = \"extension\"\n"
    );
    let krate = TempCrate::new(&[("Cargo.toml", &manifest), ("src/main.rs", "fn main() {}\n")]);
    check_error(
        &krate,
        &krate.manifest(),
        CONFIG,
        "package.description",
        &[&format!("{} characters", limits::MAX_DESCRIPTION + 1)],
    );
}

// ---- selection and cargo errors ----

#[test]
fn unknown_package_with_p() {
    let krate = layer_crate("kind = \"extension\"", &[]);
    let out = krate.package(&["--no-build", "-p", "nope"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(CONFIG), "{line}");
    assert!(line.contains("-p nope"), "{line}");
    assert!(line.contains("members are: fixture"), "{line}");
    assert!(krate.zips().is_empty());
}

#[test]
fn no_layer_table() {
    let krate = TempCrate::new(&[
        ("Cargo.toml", &fixture_manifest("")),
        ("src/main.rs", "fn main() {}\n"),
    ]);
    let out = krate.package(&["--no-build"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(CONFIG), "{line}");
    assert!(line.contains("[package.metadata.layer]"), "{line}");
}

#[test]
fn broken_cargo_toml_is_one_line() {
    let krate = TempCrate::new(&[
        ("Cargo.toml", "[package\nname = \"fixture\"\n"),
        ("src/main.rs", "fn main() {}\n"),
    ]);
    let out = krate.package(&["--no-build"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(CONFIG), "{line}");
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    assert!(line.contains("cargo metadata failed"), "{line}");
    assert!(line.contains("Cargo.toml"), "{line}");
}

// ---- happy path: the examples parse ----

fn load(manifest: &Path, packages: &[&str]) -> project::Project {
    project::load(&Selection {
        cargo_toml: Some(manifest.to_path_buf()),
        packages: packages.iter().map(|p| p.to_string()).collect(),
    })
    .unwrap_or_else(|e| panic!("{} should parse: {e}", manifest.display()))
}

#[test]
fn hello_extension_example_parses() {
    let project = load(&example_manifest("hello-extension"), &[]);
    assert_eq!(project.layers.len(), 1);
    let layer = &project.layers[0];
    assert_eq!(layer.name, "hello-extension");
    assert_eq!(layer.package, "hello-extension");
    assert_eq!(layer.kind, LayerKind::Extension);
    assert_eq!(layer.bins, ["hello-extension"]);
    assert_eq!(layer.description.as_deref(), Some("Hello from cargo-layer"));
    assert_eq!(layer.license.as_deref(), Some("MIT"));
    assert_eq!(layer.compatible_runtimes, ["provided.al2023"]);
    assert_eq!(layer.compatible_architectures, None);
    assert_eq!(layer.regions, ["eu-central-1"]);
    assert_eq!(layer.artifacts_account.as_deref(), Some("111111111111"));
    let stages: Vec<&str> = layer.stages.keys().map(String::as_str).collect();
    assert_eq!(stages, ["dev", "prod", "test"]);
    assert_eq!(
        layer.stages["prod"].accounts,
        ["444444444444", "555555555555"]
    );
    assert!(!layer.stages["prod"].public);
    assert_eq!(layer.stage("dev").unwrap().accounts, ["222222222222"]);
    let err = layer.stage("qa").unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert!(err.to_string().contains("dev, prod, test"), "{err}");
}

#[test]
fn workspace_example_merges_defaults() {
    let project = load(&example_manifest("workspace"), &[]);
    let names: Vec<&str> = project.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["shared-tools", "app-config-files"]);

    let tools = &project.layers[0];
    assert_eq!(tools.kind, LayerKind::Bin);
    assert_eq!(tools.bins, ["shared-tools"]);
    assert_eq!(
        tools.license.as_deref(),
        Some("MIT"),
        "from workspace.package"
    );
    assert_eq!(
        tools.description.as_deref(),
        Some("Small tools every function can call from /opt/bin")
    );
    assert_eq!(tools.compatible_runtimes, ["provided.al2023"]);
    assert_eq!(tools.regions, ["eu-central-1"]);
    assert_eq!(tools.artifacts_account.as_deref(), Some("111111111111"));
    assert_eq!(tools.stages["dev"].accounts, ["222222222222"]);
    assert_eq!(
        tools.stages["prod"].organization.as_deref(),
        Some("o-abcdefghij")
    );

    let files = &project.layers[1];
    assert_eq!(files.package, "app-config");
    assert_eq!(files.kind, LayerKind::Files);
    assert!(files.bins.is_empty());
    assert_eq!(files.include.len(), 1);
    assert_eq!(files.compatible_runtimes, ["provided.al2023", "python3.13"]);
    assert_eq!(files.regions, ["eu-central-1"], "inherited");
    assert_eq!(files.stages["dev"].accounts, ["222222222222"], "inherited");
    // A package stage replaces the workspace stage of the same name whole.
    assert_eq!(files.stages["prod"].accounts, ["444444444444"]);
    assert_eq!(files.stages["prod"].organization, None);
}

#[test]
fn workspace_example_with_p_selects_one() {
    let project = load(&example_manifest("workspace"), &["app-config"]);
    let names: Vec<&str> = project.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["app-config-files"]);
}
