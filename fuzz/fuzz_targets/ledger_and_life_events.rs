//! The other imports: the IT asset ledger's CSV (UTF-8 or Shift_JIS) and life-event bundles in
//! JSON or YAML. The first byte picks the reader.
#![no_main]

use libfuzzer_sys::fuzz_target;
use machi_core::assets::Context;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    match selector % 3 {
        0 => {
            let context = Context {
                departments: [("shimin".to_string(), "市民課".to_string())].into(),
                writable: None,
                measures: Default::default(),
            };
            let _ = machi_core::assets::parse_csv(bytes, &context);
        }
        1 => {
            let _ = machi_core::life_events::parse_bundles(bytes, false);
        }
        _ => {
            let _ = machi_core::life_events::parse_bundles(bytes, true);
        }
    }
});
