//! Group commit: one writer task per node takes every application that has queued, writes
//! them in one transaction, waits for the commit (fsync) and only then answers each waiting
//! request. A commit costs one fsync whether it holds one application or hundreds, so intake
//! keeps up with rush hours (給付金-style peaks) without giving up "acknowledged means on disk".

use std::collections::HashMap;

use chrono::Utc;
use machi_core::applications::Status;
use machi_core::receipt::ReceiptNumber;
use serde_json::{Map, Value};
use sqlx::{Any, AnyPool, Row, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::{index_answers, AnswersToIndex, Seen};
use crate::calendar::Calendars;
use crate::connect::Backend;
use crate::files::StoredFile;
use crate::mail::OutgoingMail;
use crate::sql::{Param, Sql};
use crate::{format_time, Result, Store, StoreError};

/// Most applications written in one transaction.
const MAX_BATCH: usize = 512;
/// Rows per multi-row INSERT, below both databases' parameter limits.
const ROWS_PER_INSERT: usize = 100;
/// Requests that may wait for the writer before senders are slowed down.
const QUEUE_DEPTH: usize = 16_384;

/// A validated application, ready to store.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub tenant_id: String,
    pub procedure_id: String,
    /// The department that reviews it (the procedure's, when it was made).
    pub department_code: String,
    /// 標準処理期間: the application is due this many days after it arrives.
    pub processing_days: Option<i64>,
    pub form_version: i64,
    /// Canonical answers (already normalised and validated).
    pub answers: Map<String, Value>,
    /// SHA-256 of the resident's access code.
    pub access_digest: String,
    /// "online" or "counter".
    pub made_via: &'static str,
    pub idempotency_key: Option<String>,
    /// Digest of the request, to tell a retry from a different request under the same key.
    pub request_sha256: String,
    /// Applications made together in one life-event bundle share this id.
    pub bundle_id: Option<String>,
    /// The signed-in resident who made it ("my applications"), if any.
    pub resident_id: Option<String>,
    pub attachments: Vec<NewAttachment>,
    /// The e-mail that tells the applicant it arrived, queued in the transaction that stores
    /// the application (never for a retry); [`RECEIPT_PLACEHOLDER`] in its subject and body
    /// becomes the receipt number.
    pub acknowledgement: Option<OutgoingMail>,
}

/// Where an acknowledgement names the receipt number, which exists only once it is stored.
pub const RECEIPT_PLACEHOLDER: &str = "{receipt_number}";

/// A file already saved durably, to be linked to the application.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub field: String,
    pub filename: String,
    pub media_type: String,
    pub file: StoredFile,
}

/// What the resident is told once the application is on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub receipt_number: String,
    pub status: Status,
    pub submitted_at: crate::Time,
    /// True when this answers a retry of an earlier request with the same Idempotency-Key.
    pub replayed: bool,
}

/// Why an application was not taken in.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("the Idempotency-Key was already used for a different request")]
    KeyReused,
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Reply = oneshot::Sender<Vec<Result<Receipt, IntakeError>>>;

/// Applications that commit together (one, or a life-event bundle) and who waits for them.
struct Job {
    applications: Vec<NewApplication>,
    reply: Reply,
}

/// The sending side of the writer; cheap to clone.
#[derive(Clone)]
pub(crate) struct IntakeHandle {
    sender: mpsc::Sender<Job>,
}

impl IntakeHandle {
    /// Starts the writer on a thread of its own with its own connection, so that its commits
    /// are never queued behind the request handlers on the shared runtime (each round trip
    /// to the database would otherwise wait for hundreds of ready tasks).
    pub(crate) async fn start(
        url: &str,
        calendars: std::sync::Arc<crate::calendar::Calendars>,
    ) -> Result<Self> {
        let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
        let (ready, started) = oneshot::channel();
        let url = url.to_string();
        std::thread::Builder::new()
            .name("machi-intake".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready.send(Err(StoreError::Io(error)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match crate::connect::connect(&url, 1).await {
                        Ok((pool, backend)) => {
                            let _ = ready.send(Ok(()));
                            writer_loop(pool, backend, receiver, calendars).await;
                        }
                        Err(error) => {
                            let _ = ready.send(Err(error));
                        }
                    }
                });
            })?;
        started.await.map_err(|_| StoreError::IntakeClosed)??;
        Ok(Self { sender })
    }
}

