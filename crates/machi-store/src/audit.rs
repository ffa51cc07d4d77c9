//! 監査ログ (audit log): every staff view of personal data and every change, append-only and
//! hash-chained per city. Each entry's SHA-256 covers the entry and the previous entry's hash,
//! so editing or deleting any row breaks the chain at that row; `audit_heads` holds the newest
//! hash, so removing the newest rows is caught too. Publishing the head hash now and then (the
//! `machi audit verify` output) makes even a rewrite of the whole chain detectable.

use serde_json::{json, Value};
use sqlx::{Any, Row, Transaction};

use crate::sql::like_escape;
use crate::sql::{Param, Sql};
use crate::{now_text, Result, Store};

/// The hash before the first entry of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Rows read at a time while verifying.
const VERIFY_PAGE: i64 = 2_000;

/// What happened, by whom, to what.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// The staff e-mail, `resident`, or `system`.
    pub actor: String,
    /// A dotted verb, e.g. `application.view`, `application.status`, `user.create`.
    pub action: String,
    /// What it happened to, e.g. a receipt number or an e-mail.
    pub subject: String,
    /// Details that are not personal data (new status, field names, counts).
    pub detail: Value,
}

impl AuditEntry {
    pub fn new(actor: &str, action: &str, subject: &str, detail: Value) -> Self {
        Self {
            actor: actor.into(),
            action: action.into(),
            subject: subject.into(),
            detail,
        }
    }
}

/// One stored entry.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub prev_sha256: String,
    pub sha256: String,
}

/// What `machi audit verify` found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub entries: i64,
    pub head_sha256: String,
    pub problems: Vec<String>,
}

/// Which entries to list; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: String,
    pub action: String,
    pub subject: String,
    /// Entries at or after this time (stored text form, or a date `YYYY-MM-DD`).
    pub from: String,
    /// Entries before this time.
    pub until: String,
    /// Entries with a sequence number below this one (the next page, newest first).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

/// A transaction that holds its city's audit head: appends made through it join the chain in
/// order, and commit together with the change they record — or not at all.
pub struct AuditedTx<'c> {
    pub tx: Transaction<'c, Any>,
    tenant: String,
    seq: i64,
    head: String,
}

