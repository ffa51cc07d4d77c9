//! 手続棚卸 for 情報政策課 and the CIO: every procedure of the city with its yearly volume and
//! online share, and the BPR columns (押印・書面・対面, 本人確認, target 年度, national
//! priority); the online rate weighted by use over the whole inventory — the figure a plan's
//! KPI can be bound to (`online_use_rate`) — and the same for the rows a filter keeps.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use machi_core::procedures::inventory::{summarize, Review, Summary};
use machi_core::procedures::ProcedureDefinition;
use serde::Deserialize;

use crate::kit::{render, thousands, Chrome, PageError, Signed, Ui};
use crate::AppState;

/// Rows on one page of the table.
const PAGE_SIZE: usize = 100;

#[derive(Deserialize, Default)]
pub(super) struct InventoryQuery {
    #[serde(default)]
    department: String,
    /// Only the national plan's priority procedures.
    #[serde(default)]
    priority: Option<String>,
    /// Only those not yet online.
    #[serde(default)]
    offline: Option<String>,
    #[serde(default)]
    page: usize,
}

/// One line of the table.
struct Line {
    name: String,
    department: String,
    channel: String,
    volume: String,
    share: String,
    seal: String,
    paper: String,
    in_person: String,
    identity: String,
    target_year: String,
    priority: bool,
}

#[derive(Template)]
#[template(path = "staff_inventory.html")]
struct InventoryPage {
    chrome: Chrome,
    whole: Figures,
    /// The figures of the rows the filter keeps, when it keeps fewer than all.
    kept: Option<Figures>,
    departments: Vec<(String, String)>,
    department: String,
    priority: bool,
    offline: bool,
    lines: Vec<Line>,
    /// 「1–100 / 2,523」.
    showing: String,
    previous: Option<String>,
    next: Option<String>,
}

/// A summary as the page shows it.
struct Figures {
    procedures: String,
    online_capable: String,
    yearly_volume: String,
    online_volume: String,
    weighted_rate: String,
    seal: String,
    paper: String,
    in_person: String,
    priority: String,
}

fn figures(summary: &Summary) -> Figures {
    let count = |n: usize| thousands(n as i64);
    Figures {
        procedures: count(summary.procedures),
        online_capable: count(summary.online_capable),
        yearly_volume: thousands(summary.yearly_volume),
        online_volume: thousands(summary.online_volume.round() as i64),
        weighted_rate: summary
            .weighted_rate
            .map(|r| format!("{r:.1}%"))
            .unwrap_or_else(|| "—".into()),
        seal: count(summary.seal_required),
        paper: count(summary.paper_required),
        in_person: count(summary.in_person_required),
        priority: format!(
            "{} / {}",
            count(summary.national_priority_online),
            count(summary.national_priority)
        ),
    }
}

fn review(ui: Ui, value: Option<Review>) -> String {
    value
        .map(|r| ui.l(&r.label()).to_string())
        .unwrap_or_default()
}

fn line(ui: Ui, p: &ProcedureDefinition) -> Line {
    Line {
        name: ui.l(&p.name).to_string(),
        department: ui.name(&p.department.ja, &p.department.en).to_string(),
        channel: ui.l(&p.channel.label()).to_string(),
        volume: p.yearly_volume.map(thousands).unwrap_or_default(),
        share: p
            .online_share
            .map(|s| format!("{:.1}%", s * 100.0))
            .unwrap_or_default(),
        seal: review(ui, p.inventory.seal),
        paper: review(ui, p.inventory.paper),
        in_person: review(ui, p.inventory.in_person),
        identity: match p.inventory.identity_level {
            Some(0) => ui.t("不要", "None").to_string(),
            Some(level) => format!("{}{level}", ui.t("レベル", "Level ")),
            None => String::new(),
        },
        target_year: p
            .inventory
            .target_year
            .map(|y| {
                if ui.en {
                    format!("FY{y}")
                } else {
                    machi_core::wareki::fiscal_year_label(y)
                }
            })
            .unwrap_or_default(),
        priority: p.is_national_priority(),
    }
}

pub(super) async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<InventoryQuery>,
) -> Result<Response, PageError> {
    signed.require(signed.role().edits_plans())?;
    let ui = signed.ui;
    let records = state.store.inventory(&signed.city.id).await?;
    let all: Vec<&ProcedureDefinition> = records.iter().map(|r| &r.definition).collect();
    let mut departments: Vec<(String, String)> = Vec::new();
    for p in &all {
        if !departments
            .iter()
            .any(|(code, _)| code == &p.department.code)
        {
            let name = ui.name(&p.department.ja, &p.department.en).to_string();
            departments.push((p.department.code.clone(), name));
        }
    }
    let (priority, offline) = (query.priority.is_some(), query.offline.is_some());
    let kept: Vec<&ProcedureDefinition> = all
        .iter()
        .copied()
        .filter(|p| query.department.is_empty() || p.department.code == query.department)
        .filter(|p| !priority || p.is_national_priority())
        .filter(|p| !offline || !p.channel.accepts_online())
        .collect();
    let whole = summarize(all.iter().copied());
    let start = (query.page * PAGE_SIZE).min(kept.len());
    let end = (start + PAGE_SIZE).min(kept.len());
    let link = |page: usize| {
        let mut pairs = vec![("department", query.department.clone())];
        if priority {
            pairs.push(("priority", "1".into()));
        }
        if offline {
            pairs.push(("offline", "1".into()));
        }
        pairs.push(("page", page.to_string()));
        format!(
            "/staff/inventory?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    };
    let page = InventoryPage {
        chrome: signed.chrome("/staff/inventory"),
        kept: (kept.len() < all.len()).then(|| figures(&summarize(kept.iter().copied()))),
        whole: figures(&whole),
        departments,
        department: query.department.clone(),
        priority,
        offline,
        lines: kept[start..end].iter().map(|p| line(ui, p)).collect(),
        showing: format!(
            "{}–{} / {}",
            thousands((start + usize::from(end > start)) as i64),
            thousands(end as i64),
            thousands(kept.len() as i64)
        ),
        previous: (query.page > 0).then(|| link(query.page - 1)),
        next: (end < kept.len()).then(|| link(query.page + 1)),
    };
    Ok(render(&page))
}
