//! デモ市: the fictional demo city that `machi serve --demo` loads, with the procedures the
//! national 自治体DX推進計画 asks every city to put online and common counter procedures.

use anyhow::Context;
use machi_core::procedures::{parse_catalog, CatalogFormat};
use machi_store::{ProcedureQuery, Store};

/// The demo catalog (see `demo/procedures.yaml`).
pub const DEMO_CATALOG: &[u8] = include_bytes!("../demo/procedures.yaml");

/// Loads the demo catalog into `city` unless it already has procedures.
pub async fn load(store: &Store, city: &str) -> anyhow::Result<()> {
    let existing = store
        .search_procedures(
            city,
            &ProcedureQuery {
                limit: 1,
                ..Default::default()
            },
        )
        .await?;
    if !existing.is_empty() {
        return Ok(());
    }
    let procedures =
        parse_catalog(DEMO_CATALOG, CatalogFormat::Yaml).context("the demo catalog is invalid")?;
    let summary = store.import_catalog(city, &procedures).await?;
    println!(
        "loaded the demo city: {} procedures, {} forms",
        summary.procedures, summary.forms_added
    );
    Ok(())
}