impl AuditedTx<'_> {
    /// Adds an entry to the chain (written when the transaction commits).
    pub async fn append(&mut self, entry: &AuditEntry) -> Result<()> {
        let at = now_text();
        let seq = self.seq + 1;
        let detail = entry.detail.to_string();
        let sha256 = entry_hash(&self.tenant, seq, &at, entry, &detail, self.head.as_str());
        sqlx::query(
            "INSERT INTO audit_log (tenant_id, seq, at, actor, action, subject, detail, prev_sha256, sha256) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&self.tenant)
        .bind(seq)
        .bind(&at)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.subject)
        .bind(&detail)
        .bind(&self.head)
        .bind(&sha256)
        .execute(&mut *self.tx)
        .await?;
        self.seq = seq;
        self.head = sha256;
        Ok(())
    }

    /// Moves the head to the newest entry and commits everything.
    pub async fn commit(mut self) -> Result<()> {
        sqlx::query("UPDATE audit_heads SET seq = $1, sha256 = $2 WHERE tenant_id = $3")
            .bind(self.seq)
            .bind(&self.head)
            .bind(&self.tenant)
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

/// The hash of one entry: SHA-256 of a JSON array of every field, so no field can bleed into
/// the next (a newline in a subject cannot fake a boundary).
fn entry_hash(
    tenant: &str,
    seq: i64,
    at: &str,
    entry: &AuditEntry,
    detail: &str,
    prev: &str,
) -> String {
    let canonical = json!([
        tenant,
        seq,
        at,
        entry.actor,
        entry.action,
        entry.subject,
        detail,
        prev
    ]);
    machi_core::digest::sha256_hex(canonical.to_string().as_bytes())
}

impl Store {
    /// Starts a transaction whose first statement takes the city's audit head. Being a write,
    /// it also takes SQLite's write lock at once, so the transaction never has to upgrade a
    /// read lock (which SQLite would refuse under concurrency instead of waiting).
    pub async fn begin_audited(&self, tenant: &str) -> Result<AuditedTx<'static>> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO audit_heads (tenant_id, seq, sha256) VALUES ($1, 0, $2) \
             ON CONFLICT (tenant_id) DO UPDATE SET seq = audit_heads.seq RETURNING seq, sha256",
        )
        .bind(tenant)
        .bind(GENESIS)
        .fetch_one(&mut *tx)
        .await?;
        Ok(AuditedTx {
            tx,
            tenant: tenant.to_string(),
            seq: row.try_get("seq")?,
            head: row.try_get("sha256")?,
        })
    }

    /// Records one entry on its own (a view, a login).
    pub async fn audit(&self, tenant: &str, entry: &AuditEntry) -> Result<()> {
        let mut tx = self.begin_audited(tenant).await?;
        tx.append(entry).await?;
        tx.commit().await
    }

    /// Entries matching `query`, newest first.
    pub async fn audit_entries(
        &self,
        tenant: &str,
        query: &AuditQuery,
    ) -> Result<Vec<AuditRecord>> {
        let mut sql = Sql::new(
            self.backend,
            "SELECT seq, at, actor, action, subject, detail, prev_sha256, sha256 FROM audit_log WHERE tenant_id = ",
        );
        sql.bind(Param::Text(tenant.into()));
        for (column, value) in [
            ("actor", &query.actor),
            ("action", &query.action),
            ("subject", &query.subject),
        ] {
            if !value.is_empty() {
                sql.push(&format!(" AND {column} LIKE "));
                sql.bind(Param::Text(format!("{}%", like_escape(value))));
                sql.push(" ESCAPE '\\'");
            }
        }
        if !query.from.is_empty() {
            sql.push(" AND at >= ");
            sql.bind(Param::Text(query.from.clone()));
        }
        if !query.until.is_empty() {
            sql.push(" AND at < ");
            sql.bind(Param::Text(query.until.clone()));
        }
        if let Some(before) = query.before_seq {
            sql.push(" AND seq < ");
            sql.bind(Param::Int(before));
        }
        sql.push(" ORDER BY seq DESC LIMIT ");
        sql.bind(Param::Int(query.limit.clamp(1, 100_000)));
        let rows = sqlx::query_with(sql.text(), sql.arguments())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(crate::typed).collect()
    }

    /// Walks the whole chain of a city and reports every break.
    pub async fn verify_audit(&self, tenant: &str) -> Result<VerifyReport> {
        let mut report = VerifyReport {
            entries: 0,
            head_sha256: GENESIS.into(),
            problems: Vec::new(),
        };
        let mut expected_seq = 1;
        let mut prev = GENESIS.to_string();
        loop {
            let rows = sqlx::query(
                "SELECT seq, at, actor, action, subject, detail, prev_sha256, sha256 FROM audit_log \
                 WHERE tenant_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
            )
            .bind(tenant)
            .bind(expected_seq)
            .bind(VERIFY_PAGE)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let record: AuditRecord = crate::typed(row)?;
                check_record(tenant, &record, expected_seq, &prev, &mut report.problems);
                report.entries += 1;
                expected_seq = record.seq + 1;
                prev = record.sha256;
            }
        }
        let head = sqlx::query("SELECT seq, sha256 FROM audit_heads WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_optional(&self.pool)
            .await?;
        let (head_seq, head_sha): (i64, String) = match head {
            Some(row) => (row.try_get("seq")?, row.try_get("sha256")?),
            None => (0, GENESIS.into()),
        };
        if head_seq != expected_seq - 1 || head_sha != prev {
            report.problems.push(format!(
                "the chain ends at entry {} but its head says entry {head_seq}: entries were removed from the end or the head was changed",
                expected_seq - 1
            ));
        }
        report.head_sha256 = head_sha;
        Ok(report)
    }
}

fn check_record(
    tenant: &str,
    record: &AuditRecord,
    expected_seq: i64,
    prev: &str,
    problems: &mut Vec<String>,
) {
    if record.seq != expected_seq {
        problems.push(format!(
            "entries {expected_seq}–{} are missing (deleted)",
            record.seq - 1
        ));
    }
    if record.prev_sha256 != prev {
        problems.push(format!(
            "entry {}: does not follow the entry before it (an entry before it was changed or removed)",
            record.seq
        ));
    }
    let entry = AuditEntry {
        actor: record.actor.clone(),
        action: record.action.clone(),
        subject: record.subject.clone(),
        detail: Value::Null,
    };
    let recomputed = entry_hash(
        tenant,
        record.seq,
        &record.at,
        &entry,
        &record.detail,
        &record.prev_sha256,
    );
    if recomputed != record.sha256 {
        problems.push(format!(
            "entry {}: its content does not match its hash (the row was edited)",
            record.seq
        ));
    }
}
