//! Compiled forms, cached per (city, procedure, version). A form version never changes once
//! stored, so a cached compilation never goes stale.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use machi_core::procedures::CompiledForm;
use machi_store::Store;

use crate::problem::ApiError;

type Key = (String, String, i64);

#[derive(Clone, Default)]
pub(crate) struct FormCache {
    compiled: Arc<RwLock<HashMap<Key, Arc<CompiledForm>>>>,
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
            .ok_or_else(|| ApiError::not_found("this form version does not exist"))?;
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
