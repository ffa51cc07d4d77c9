//! `machi import procedures`: a catalog in CSV (UTF-8 or Shift_JIS), JSON or YAML, whose forms
//! are compiled as an import compiles them. The first byte picks the format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use machi_core::procedures::{parse_catalog, CatalogFormat};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let format = match selector % 3 {
        0 => CatalogFormat::Csv,
        1 => CatalogFormat::Json,
        _ => CatalogFormat::Yaml,
    };
    if let Ok(procedures) = parse_catalog(bytes, format) {
        for procedure in procedures {
            if let Some(form) = &procedure.form {
                let _ = form.compile();
            }
        }
    }
});