impl Store {
    /// Stores an application and returns its receipt once it is committed to disk.
    pub async fn submit_application(
        &self,
        application: NewApplication,
    ) -> Result<Receipt, IntakeError> {
        self.submit_together(vec![application])
            .await?
            .pop()
            .ok_or(IntakeError::Store(StoreError::IntakeClosed))
    }

    /// Stores applications that belong together (a life-event bundle) in one transaction:
    /// all of them or none. Each gets its own receipt number.
    pub async fn submit_together(
        &self,
        applications: Vec<NewApplication>,
    ) -> Result<Vec<Receipt>, IntakeError> {
        let (reply, answer) = oneshot::channel();
        self.intake
            .sender
            .send(Job {
                applications,
                reply,
            })
            .await
            .map_err(|_| StoreError::IntakeClosed)?;
        answer
            .await
            .map_err(|_| StoreError::IntakeClosed)?
            .into_iter()
            .collect()
    }
}

async fn writer_loop(
    pool: AnyPool,
    backend: Backend,
    mut receiver: mpsc::Receiver<Job>,
    calendars: std::sync::Arc<crate::calendar::Calendars>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let jobs = std::mem::take(&mut batch);
        tracing::debug!(
            size = jobs.len(),
            backend = backend.as_str(),
            "intake batch"
        );
        write_batch(&pool, backend, jobs, &calendars).await;
    }
}

/// Writes a batch in one transaction; if that fails, writes each job on its own so that one
/// bad application cannot fail the others.
async fn write_batch(pool: &AnyPool, backend: Backend, jobs: Vec<Job>, calendars: &Calendars) {
    let applications: Vec<&NewApplication> =
        jobs.iter().flat_map(|j| j.applications.iter()).collect();
    match commit(pool, backend, &applications, calendars).await {
        Ok(outcomes) => reply_all(jobs, outcomes),
        Err(error) if jobs.len() == 1 => {
            let failed = failures(error, jobs[0].applications.len());
            reply_all(jobs, failed);
        }
        Err(error) => {
            tracing::warn!(%error, size = jobs.len(), "batch failed; writing one job at a time");
            for job in jobs {
                let own: Vec<&NewApplication> = job.applications.iter().collect();
                let outcome = match commit(pool, backend, &own, calendars).await {
                    Ok(outcomes) => outcomes,
                    Err(error) => failures(error, own.len()),
                };
                let _ = job.reply.send(outcome);
            }
        }
    }
}

/// The failure of a job that did not commit, once for each of its applications (the first
/// gets the error itself; errors cannot be cloned).
fn failures(error: StoreError, count: usize) -> Vec<Result<Receipt, IntakeError>> {
    let text = error.to_string();
    let mut failed = vec![Err(IntakeError::Store(error))];
    failed.extend((1..count).map(|_| Err(IntakeError::Store(StoreError::NotStored(text.clone())))));
    failed
}

fn reply_all(jobs: Vec<Job>, outcomes: Vec<Result<Receipt, IntakeError>>) {
    let mut outcomes = outcomes.into_iter();
    for job in jobs {
        let own: Vec<_> = outcomes.by_ref().take(job.applications.len()).collect();
        // The requester may have gone away (client disconnected); its applications stay stored.
        let _ = job.reply.send(own);
    }
}

/// What happens to each job of a batch.
enum Plan {
    New(usize),
    Replay(Receipt),
    SameAsEarlier(usize),
    Refuse,
}

async fn commit(
    pool: &AnyPool,
    backend: Backend,
    applications: &[&NewApplication],
    calendars: &Calendars,
) -> Result<Vec<Result<Receipt, IntakeError>>> {
    // On SQLite the batch takes the write lock at once: it reads (idempotency keys, the day's
    // receipt numbers) before it writes, and a deferred transaction whose snapshot another
    // connection changed in between fails with SQLITE_BUSY without waiting.
    let mut tx = match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => pool.begin().await?,
    };
    let now = Utc::now();
    let submitted_at = crate::Time::from(now);
    let plans = plan_batch(&mut tx, applications).await?;
    let fresh: Vec<&NewApplication> = plans
        .iter()
        .zip(applications)
        .filter_map(|(plan, app)| matches!(plan, Plan::New(_)).then_some(*app))
        .collect();
    let numbers = assign_receipt_numbers(&mut tx, &fresh, now).await?;
    // 標準処理期間 count each city's 開庁日 (see `crate::calendar`).
    let mut due = Vec::with_capacity(fresh.len());
    for app in &fresh {
        let calendar = calendars.get(&mut tx, &app.tenant_id).await?;
        due.push(
            app.processing_days
                .map(|days| crate::calendar::due_at(&calendar, now, days)),
        );
    }
    insert_applications(&mut tx, backend, &fresh, &numbers, &due, now).await?;
    queue_acknowledgements(&mut tx, backend, &fresh, &numbers).await?;
    tx.commit().await?;
    let receipt = |index: usize| Receipt {
        receipt_number: numbers[index].to_string(),
        status: Status::Received,
        submitted_at,
        replayed: false,
    };
    Ok(plans
        .into_iter()
        .map(|plan| match plan {
            Plan::New(index) => Ok(receipt(index)),
            Plan::SameAsEarlier(index) => Ok(Receipt {
                replayed: true,
                ..receipt(index)
            }),
            Plan::Replay(existing) => Ok(existing),
            Plan::Refuse => Err(IntakeError::KeyReused),
        })
        .collect())
}

