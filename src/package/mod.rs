//! Artifact writers. Each takes a relocated tree and the plan of its project and writes one
//! file into the output directory atomically (temporary file, then rename), with a `.sha256`
//! file beside it. For now: the relocatable tarball ([`tarball`]).

pub mod deb;
pub mod depends;
pub mod inspect;
pub mod layout;
pub mod rpm;
pub mod script;
pub mod spec;
pub mod tarball;

/// The host's machine name as in file names: `x86_64`, `aarch64`.
pub fn host_arch() -> &'static str {
    std::env::consts::ARCH
}
