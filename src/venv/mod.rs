//! The virtualenv stage: patched checkout → staged virtualenv → relocated tree.
//! [`python`] probes the interpreter, [`installer`] runs uv or pip, [`build`] makes the staged
//! venv, [`relocate`] turns it into a tree that runs at its install path or anywhere.

pub mod build;
pub mod installer;
pub mod python;
pub mod relocate;
pub mod sysdeps;
pub mod verify;
