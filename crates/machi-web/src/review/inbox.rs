//! 受付一覧 (the department inbox): filters, search, sort, paging, and bulk actions.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Form;
use machi_core::applications::{Status, ALL_STATUSES};
use machi_core::procedures::display::applicant_name;
use machi_store::review::{Assignee, InboxItem, InboxQuery, Proposal, StatusChange};
use machi_store::ProcedureQuery;
use serde::{Deserialize, Serialize};

use crate::kit::{jst_day, jst_text, render, see_other, ApiError, Chrome, PageError, Signed};
use crate::AppState;

/// Rows per inbox page.
const PAGE_SIZE: i64 = 50;

/// The inbox filters, as they appear in the URL (so a filtered view can be bookmarked).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(super) struct InboxParams {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub procedure: String,
    /// `me`, `none`, or empty for anyone.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub assignee: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub overdue: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub q: String,
    /// `oldest` or empty (newest first).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sort: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub after: String,
}

impl InboxParams {
    /// The store query for this person's department.
    pub(super) fn query(&self, signed: &Signed, limit: i64) -> Result<InboxQuery, PageError> {
        let status = match self.status.as_str() {
            "" => None,
            text => Some(Status::parse(text).ok_or_else(|| {
                PageError::from(ApiError::bad_request(format!("unknown status '{text}'")))
            })?),
        };
        Ok(InboxQuery {
            department: signed.department()?.to_string(),
            status,
            procedure: (!self.procedure.is_empty()).then(|| self.procedure.clone()),
            assignee: match self.assignee.as_str() {
                "me" => Assignee::Person(signed.email().to_string()),
                "none" => Assignee::Nobody,
                _ => Assignee::Anyone,
            },
            overdue: !self.overdue.is_empty(),
            text: machi_core::text::clean_text(&self.q),
            oldest_first: self.sort == "oldest",
            after: (!self.after.is_empty()).then(|| self.after.clone()),
            limit,
        })
    }

    fn link(&self, after: Option<String>) -> String {
        let params = InboxParams {
            after: after.unwrap_or_default(),
            ..self.clone()
        };
        format!(
            "/staff/inbox?{}",
            serde_urlencoded::to_string(&params).unwrap_or_default()
        )
    }
}

struct Row {
    receipt_number: String,
    /// The applicant's name as they gave it (empty when the form asks none).
    applicant: String,
    procedure: String,
    status: String,
    submitted: String,
    due: String,
    overdue: bool,
    assignee: String,
    counter: bool,
}

#[derive(Template)]
#[template(path = "staff_inbox.html")]
struct InboxPage {
    chrome: Chrome,
    params: InboxParams,
    statuses: Vec<(String, String)>,
    procedures: Vec<(String, String)>,
    rows: Vec<Row>,
    next: Option<String>,
    export_query: String,
    /// Decisions waiting for the signed-in member of staff's approval: (receipt, what).
    awaiting: Vec<(String, String)>,
}

pub(super) async fn home(signed: Signed) -> Response {
    if signed.role() == machi_core::staff::Role::Counter {
        see_other("/staff/counter")
    } else if signed.role().reviews_applications() {
        see_other("/staff/inbox")
    } else if signed.role().reads_audit_log() {
        see_other("/staff/audit")
    } else if signed.role().manages_accounts() {
        see_other("/staff/users")
    } else {
        crate::kit::render(&Welcome {
            chrome: signed.chrome("/staff"),
        })
    }
}

#[derive(Template)]
#[template(path = "staff_welcome.html")]
struct Welcome {
    chrome: Chrome,
}

/// The department's procedures as (id, name), for the filter and for row labels.
pub(super) async fn department_procedures(
    state: &AppState,
    signed: &Signed,
) -> Result<Vec<(String, String)>, PageError> {
    let records = state
        .store
        .search_procedures(
            &signed.city.id,
            &ProcedureQuery {
                department: Some(signed.department()?.to_string()),
                limit: 200,
                ..ProcedureQuery::default()
            },
        )
        .await?;
    Ok(records
        .into_iter()
        .map(|r| {
            (
                r.definition.id.clone(),
                signed.ui.l(&r.definition.name).to_string(),
            )
        })
        .collect())
}

/// The name the applicant gave, read with the form the application was made on.
async fn applicant_of(state: &AppState, signed: &Signed, item: &InboxItem) -> String {
    let form = state
        .forms
        .get(
            &state.store,
            &signed.city.id,
            &item.procedure_id,
            item.form_version,
        )
        .await;
    let answers: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&item.answers).unwrap_or_default();
    form.ok()
        .and_then(|form| applicant_name(&form, &answers))
        .unwrap_or_default()
}

