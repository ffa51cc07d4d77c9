//! オープンデータ: reading the spreadsheets cities publish and checking them against the
//! national standard datasets (自治体標準オープンデータセット and the older 推奨データセット).
//!
//! - [`table`] reads a CSV as Japanese offices save it (UTF-8 with or without BOM, or CP932),
//!   keeping each record's line so that every problem can name it.
//! - [`types`] infers a column's type (integer, numeric, date including 和暦, time, text) for
//!   the datastore, with an override, and reads the PostgreSQL type names CKAN clients declare
//!   ([`interval`] is PostgreSQL's interval text).
//! - [`values`] turns a CKAN record's JSON values into typed cells and stored cells back into
//!   the JSON `datastore_search` gives.
//! - [`ingest`] turns a table and its chosen types into typed rows for the datastore, all or
//!   nothing, every bad cell named by line and column.
//! - [`standard`] loads the dataset definitions as data (a JSON file a city can replace without
//!   a rebuild) and reports, by line and column, where a file departs from its definition;
//!   definitions the reference marks uncertain give warnings, not errors.

pub mod catalog;
pub mod copy_text;
pub mod ingest;
pub mod interval;
pub mod standard;
pub mod table;
pub mod types;
pub mod values;

#[cfg(test)]
mod tests;
