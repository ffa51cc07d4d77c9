//! The other imports: the IT asset ledger's CSV (UTF-8 or Shift_JIS), life-event bundles in
//! JSON or YAML, and the national postcode file (KEN_ALL.CSV) with the postcodes residents
//! type. The first byte picks the reader.
#![no_main]

use libfuzzer_sys::fuzz_target;
use machi_core::assets::Context;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    match selector % 4 {
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
        3 => {
            let _ = machi_core::postcodes::parse_ken_all(bytes);
            let _ = machi_core::postcodes::digits(&String::from_utf8_lossy(bytes));
        }
        _ => {
            let _ = machi_core::life_events::parse_bundles(bytes, true);
        }
    }
});
