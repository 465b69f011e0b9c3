//! The files of this layer live in `config/`; the crate exists to carry its metadata.
