//! The CKAN Action API's parameters: a query string and a body (JSON, or a form when the first
//! byte is odd), read as package_search, datastore_search and the datastore writes read them.
//! The query string ends at the first NUL byte; the body is the rest.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (query, body) = match rest.iter().position(|&b| b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let query = String::from_utf8_lossy(query);
    machi_web::fuzzing::ckan_parameters(&query, body, selector % 2 == 1);
});
