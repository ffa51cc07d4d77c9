//! `machi import plan`: an ICT/DX plan in YAML.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = machi_core::plans::parse_plan(data);
});
