//! Caches on the intake path, so that taking in an application reads nothing from the database.
//!
//! - Compiled forms per (city, procedure, version): a stored form version never changes, so a
//!   cached compilation never goes stale.
//! - Procedure records per (city, id) for a few seconds: a catalog change on any node is seen
//!   within [`PROCEDURE_TTL`], and at once on the node that made it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use machi_core::procedures::CompiledForm;
use machi_store::{ProcedureRecord, Store};

use crate::kit::ApiError;

/// How long a cached procedure record is trusted.
pub(crate) const PROCEDURE_TTL: Duration = Duration::from_secs(3);

type FormKey = (String, String, i64);
type ProcedureKey = (String, String);
/// When a record was read, and the record (or `None`: no such procedure).
type Fetched = (Instant, Option<Arc<ProcedureRecord>>);

#[derive(Clone, Default)]
pub(crate) struct FormCache {
    compiled: Arc<RwLock<HashMap<FormKey, Arc<CompiledForm>>>>,
}

impl FormCache {
    /// The compiled form, loading and compiling it on first use.
    pub(crate) async fn get(
        &self,
        store: &Store,
        tenant: &str,
        procedure_id: &str,
        version: i64,
    ) -> Result<Arc<CompiledForm>, ApiError> {
        let key = (tenant.to_string(), procedure_id.to_string(), version);
        if let Some(found) = self
            .compiled
            .read()
            .ok()
            .and_then(|map| map.get(&key).cloned())
        {
            return Ok(found);
        }
        let definition = store
            .form(tenant, procedure_id, version)
            .await?
            .ok_or_else(|| {
                ApiError::not_found("this form version does not exist")
                    .with_ja("この様式の版はありません。")
            })?;
        let compiled = Arc::new(
            definition
                .compile()
                .map_err(|e| ApiError::internal(e.to_string()))?,
        );
        if let Ok(mut map) = self.compiled.write() {
            map.insert(key, compiled.clone());
        }
        Ok(compiled)
    }
}

#[derive(Clone, Default)]
pub(crate) struct ProcedureCache {
    records: Arc<RwLock<HashMap<ProcedureKey, Fetched>>>,
}

impl ProcedureCache {
    /// The procedure (or its absence), from the cache while fresh, else from the store.
    pub(crate) async fn get(
        &self,
        store: &Store,
        tenant: &str,
        id: &str,
    ) -> Result<Option<Arc<ProcedureRecord>>, ApiError> {
        let key = (tenant.to_string(), id.to_string());
        let cached = self
            .records
            .read()
            .ok()
            .and_then(|map| map.get(&key).cloned());
        if let Some((at, record)) = cached {
            if at.elapsed() < PROCEDURE_TTL {
                return Ok(record);
            }
        }
        let record = store.procedure(tenant, id).await?.map(Arc::new);
        if let Ok(mut map) = self.records.write() {
            if map.len() > 10_000 {
                map.clear();
            }
            map.insert(key, (Instant::now(), record.clone()));
        }
        Ok(record)
    }

    /// Drops a cached record after this node changed it, so the change shows at once here.
    pub(crate) fn forget(&self, tenant: &str, id: &str) {
        if let Ok(mut map) = self.records.write() {
            map.remove(&(tenant.to_string(), id.to_string()));
        }
    }
}
