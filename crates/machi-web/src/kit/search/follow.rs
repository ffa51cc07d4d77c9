//! How a city's index follows its tables. Procedures and notices change one at a time and are
//! many, so only those changed since the index's latest are read and indexed again (a
//! procedure taken offline or a notice expired is taken out); when rows went missing (a
//! procedure removed), that part is read again whole. The FAQ and the open-data catalog are
//! read again whole when they change: a few hundred entries, and the FAQ keeps its order.

use std::collections::HashMap;
use std::sync::Arc;

use machi_core::procedures::Localized;
use machi_search::words::EverydayWords;
use machi_search::{sources, Document, Engine, Kind};
use machi_store::notices::Notice;
use machi_store::search_sources::SourcesState;
use machi_store::{Store, StoreError, TableState, Time};

use super::{CityIndex, NoticeTimes};

/// What to do to the engine, in one piece of blocking work.
#[derive(Default)]
struct Edit {
    upserts: Vec<Document>,
    removals: Vec<(Kind, String)>,
    /// Kinds read again whole.
    replaced: Vec<(Kind, Vec<Document>)>,
}

/// A city's index made from nothing.
pub(super) async fn build(
    store: &Store,
    tenant: &str,
    state: SourcesState,
) -> Result<CityIndex, StoreError> {
    let engine = blocking(|| Engine::new(EverydayWords::default_list())).await?;
    let nothing = TableState {
        rows: 0,
        latest: String::new(),
    };
    let empty = CityIndex {
        state: SourcesState {
            procedures: nothing.clone(),
            faq: nothing.clone(),
            notices: nothing.clone(),
            datasets: nothing,
        },
        engine: Arc::new(engine),
        known: Arc::default(),
        procedures: HashMap::new(),
        faq: Arc::default(),
        notices: Arc::default(),
        notice_times: NoticeTimes::default(),
        datasets: Arc::default(),
    };
    follow(store, tenant, &empty, state).await
}

/// The index after the changes since `index` was made (to `state`), applied to its engine.
pub(super) async fn follow(
    store: &Store,
    tenant: &str,
    index: &CityIndex,
    state: SourcesState,
) -> Result<CityIndex, StoreError> {
    let mut next = CityIndex {
        state,
        engine: index.engine.clone(),
        known: index.known.clone(),
        procedures: index.procedures.clone(),
        faq: index.faq.clone(),
        notices: index.notices.clone(),
        notice_times: NoticeTimes::default(),
        datasets: index.datasets.clone(),
    };
    let mut edit = Edit::default();
    if next.state.procedures != index.state.procedures {
        procedures(store, tenant, &index.state.procedures, &mut next, &mut edit).await?;
    }
    if next.state.notices != index.state.notices || index.has_expired(Time::now()) {
        notices(store, tenant, &index.state.notices, &mut next, &mut edit).await?;
    }
    if next.state.faq != index.state.faq {
        let faq = store.faq(tenant).await?;
        edit.replaced
            .push((Kind::Faq, faq.iter().map(sources::faq).collect()));
        next.faq = Arc::new(faq);
    }
    if next.state.datasets != index.state.datasets {
        let datasets = store.published_catalog(tenant).await?;
        let documents = datasets
            .iter()
            .map(|d| {
                let resources: Vec<String> = d.resources.iter().map(|r| r.name.clone()).collect();
                sources::dataset(&d.id, &d.input, &resources)
            })
            .collect();
        edit.replaced.push((Kind::Dataset, documents));
        next.datasets = Arc::new(
            datasets
                .into_iter()
                .map(|d| (d.id.clone(), Arc::new(d)))
                .collect(),
        );
    }
    let engine = next.engine.clone();
    blocking(move || {
        engine.apply(&edit.upserts, &edit.removals)?;
        for (kind, documents) in &edit.replaced {
            engine.replace_kind(*kind, documents)?;
        }
        Ok(())
    })
    .await?;
    next.notice_times = NoticeTimes::of(&next.notices);
    Ok(next)
}

/// The procedures changed since `before`; all of them again when one was removed.
async fn procedures(
    store: &Store,
    tenant: &str,
    before: &TableState,
    next: &mut CityIndex,
    edit: &mut Edit,
) -> Result<(), StoreError> {
    let changed = store
        .procedures_changed_since(tenant, &before.latest)
        .await?;
    let added = changed
        .iter()
        .filter(|r| !next.known.contains(&r.definition.id))
        .count();
    if before.rows + added as i64 != next.state.procedures.rows {
        // A procedure was removed: the catalog is read again.
        let all = store.inventory(tenant).await?;
        next.known = Arc::new(all.iter().map(|r| r.definition.id.clone()).collect());
        next.procedures = all
            .into_iter()
            .filter(|r| r.published)
            .map(|r| (r.definition.id.clone(), Arc::new(r)))
            .collect();
        let documents = next
            .procedures
            .values()
            .map(|r| sources::procedure(&r.definition))
            .collect();
        edit.replaced.push((Kind::Procedure, documents));
        return Ok(());
    }
    let known = Arc::make_mut(&mut next.known);
    for record in changed {
        let id = record.definition.id.clone();
        known.insert(id.clone());
        if record.published {
            edit.upserts.push(sources::procedure(&record.definition));
            next.procedures.insert(id, Arc::new(record));
        } else if next.procedures.remove(&id).is_some() {
            edit.removals.push((Kind::Procedure, id));
        }
    }
    Ok(())
}

/// The notices changed since `before` indexed again, and those expired taken out. Notices are
/// never deleted one by one; when rows went missing (a city's data erased) all are read again.
async fn notices(
    store: &Store,
    tenant: &str,
    before: &TableState,
    next: &mut CityIndex,
    edit: &mut Edit,
) -> Result<(), StoreError> {
    let now = Time::now();
    let expired = |n: &Notice| n.expires_at.is_some_and(|at| at <= now);
    let reread = next.state.notices.rows < before.rows;
    let changed = if reread {
        store.searchable_notices(tenant).await?
    } else if next.state.notices != *before {
        store.notices_changed_since(tenant, &before.latest).await?
    } else {
        Vec::new()
    };
    let categories = if changed.is_empty() {
        HashMap::new()
    } else {
        category_names(store, tenant).await?
    };
    let notices = Arc::make_mut(&mut next.notices);
    if reread {
        edit.removals
            .extend(notices.drain().map(|(id, _)| (Kind::Notice, id)));
    }
    for notice in changed {
        if expired(&notice) {
            if notices.remove(&notice.id).is_some() {
                edit.removals.push((Kind::Notice, notice.id));
            }
            continue;
        }
        edit.upserts.push(notice_document(&notice, &categories));
        notices.insert(notice.id.clone(), Arc::new(notice));
    }
    let lapsed: Vec<String> = notices
        .values()
        .filter(|n| expired(n))
        .map(|n| n.id.clone())
        .collect();
    for id in lapsed {
        notices.remove(&id);
        edit.removals.push((Kind::Notice, id));
    }
    Ok(())
}

/// The city's notice categories by id, with their names.
async fn category_names(
    store: &Store,
    tenant: &str,
) -> Result<HashMap<String, Localized>, StoreError> {
    Ok(store
        .notice_categories(tenant)
        .await?
        .into_iter()
        .map(|c| (c.id, c.label))
        .collect())
}

fn notice_document(notice: &Notice, categories: &HashMap<String, Localized>) -> Document {
    let names: Vec<Localized> = notice
        .draft
        .categories
        .iter()
        .filter_map(|id| categories.get(id).cloned())
        .collect();
    sources::notice(&notice.id, &notice.draft, &names)
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
