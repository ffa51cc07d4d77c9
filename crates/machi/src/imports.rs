//! `machi import` of the reference lists a city keeps up to date: the national postcode file,
//! the national holidays, the city's 町字 and its よくある質問. Each is all or nothing and says what is wrong.

use anyhow::Context;
use machi_store::Store;

pub async fn postcodes(store: &Store, file: &std::path::Path) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {name}"))?;
    let areas = machi_core::postcodes::parse_ken_all(&bytes)
        .map_err(|e| anyhow::anyhow!("{name} was not imported: {}", e.join("; ")))?;
    let count = store
        .import_postcodes(&areas)
        .await
        .with_context(|| format!("{name} was not imported"))?;
    println!("imported {count} postcode areas from {name}");
    Ok(())
}

pub async fn calendar(store: &Store, file: &std::path::Path) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {name}"))?;
    let days = machi_core::calendar::parse_holidays(&bytes)
        .map_err(|e| anyhow::anyhow!("{name} was not imported: {e}"))?;
    let count = store
        .import_holidays(&days)
        .await
        .with_context(|| format!("{name} was not imported"))?;
    println!("imported {count} national holidays from {name}");
    Ok(())
}

/// The city's 町字 list (see `machi_core::areas`).
pub async fn areas(store: &Store, city: &str, file: &std::path::Path) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {name}"))?;
    let areas = machi_core::areas::parse_area_list(&bytes)
        .map_err(|e| anyhow::anyhow!("{name} was not imported:\n  {}", e.join("\n  ")))?;
    let count = store
        .replace_areas(city, &areas, "system")
        .await
        .with_context(|| format!("{name} was not imported"))?;
    println!("imported {count} areas (町 and 丁目) from {name}");
    Ok(())
}

/// The city's よくある質問 (see `machi_core::faq`), replacing what it had.
pub async fn faq(store: &Store, city: &str, file: &std::path::Path) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {name}"))?;
    let entries = machi_core::faq::parse_faq_csv(&bytes)
        .map_err(|e| anyhow::anyhow!("{name} was not imported:\n  {}", e.join("\n  ")))?;
    let count = store
        .replace_faq(city, &entries, "system")
        .await
        .with_context(|| format!("{name} was not imported"))?;
    println!("imported {count} questions from {name}");
    Ok(())
}

/// `machi import services`: adds or replaces the services residents book (YAML, see
/// `demo/services.yaml`); all or nothing.
pub async fn services(store: &Store, city: &str, file: &std::path::Path) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {name}"))?;
    let services = machi_core::reservations::parse_services(&bytes)
        .map_err(|e| anyhow::anyhow!("{name} was not imported:\n  {e}"))?;
    store
        .save_services(city, &services)
        .await
        .with_context(|| format!("{name} was not imported"))?;
    println!("imported {} services from {name}", services.len());
    Ok(())
}
