//! The search every room asks: one machi-search index per city, read again when the city's
//! catalog or FAQ has changed (checked on each search, as the open-data catalog is, so a change made
//! on any node is found at once on every node).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use machi_core::faq::FaqEntry;
use machi_search::words::EverydayWords;
use machi_search::{sources, Engine, Hit, Kind};
use machi_store::procedures::ProcedureRecord;
use machi_store::{Store, StoreError};

/// A city's index, and the published procedures it was built from.
pub struct CityIndex {
    version: String,
    engine: Engine,
    pub procedures: HashMap<String, ProcedureRecord>,
    /// The FAQ in the city's order.
    pub faq: Vec<FaqEntry>,
}

impl CityIndex {
    /// One FAQ entry by id.
    pub fn faq_entry(&self, id: &str) -> Option<&FaqEntry> {
        self.faq.iter().find(|e| e.id == id)
    }

    /// The ranked results for a query (kind: all, or one).
    pub fn search(&self, query: &str, kind: Option<Kind>, limit: usize) -> Vec<Hit> {
        self.engine
            .search(query, kind, limit)
            .unwrap_or_else(|error| {
                tracing::error!(%error, "search failed");
                Vec::new()
            })
    }
}

/// Every city's index.
#[derive(Clone, Default)]
pub struct Searches {
    cities: Arc<Mutex<HashMap<String, Arc<CityIndex>>>>,
}

impl Searches {
    /// The city's index, rebuilt if its catalog has changed since it was built.
    pub async fn city(&self, store: &Store, tenant: &str) -> Result<Arc<CityIndex>, StoreError> {
        let version = format!(
            "{}|{}",
            store.procedures_version(tenant).await?,
            store.faq_version(tenant).await?
        );
        let cached = self
            .cities
            .lock()
            .ok()
            .and_then(|cities| cities.get(tenant).cloned());
        if let Some(index) = cached.filter(|i| i.version == version) {
            return Ok(index);
        }
        let records: Vec<ProcedureRecord> = store
            .inventory(tenant)
            .await?
            .into_iter()
            .filter(|r| r.published)
            .collect();
        let faq = store.faq(tenant).await?;
        let documents: Vec<_> = records
            .iter()
            .map(|r| sources::procedure(&r.definition))
            .collect();
        let faq_documents: Vec<_> = faq.iter().map(sources::faq).collect();
        let built = tokio::task::spawn_blocking(move || -> Result<Engine, String> {
            let engine = Engine::new(EverydayWords::default_list()).map_err(|e| e.to_string())?;
            engine
                .replace_kind(Kind::Procedure, &documents)
                .map_err(|e| e.to_string())?;
            engine
                .replace_kind(Kind::Faq, &faq_documents)
                .map_err(|e| e.to_string())?;
            Ok(engine)
        })
        .await
        .map_err(|e| StoreError::NotStored(e.to_string()))?
        .map_err(StoreError::NotStored)?;
        let index = Arc::new(CityIndex {
            version,
            engine: built,
            procedures: records
                .into_iter()
                .map(|r| (r.definition.id.clone(), r))
                .collect(),
            faq,
        });
        if let Ok(mut cities) = self.cities.lock() {
            cities.insert(tenant.to_string(), index.clone());
        }
        Ok(index)
    }
}

/// What a resident typed into a search or the answer desk, from an API parameter: required,
/// at most 200 characters, no control characters.
pub fn search_words(field: &str, typed: Option<&str>) -> Result<String, super::ApiError> {
    let typed = super::without_control_chars(field, typed)?.unwrap_or_default();
    let typed = typed.trim();
    if typed.is_empty() || typed.chars().count() > 200 {
        let name = field.trim_start_matches('/');
        return Err(super::ApiError::invalid_field(
            field,
            machi_core::procedures::Localized::new(
                format!("{name} に探すことばを200文字以内で入れてください"),
                format!("{name} needs the words to find, at most 200 characters"),
            ),
        ));
    }
    Ok(typed.to_string())
}
