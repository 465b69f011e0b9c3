//! Where each file goes inside the layer (and so under /opt): built binaries by `kind`, then the
//! `include` globs. Nothing here may escape the layer root or land twice on one path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::error::{Error, Kind, Result};
use crate::project::config::{Include, LayerConfig, LayerKind};

pub const MODE_EXECUTABLE: u32 = 0o755;
pub const MODE_FILE: u32 = 0o644;

/// One file of the layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path inside the zip, '/'-separated, relative to /opt.
    pub path: String,
    pub source: PathBuf,
    pub mode: u32,
    /// Built by cargo (and so checked as an ELF binary).
    pub built: bool,
    /// The `include` entry it came from, if any.
    pub include: Option<usize>,
}

/// What `cargo build` produced for a package.
#[derive(Debug, Default, Clone)]
pub struct Artifacts {
    pub bins: BTreeMap<String, PathBuf>,
    pub cdylib: Option<PathBuf>,
    /// With `--no-build`, when nothing complete was found: the directories looked in.
    pub searched: Vec<PathBuf>,
}

impl Artifacts {
    /// " (looked in A and B)" after a `--no-build` that found nothing.
    fn looked_in(&self) -> String {
        if self.searched.is_empty() {
            return String::new();
        }
        let dirs: Vec<String> = self
            .searched
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        format!(" (looked in {})", dirs.join(" and "))
    }
}

/// Map build artifacts and includes to layer paths, sorted by path.
pub fn map(layer: &LayerConfig, artifacts: &Artifacts) -> Result<Vec<Entry>> {
    let mut entries = built_entries(layer, artifacts)?;
    for (i, include) in layer.include.iter().enumerate() {
        entries.extend(include_entries(layer, i, include)?);
    }
    check_unique_paths(layer, &mut entries)?;
    Ok(entries)
}

fn built_entries(layer: &LayerConfig, artifacts: &Artifacts) -> Result<Vec<Entry>> {
    let built = |path: String, source: &Path| Entry {
        path,
        source: source.to_path_buf(),
        mode: MODE_EXECUTABLE,
        built: true,
        include: None,
    };
    let bin = |name: &String| {
        artifacts.bins.get(name).ok_or_else(|| {
            Error::new(
                Kind::Package,
                format!(
                    "binary `{name}` of package `{}` was not built{}",
                    layer.package,
                    artifacts.looked_in()
                ),
            )
            .fix("run without --no-build, or build it with the same --target and profile first")
        })
    };
    match layer.kind {
        LayerKind::Extension => layer
            .bins
            .iter()
            .map(|name| Ok(built(format!("extensions/{name}"), bin(name)?)))
            .collect(),
        LayerKind::Bin => layer
            .bins
            .iter()
            .map(|name| Ok(built(format!("bin/{name}"), bin(name)?)))
            .collect(),
        LayerKind::Runtime => Ok(vec![built("bootstrap".into(), bin(&layer.bins[0])?)]),
        LayerKind::Lib => {
            let path = artifacts.cdylib.as_deref().ok_or_else(|| {
                Error::new(
                    Kind::Package,
                    format!(
                        "the cdylib of package `{}` was not built{}",
                        layer.package,
                        artifacts.looked_in()
                    ),
                )
            })?;
            let file = path.file_name().unwrap_or_default().to_string_lossy();
            Ok(vec![built(format!("lib/{file}"), path)])
        }
        LayerKind::Files => Ok(Vec::new()),
    }
}

fn include_error(layer: &LayerConfig, i: usize, field: &str, message: String) -> Error {
    let origin = &layer.include_origin;
    Error::new(Kind::Package, message).at(
        &origin.file,
        format!("{}.include[{i}].{field}", origin.prefix),
    )
}

/// The files one `include` entry adds. Each keeps its path relative to the literal directory
/// the glob starts in; `to` ending in '/' (or empty) is a directory, otherwise one file's name.
fn include_entries(layer: &LayerConfig, i: usize, include: &Include) -> Result<Vec<Entry>> {
    let root = canonical(&layer.package_root)?;
    let pattern = include.from.trim_start_matches("./");
    let base = glob_base(pattern);
    let glob = IncludeGlob::new(pattern).map_err(|e| {
        include_error(
            layer,
            i,
            "from",
            format!("\"{}\" is not a valid glob: {e}", include.from),
        )
    })?;
    let mut files = BTreeMap::new();
    for path in glob.matches(&root, &base)? {
        for file in files_under(&path)? {
            let real = std::fs::canonicalize(&file).map_err(|e| {
                include_error(
                    layer,
                    i,
                    "from",
                    format!(
                        "cannot read {} ({e}); fix the file or the glob",
                        file.display()
                    ),
                )
            })?;
            if !real.starts_with(&root) {
                return Err(include_error(
                    layer,
                    i,
                    "from",
                    format!(
                        "{} is a symlink to {}, outside the package; copy the file into the package instead",
                        file.display(),
                        real.display()
                    ),
                ));
            }
            let rel = file.strip_prefix(root.join(&base)).unwrap_or(&file);
            files.insert(slash_path(rel), (file, real));
        }
    }
    if files.is_empty() {
        return Err(include_error(
            layer,
            i,
            "from",
            format!(
                "\"{}\" matches no files in {}; fix the glob or remove the entry",
                include.from,
                root.display()
            ),
        ));
    }
    let to = include.to.trim_start_matches("./");
    let to_dir = to.is_empty() || to.ends_with('/');
    if !to_dir && files.len() > 1 {
        return Err(include_error(
            layer,
            i,
            "to",
            format!(
                "\"{to}\" names one file but `from` matches {} files; end it with '/' to copy them into a directory",
                files.len()
            ),
        ));
    }
    files
        .into_iter()
        .map(|(rel, (file, real))| {
            let path = if to_dir {
                format!("{to}{rel}")
            } else {
                to.to_string()
            };
            let mode = include_mode(&path, &real)?;
            Ok(Entry {
                path,
                source: file,
                mode,
                built: false,
                include: Some(i),
            })
        })
        .collect()
}