/// Decides per job: new, a retry of something stored, a retry of an earlier job in this batch,
/// or a key reused for a different request.
async fn plan_batch(
    tx: &mut Transaction<'_, Any>,
    applications: &[&NewApplication],
) -> Result<Vec<Plan>> {
    let mut plans = Vec::with_capacity(applications.len());
    let mut keyed_in_batch: HashMap<(&str, &str), (usize, &str)> = HashMap::new();
    let mut new_count = 0;
    for app in applications {
        let Some(key) = app.idempotency_key.as_deref() else {
            plans.push(Plan::New(new_count));
            new_count += 1;
            continue;
        };
        if let Some((index, digest)) = keyed_in_batch.get(&(app.tenant_id.as_str(), key)) {
            plans.push(if *digest == app.request_sha256 {
                Plan::SameAsEarlier(*index)
            } else {
                Plan::Refuse
            });
            continue;
        }
        let stored = sqlx::query(
            "SELECT receipt_number, status, submitted_at, request_sha256 FROM applications \
             WHERE tenant_id = $1 AND idempotency_key = $2",
        )
        .bind(&app.tenant_id)
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?;
        let plan = match stored {
            Some(row) if row.try_get::<String, _>("request_sha256")? == app.request_sha256 => {
                Plan::Replay(Receipt {
                    receipt_number: row.try_get("receipt_number")?,
                    status: Status::parse(&row.try_get::<String, _>("status")?)
                        .unwrap_or(Status::Received),
                    submitted_at: row.try_get("submitted_at")?,
                    replayed: true,
                })
            }
            Some(_) => Plan::Refuse,
            None => {
                keyed_in_batch.insert(
                    (app.tenant_id.as_str(), key),
                    (new_count, app.request_sha256.as_str()),
                );
                new_count += 1;
                Plan::New(new_count - 1)
            }
        };
        plans.push(plan);
    }
    Ok(plans)
}

/// Takes the next receipt numbers of the day (JST) for each city, in one statement per city.
async fn assign_receipt_numbers(
    tx: &mut Transaction<'_, Any>,
    fresh: &[&NewApplication],
    now: chrono::DateTime<Utc>,
) -> Result<Vec<ReceiptNumber>> {
    let day = now.with_timezone(&machi_core::wareki::jst()).date_naive();
    let mut per_tenant: HashMap<&str, i64> = HashMap::new();
    for app in fresh {
        *per_tenant.entry(app.tenant_id.as_str()).or_default() += 1;
    }
    let mut next: HashMap<&str, i64> = HashMap::new();
    for (tenant, count) in per_tenant {
        let last: i64 = sqlx::query_scalar(
            "INSERT INTO receipt_counters (tenant_id, day, last) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, day) DO UPDATE SET last = receipt_counters.last + excluded.last \
             RETURNING last",
        )
        .bind(tenant)
        .bind(day.format("%Y-%m-%d").to_string())
        .bind(count)
        .fetch_one(&mut **tx)
        .await?;
        next.insert(tenant, last - count + 1);
    }
    Ok(fresh
        .iter()
        .map(|app| {
            let slot = next.entry(app.tenant_id.as_str()).or_default();
            let number = ReceiptNumber::new(day, *slot as u64);
            *slot += 1;
            number
        })
        .collect())
}

