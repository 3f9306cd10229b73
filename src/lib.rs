//! wrap turns a manifest of upstream Python projects into installable packages. The pipeline:
//! [`manifest`] reads `wrap.toml`; [`lock`] pins every git ref to a commit in `wrap.lock`;
//! [`source`] mirrors the repositories into the [`cache`], checks out the pinned commits and
//! applies the patch queues; [`plan`] turns manifest and lock into the decisions of a build.
//! [`venv`] builds each project's virtualenv in a staging directory and relocates it;
//! [`provenance`] records what went in; [`package`] writes artifacts through [`archive`].
//! [`commands`] runs these stages for each CLI command, reporting through [`report`]; errors are
//! one [`error::Error`] enum.

pub mod archive;
pub mod artifact;
pub mod build;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod compress;
pub mod digest;
pub mod error;
pub mod fs;
pub mod fuzz;
pub mod giturl;
pub mod host;
pub mod interrupt;
pub mod lock;
pub mod manifest;
pub mod oci;
pub mod package;
pub mod plan;
pub mod provenance;
pub mod publish;
pub mod pyenv;
pub mod registry;
pub mod report;
pub mod signing;
pub mod source;
pub mod time;
pub mod venv;
pub mod version;