pub(super) async fn inbox(
    State(state): State<AppState>,
    signed: Signed,
    Query(params): Query<InboxParams>,
) -> Result<Response, PageError> {
    signed.require(signed.role().reviews_applications())?;
    let query = params.query(&signed, PAGE_SIZE + 1)?;
    let mut items = state.store.inbox(&signed.city.id, &query).await?;
    let more = items.len() as i64 > PAGE_SIZE;
    items.truncate(PAGE_SIZE as usize);
    let procedures = department_procedures(&state, &signed).await?;
    let names: HashMap<&str, &str> = procedures
        .iter()
        .map(|(id, name)| (id.as_str(), name.as_str()))
        .collect();
    let now = machi_store::Time::now();
    let ui = signed.ui;
    let mut applicants = Vec::with_capacity(items.len());
    for item in &items {
        applicants.push(applicant_of(&state, &signed, item).await);
    }
    let rows = items
        .iter()
        .zip(applicants)
        .map(|(item, applicant)| Row {
            applicant,
            receipt_number: item.receipt_number.clone(),
            procedure: names
                .get(item.procedure_id.as_str())
                .map_or(item.procedure_id.clone(), |n| n.to_string()),
            status: ui.l(&item.status.label()).to_string(),
            submitted: jst_text(item.submitted_at),
            due: item.due_at.map(jst_day).unwrap_or_default(),
            overdue: item.is_overdue(now),
            assignee: item.assignee.clone().unwrap_or_default(),
            counter: item.made_via == "counter",
        })
        .collect();
    let next = more
        .then(|| items.last().map(|last| params.link(Some(last.cursor()))))
        .flatten();
    let export_query = serde_urlencoded::to_string(InboxParams {
        after: String::new(),
        ..params.clone()
    })
    .unwrap_or_default();
    let department = match signed.role() {
        machi_core::staff::Role::Admin => None,
        _ => Some(signed.department()?),
    };
    let awaiting = state
        .store
        .decisions_awaiting(
            &signed.city.id,
            &super::actions::approver(&signed),
            department,
        )
        .await?
        .into_iter()
        .map(|d| (d.receipt_number, ui.l(&d.to.label()).to_string()))
        .collect();
    Ok(render(&InboxPage {
        awaiting,
        chrome: signed.chrome(&params.link(None)),
        statuses: ALL_STATUSES
            .iter()
            .map(|s| (s.as_str().to_string(), ui.l(&s.label()).to_string()))
            .collect(),
        procedures,
        rows,
        next,
        export_query,
        params,
    }))
}

struct BulkForm {
    /// `assign_me`, `unassign`, or `status:<status>`.
    action: String,
    receipt: Vec<String>,
}

/// Applies one action to every ticked application; all or none.
pub(super) async fn bulk(
    State(state): State<AppState>,
    signed: Signed,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form = bulk_form(&pairs);
    signed.require(signed.role().assigns_work())?;
    if form.receipt.is_empty() {
        return Err(PageError::from(ApiError::bad_request(signed.ui.t(
            "対象の申請を選んでください。",
            "Select at least one application.",
        ))));
    }
    let states = state
        .store
        .application_states(&signed.city.id, &form.receipt)
        .await?;
    if states.len() != form.receipt.len() {
        return Err(PageError::from(ApiError::not_found(
            "some of the selected applications do not exist",
        )));
    }
    for found in &states {
        signed.require_department(&found.department_code)?;
    }
    match form.action.as_str() {
        "assign_me" | "unassign" => {
            let assignee = (form.action == "assign_me").then(|| signed.email());
            state
                .store
                .assign(&signed.city.id, &form.receipt, assignee, signed.email())
                .await?;
        }
        action => {
            let to = action
                .strip_prefix("status:")
                .and_then(Status::parse)
                .ok_or_else(|| {
                    PageError::from(ApiError::bad_request(format!("unknown action '{action}'")))
                })?;
            if to.is_refusal() {
                return Err(PageError::from(ApiError::bad_request(signed.ui.t(
                    "却下・不許可は、理由を付けて1件ずつ行ってください（行政手続法第8条）。",
                    "Refuse one application at a time, with its reasons.",
                ))));
            }
            let mut changes = Vec::with_capacity(states.len());
            let mut proposals = Vec::new();
            for found in &states {
                let loaded =
                    super::application::load(&state, &signed, &found.receipt_number).await?;
                if !loaded.workflow.allows(found.status, to) {
                    return Err(PageError::from(ApiError::bad_request(format!(
                        "{}: {} → {} {}",
                        found.receipt_number,
                        signed.ui.l(&found.status.label()),
                        signed.ui.l(&to.label()),
                        signed
                            .ui
                            .t("には進めません。", "is not a step of this procedure."),
                    ))));
                }
                let mail = super::actions::status_notice(&state, &signed, &loaded, to, "").await;
                if to.is_decision() {
                    // Each decision follows its procedure's 決裁ルート, as one at a time would.
                    proposals.push(Proposal {
                        receipt_number: found.receipt_number.clone(),
                        from: found.status,
                        to,
                        note: String::new(),
                        notify: true,
                        route: loaded.route.clone(),
                        department_ja: loaded.department_ja.clone(),
                        mail,
                    });
                    continue;
                }
                changes.push(StatusChange {
                    receipt_number: found.receipt_number.clone(),
                    from: found.status,
                    to,
                    note: Default::default(),
                    actor: signed.email().to_string(),
                    mail,
                });
            }
            if proposals.is_empty() {
                state.store.change_status(&signed.city.id, &changes).await?;
            } else {
                let me = super::actions::approver(&signed);
                state
                    .store
                    .propose_decisions(&signed.city.id, &proposals, &me)
                    .await?;
            }
        }
    }
    Ok(see_other("/staff/inbox"))
}

/// Reads repeated `receipt` fields (serde_urlencoded has no sequences in structs).
fn bulk_form(pairs: &[(String, String)]) -> BulkForm {
    BulkForm {
        action: pairs
            .iter()
            .find(|(k, _)| k == "action")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        receipt: pairs
            .iter()
            .filter(|(k, _)| k == "receipt")
            .map(|(_, v)| v.clone())
            .collect(),
    }
}