/// An `include` glob, matched against paths relative to the package: `*` and `?` stay within one
/// path component, `**` spans any number of them (`lib/**` is every file below `lib/`), as in
/// .gitignore. A hidden file or directory matches only a pattern component that itself starts
/// with a literal `.`.
struct IncludeGlob {
    matcher: globset::GlobMatcher,
    /// Pattern components that start with `.`, each matched against one hidden path component.
    hidden: Vec<globset::GlobMatcher>,
    /// How deep below the literal base directory a match can be; None with `**`.
    depth: Option<usize>,
}

impl IncludeGlob {
    fn new(pattern: &str) -> std::result::Result<IncludeGlob, globset::Error> {
        let build = |text: &str| {
            globset::GlobBuilder::new(text)
                .literal_separator(true)
                .build()
                .map(|g| g.compile_matcher())
        };
        let components: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
        let hidden = components
            .iter()
            .filter(|c| c.starts_with('.') && **c != "." && **c != "..")
            .map(|c| build(c))
            .collect::<std::result::Result<_, _>>()?;
        let base_depth = glob_base(pattern).components().count();
        let depth = (!components.contains(&"**")).then(|| components.len() - base_depth);
        Ok(IncludeGlob {
            matcher: build(pattern)?,
            hidden,
            depth,
        })
    }

    /// The files and directories below `root` that the glob matches, in path order. A path that
    /// cannot be read but would match is returned too, so the caller reports it.
    fn matches(&self, root: &Path, base: &Path) -> Result<Vec<PathBuf>> {
        let start = root.join(base);
        if !start.is_dir() {
            return Ok(Vec::new());
        }
        let mut walk = WalkDir::new(&start)
            .follow_links(true)
            .min_depth(1)
            .sort_by_file_name();
        if let Some(depth) = self.depth {
            walk = walk.max_depth(depth);
        }
        let mut found = Vec::new();
        let walk = walk.into_iter().filter_entry(|e| {
            e.depth() == 0 || self.may_hold_matches(&e.file_name().to_string_lossy())
        });
        for item in walk {
            let path = match item {
                Ok(item) => item.into_path(),
                Err(e) if e.loop_ancestor().is_some() => {
                    let at = e.path().unwrap_or(&start).to_path_buf();
                    return Err(Error::io("read", &at, e.into()));
                }
                // A dangling symlink: keep it if it matches, and let the caller name it.
                Err(e) => match e.path() {
                    Some(path) => path.to_path_buf(),
                    None => return Err(Error::io("read", &start, e.into())),
                },
            };
            let rel = path.strip_prefix(root).unwrap_or(&path);
            if self.matcher.is_match(rel) && self.hidden_allowed(rel) {
                found.push(path);
            }
        }
        Ok(found)
    }

    /// Hidden directories are walked only when the pattern names hidden components.
    fn may_hold_matches(&self, name: &str) -> bool {
        !name.starts_with('.') || !self.hidden.is_empty()
    }

    fn hidden_allowed(&self, rel: &Path) -> bool {
        rel.components().all(|c| {
            let name = c.as_os_str().to_string_lossy();
            !name.starts_with('.') || self.hidden.iter().any(|h| h.is_match(name.as_ref()))
        })
    }
}

/// The directory part of a glob before its first wildcard: `config/*.yaml` -> `config`.
fn glob_base(pattern: &str) -> PathBuf {
    let wild = pattern.find(['*', '?', '[', '{']).unwrap_or(pattern.len());
    let literal = &pattern[..wild];
    if wild == pattern.len() {
        // A plain path: keep its own name.
        return Path::new(literal)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
    }
    match literal.rfind('/') {
        Some(slash) => PathBuf::from(&literal[..slash]),
        None => PathBuf::new(),
    }
}

/// A matched file, or every file below a matched directory (following symlinks, which are then
/// checked against the package root like any other file).
fn files_under(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    // Hidden files are skipped, as `*` in a glob skips them.
    let visible =
        |e: &walkdir::DirEntry| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.');
    for item in WalkDir::new(path)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(visible)
    {
        let item = item.map_err(|e| {
            let at = e.path().unwrap_or(path).to_path_buf();
            Error::io("read", &at, e.into())
        })?;
        if item.file_type().is_file() {
            files.push(item.into_path());
        }
    }
    Ok(files)
}

