//! Lambda's size limits and unreadable inputs, checked before any zip is written.

use crate::support::{TempCrate, error_line};

fn files_layer(files: &[(&str, &str)]) -> TempCrate {
    let manifest = "[package]\nname = \"sizes\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n\n[package.metadata.layer]\nkind = \"files\"\ninclude = [{ from = \"data/*\", to = \"data/\" }]\n";
    let mut all = vec![("Cargo.toml", manifest), ("src/lib.rs", "")];
    all.extend_from_slice(files);
    TempCrate::new(&all)
}

#[test]
fn a_layer_that_unzips_past_250_mib_is_refused() {
    let krate = files_layer(&[("data/small.txt", "x")]);
    // Sparse: 262,144,001 bytes on paper, nothing on disk; the check reads sizes, not data.
    let big = std::fs::File::create(krate.root.join("data/huge.bin")).unwrap();
    big.set_len(262_144_001).unwrap();
    let out = krate.package(&[]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(5), "{line}");
    assert!(
        line.contains("262144002 bytes") && line.contains("262144000"),
        "{line}"
    );
    assert!(
        line.contains("data/huge.bin"),
        "names the largest entries: {line}"
    );
    assert!(krate.zips().is_empty());
}

#[test]
fn a_zip_past_the_direct_upload_limit_is_refused() {
    let krate = files_layer(&[]);
    let mut rng = fastrand::Rng::with_seed(42);
    let noise: Vec<u8> = (0..53 * 1024 * 1024).map(|_| rng.u8(..)).collect();
    std::fs::create_dir_all(krate.root.join("data")).unwrap();
    std::fs::write(krate.root.join("data/noise.bin"), noise).unwrap();
    let out = krate.package(&[]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(5), "{line}");
    assert!(
        line.contains("52428800-byte limit for a direct upload"),
        "{line}"
    );
    assert!(line.contains("data/noise.bin"), "{line}");
    assert!(krate.zips().is_empty());
}

#[test]
fn an_unreadable_include_names_the_key() {
    let krate = files_layer(&[("data/ok.txt", "ok")]);
    std::os::unix::fs::symlink(
        krate.root.join("data/gone.txt"),
        krate.root.join("data/dangling.txt"),
    )
    .unwrap();
    let out = krate.package(&[]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(5), "{line}");
    assert!(
        line.contains("package.metadata.layer.include[0].from"),
        "{line}"
    );
    assert!(line.contains("dangling.txt"), "{line}");
    assert!(krate.zips().is_empty());
}
