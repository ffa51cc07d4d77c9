//! An open-data upload: CSV (UTF-8 or Shift_JIS) or XLSX, recognised and checked against the
//! bundled 自治体標準オープンデータセット definitions. The first byte picks the reader.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use machi_core::opendata::standard::{check, Definitions};
use machi_core::opendata::table::{read_csv, read_xlsx};

fn definitions() -> &'static Definitions {
    static DEFINITIONS: OnceLock<Definitions> = OnceLock::new();
    DEFINITIONS.get_or_init(|| Definitions::bundled().expect("the bundled definitions load"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let table = if selector % 2 == 0 {
        read_csv(bytes)
    } else {
        read_xlsx(bytes)
    };
    if let Ok(table) = table {
        if let Some(dataset) = definitions().recognise(&table) {
            let _ = check(dataset, &table);
        }
    }
});
