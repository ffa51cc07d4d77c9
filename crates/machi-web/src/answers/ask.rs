//! `/ask`, the answer desk without JavaScript: a resident types a question and gets answers
//! made only of the city's own data — its FAQ answers, and for procedures their fee, documents,
//! processing days and department — each leading straight into the form. A question with no
//! good answer goes to the staff's list of unanswered questions.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::kit::{city_name, render, render_markdown, City, PageError, Ui};
use crate::AppState;

/// Answers shown for one question.
const ANSWERS: usize = 5;

#[derive(Deserialize)]
pub(super) struct AskQuery {
    #[serde(default)]
    q: String,
}

/// One answer: an FAQ answer or a procedure's facts.
struct Answer {
    title: String,
    /// Sanitised HTML of an FAQ answer.
    answer_html: String,
    /// (label, value) facts of a procedure: fee, documents, processing days, department.
    facts: Vec<(String, String)>,
    /// (link, label): where to go next — the form, the procedure, the FAQ entry.
    links: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "ask.html")]
struct AskPage {
    ui: Ui,
    city: String,
    back: String,
    q: String,
    answers: Vec<Answer>,
    /// A question was asked and nothing answered it.
    unanswered: bool,
}

pub(super) async fn ask(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Query(query): Query<AskQuery>,
) -> Result<Response, PageError> {
    let q = machi_core::text::strip_control_chars(query.q.trim());
    let q: String = q.chars().take(200).collect();
    let mut answers = Vec::new();
    if !q.is_empty() {
        let index = state.searches.city(&state.store, &city.id).await?;
        for hit in index.search(&q, None, ANSWERS) {
            let answer = match hit.kind {
                machi_search::Kind::Faq => index.faq_entry(&hit.id).map(|entry| Answer {
                    title: ui.l(&entry.question).to_string(),
                    answer_html: render_markdown(ui.l(&entry.answer)),
                    facts: Vec::new(),
                    links: entry
                        .procedures
                        .iter()
                        .filter_map(|id| index.procedures.get(id))
                        .map(|r| procedure_link(ui, r))
                        .chain(std::iter::once((
                            format!("/faq#{}", entry.id),
                            ui.t("よくある質問で見る", "See it in the FAQ").to_string(),
                        )))
                        .collect(),
                }),
                machi_search::Kind::Procedure => index
                    .procedures
                    .get(&hit.id)
                    .map(|r| procedure_answer(ui, r)),
                _ => None,
            };
            answers.extend(answer);
        }
        if answers.is_empty() {
            state.store.record_unanswered(&city.id, &q).await?;
        }
    }
    Ok(render(&AskPage {
        ui,
        city: city_name(ui, &city),
        back: "/ask".into(),
        unanswered: !q.is_empty() && answers.is_empty(),
        q,
        answers,
    }))
}

pub(super) fn title(ui: Ui, p: &machi_core::procedures::ProcedureDefinition) -> String {
    match (&p.plain_title, ui.en) {
        (Some(plain), false) => plain.ja.clone(),
        _ => ui.l(&p.name).to_string(),
    }
}

/// Into the form where it can be done online, else to the procedure's page.
fn procedure_link(ui: Ui, record: &machi_store::ProcedureRecord) -> (String, String) {
    let p = &record.definition;
    if record.accepts_online() {
        (
            format!("/procedures/{}/apply", p.id),
            format!(
                "{}{}",
                title(ui, p),
                ui.t("をオンラインで申請する", ": apply online")
            ),
        )
    } else {
        (format!("/procedures/{}", p.id), title(ui, p))
    }
}

/// A procedure's facts, as its catalog entry states them.
fn procedure_answer(ui: Ui, record: &machi_store::ProcedureRecord) -> Answer {
    let p = &record.definition;
    let mut facts = Vec::new();
    if let Some(fee) = p.fee_label() {
        facts.push((ui.t("手数料", "Fee").to_string(), ui.l(&fee).to_string()));
    }
    if !p.documents.is_empty() {
        let documents: Vec<&str> = p.documents.iter().map(|d| ui.l(d)).collect();
        facts.push((
            ui.t("必要なもの", "What to bring").to_string(),
            documents.join(ui.t("、", "; ")),
        ));
    }
    if let Some(days) = p.processing_days {
        facts.push((
            ui.t("結果が出るまで（目安）", "Decision within (typical)")
                .to_string(),
            format!("{days}{}", ui.t("日", " days")),
        ));
    }
    facts.push((
        ui.t("担当", "Department").to_string(),
        ui.name(&p.department.ja, &p.department.en).to_string(),
    ));
    let mut links = vec![procedure_link(ui, record)];
    if record.accepts_online() {
        links.push((
            format!("/procedures/{}", p.id),
            ui.t("手続の説明を見る", "About this procedure").to_string(),
        ));
    }
    Answer {
        title: title(ui, p),
        answer_html: String::new(),
        facts,
        links,
    }
}
