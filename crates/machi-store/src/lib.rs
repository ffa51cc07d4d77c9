//! machi-store: everything machi keeps, on SQLite (the embedded default) or PostgreSQL.
//!
//! One `sqlx::AnyPool` serves both databases with the same SQL (`$1` placeholders work on
//! both); the few places where dialects differ say so. The database is the only source of
//! truth; attachments are content-addressed (rows on PostgreSQL, files in the data directory
//! on SQLite), durable before the row that points at them commits.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod api_tokens;
pub mod applications;
pub mod areas;
pub mod assets;
pub mod audit;
pub mod backup;
pub mod calendar;
pub mod categories;
pub mod city_texts;
mod connect;
pub mod counter;
pub mod datastore;
pub mod deliveries;
pub mod editor;
pub mod faq;
mod files;
pub mod life_events;
pub mod mail;
pub mod notices;
pub mod opendata;
pub mod passkeys;
pub mod payments;
pub mod plans;
pub mod postcodes;
pub mod procedures;
pub mod reservations;
pub mod residents;
pub mod review;
pub mod search_sources;
pub mod sessions;
mod sql;
pub mod subscriptions;
pub mod tenants;
mod time;
pub mod users;
pub mod vapid;

use std::path::PathBuf;

use machi_core::procedures::Localized;

pub use applications::{
    ApplicationView, IntakeError, NewApplication, NewAttachment, Receipt, StatusEvent,
    StoredAttachment, RECEIPT_PLACEHOLDER,
};
pub use connect::{postgres_url_in_schema, Backend};
pub use files::StoredFile;
pub use procedures::{ImportSummary, ProcedureQuery, ProcedureRecord, TableState};
pub use tenants::Tenant;
pub use time::Time;

/// What can go wrong in storage; the web crate maps each kind in one place to problem+json
/// and to the error page. The kinds a person can act on say so in Japanese and English:
/// [`NotFound`](Self::NotFound), [`Invalid`](Self::Invalid) and [`Conflict`](Self::Conflict).
/// [`is_unavailable`](Self::is_unavailable) tells a passing outage (try again later) from an
/// internal error (a bug or broken data, logged with its source chain).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("file storage error: {0}")]
    Io(#[from] std::io::Error),
    /// What was asked for does not exist (or the caller may not know that it does).
    #[error("{}", .0.en)]
    NotFound(Localized),
    /// What was asked breaks a rule of the city's data (a role without its department, a
    /// bundle naming procedures that do not exist …).
    #[error("{}", .0.en)]
    Invalid(Localized),
    /// The data is already there or changed meanwhile (a duplicate name, a status someone
    /// else just changed).
    #[error("{}", .0.en)]
    Conflict(Localized),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    #[error("{0}")]
    BadUrl(String),
    #[error("the intake writer has stopped")]
    IntakeClosed,
    /// Part of a transaction that failed for the reason given.
    #[error("not stored: {0}")]
    NotStored(String),
}

impl StoreError {
    /// Whether storage cannot be reached right now (the pool is exhausted or closed, the
    /// database is down, the server is stopping): worth retrying later, not a bug.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::IntakeClosed => true,
            Self::Database(error) => matches!(
                error,
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
            ),
            _ => false,
        }
    }

    /// [`Self::NotFound`] from its Japanese and English text.
    pub fn not_found(ja: impl Into<String>, en: impl Into<String>) -> Self {
        Self::NotFound(Localized::new(ja, en))
    }

    /// [`Self::Invalid`] from its Japanese and English text.
    pub fn invalid(ja: impl Into<String>, en: impl Into<String>) -> Self {
        Self::Invalid(Localized::new(ja, en))
    }

    /// [`Self::Conflict`] from its Japanese and English text.
    pub fn conflict(ja: impl Into<String>, en: impl Into<String>) -> Self {
        Self::Conflict(Localized::new(ja, en))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A row as its typed struct (one that derives `sqlx::FromRow`); a column that does not decode
/// (an unknown status, a broken time) is an error, not a default.
pub(crate) fn typed<T>(row: &sqlx::any::AnyRow) -> Result<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
{
    Ok(T::from_row(row)?)
}

/// The handle every part of machi uses to read and write.
#[derive(Clone)]
pub struct Store {
    pool: sqlx::AnyPool,
    backend: Backend,
    intake: applications::IntakeHandle,
    files: files::FileStore,
    /// Seed of the access codes given to idempotent requests (see `idempotent_access_code`).
    idempotency_secret: std::sync::Arc<str>,
    /// Takes turns among this process's delivery workers writing the outbox (see
    /// `deliveries::outbox_turn`).
    outbox: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Snapshots of the cities' open-data catalogs for search (see `opendata::search`).
    catalogs: opendata::CatalogCache,
    /// The cities' 開庁日 (see `calendar`).
    calendars: std::sync::Arc<calendar::Calendars>,
}

impl Store {
    /// Connects to `database_url` (or `sqlite://<data_dir>/machi.db` when `None`), runs the
    /// migrations and starts the intake writer.
    pub async fn open(database_url: Option<&str>, data_dir: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&data_dir)?;
        let url = match database_url {
            Some(url) => url.to_string(),
            None => format!("sqlite://{}/machi.db", data_dir.display()),
        };
        let (pool, backend) = connect::connect(&url, connect::POOL_SIZE).await?;
        connect::migrate(&pool, backend).await?;
        // Before the intake writer starts, so that on SQLite nothing else takes index keys.
        applications::index_backlog(&pool, backend).await?;
        let files = files::FileStore::open(&pool, backend, data_dir.join("attachments")).await?;
        let calendars: std::sync::Arc<calendar::Calendars> = Default::default();
        let intake = applications::IntakeHandle::start(&url, calendars.clone()).await?;
        let idempotency_secret = applications::instance_secret(&pool, "idempotency")
            .await?
            .into();
        let store = Self {
            pool,
            backend,
            intake,
            files,
            idempotency_secret,
            outbox: Default::default(),
            catalogs: Default::default(),
            calendars,
        };
        store.ensure_holidays().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The shared pool, for benchmarks that load rows in bulk or time raw SQL beside the
    /// store's own queries; everything else goes through the store's methods.
    pub fn pool(&self) -> &sqlx::AnyPool {
        &self.pool
    }

    /// Whether the database answers, for `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool (after the server has answered its last request).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Current time as stored: UTC, fixed width, so text order is time order on both databases.
pub fn now_text() -> String {
    format_time(chrono::Utc::now())
}

pub fn format_time(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}
