//! お知らせ as stored: lists are kept as `|a|b|` so that one category or area matches with a
//! LIKE on both databases; times are the fixed-width UTC text every table uses.

use machi_core::notices::{Evacuation, EvacuationLevel, NoticeDraft, Urgency};
use machi_core::procedures::Localized;
use serde_json::json;
use sqlx::Row;

use crate::audit::AuditEntry;
use crate::sessions::random_token;
use crate::sql::{like_escape, Param, Sql};
use crate::{now_text, Result, Store, StoreError};

/// A stored notice.
#[derive(Debug, Clone)]
pub struct Notice {
    pub id: String,
    pub department_code: String,
    pub draft: NoticeDraft,
    pub publish_at: crate::Time,
    pub expires_at: Option<crate::Time>,
    pub updated_at: crate::Time,
}

/// When and by whom a notice is saved.
#[derive(Debug, Clone)]
pub struct NoticeSave<'a> {
    /// `None` for a new notice.
    pub id: Option<&'a str>,
    pub department_code: &'a str,
    pub publish_at: crate::Time,
    pub expires_at: Option<crate::Time>,
    pub actor: &'a str,
}

/// お知らせの添付ファイル: a file attached to a notice, served to residents while it is shown.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NoticeAttachment {
    pub id: String,
    pub filename: String,
    pub media_type: String,
    #[sqlx(try_from = "i64")]
    pub size_bytes: u64,
    pub sha256: String,
}

/// A file to attach, already durable on disk (from [`Store::save_file`]).
#[derive(Debug, Clone)]
pub struct NewNoticeFile {
    pub filename: String,
    pub media_type: String,
    pub file: crate::files::StoredFile,
}

/// The attachment changes saved with a notice.
#[derive(Debug, Clone, Default)]
pub struct AttachmentChanges<'a> {
    pub add: &'a [NewNoticeFile],
    /// Ids of attachments to remove.
    pub remove: &'a [String],
}

fn evacuation_level(draft: &NoticeDraft) -> Option<i64> {
    draft.evacuation.map(|e| i64::from(e.level.number()))
}

fn evacuation_lifted(draft: &NoticeDraft) -> i64 {
    i64::from(draft.evacuation.is_some_and(|e| e.lifted))
}

pub(crate) fn joined(items: &[String]) -> String {
    format!(
        "|{}",
        items.iter().map(|i| format!("{i}|")).collect::<String>()
    )
}

