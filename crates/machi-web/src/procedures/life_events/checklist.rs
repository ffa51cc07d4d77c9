//! What a life event asks of the family beyond what can be sent online, as an おくやみコーナー
//! hands it over: each procedure with where to go, what to bring and by when, read from the
//! city's catalog so it never disagrees with the procedure's own page.

use machi_core::life_events::Bundle;

use crate::kit::{PageError, Ui};
use crate::AppState;

/// One procedure of the checklist.
pub(super) struct ChecklistEntry {
    pub id: String,
    pub name: String,
    pub department: String,
    pub documents: Vec<String>,
    pub time_limit: Option<String>,
    pub fee: Option<String>,
}

/// The bundle's checklist items that apply (with `also`: procedures of the bundle that cannot
/// be applied for online now), each once, in the bundle's order.
pub(super) async fn checklist(
    state: &AppState,
    city: &machi_store::Tenant,
    ui: Ui,
    bundle: &Bundle,
    yes: &[&str],
    also: &[String],
) -> Result<Vec<ChecklistEntry>, PageError> {
    let mut ids: Vec<&str> = also.iter().map(String::as_str).collect();
    for id in bundle.checklist_for(yes) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let mut entries = Vec::new();
    for id in ids {
        let record = state.procedures.get(&state.store, &city.id, id).await?;
        let Some(record) = record.filter(|r| r.published) else {
            continue;
        };
        let p = &record.definition;
        entries.push(ChecklistEntry {
            id: p.id.clone(),
            name: ui.l(&p.name).to_string(),
            department: ui.name(&p.department.ja, &p.department.en).to_string(),
            documents: p.documents.iter().map(|d| ui.l(d).to_string()).collect(),
            time_limit: p.time_limit.as_ref().map(|t| ui.l(t).to_string()),
            fee: p
                .fee_yen
                .filter(|yen| *yen > 0)
                .map(|yen| ui.t(&format!("{yen}円"), &format!("¥{yen}")).to_string()),
        });
    }
    Ok(entries)
}
