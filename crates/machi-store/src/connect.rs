//! Picking the backend from the URL, connection settings and migrations.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use crate::{Result, StoreError};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Picks the backend from a URL's scheme; anything else is refused with what is accepted.
    pub fn from_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::BadUrl(format!(
                "unsupported database URL '{}': use sqlite://PATH (the default) or postgres://USER@HOST/DB",
                url.split('@').next_back().unwrap_or(url)
            )))
        }
    }

    /// The backend of an open connection (or transaction).
    pub(crate) fn of(connection: &sqlx::AnyConnection) -> Self {
        if connection.backend_name().eq_ignore_ascii_case("postgresql") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// SQLite settings for every connection: WAL so readers never block the writer, FULL
/// synchronous so a commit is on disk before it is acknowledged, foreign keys enforced, and
/// checkpoints every ~40 MB of WAL rather than 4 MB: a checkpoint runs inside the commit that
/// triggers it and stalls the intake queue, so fewer of them means fewer latency spikes.
const SQLITE_PRAGMAS: [&str; 5] = [
    "PRAGMA journal_mode = WAL",
    "PRAGMA wal_autocheckpoint = 10000",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
];

/// Connections of the shared pool; the intake writer has its own (see [`connect`]).
pub(crate) const POOL_SIZE: u32 = 16;

/// Opens a pool of at most `max_connections` to `url`, with the per-connection settings.
pub(crate) async fn connect(url: &str, max_connections: u32) -> Result<(AnyPool, Backend)> {
    sqlx::any::install_default_drivers();
    let backend = Backend::from_url(url)?;
    let options = AnyPoolOptions::new()
        .acquire_timeout(Duration::from_secs(30))
        .max_connections(max_connections);
    let pool = match backend {
        Backend::Sqlite => {
            let url = if url.contains('?') {
                url.to_string()
            } else {
                format!("{url}?mode=rwc")
            };
            options
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        for pragma in SQLITE_PRAGMAS {
                            conn.execute(pragma).await?;
                        }
                        Ok(())
                    })
                })
                .connect(&url)
                .await?
        }
        Backend::Postgres => options.connect(&with_statement_cache(url)).await?,
    };
    Ok((pool, backend))
}

/// Batched inserts have one statement text per batch size; a larger prepared-statement cache
/// keeps them all prepared on PostgreSQL.
fn with_statement_cache(url: &str) -> String {
    if url.contains("statement-cache-capacity") {
        url.to_string()
    } else {
        with_url_param(url, "statement-cache-capacity=1024")
    }
}

/// Appends `param` (already encoded) to the query string of `url`.
fn with_url_param(url: &str, param: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{param}")
}

/// A PostgreSQL URL whose connections work inside `schema` (tests and benchmarks each get a
/// schema of their own in one database).
pub fn postgres_url_in_schema(base: &str, schema: &str) -> String {
    with_url_param(base, &format!("options=-c%20search_path%3D{schema}"))
}

pub(crate) async fn migrate(pool: &AnyPool, backend: Backend) -> Result<()> {
    match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
        Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(pool).await?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_follows_the_url_scheme() {
        assert_eq!(
            Backend::from_url("sqlite:///tmp/x.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        let error = Backend::from_url("mysql://root:secret@h/db")
            .unwrap_err()
            .to_string();
        assert!(error.contains("use sqlite://"), "{error}");
        assert!(!error.contains("secret"), "{error}");
    }

    #[test]
    fn both_migration_folders_have_the_same_files() {
        let names = |dir: &str| {
            let mut names: Vec<String> =
                std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
            names.sort();
            names
        };
        assert_eq!(names("sqlite"), names("postgres"));
    }
}
