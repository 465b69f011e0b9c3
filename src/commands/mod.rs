//! One module per subcommand, each with its `run`.

pub mod iam_policy;
pub mod package;
pub mod promote;
pub mod prune;
pub mod publish;
pub mod revoke;
pub mod setup;
pub mod shell;
pub mod status;