pub(crate) fn split(text: &str) -> Vec<String> {
    text.split('|')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

const COLUMNS: &str =
    "id, department_code, title_ja, title_en, body_ja, body_en, categories, areas, urgency, \
                       publish_at, expires_at, updated_at, evacuation_level, evacuation_lifted";

fn notice_from_row(row: &sqlx::any::AnyRow) -> Result<Notice> {
    let urgency: String = row.try_get("urgency")?;
    Ok(Notice {
        id: row.try_get("id")?,
        department_code: row.try_get("department_code")?,
        draft: NoticeDraft {
            title: Localized::new(
                row.try_get::<String, _>("title_ja")?,
                row.try_get::<String, _>("title_en")?,
            ),
            body: Localized::new(
                row.try_get::<String, _>("body_ja")?,
                row.try_get::<String, _>("body_en")?,
            ),
            categories: split(&row.try_get::<String, _>("categories")?),
            areas: split(&row.try_get::<String, _>("areas")?),
            urgency: Urgency::parse(&urgency)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown urgency '{urgency}'")))?,
            evacuation: row
                .try_get::<Option<i64>, _>("evacuation_level")?
                .and_then(EvacuationLevel::from_number)
                .map(|level| {
                    Ok::<_, StoreError>(Evacuation {
                        level,
                        lifted: row.try_get::<i64, _>("evacuation_lifted")? != 0,
                    })
                })
                .transpose()?,
        },
        publish_at: row.try_get("publish_at")?,
        expires_at: row.try_get("expires_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const FILE_COLUMNS: &str = "id, filename, media_type, size_bytes, sha256";

/// Removes and adds a notice's attachment rows inside the notice's transaction; returns the
/// new ids.
async fn attach(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant: &str,
    notice_id: &str,
    files: &AttachmentChanges<'_>,
    now: &str,
) -> Result<Vec<String>> {
    for id in files.remove {
        sqlx::query(
            "DELETE FROM notice_attachments WHERE tenant_id = $1 AND notice_id = $2 AND id = $3",
        )
        .bind(tenant)
        .bind(notice_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    if files.add.is_empty() {
        return Ok(Vec::new());
    }
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(position) FROM notice_attachments WHERE tenant_id = $1 AND notice_id = $2",
    )
    .bind(tenant)
    .bind(notice_id)
    .fetch_one(&mut **tx)
    .await?;
    let mut ids = Vec::new();
    for (offset, file) in (1i64..).zip(files.add) {
        let id = format!("f{}", &random_token()[..11]);
        sqlx::query(
            "INSERT INTO notice_attachments (tenant_id, notice_id, id, filename, media_type, \
             size_bytes, sha256, position, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tenant)
        .bind(notice_id)
        .bind(&id)
        .bind(&file.filename)
        .bind(&file.media_type)
        .bind(i64::try_from(file.file.size_bytes).unwrap_or(i64::MAX))
        .bind(&file.file.sha256)
        .bind(last.unwrap_or_default() + offset)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

impl Store {
    /// Creates or updates a notice, audited; returns its id.
    pub async fn save_notice(
        &self,
        tenant: &str,
        draft: &NoticeDraft,
        save: &NoticeSave<'_>,
    ) -> Result<String> {
        self.save_notice_with_files(tenant, draft, save, &AttachmentChanges::default())
            .await
    }

    /// Creates or updates a notice and its attachment rows in one audited transaction; the
    /// files must already be durable. Returns the notice's id.
    pub async fn save_notice_with_files(
        &self,
        tenant: &str,
        draft: &NoticeDraft,
        save: &NoticeSave<'_>,
        files: &AttachmentChanges<'_>,
    ) -> Result<String> {
        let now = now_text();
        let mut tx = self.begin_audited(tenant).await?;
        let (id, action) = match save.id {
            Some(id) => {
                let before: Option<String> = sqlx::query_scalar(
                    "SELECT publish_at FROM notices WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant)
                .bind(id)
                .fetch_optional(&mut *tx.tx)
                .await?;
                let updated = sqlx::query(
                    "UPDATE notices SET title_ja = $1, title_en = $2, body_ja = $3, body_en = $4, categories = $5, \
                     areas = $6, urgency = $7, publish_at = $8, expires_at = $9, updated_at = $10, \
                     evacuation_level = $14, evacuation_lifted = $15 \
                     WHERE tenant_id = $11 AND id = $12 AND department_code = $13",
                )
                .bind(&draft.title.ja)
                .bind(&draft.title.en)
                .bind(&draft.body.ja)
                .bind(&draft.body.en)
                .bind(joined(&draft.categories))
                .bind(joined(&draft.areas))
                .bind(draft.urgency.as_str())
                .bind(save.publish_at)
                .bind(save.expires_at)
                .bind(&now)
                .bind(tenant)
                .bind(id)
                .bind(save.department_code)
                .bind(evacuation_level(draft))
                .bind(evacuation_lifted(draft))
                .execute(&mut *tx.tx)
                .await?;
                if updated.rows_affected() == 0 {
                    return Err(StoreError::not_found(
                        "この課のお知らせにはありません。",
                        format!("no notice {id} in this department"),
                    ));
                }
                // A notice that has not gone out yet goes out as it is now; one already out
                // is corrected on the site and in the feeds, not sent a second time.
                if before.is_some_and(|publish_at| publish_at > now) {
                    crate::deliveries::drop_unsent(&mut tx.tx, tenant, id).await?;
                    crate::deliveries::enqueue_notice(
                        &mut tx.tx,
                        self.backend,
                        tenant,
                        id,
                        draft,
                        &save.publish_at.stored(),
                    )
                    .await?;
                }
                (id.to_string(), "notice.update")
            }
            None => {
                let id = format!("n{}", &random_token()[..15]);
                sqlx::query(
                    "INSERT INTO notices (tenant_id, id, department_code, title_ja, title_en, body_ja, body_en, categories, \
                     areas, urgency, publish_at, expires_at, created_by, created_at, updated_at, \
                     evacuation_level, evacuation_lifted) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                )
                .bind(tenant)
                .bind(&id)
                .bind(save.department_code)
                .bind(&draft.title.ja)
                .bind(&draft.title.en)
                .bind(&draft.body.ja)
                .bind(&draft.body.en)
                .bind(joined(&draft.categories))
                .bind(joined(&draft.areas))
                .bind(draft.urgency.as_str())
                .bind(save.publish_at)
                .bind(save.expires_at)
                .bind(save.actor)
                .bind(&now)
                .bind(&now)
                .bind(evacuation_level(draft))
                .bind(evacuation_lifted(draft))
                .execute(&mut *tx.tx)
                .await?;
                crate::deliveries::enqueue_notice(
                    &mut tx.tx,
                    self.backend,
                    tenant,
                    &id,
                    draft,
                    &save.publish_at.stored(),
                )
                .await?;
                (id, "notice.create")
            }
        };
        let added = attach(&mut tx.tx, tenant, &id, files, &now).await?;
        tx.append(&AuditEntry::new(
            save.actor,
            action,
            &id,
            json!({
                "urgency": draft.urgency.as_str(),
                "publish_at": save.publish_at,
                "files_added": added,
                "files_removed": files.remove,
            }),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A notice's attachments in the order they were added.
    pub async fn notice_attachments(
        &self,
        tenant: &str,
        notice_id: &str,
    ) -> Result<Vec<NoticeAttachment>> {
        let rows = sqlx::query(&format!(
            "SELECT {FILE_COLUMNS} FROM notice_attachments WHERE tenant_id = $1 AND notice_id = $2 \
             ORDER BY position, id"
        ))
        .bind(tenant)
        .bind(notice_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(crate::typed).collect()
    }

    /// One attachment of a notice.
    pub async fn notice_attachment(
        &self,
        tenant: &str,
        notice_id: &str,
        id: &str,
    ) -> Result<Option<NoticeAttachment>> {
        let row = sqlx::query(&format!(
            "SELECT {FILE_COLUMNS} FROM notice_attachments \
             WHERE tenant_id = $1 AND notice_id = $2 AND id = $3"
        ))
        .bind(tenant)
        .bind(notice_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(crate::typed).transpose()
    }

    pub async fn notice(&self, tenant: &str, id: &str) -> Result<Option<Notice>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM notices WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(notice_from_row).transpose()
    }

    /// Notices residents see now, newest first, optionally of one category and one area (a
    /// notice for the whole city matches every area, one for a 町 each of its 丁目, and one for
    /// a 丁目 its 町).
    pub async fn published_notices(
        &self,
        tenant: &str,
        category: Option<&str>,
        area: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Notice>> {
        let now = now_text();
        let mut sql = Sql::new(
            self.backend,
            &format!("SELECT {COLUMNS} FROM notices WHERE tenant_id = "),
        );
        sql.bind(Param::Text(tenant.into()));
        sql.push(" AND publish_at <= ");
        sql.bind(Param::Text(now.clone()));
        sql.push(" AND (expires_at IS NULL OR expires_at > ");
        sql.bind(Param::Text(now));
        sql.push(")");
        if let Some(category) = category {
            sql.push(" AND categories LIKE ");
            sql.bind(Param::Text(format!("%|{}|%", like_escape(category))));
            sql.push(" ESCAPE '\\'");
        }
        if let Some(area) = area {
            // The area, the 町 it lies in and the 丁目 in it (the city's 町字 list).
            let area = machi_core::areas::canonical_area(area);
            let reached = self.areas_reached(tenant, &[area]).await?;
            sql.push(" AND (areas = '|' OR ");
            crate::deliveries::any_listed(&mut sql, "areas", &reached);
            sql.push(")");
        }
        sql.push(" ORDER BY publish_at DESC, id DESC LIMIT ");
        sql.bind(Param::Int(limit.clamp(1, 500)));
        let rows = sqlx::query_with(sql.text(), sql.arguments())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(notice_from_row).collect()
    }

    /// The city's notices matching `condition`, which may use `$2` for `value`.
    pub(crate) async fn notices_where(
        &self,
        tenant: &str,
        condition: &str,
        value: &str,
    ) -> Result<Vec<Notice>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM notices WHERE tenant_id = $1 AND {condition}"
        ))
        .bind(tenant)
        .bind(value)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(notice_from_row).collect()
    }

    /// Every notice of a department (all departments for `None`), newest first.
    pub async fn department_notices(
        &self,
        tenant: &str,
        department: Option<&str>,
    ) -> Result<Vec<Notice>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM notices WHERE tenant_id = $1 AND ($2 = '' OR department_code = $2) \
             ORDER BY publish_at DESC LIMIT 500"
        ))
        .bind(tenant)
        .bind(department.unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(notice_from_row).collect()
    }
}