async fn insert_applications(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    fresh: &[&NewApplication],
    numbers: &[ReceiptNumber],
    due: &[Option<String>],
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    let submitted_at = format_time(now);
    let rows: Vec<(&NewApplication, &ReceiptNumber)> = fresh.iter().copied().zip(numbers).collect();
    for (chunk, dues) in rows
        .chunks(ROWS_PER_INSERT)
        .zip(due.chunks(ROWS_PER_INSERT))
    {
        let mut apps = Sql::new(
            backend,
            "INSERT INTO applications (tenant_id, receipt_number, procedure_id, form_version, status, answers, \
             access_code_sha256, made_via, idempotency_key, request_sha256, submitted_at, updated_at, \
             department_code, due_at, bundle_id, resident_id) VALUES ",
        );
        for (i, ((app, number), due)) in chunk.iter().zip(dues).enumerate() {
            if i > 0 {
                apps.push(", ");
            }
            apps.bind_row(application_row(app, number, due.clone(), now));
        }
        sqlx::query_with(apps.text(), apps.arguments())
            .execute(&mut **tx)
            .await?;
    }
    let to_index: Vec<AnswersToIndex> = rows
        .iter()
        .map(|(app, number)| AnswersToIndex {
            tenant: &app.tenant_id,
            receipt_number: number.as_str(),
            answers: &app.answers,
        })
        .collect();
    index_answers(tx, backend, &to_index, Seen::Never).await?;
    insert_attachments(tx, backend, &rows, &submitted_at).await
}

fn application_row(
    app: &NewApplication,
    number: &ReceiptNumber,
    due_at: Option<String>,
    now: chrono::DateTime<Utc>,
) -> Vec<Param> {
    let submitted_at = format_time(now);
    vec![
        Param::Text(app.tenant_id.clone()),
        Param::Text(number.to_string()),
        Param::Text(app.procedure_id.clone()),
        Param::Int(app.form_version),
        Param::Text(Status::Received.as_str().into()),
        // A map with string keys always serialises; no error path exists to handle.
        Param::Text(serde_json::to_string(&app.answers).unwrap_or_default()),
        Param::Text(app.access_digest.clone()),
        Param::Text(app.made_via.into()),
        app.idempotency_key
            .clone()
            .map_or(Param::NullText, Param::Text),
        Param::Text(app.request_sha256.clone()),
        Param::Text(submitted_at.clone()),
        Param::Text(submitted_at),
        Param::Text(app.department_code.clone()),
        due_at.map_or(Param::NullText, Param::Text),
        app.bundle_id.clone().map_or(Param::NullText, Param::Text),
        app.resident_id.clone().map_or(Param::NullText, Param::Text),
    ]
}

/// Queues each new application's acknowledgement, with its receipt number.
async fn queue_acknowledgements(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    fresh: &[&NewApplication],
    numbers: &[ReceiptNumber],
) -> Result<()> {
    let mails: Vec<(String, OutgoingMail)> = fresh
        .iter()
        .zip(numbers)
        .filter_map(|(app, number)| {
            let mail = app.acknowledgement.as_ref()?;
            let number = number.to_string();
            let mail = OutgoingMail {
                recipient: mail.recipient.clone(),
                subject: mail.subject.replace(RECEIPT_PLACEHOLDER, &number),
                body: mail.body.replace(RECEIPT_PLACEHOLDER, &number),
            };
            Some((app.tenant_id.clone(), mail))
        })
        .collect();
    crate::deliveries::enqueue_direct_all(tx, backend, &mails).await
}

async fn insert_attachments(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    rows: &[(&NewApplication, &ReceiptNumber)],
    submitted_at: &str,
) -> Result<()> {
    let files: Vec<Vec<Param>> = rows
        .iter()
        .flat_map(|(app, number)| {
            app.attachments.iter().map(move |a| {
                vec![
                    Param::Text(app.tenant_id.clone()),
                    Param::Text(number.to_string()),
                    Param::Text(a.field.clone()),
                    Param::Text(a.filename.clone()),
                    Param::Text(a.media_type.clone()),
                    Param::Int(a.file.size_bytes as i64),
                    Param::Text(a.file.sha256.clone()),
                    Param::Text(submitted_at.into()),
                ]
            })
        })
        .collect();
    for chunk in files.chunks(ROWS_PER_INSERT) {
        let mut sql = Sql::new(
            backend,
            "INSERT INTO attachments (tenant_id, receipt_number, field, filename, media_type, size_bytes, \
             sha256, created_at) VALUES ",
        );
        for (i, row) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_row(row.clone());
        }
        sqlx::query_with(sql.text(), sql.arguments())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
