//! 職員のお知らせ作成: staff write, preview and schedule notices, with files attached. A
//! preview renders the notice exactly as residents will see it and saves nothing to the
//! database; attached files are checked by their content (PDF, JPEG, PNG), at most
//! [`MAX_FILES`] of [`MAX_FILE_BYTES`] each, and written durably before the notice row that
//! names them is committed.

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDateTime, Utc};
use machi_core::notices::{Category, Evacuation, EvacuationLevel, NoticeDraft, Urgency};
use machi_core::procedures::Localized;
use machi_core::wareki::jst;
use machi_store::notices::{
    AttachmentChanges, NewNoticeFile, Notice, NoticeAttachment, NoticeSave,
};
use machi_store::StoredFile;
use machi_store::Time;

use super::staff_files::{carry_key, carry_value, check_uploads, read_carried};
use super::{notice_view, row, NoticeRow, NoticeView};
use crate::kit::{render, see_other, ApiError, Chrome, PageError, Signed, Upload};
use crate::AppState;

/// Most files one notice carries.
pub(crate) const MAX_FILES: usize = 5;
/// Largest attached file.
pub(crate) const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

#[derive(Template)]
#[template(path = "staff_notices.html")]
struct StaffList {
    chrome: Chrome,
    notices: Vec<NoticeRow>,
}

