//! `wrap inspect` on arbitrary bytes: .deb, .rpm and .tar.gz readers and their safety checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| wrap::fuzz::inspect(data));
