//! `layer-info`-style helper on the function's PATH: prints what the layer holds.

fn main() {
    println!("shared-tools {} in {}", env!("CARGO_PKG_VERSION"), std::env::var("AWS_REGION").unwrap_or_default());
    for entry in std::fs::read_dir("/opt").into_iter().flatten().flatten() {
        println!("/opt/{}", entry.file_name().to_string_lossy());
    }
}