#[derive(Template)]
#[template(path = "staff_notice_form.html")]
struct StaffForm {
    chrome: Chrome,
    action: String,
    title_ja: String,
    title_en: String,
    body_ja: String,
    body_en: String,
    categories: Vec<(String, String, bool)>,
    picker: crate::kit::areas::AreaPicker,
    urgencies: Vec<(String, String, bool)>,
    /// (警戒レベル or empty for none, label, chosen)
    evacuations: Vec<(String, String, bool)>,
    evacuation_lifted: bool,
    publish_at: String,
    expires_at: String,
    /// Attachments already saved: id, label, marked for removal.
    files: Vec<(String, String, bool)>,
    /// Files checked and on disk but not yet named by a saved notice (carried by a preview).
    carried: Vec<(String, String)>,
    /// The notice as residents will see it, in Japanese and (when written) English.
    preview: Vec<(&'static str, NoticeView)>,
    errors: Vec<(String, String)>,
    confirm: Option<SendConfirm>,
}

/// What the form shows besides the draft and its times.
#[derive(Default)]
struct FormExtras {
    saved: Vec<NoticeAttachment>,
    removed: Vec<String>,
    carried: Vec<NoticeAttachment>,
    /// What the carried files are sealed with (see [`carry_key`]).
    carry_key: String,
    preview: Option<Notice>,
    /// An emergency about to go out: whom it reaches, for staff to confirm first.
    confirm: Option<SendConfirm>,
    /// The city's 町字, to pick areas from.
    area_list: Vec<machi_core::areas::Area>,
    /// The city's categories of notices.
    categories: Vec<Category>,
}

/// What saving an emergency notice will do at once, shown before it is done: how many
/// subscribers it reaches, per channel, and whether e-mail can leave at all.
struct SendConfirm {
    total: i64,
    by_channel: Vec<(String, i64)>,
    mail_off: bool,
}

fn require_writer(signed: &Signed) -> Result<Option<String>, PageError> {
    signed.department_scope(signed.role().edits_procedures())
}
pub(crate) async fn staff_list(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    let department = require_writer(&signed)?;
    let notices = state
        .store
        .department_notices(&signed.city.id, department.as_deref())
        .await?;
    let categories = state.store.notice_categories(&signed.city.id).await?;
    Ok(render(&StaffList {
        chrome: signed.chrome("/staff/notices"),
        notices: notices
            .iter()
            .map(|n| row(signed.ui, n, &categories))
            .collect(),
    }))
}
fn form_time(time: Time) -> String {
    time.utc()
        .with_timezone(&jst())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}
fn empty_draft() -> NoticeDraft {
    NoticeDraft {
        title: Localized::default(),
        body: Localized::default(),
        categories: Vec::new(),
        areas: Vec::new(),
        urgency: Urgency::Normal,
        evacuation: None,
    }
}
async fn editable(state: &AppState, signed: &Signed, id: &str) -> Result<Notice, PageError> {
    let department = require_writer(signed)?;
    let notice = state
        .store
        .notice(&signed.city.id, id)
        .await?
        .ok_or_else(|| {
            PageError::from(
                ApiError::not_found("no such notice").with_ja("このお知らせはありません。"),
            )
        })?;
    if department.is_some() {
        signed.require_department(&notice.department_code)?;
    }
    Ok(notice)
}
fn parse_time(text: &str) -> Option<Time> {
    let text = machi_core::text::fold_width(text.trim())
        .replace('/', "-")
        .replace('T', " ");
    let local = NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M").ok()?;
    local
        .and_local_timezone(jst())
        .single()
        .map(|t| Time::from(t.with_timezone(&Utc)))
}
fn read_form(pairs: &[(String, String)]) -> (NoticeDraft, String, String) {
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let draft = NoticeDraft {
        title: Localized::new(
            machi_core::text::clean_text(&field("title_ja")),
            machi_core::text::clean_text(&field("title_en")),
        ),
        body: Localized::new(field("body_ja").trim(), field("body_en").trim()),
        categories: pairs
            .iter()
            .filter(|(k, _)| k == "category")
            .map(|(_, v)| v.clone())
            .collect(),
        areas: machi_core::notices::read_areas(&crate::kit::areas::sent_areas(pairs))
            .into_iter()
            .filter(|a| !a.contains('|'))
            .collect(),
        urgency: Urgency::parse(&field("urgency")).unwrap_or(Urgency::Normal),
        evacuation: field("evacuation")
            .parse::<i64>()
            .ok()
            .and_then(EvacuationLevel::from_number)
            .map(|level| Evacuation {
                level,
                lifted: field("evacuation_lifted") == "1",
            }),
    };
    (draft, field("publish_at"), field("expires_at"))
}

fn form_page(
    signed: &Signed,
    action: String,
    draft: &NoticeDraft,
    times: (String, String),
    extras: &FormExtras,
    errors: &[(&str, Localized)],
) -> Response {
    let ui = signed.ui;
    let preview = extras.preview.as_ref().map(|notice| {
        let shown: Vec<NoticeAttachment> = extras
            .saved
            .iter()
            .filter(|f| !extras.removed.contains(&f.id))
            .chain(&extras.carried)
            .cloned()
            .collect();
        let mut views = vec![(
            "ja",
            notice_view(
                crate::kit::Ui { en: false },
                notice,
                &shown,
                false,
                &extras.categories,
            ),
        )];
        if !notice.draft.title.en.is_empty() || !notice.draft.body.en.is_empty() {
            views.push((
                "en",
                notice_view(
                    crate::kit::Ui { en: true },
                    notice,
                    &shown,
                    false,
                    &extras.categories,
                ),
            ));
        }
        views
    });
    let page = StaffForm {
        chrome: signed.chrome("/staff/notices"),
        action,
        title_ja: draft.title.ja.clone(),
        title_en: draft.title.en.clone(),
        body_ja: draft.body.ja.clone(),
        body_en: draft.body.en.clone(),
        categories: extras
            .categories
            .iter()
            .map(|c| {
                (
                    c.id.clone(),
                    ui.l(&c.label).to_string(),
                    draft.categories.contains(&c.id),
                )
            })
            .collect(),
        picker: crate::kit::areas::AreaPicker::new(
            "n-areas",
            &extras.area_list,
            &draft.areas,
            draft.areas.join("、"),
        ),
        urgencies: [Urgency::Normal, Urgency::Important, Urgency::Emergency]
            .iter()
            .map(|u| {
                (
                    u.as_str().to_string(),
                    ui.l(&u.label()).to_string(),
                    *u == draft.urgency,
                )
            })
            .collect(),
        evacuations: std::iter::once((
            String::new(),
            ui.t("なし", "None").to_string(),
            draft.evacuation.is_none(),
        ))
        .chain(EvacuationLevel::ALL.iter().map(|level| {
            let chosen = draft.evacuation.is_some_and(|e| e.level == *level);
            let label = Evacuation {
                level: *level,
                lifted: false,
            }
            .label();
            (level.number().to_string(), ui.l(&label).to_string(), chosen)
        }))
        .collect(),
        evacuation_lifted: draft.evacuation.is_some_and(|e| e.lifted),
        publish_at: times.0,
        expires_at: times.1,
        files: extras
            .saved
            .iter()
            .map(|f| {
                (
                    f.id.clone(),
                    super::file_label(ui, &f.filename, &f.media_type, f.size_bytes),
                    extras.removed.contains(&f.id),
                )
            })
            .collect(),
        carried: extras
            .carried
            .iter()
            .map(|f| {
                (
                    carry_value(&extras.carry_key, f),
                    super::file_label(ui, &f.filename, &f.media_type, f.size_bytes),
                )
            })
            .collect(),
        preview: preview.unwrap_or_default(),
        errors: errors
            .iter()
            .map(|(field, message)| (format!("n-{field}"), ui.l(message).to_string()))
            .collect(),
        confirm: extras.confirm.as_ref().map(|c| SendConfirm {
            total: c.total,
            by_channel: c.by_channel.clone(),
            mail_off: c.mail_off,
        }),
    };
    let status = crate::kit::form_status(errors);
    (status, render(&page)).into_response()
}

pub(crate) async fn staff_new(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    require_writer(&signed)?;
    let extras = FormExtras {
        area_list: state.store.areas(&signed.city.id).await?,
        categories: state.store.notice_categories(&signed.city.id).await?,
        ..FormExtras::default()
    };
    Ok(form_page(
        &signed,
        "/staff/notices/new".into(),
        &empty_draft(),
        (String::new(), String::new()),
        &extras,
        &[],
    ))
}

pub(crate) async fn staff_edit(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let notice = editable(&state, &signed, &id).await?;
    let saved = state.store.notice_attachments(&signed.city.id, &id).await?;
    let times = (
        form_time(notice.publish_at),
        notice.expires_at.map(form_time).unwrap_or_default(),
    );
    Ok(form_page(
        &signed,
        format!("/staff/notices/{id}"),
        &notice.draft,
        times,
        &FormExtras {
            saved,
            area_list: state.store.areas(&signed.city.id).await?,
            categories: state.store.notice_categories(&signed.city.id).await?,
            ..FormExtras::default()
        },
        &[],
    ))
}

pub(crate) async fn staff_create(
    State(state): State<AppState>,
    signed: Signed,
    request: Request,
) -> Result<Response, PageError> {
    save(&state, &signed, None, request).await
}

pub(crate) async fn staff_update(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, PageError> {
    save(&state, &signed, Some(id), request).await
}

async fn save(
    state: &AppState,
    signed: &Signed,
    id: Option<String>,
    request: Request,
) -> Result<Response, PageError> {
    let department = match &id {
        Some(id) => editable(state, signed, id).await?.department_code,
        None => {
            require_writer(signed)?;
            signed.department()?.to_string()
        }
    };
    let (pairs, uploads) = crate::kit::read_form(state, request).await?;
    let uploads: Vec<Upload> = uploads.into_iter().filter(|u| u.field == "files").collect();
    let (draft, publish_text, expires_text) = read_form(&pairs);
    let categories = state.store.notice_categories(&signed.city.id).await?;
    let (publish_at, expires_at, mut errors) =
        check(&draft, &categories, &publish_text, &expires_text);
    let area_list = state.store.areas(&signed.city.id).await?;
    let unknown = state
        .store
        .unknown_areas(&signed.city.id, &draft.areas)
        .await?;
    if !unknown.is_empty() {
        errors.push(("areas", crate::kit::areas::unknown_areas_message(&unknown)));
    }
    let saved = match &id {
        Some(id) => state.store.notice_attachments(&signed.city.id, id).await?,
        None => Vec::new(),
    };
    let removed: Vec<String> = saved
        .iter()
        .filter(|f| pairs.iter().any(|(k, v)| k == "remove_file" && *v == f.id))
        .map(|f| f.id.clone())
        .collect();
    let carry_key = carry_key(state, signed).await?;
    let mut carried = read_carried(state, &carry_key, &pairs).await;
    let good = check_uploads(
        &uploads,
        saved.len().saturating_sub(removed.len()) + carried.len(),
        &mut errors,
    );
    let action = id.as_ref().map_or("/staff/notices/new".to_string(), |id| {
        format!("/staff/notices/{id}")
    });
    let times = (publish_text, expires_text);
    if !errors.is_empty() {
        let extras = FormExtras {
            saved,
            removed,
            carried,
            carry_key,
            preview: None,
            confirm: None,
            area_list,
            categories,
        };
        return Ok(form_page(signed, action, &draft, times, &extras, &errors));
    }
    // Durable on disk before any row names them (and before a preview carries them).
    for (upload, (name, kind)) in uploads.iter().zip(good) {
        let file = state.store.save_file(upload.bytes.clone()).await?;
        carried.push(NoticeAttachment {
            id: String::new(),
            filename: name,
            media_type: kind.media_type().to_string(),
            size_bytes: file.size_bytes,
            sha256: file.sha256,
        });
    }
    if pairs.iter().any(|(k, _)| k == "preview") {
        let notice = Notice {
            id: id.clone().unwrap_or_default(),
            department_code: department,
            draft: draft.clone(),
            publish_at: publish_at.unwrap_or_else(Time::now),
            expires_at: expires_at.flatten(),
            updated_at: Time::now(),
        };
        let extras = FormExtras {
            saved,
            removed,
            carried,
            carry_key,
            preview: Some(notice),
            confirm: None,
            area_list,
            categories,
        };
        return Ok(form_page(signed, action, &draft, times, &extras, &[]));
    }
    let sends_now =
        draft.urgency == Urgency::Emergency && publish_at.is_none_or(|at| at <= Time::now());
    if sends_now && !pairs.iter().any(|(k, _)| k == "confirm_send") {
        let audience = state.store.notice_audience(&signed.city.id, &draft).await?;
        let confirm = SendConfirm {
            total: audience.iter().map(|(_, n)| n).sum(),
            by_channel: audience
                .into_iter()
                .map(|(channel, n)| {
                    let label = machi_core::subscriptions::Channel::parse(&channel)
                        .map(|c| signed.ui.l(&c.label()).to_string())
                        .unwrap_or(channel);
                    (label, n)
                })
                .collect(),
            mail_off: !state.sends_mail(),
        };
        let extras = FormExtras {
            saved,
            removed,
            carried,
            carry_key,
            preview: None,
            confirm: Some(confirm),
            area_list,
            categories,
        };
        return Ok(form_page(signed, action, &draft, times, &extras, &[]));
    }
    let add: Vec<NewNoticeFile> = carried
        .into_iter()
        .map(|f| NewNoticeFile {
            filename: f.filename,
            media_type: f.media_type,
            file: StoredFile {
                sha256: f.sha256,
                size_bytes: f.size_bytes,
            },
        })
        .collect();
    let saved = state
        .store
        .save_notice_with_files(
            &signed.city.id,
            &draft,
            &NoticeSave {
                id: id.as_deref(),
                department_code: &department,
                publish_at: publish_at.unwrap_or_else(Time::now),
                expires_at: expires_at.flatten(),
                actor: signed.email(),
            },
            &AttachmentChanges {
                add: &add,
                remove: &removed,
            },
        )
        .await?;
    // This node's pages show (or stop showing) an emergency at once; others within seconds.
    state.emergencies.forget(&signed.city.id);
    Ok(see_other(&format!("/staff/notices/{saved}")))
}

type Checked = (
    Option<Time>,
    Option<Option<Time>>,
    Vec<(&'static str, Localized)>,
);

/// The draft's own checks and the publish and expiry times, parsed.
fn check(
    draft: &NoticeDraft,
    categories: &[Category],
    publish_text: &str,
    expires_text: &str,
) -> Checked {
    let mut errors = draft.check(categories).err().unwrap_or_default();
    let publish_at = if publish_text.trim().is_empty() {
        Some(Time::now())
    } else {
        parse_time(publish_text)
    };
    let expires_at = (!expires_text.trim().is_empty()).then(|| parse_time(expires_text));
    let time_error = Localized::new(
        "日時は 2026-12-01 09:00 の形で入力してください",
        "enter times as 2026-12-01 09:00",
    );
    if publish_at.is_none() {
        errors.push(("publish_at", time_error.clone()));
    }
    if matches!(expires_at, Some(None)) {
        errors.push(("expires_at", time_error));
    }
    if let (Some(publish), Some(Some(expires))) = (&publish_at, &expires_at) {
        if expires <= publish {
            errors.push((
                "expires_at",
                Localized::new(
                    "終了は公開より後にしてください",
                    "the end must come after the start",
                ),
            ));
        }
    }
    (publish_at, expires_at, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_typed_in_japan_time() {
        assert_eq!(
            parse_time("2026-12-01 09:00").map(Time::stored).as_deref(),
            Some("2026-12-01T00:00:00.000000Z")
        );
        assert_eq!(
            parse_time("２０２６/１２/０１ ０９:００")
                .map(Time::stored)
                .as_deref(),
            Some("2026-12-01T00:00:00.000000Z")
        );
        assert_eq!(parse_time("明日"), None);
    }
}
