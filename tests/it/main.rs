//! The integration tests, in one binary: the crate and the AWS SDK are linked once, and one
//! moto server serves every test (each in an account of its own). `support` holds what the
//! test files share.

mod support;

mod action;
mod archive;
mod aws_errors;
mod build_for_lambda;
mod cache;
mod config_errors;
mod docs;
mod extension_runtime;
mod faults;
mod gallery;
mod harness;
mod hints;
mod iam_coverage;
mod interrupt;
mod layout;
mod mapping_props;
mod package_cli;
mod pipes;
mod publish;
mod real_projects;
mod region_names;
mod regions;
mod release;
mod replay;
mod scale;
mod signing;
mod size_limits;
mod source_date_epoch;
mod stages;
mod trust;
mod where_used;
