//! `/ask`, the answer desk without JavaScript: a resident types a question and gets answers
//! made only of the city's own data — its FAQ answers, and for procedures their fee, documents,
//! processing days and department — each leading straight into the form. A question with no
//! good answer goes to the staff's list of unanswered questions. `GET /api/v1/ask` gives the
//! same answers as JSON, for the chat widget (`/static/ask.js`) and other front-ends.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::kit::{city_name, render, render_markdown, search_words, ApiError, City, PageError, Ui};
use crate::AppState;

/// Answers shown for one question.
const ANSWERS: usize = 5;

#[derive(Deserialize)]
pub(super) struct AskQuery {
    #[serde(default)]
    q: String,
    /// The FAQ answer a resident just rated.
    #[serde(default)]
    thanks: String,
}

/// One answer: an FAQ answer or a procedure's facts, each made only of the city's own data.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Answer {
    /// `faq`, `procedure`, `notice` or `dataset`.
    kind: String,
    /// The FAQ entry's, procedure's, notice's or dataset's id (an FAQ answer is rated at
    /// `POST /faq/{id}/feedback`).
    id: String,
    title: String,
    /// An FAQ answer as sanitised HTML (empty for a procedure).
    answer_html: String,
    /// A procedure's fee, documents, processing days and department; a notice's date; a
    /// dataset's formats and department.
    facts: Vec<Fact>,
    /// Where to go next — the form, the procedure, the FAQ entry — most useful first.
    links: Vec<Link>,
}

/// One fact of a procedure, as its catalog entry states it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Fact {
    label: String,
    value: String,
}

/// A link from an answer (a path on this site).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Link {
    href: String,
    label: String,
}

impl Link {
    fn new(href: String, label: impl Into<String>) -> Self {
        Self {
            href,
            label: label.into(),
        }
    }
}

#[derive(Template)]
#[template(path = "ask.html")]
struct AskPage {
    ui: Ui,
    city: String,
    back: String,
    q: String,
    answers: Vec<Answer>,
    /// "Did you mean": the question with a mistyped name corrected, and its link.
    suggestion: Option<(String, String)>,
    /// A question was asked and nothing answered it.
    unanswered: bool,
    /// This page (its question), where a rating returns.
    back_to: String,
    thanks: String,
}

pub(super) async fn ask(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Query(query): Query<AskQuery>,
) -> Result<Response, PageError> {
    let q = machi_core::text::strip_control_chars(query.q.trim());
    let q: String = q.chars().take(200).collect();
    let reply = if q.is_empty() {
        Reply::default()
    } else {
        answers_to(&state, &city.id, ui, &q).await?
    };
    let answers = reply.answers;
    Ok(render(&AskPage {
        ui,
        city: city_name(ui, &city),
        back: "/ask".into(),
        unanswered: !q.is_empty() && answers.is_empty(),
        back_to: format!("/ask?q={}", crate::kit::percent_encode(&q)),
        thanks: query.thanks,
        suggestion: reply
            .suggestion
            .map(|s| (format!("/ask?q={}", crate::kit::percent_encode(&s)), s)),
        q,
        answers,
    }))
}

/// Parameters of `GET /api/v1/ask`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AskParams {
    /// The question in the resident's own words (「住民票がほしい」); required, at most 200
    /// characters, no control characters.
    #[param(pattern = "^[^\\x00-\\x1f\\x7f]*$", max_length = 200)]
    q: Option<String>,
    /// The language of the answers: `ja` (default, or the `lang` cookie) or `en`.
    #[param(pattern = "^(ja|en)?$")]
    lang: Option<String>,
}

/// What the answer desk says to one question.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AskReply {
    question: String,
    /// False when nothing answered it (the question then reaches the city's staff).
    answered: bool,
    answers: Vec<Answer>,
    /// "Did you mean": the question with a mistyped name corrected (住民表 → 住民票), present
    /// only when the corrected question finds answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    suggestion: Option<String>,
}

/// The answers to a question, and a correction of it.
#[derive(Default)]
struct Reply {
    answers: Vec<Answer>,
    suggestion: Option<String>,
}

/// The answer desk, for the chat widget and other front-ends: answers made only of the
/// city's own data, best first. A question nothing answers is passed to the staff's list.
#[utoipa::path(get, path = "/api/v1/ask", tag = "procedures", params(AskParams),
    responses((status = 200, body = AskReply), (status = 400, body = crate::kit::Problem, content_type = "application/problem+json"), (status = 422, body = crate::kit::Problem, content_type = "application/problem+json")))]
pub(crate) async fn ask_api(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    params: Result<Query<AskParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AskReply>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let question = search_words("/q", params.q.as_deref())?;
    let ui = match params.lang.as_deref() {
        None | Some("") => ui,
        Some("ja") => Ui { en: false },
        Some("en") => Ui { en: true },
        Some(other) => {
            return Err(ApiError::invalid_field(
                "/lang",
                machi_core::procedures::Localized::new(
                    format!("lang は ja か en です（{other}）"),
                    format!("lang is ja or en, not '{other}'"),
                ),
            ))
        }
    };
    let reply = answers_to(&state, &city.id, ui, &question).await?;
    Ok(Json(AskReply {
        answered: !reply.answers.is_empty(),
        question,
        answers: reply.answers,
        suggestion: reply.suggestion,
    }))
}

