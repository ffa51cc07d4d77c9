//! 配信状況 for staff: per notice, how many deliveries are queued, retrying, sent and given up,
//! on each channel; for the city's administrators, the dead letters (what could not be sent and
//! why), each of which can be sent again once the cause is fixed.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use machi_core::subscriptions::Channel;
use machi_store::deliveries::ChannelReport;
use serde_json::json;

use crate::kit::{jst_text, render, see_other, ApiError, Chrome, PageError, Signed};
use crate::AppState;

/// Dead letters listed at most.
const DEAD_LETTERS_SHOWN: i64 = 200;

#[derive(Template)]
#[template(path = "staff_delivery_report.html")]
struct ReportPage {
    chrome: Chrome,
    notice_id: String,
    title: String,
    published: String,
    rows: Vec<(String, ChannelReport)>,
    total: ChannelReport,
    subscribers: Vec<(String, i64)>,
    /// No SMTP server is configured: e-mail stays queued, and the page says why.
    mail_off: bool,
}

fn channel_label(signed: &Signed, channel: &str) -> String {
    Channel::parse(channel)
        .map(|c| signed.ui.l(&c.label()).to_string())
        .unwrap_or_else(|| channel.to_string())
}

/// GET /staff/notices/{id}/deliveries: the notice's delivery report, for those who may edit it.
pub(crate) async fn report(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    signed.require(signed.role().edits_procedures())?;
    let notice = state
        .store
        .notice(&signed.city.id, &id)
        .await?
        .ok_or_else(|| {
            PageError::from(ApiError::not_found(
                signed
                    .ui
                    .t("このお知らせはありません。", "There is no such notice."),
            ))
        })?;
    if !signed.role().manages_accounts() {
        signed.require_department(&notice.department_code)?;
    }
    let report = state.store.delivery_report(&signed.city.id, &id).await?;
    let mut total = ChannelReport::default();
    for row in &report {
        total.queued += row.queued;
        total.retrying += row.retrying;
        total.sent += row.sent;
        total.dead += row.dead;
    }
    let subscribers = state.store.subscriber_counts(&signed.city.id).await?;
    Ok(render(&ReportPage {
        mail_off: !state.sends_mail(),
        chrome: signed.chrome(&format!("/staff/notices/{id}/deliveries")),
        notice_id: id,
        title: signed.ui.l(&notice.draft.title).to_string(),
        published: jst_text(notice.publish_at),
        rows: report
            .into_iter()
            .map(|row| (channel_label(&signed, &row.channel), row))
            .collect(),
        total,
        subscribers: subscribers
            .into_iter()
            .map(|(channel, n)| (signed.ui.l(&channel.label()).to_string(), n))
            .collect(),
    }))
}

struct DeadLetterRow {
    id: i64,
    what: String,
    channel: String,
    address: String,
    attempts: i64,
    error: String,
    created: String,
}

#[derive(Template)]
#[template(path = "staff_dead_letters.html")]
struct DeadLettersPage {
    chrome: Chrome,
    letters: Vec<DeadLetterRow>,
    retried: bool,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct Retried {
    #[serde(default)]
    retried: Option<String>,
}

/// GET /staff/deliveries: what could not be sent, for the city's administrators (the list
/// holds residents' addresses, so seeing it is audited).
pub(crate) async fn dead_letters(
    State(state): State<AppState>,
    signed: Signed,
    axum::extract::Query(query): axum::extract::Query<Retried>,
) -> Result<Response, PageError> {
    signed.require(signed.role().manages_accounts())?;
    let letters = state
        .store
        .dead_letters(&signed.city.id, DEAD_LETTERS_SHOWN)
        .await?;
    signed
        .audit(
            &state,
            "deliveries.view_dead_letters",
            "deliveries",
            json!({ "shown": letters.len() }),
        )
        .await?;
    Ok(render(&DeadLettersPage {
        chrome: signed.chrome("/staff/deliveries"),
        letters: letters
            .into_iter()
            .map(|letter| DeadLetterRow {
                id: letter.id,
                what: letter.notice_id.unwrap_or_else(|| {
                    signed
                        .ui
                        .t("個別の連絡", "Message to one person")
                        .to_string()
                }),
                channel: channel_label(&signed, &letter.channel),
                address: letter.address,
                attempts: letter.attempts,
                error: letter.last_error,
                created: jst_text(letter.created_at),
            })
            .collect(),
        retried: query.retried.is_some(),
    }))
}

/// POST /staff/deliveries/{id}/retry: sends a dead letter again, audited.
pub(crate) async fn retry(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    signed.require(signed.role().manages_accounts())?;
    let queued = state.store.retry_dead_letter(&signed.city.id, id).await?;
    if !queued {
        return Err(PageError::from(ApiError::not_found(signed.ui.t(
            "この配信は再送できません(すでに再送済みか、ありません)。",
            "This delivery cannot be sent again (already queued, or no such delivery).",
        ))));
    }
    signed
        .audit(&state, "deliveries.retry", &id.to_string(), json!({}))
        .await?;
    Ok(see_other("/staff/deliveries?retried=1"))
}
