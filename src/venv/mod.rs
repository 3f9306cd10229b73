//! The virtualenv stage: patched checkout → staged virtualenv → relocated tree.
//! [`python`] probes the interpreter, [`installer`] runs uv or pip, [`build`] makes the staged
//! venv, [`relocate`] turns it into a tree that runs at its install path or anywhere, [`verify`]
//! imports its entry points, [`bytecode`] compiles it (with a cache of pycs); [`resolve`] resolves
//! a project's dependency closure for the lock, [`wheelhouse`] keeps the files it pins, [`built`]
//! the wheels built from its sdists, [`hooks`] a locked project's own wheel in a kept build
//! environment.

pub mod build;
pub mod built;
pub mod bytecode;
pub mod hooks;
pub mod installer;
pub mod python;
pub mod record;
pub mod relocate;
pub mod resolve;
pub mod sysdeps;
pub mod verify;
pub mod wheelhouse;
