//! The search every room asks: one machi-search index per city that follows the city's
//! catalog, FAQ, notices and open datasets (their state is checked on each search, in one
//! query, so a change made on any node is found at once on every node). A changed procedure or
//! notice is indexed again on its own, so a change is found in well under a second even in a
//! large catalog; a change of the FAQ or of the open-data catalog (hundreds of entries) reads
//! that part again. See [`follow`].

mod follow;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use machi_core::faq::FaqEntry;
use machi_search::{Engine, Hit, Kind};
use machi_store::notices::Notice;
use machi_store::opendata::DatasetRecord;
use machi_store::procedures::ProcedureRecord;
use machi_store::search_sources::SourcesState;
use machi_store::{Store, StoreError, Time};

/// A city's index, and what it was made of.
pub struct CityIndex {
    state: SourcesState,
    engine: Arc<Engine>,
    /// Every procedure id the index has seen, published or not (to tell an addition from a
    /// change, and so notice a removal).
    known: Arc<HashSet<String>>,
    pub procedures: HashMap<String, Arc<ProcedureRecord>>,
    /// The FAQ in the city's order.
    pub faq: Arc<Vec<FaqEntry>>,
    /// The notices not yet expired when the index last followed the table; whether one is
    /// shown is decided at each search (a notice scheduled for later is indexed but hidden).
    notices: Arc<HashMap<String, Arc<Notice>>>,
    notice_times: NoticeTimes,
    /// The published datasets by id.
    pub datasets: Arc<HashMap<String, Arc<DatasetRecord>>>,
}

impl CityIndex {
    /// One FAQ entry by id.
    pub fn faq_entry(&self, id: &str) -> Option<&FaqEntry> {
        self.faq.iter().find(|e| e.id == id)
    }

    /// A notice residents see now.
    pub fn notice(&self, id: &str) -> Option<&Notice> {
        let now = Time::now();
        self.notices
            .get(id)
            .map(AsRef::as_ref)
            .filter(|n| shown(n, now))
    }

    /// The ranked results for a query (kind: all, or one); notices only while they are shown.
    pub fn search(&self, query: &str, kind: Option<Kind>, limit: usize) -> Vec<Hit> {
        let now = Time::now();
        // Asked for as many more as there are notices hidden now, so that `limit` remain.
        let hidden = self.notice_times.scheduled_after(now);
        let hits = self
            .engine
            .search(query, kind, limit + hidden)
            .unwrap_or_else(|error| {
                tracing::error!(%error, "search failed");
                Vec::new()
            });
        hits.into_iter()
            .filter(|hit| {
                hit.kind != Kind::Notice || self.notices.get(&hit.id).is_some_and(|n| shown(n, now))
            })
            .take(limit)
            .collect()
    }

    /// "Did you mean": the query with its mistyped names corrected, when the corrected query
    /// finds something (of `kind`, or of any kind).
    pub fn suggest(&self, query: &str, kind: Option<Kind>) -> Option<String> {
        self.engine
            .suggest(query)
            .filter(|corrected| !self.search(corrected, kind, 1).is_empty())
    }

    /// Whether a notice indexed has expired since (the index then follows again).
    fn has_expired(&self, now: Time) -> bool {
        self.notice_times.first_expiry.is_some_and(|at| at <= now)
    }
}

/// When the indexed notices are published and when the first of them expires, taken once when
/// the index follows the table: a search counts the notices still hidden and sees an expiry
/// without reading every notice.
#[derive(Default)]
struct NoticeTimes {
    /// In order.
    publish: Vec<Time>,
    first_expiry: Option<Time>,
}

impl NoticeTimes {
    fn of(notices: &HashMap<String, Arc<Notice>>) -> Self {
        let mut publish: Vec<Time> = notices.values().map(|n| n.publish_at).collect();
        publish.sort_unstable();
        Self {
            publish,
            first_expiry: notices.values().filter_map(|n| n.expires_at).min(),
        }
    }

    /// How many are published only after `now`.
    fn scheduled_after(&self, now: Time) -> usize {
        self.publish.len() - self.publish.partition_point(|at| *at <= now)
    }
}

/// Whether residents see a notice at `now`: published, not expired.
fn shown(notice: &Notice, now: Time) -> bool {
    notice.publish_at <= now && notice.expires_at.is_none_or(|at| at > now)
}

/// Every city's index.
#[derive(Clone, Default)]
pub struct Searches {
    cities: Arc<Mutex<HashMap<String, Arc<CityIndex>>>>,
    /// One update at a time: requests that find the index stale wait for the one updating it.
    updating: Arc<tokio::sync::Mutex<()>>,
}

impl Searches {
    /// The city's index, brought up to date with its catalog, FAQ, notices and datasets first.
    pub async fn city(&self, store: &Store, tenant: &str) -> Result<Arc<CityIndex>, StoreError> {
        let state = store.search_sources_state(tenant).await?;
        if let Some(index) = self.current(tenant, &state) {
            return Ok(index);
        }
        let _updating = self.updating.lock().await;
        let state = store.search_sources_state(tenant).await?;
        if let Some(index) = self.current(tenant, &state) {
            return Ok(index);
        }
        let index = match self.cached(tenant) {
            Some(index) => follow::follow(store, tenant, &index, state).await?,
            None => follow::build(store, tenant, state).await?,
        };
        let index = Arc::new(index);
        if let Ok(mut cities) = self.cities.lock() {
            cities.insert(tenant.to_string(), index.clone());
        }
        Ok(index)
    }

    fn cached(&self, tenant: &str) -> Option<Arc<CityIndex>> {
        self.cities
            .lock()
            .ok()
            .and_then(|cities| cities.get(tenant).cloned())
    }

    /// The cached index when it is up to date.
    fn current(&self, tenant: &str, state: &SourcesState) -> Option<Arc<CityIndex>> {
        self.cached(tenant)
            .filter(|i| &i.state == state && !i.has_expired(Time::now()))
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
