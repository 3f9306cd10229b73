//! wrap.toml and wrap.lock parsing, and the plan made from what parses.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| wrap::fuzz::manifest(data));