/// The answers to `q`, best first; an unanswered question is recorded for the staff.
async fn answers_to(
    state: &AppState,
    tenant: &str,
    ui: Ui,
    q: &str,
) -> Result<Reply, machi_store::StoreError> {
    let index = state.searches.city(&state.store, tenant).await?;
    let mut answers = Vec::new();
    for hit in index.search(q, None, ANSWERS) {
        let answer = match hit.kind {
            machi_search::Kind::Faq => index.faq_entry(&hit.id).map(|entry| Answer {
                kind: "faq".into(),
                id: entry.id.clone(),
                title: ui.l(&entry.question).to_string(),
                answer_html: render_markdown(ui.l(&entry.answer)),
                facts: Vec::new(),
                links: entry
                    .procedures
                    .iter()
                    .filter_map(|id| index.procedures.get(id))
                    .map(|r| procedure_link(ui, r))
                    .chain(std::iter::once(Link::new(
                        format!("/faq#{}", entry.id),
                        ui.t("よくある質問で見る", "See it in the FAQ"),
                    )))
                    .collect(),
            }),
            machi_search::Kind::Procedure => index
                .procedures
                .get(&hit.id)
                .map(|r| procedure_answer(ui, r)),
            machi_search::Kind::Notice => index.notice(&hit.id).map(|n| notice_answer(ui, n)),
            machi_search::Kind::Dataset => {
                index.datasets.get(&hit.id).map(|d| dataset_answer(ui, d))
            }
        };
        answers.extend(answer);
    }
    if answers.is_empty() {
        state.store.record_unanswered(tenant, q).await?;
    }
    Ok(Reply {
        answers,
        suggestion: index.suggest(q, None),
    })
}

/// A notice: when it was published, and the notice itself.
fn notice_answer(ui: Ui, notice: &machi_store::notices::Notice) -> Answer {
    Answer {
        kind: "notice".into(),
        id: notice.id.clone(),
        title: ui.l(&notice.draft.title).to_string(),
        answer_html: String::new(),
        facts: vec![Fact {
            label: ui.t("掲載日", "Published").to_string(),
            value: crate::kit::jst_day(notice.publish_at),
        }],
        links: vec![Link::new(
            format!("/notices/{}", notice.id),
            ui.t("お知らせを読む", "Read the notice"),
        )],
    }
}

/// An open dataset: its formats and department, and its page.
fn dataset_answer(ui: Ui, dataset: &machi_store::opendata::DatasetRecord) -> Answer {
    let input = &dataset.input;
    let mut formats: Vec<&str> = dataset
        .resources
        .iter()
        .map(|r| r.format.as_str())
        .collect();
    formats.sort_unstable();
    formats.dedup();
    let title = if ui.en && !input.title_en.is_empty() {
        &input.title_en
    } else {
        &input.title_ja
    };
    Answer {
        kind: "dataset".into(),
        id: dataset.id.clone(),
        title: title.clone(),
        answer_html: String::new(),
        facts: (!formats.is_empty())
            .then(|| Fact {
                label: ui
                    .t("オープンデータの形式", "Open data formats")
                    .to_string(),
                value: formats.join(", "),
            })
            .into_iter()
            .collect(),
        links: vec![Link::new(
            format!("/opendata/datasets/{}", input.name),
            ui.t("データセットを見る", "See the dataset"),
        )],
    }
}

pub(super) fn title(ui: Ui, p: &machi_core::procedures::ProcedureDefinition) -> String {
    match (&p.plain_title, ui.en) {
        (Some(plain), false) => plain.ja.clone(),
        _ => ui.l(&p.name).to_string(),
    }
}

/// Into the form where it can be done online (filled in from the profile of a signed-in
/// resident), else to the procedure's page.
fn procedure_link(ui: Ui, record: &machi_store::ProcedureRecord) -> Link {
    let p = &record.definition;
    if record.accepts_online() {
        Link::new(
            format!("/procedures/{}/apply", p.id),
            format!(
                "{}{}",
                title(ui, p),
                ui.t("をオンラインで申請する", ": apply online")
            ),
        )
    } else {
        Link::new(format!("/procedures/{}", p.id), title(ui, p))
    }
}

/// A procedure's facts, as its catalog entry states them.
fn procedure_answer(ui: Ui, record: &machi_store::ProcedureRecord) -> Answer {
    let p = &record.definition;
    let mut facts = Vec::new();
    let mut fact = |label: &str, value: String| {
        facts.push(Fact {
            label: label.to_string(),
            value,
        })
    };
    if let Some(fee) = p.fee_label() {
        fact(ui.t("手数料", "Fee"), ui.l(&fee).to_string());
    }
    if !p.documents.is_empty() {
        let documents: Vec<&str> = p.documents.iter().map(|d| ui.l(d)).collect();
        fact(
            ui.t("必要なもの", "What to bring"),
            documents.join(ui.t("、", "; ")),
        );
    }
    if let Some(days) = p.processing_days {
        fact(
            ui.t("結果が出るまで（目安）", "Decision within (typical)"),
            format!("{days}{}", ui.t("日", " days")),
        );
    }
    fact(
        ui.t("担当", "Department"),
        ui.name(&p.department.ja, &p.department.en).to_string(),
    );
    let mut links = vec![procedure_link(ui, record)];
    if record.accepts_online() {
        links.push(Link::new(
            format!("/procedures/{}", p.id),
            ui.t("手続の説明を見る", "About this procedure"),
        ));
    }
    Answer {
        kind: "procedure".into(),
        id: p.id.clone(),
        title: title(ui, p),
        answer_html: String::new(),
        facts,
        links,
    }
}