fn canonical(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|e| Error::io("resolve", path, e))
}

fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// 0755 for executables, 0644 for the rest. Files Lambda starts itself are always executable:
/// a lost exec bit there fails at cold start, not at deploy.
fn include_mode(layer_path: &str, source: &Path) -> Result<u32> {
    let starts_itself = layer_path == "bootstrap"
        || layer_path
            .strip_prefix("extensions/")
            .is_some_and(|rest| !rest.contains('/'));
    if starts_itself || is_executable(source)? {
        Ok(MODE_EXECUTABLE)
    } else {
        Ok(MODE_FILE)
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| Error::io("read", path, e))?;
    Ok(meta.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_path: &Path) -> Result<bool> {
    Ok(false)
}

/// The error for two layer paths that collide, at the `include` that caused it.
fn clash(layer: &LayerConfig, first: &Entry, second: &Entry, message: String) -> Error {
    match second.include.or(first.include) {
        Some(i) => include_error(layer, i, "to", message),
        None => Error::new(Kind::Package, message),
    }
}

fn check_unique_paths(layer: &LayerConfig, entries: &mut [Entry]) -> Result<()> {
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    for pair in entries.windows(2) {
        if pair[0].path == pair[1].path {
            let message = format!(
                "two files map to the layer path {}: {} and {}; change an `include` `to` so each lands on its own path",
                pair[0].path,
                pair[0].source.display(),
                pair[1].source.display()
            );
            return Err(clash(layer, &pair[0], &pair[1], message));
        }
    }
    // A file and a directory of the same name cannot both exist under /opt.
    for entry in entries.iter() {
        let prefix = format!("{}/", entry.path);
        if let Some(inside) = entries.iter().find(|e| e.path.starts_with(&prefix)) {
            let message = format!(
                "{} is both a file ({}) and a directory holding {}; rename one",
                entry.path,
                entry.source.display(),
                inside.path
            );
            return Err(clash(layer, entry, inside, message));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matched(pattern: &str, files: &[&str]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for file in files {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        let glob = IncludeGlob::new(pattern).unwrap();
        glob.matches(&root, &glob_base(pattern))
            .unwrap()
            .iter()
            .map(|p| slash_path(p.strip_prefix(&root).unwrap()))
            .collect()
    }

    #[test]
    fn double_star_takes_every_file_below() {
        assert_eq!(
            matched("lib/**", &["lib/a.so", "lib/b.so"]),
            ["lib/a.so", "lib/b.so"]
        );
        assert_eq!(
            matched("lib/**", &["lib/a.so", "lib/x/b.so", "other/c"]),
            ["lib/a.so", "lib/x", "lib/x/b.so"]
        );
        assert_eq!(
            matched(
                "**/*.yaml",
                &["a.yaml", "x/b.yaml", "x/y/c.yaml", "x/d.txt"]
            ),
            ["a.yaml", "x/b.yaml", "x/y/c.yaml"]
        );
        assert_eq!(
            matched("a/**/c", &["a/c", "a/b/c", "a/b/d"]),
            ["a/b/c", "a/c"]
        );
    }

    #[test]
    fn star_stays_in_one_directory() {
        assert_eq!(
            matched("config/*.yaml", &["config/a.yaml", "config/x/b.yaml"]),
            ["config/a.yaml"]
        );
        assert_eq!(matched("*.txt", &["a.txt", "d/b.txt"]), ["a.txt"]);
    }

    #[test]
    fn hidden_files_need_a_literal_dot() {
        assert_eq!(
            matched("lib/**", &["lib/a", "lib/.hidden", "lib/.d/b"]),
            ["lib/a"]
        );
        assert_eq!(
            matched("lib/.*", &["lib/a", "lib/.hidden"]),
            ["lib/.hidden"]
        );
        assert_eq!(matched(".config/**", &[".config/a", "b"]), [".config/a"]);
        assert_eq!(
            matched("**/.keep", &["x/.keep", "x/y/.keep", "x/z"]),
            ["x/.keep", "x/y/.keep"]
        );
    }

    #[test]
    fn braces_and_plain_paths() {
        assert_eq!(
            matched("{a,b}.txt", &["a.txt", "b.txt", "c.txt"]),
            ["a.txt", "b.txt"]
        );
        assert_eq!(
            matched("config/app.yaml", &["config/app.yaml", "config/b.yaml"]),
            ["config/app.yaml"]
        );
        assert_eq!(matched("missing/*.txt", &["a.txt"]), Vec::<String>::new());
    }

    #[test]
    fn glob_base_is_the_literal_directory() {
        assert_eq!(glob_base("config/*.yaml"), PathBuf::from("config"));
        assert_eq!(glob_base("a/b/**/*.txt"), PathBuf::from("a/b"));
        assert_eq!(glob_base("*.txt"), PathBuf::new());
        assert_eq!(glob_base("assets"), PathBuf::new());
        assert_eq!(glob_base("config/app.yaml"), PathBuf::from("config"));
    }
}
