//! The search every room asks: one machi-search index per city that follows the city's
//! catalog and FAQ (checked on each search, as the open-data catalog is, so a change made on
//! any node is found at once on every node). A changed procedure is indexed again on its own,
//! so a change is found in well under a second even in a large catalog; a removal, or a
//! change of the FAQ (a few hundred entries, kept in the city's order), reads that part again.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use machi_core::faq::FaqEntry;
use machi_search::words::EverydayWords;
use machi_search::{sources, Document, Engine, Hit, Kind};
use machi_store::procedures::ProcedureRecord;
use machi_store::{Store, StoreError, TableState};

/// A city's index, and the published procedures and FAQ it was built from.
pub struct CityIndex {
    procedures_state: TableState,
    faq_version: String,
    engine: Arc<Engine>,
    /// Every procedure id the index has seen, published or not (to tell an addition from a
    /// change, and so notice a removal).
    known: Arc<HashSet<String>>,
    pub procedures: HashMap<String, Arc<ProcedureRecord>>,
    /// The FAQ in the city's order.
    pub faq: Arc<Vec<FaqEntry>>,
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
    /// One update at a time: requests that find the index stale wait for the one updating it.
    updating: Arc<tokio::sync::Mutex<()>>,
}

impl Searches {
    /// The city's index, brought up to date with its catalog and FAQ first.
    pub async fn city(&self, store: &Store, tenant: &str) -> Result<Arc<CityIndex>, StoreError> {
        let (procedures, faq) = current(store, tenant).await?;
        if let Some(index) = self.cached(tenant, &procedures, &faq) {
            return Ok(index);
        }
        let _updating = self.updating.lock().await;
        let (procedures, faq) = current(store, tenant).await?;
        let cached = self.cities.lock().ok().and_then(|c| c.get(tenant).cloned());
        let followed = match cached {
            Some(index) if index.procedures_state == procedures && index.faq_version == faq => {
                return Ok(index)
            }
            Some(index) => follow(store, tenant, &index, &procedures, &faq).await?,
            None => None,
        };
        let index = match followed {
            Some(index) => index,
            None => build(store, tenant, procedures, faq).await?,
        };
        let index = Arc::new(index);
        if let Ok(mut cities) = self.cities.lock() {
            cities.insert(tenant.to_string(), index.clone());
        }
        Ok(index)
    }

    fn cached(&self, tenant: &str, procedures: &TableState, faq: &str) -> Option<Arc<CityIndex>> {
        self.cities
            .lock()
            .ok()
            .and_then(|cities| cities.get(tenant).cloned())
            .filter(|i| &i.procedures_state == procedures && i.faq_version == faq)
    }
}

async fn current(store: &Store, tenant: &str) -> Result<(TableState, String), StoreError> {
    Ok((
        store.procedures_state(tenant).await?,
        store.faq_version(tenant).await?,
    ))
}

/// The index of everything, built afresh.
async fn build(
    store: &Store,
    tenant: &str,
    procedures_state: TableState,
    faq_version: String,
) -> Result<CityIndex, StoreError> {
    let all = store.inventory(tenant).await?;
    let known = all.iter().map(|r| r.definition.id.clone()).collect();
    let published: Vec<ProcedureRecord> = all.into_iter().filter(|r| r.published).collect();
    let faq = store.faq(tenant).await?;
    let documents: Vec<Document> = published
        .iter()
        .map(|r| sources::procedure(&r.definition))
        .collect();
    let faq_documents: Vec<Document> = faq.iter().map(sources::faq).collect();
    let engine = blocking(move || {
        let engine = Engine::new(EverydayWords::default_list())?;
        engine.replace_kind(Kind::Procedure, &documents)?;
        engine.replace_kind(Kind::Faq, &faq_documents)?;
        Ok(engine)
    })
    .await?;
    Ok(CityIndex {
        procedures_state,
        faq_version,
        engine: Arc::new(engine),
        known: Arc::new(known),
        procedures: published
            .into_iter()
            .map(|r| (r.definition.id.clone(), Arc::new(r)))
            .collect(),
        faq: Arc::new(faq),
    })
}

/// The index after the changes since `index` was made, applied to its engine; `None` when a
/// procedure was removed (the index is then built again).
async fn follow(
    store: &Store,
    tenant: &str,
    index: &CityIndex,
    procedures_state: &TableState,
    faq_version: &str,
) -> Result<Option<CityIndex>, StoreError> {
    let mut procedures = index.procedures.clone();
    let mut known = index.known.clone();
    let mut upserts = Vec::new();
    let mut removals = Vec::new();
    if *procedures_state != index.procedures_state {
        let changed = store
            .procedures_changed_since(tenant, &index.procedures_state.latest)
            .await?;
        let added = changed
            .iter()
            .filter(|r| !known.contains(&r.definition.id))
            .count();
        if index.procedures_state.rows + added as i64 != procedures_state.rows {
            return Ok(None);
        }
        let ids = Arc::make_mut(&mut known);
        for record in changed {
            let id = record.definition.id.clone();
            ids.insert(id.clone());
            if record.published {
                upserts.push(sources::procedure(&record.definition));
                procedures.insert(id, Arc::new(record));
            } else if procedures.remove(&id).is_some() {
                removals.push((Kind::Procedure, id));
            }
        }
    }
    let faq = if faq_version != index.faq_version {
        Some(store.faq(tenant).await?)
    } else {
        None
    };
    let engine = index.engine.clone();
    let faq_documents: Option<Vec<Document>> =
        faq.as_ref().map(|f| f.iter().map(sources::faq).collect());
    blocking(move || {
        engine.apply(&upserts, &removals)?;
        if let Some(documents) = faq_documents {
            engine.replace_kind(Kind::Faq, &documents)?;
        }
        Ok(())
    })
    .await?;
    Ok(Some(CityIndex {
        procedures_state: procedures_state.clone(),
        faq_version: faq_version.to_string(),
        engine: index.engine.clone(),
        known,
        procedures,
        faq: faq.map(Arc::new).unwrap_or_else(|| index.faq.clone()),
    }))
}

/// Index work off the async threads (tantivy commits write and merge segments).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, machi_search::SearchError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::NotStored(e.to_string()))?
        .map_err(|e| StoreError::NotStored(e.to_string()))
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
