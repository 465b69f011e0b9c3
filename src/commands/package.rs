//! `cargo layer package`: the zips, with no AWS call.

use crate::cli::PackageArgs;
use crate::error::Result;
use crate::output::Run;
use crate::output::progress::Progress;
use crate::pack::{self, Packaged};
use crate::project;
use crate::project::config::kind_name;
use crate::schema::{Entry, Header, Outcome, Package, ResultType};

pub fn run(args: &PackageArgs, progress: &Progress) -> Result<Run> {
    let opts = pack::Options {
        selection: args.select.selection(),
        build: args.build.options(progress.is_quiet()),
        out_dir: args.out_dir.clone(),
    };
    let project = project::load(&opts.selection)?;
    let mut run = Run::default();
    for layer in pack::pack_project(&project, &opts, progress)? {
        run.push(Outcome::Package(result(&layer)));
    }
    Ok(run)
}

fn result(p: &Packaged) -> Package {
    let archive = &p.archive;
    Package {
        header: Header::new(ResultType::Package, &p.layer.name, "", ""),
        package: p.layer.package.clone(),
        kind: kind_name(p.layer.kind).to_string(),
        zip: p.zip_path.clone(),
        code_sha256: archive.code_sha256.clone(),
        sha256: archive.sha256.clone(),
        zip_size: archive.bytes.len() as u64,
        unzipped_size: archive.unzipped_size,
        compatible_architectures: p.architectures.clone(),
        compatible_runtimes: p.layer.compatible_runtimes.clone(),
        build: p.build.clone(),
        entries: archive
            .entries
            .iter()
            .map(|e| Entry {
                path: e.path.clone(),
                mode: e.mode.clone(),
                size: e.size,
            })
            .collect(),
    }
}
