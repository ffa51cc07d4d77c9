//! `machi backup` and `machi restore`: an online, consistent copy of a deployment (database and
//! files) into a directory, and that directory back into a fresh data directory or database.
//!
//! - **SQLite**: `VACUUM INTO` writes a consistent snapshot of the live database (readers and the
//!   writer go on meanwhile), then the attachment files are copied. Files are durable before
//!   the rows that name them commit and are never changed, so every file the snapshot names is
//!   already there to copy.
//! - **PostgreSQL**: `pg_dump` (custom format) of machi's schema, files included (they are rows
//!   of `stored_files`), restored with `pg_restore` in one transaction. These are PostgreSQL's
//!   own tools: they take a consistent snapshot without stopping the service and know every
//!   type and index of the datastore's tables, which a copy written here would have to
//!   relearn.
//!
//! The backup is written under a temporary name and renamed when complete, with a manifest of
//! every file's SHA-256; restore checks them all before it writes anything, and refuses a
//! target that already holds data.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::connect::{connect, migrate, Backend};
use crate::{Result, StoreError};

/// What a backup directory says about itself (`manifest.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// The machi that wrote it.
    pub machi_version: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// When the snapshot was taken (UTC).
    pub created_at: String,
    /// The last database migration applied when it was taken.
    pub migration: i64,
    /// The PostgreSQL schema that was dumped.
    pub schema: Option<String>,
    /// Every other file of the backup (path relative to the directory, `/`-separated) and its
    /// SHA-256.
    pub files: BTreeMap<String, String>,
}

/// The format of the backups this version writes and reads.
pub const FORMAT: &str = "machi-backup/1";
const MANIFEST: &str = "manifest.json";
const SQLITE_FILE: &str = "machi.db";
const PG_DUMP_FILE: &str = "machi.pgdump";
const ATTACHMENTS: &str = "attachments";

fn invalid(message: impl Into<String>) -> StoreError {
    let message = message.into();
    StoreError::invalid(message.clone(), message)
}

/// Backs up the deployment at `database_url` (with its files under `data_dir`) into `target`,
/// which must not exist yet.
pub async fn backup(
    database_url: &str,
    data_dir: &Path,
    target: &Path,
    machi_version: &str,
) -> Result<Manifest> {
    if target.exists() {
        return Err(invalid(format!(
            "{} already exists: a backup goes into a new directory",
            target.display()
        )));
    }
    let partial = partial_name(target);
    std::fs::create_dir_all(&partial)?;
    let written = write_backup(database_url, data_dir, &partial, machi_version).await;
    let manifest = match written {
        Ok(manifest) => manifest,
        Err(error) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(error);
        }
    };
    std::fs::rename(&partial, target)?;
    sync_parent(target)?;
    Ok(manifest)
}

async fn write_backup(
    database_url: &str,
    data_dir: &Path,
    dir: &Path,
    machi_version: &str,
) -> Result<Manifest> {
    let (pool, backend) = connect(database_url, 1).await?;
    let migration = last_migration(&pool).await;
    let created_at = crate::now_text();
    let schema = match backend {
        Backend::Sqlite => {
            let snapshot = dir.join(SQLITE_FILE);
            sqlx::query("VACUUM INTO $1")
                .bind(snapshot.to_string_lossy().to_string())
                .execute(&pool)
                .await?;
            pool.close().await;
            copy_files(&data_dir.join(ATTACHMENTS), &dir.join(ATTACHMENTS))?;
            None
        }
        Backend::Postgres => {
            let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
                .fetch_one(&pool)
                .await?;
            pool.close().await;
            let mut dump = pg_tool("pg_dump", database_url)?;
            dump.args(["--format=custom", "--no-owner", "--no-privileges"])
                .arg(format!("--schema={schema}"))
                .arg("--file")
                .arg(dir.join(PG_DUMP_FILE));
            run(dump, "pg_dump")?;
            Some(schema)
        }
    };
    let manifest = Manifest {
        format: FORMAT.into(),
        machi_version: machi_version.into(),
        backend: backend.as_str().into(),
        created_at,
        migration: migration?,
        schema,
        files: digests(dir)?,
    };
    let mut file = std::fs::File::create(dir.join(MANIFEST))?;
    file.write_all(&serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other)?)?;
    file.sync_all()?;
    sync_dir(dir)?;
    Ok(manifest)
}

/// Restores the backup in `source` into the deployment at `database_url` (files under
/// `data_dir`), which must hold no data yet; then brings its schema up to this version.
pub async fn restore(source: &Path, database_url: &str, data_dir: &Path) -> Result<Manifest> {
    let manifest = read_manifest(source)?;
    let backend = Backend::from_url(database_url)?;
    if manifest.backend != backend.as_str() {
        return Err(invalid(format!(
            "this backup is of a {} database and cannot be restored into {}",
            manifest.backend,
            backend.as_str()
        )));
    }
    match backend {
        Backend::Sqlite => restore_sqlite(source, database_url, data_dir).await?,
        Backend::Postgres => restore_postgres(source, &manifest, database_url).await?,
    }
    let (pool, backend) = connect(database_url, 1).await?;
    let migrated = migrate(&pool, backend).await;
    pool.close().await;
    migrated?;
    Ok(manifest)
}

/// The manifest of `source`, after checking that every file it names is there, unchanged.
pub fn read_manifest(source: &Path) -> Result<Manifest> {
    let text = std::fs::read(source.join(MANIFEST)).map_err(|e| {
        invalid(format!(
            "{} is not a machi backup (no readable {MANIFEST}: {e})",
            source.display()
        ))
    })?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| invalid(format!("{MANIFEST} cannot be read: {e}")))?;
    if manifest.format != FORMAT {
        return Err(invalid(format!(
            "backup format '{}' is not {FORMAT}, which this machi reads",
            manifest.format
        )));
    }
    let found = digests(source)?;
    for (path, expected) in &manifest.files {
        match found.get(path) {
            None => return Err(invalid(format!("the backup lacks {path}"))),
            Some(actual) if actual != expected => {
                return Err(invalid(format!(
                    "{path} is damaged (its SHA-256 is not the one recorded)"
                )))
            }
            Some(_) => {}
        }
    }
    Ok(manifest)
}

async fn restore_sqlite(source: &Path, database_url: &str, data_dir: &Path) -> Result<()> {
    let database = sqlite_path(database_url);
    if std::fs::metadata(&database).is_ok_and(|m| m.len() > 0) {
        return Err(invalid(format!(
            "{} already exists: restore into a fresh data directory",
            database.display()
        )));
    }
    if let Some(parent) = database.parent() {
        std::fs::create_dir_all(parent)?;
    }
    copy_files(&source.join(ATTACHMENTS), &data_dir.join(ATTACHMENTS))?;
    copy_durably(&source.join(SQLITE_FILE), &database)?;
    Ok(())
}

async fn restore_postgres(source: &Path, manifest: &Manifest, database_url: &str) -> Result<()> {
    let schema = manifest
        .schema
        .as_deref()
        .ok_or_else(|| invalid("the manifest names no PostgreSQL schema"))?;
    let (pool, _) = connect(database_url, 1).await?;
    let checked = check_empty_schema(&pool, schema).await;
    pool.close().await;
    checked?;
    let dump = source.join(PG_DUMP_FILE);
    // The schema exists already (checked empty above); restoring its CREATE SCHEMA would fail.
    let mut list = pg_tool("pg_restore", database_url)?;
    list.arg("--list").arg(&dump);
    let contents = run(list, "pg_restore --list")?;
    let objects: String = contents
        .lines()
        .filter(|line| !line.contains(" SCHEMA - "))
        .map(|line| format!("{line}\n"))
        .collect();
    let list_file = source_list_file();
    std::fs::write(&list_file, objects)?;
    let mut restore = pg_tool("pg_restore", database_url)?;
    restore
        .args([
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
        ])
        .arg("--use-list")
        .arg(&list_file)
        .arg("--dbname")
        .arg(libpq_url(database_url)?.0)
        .arg(&dump);
    let restored = run(restore, "pg_restore");
    let _ = std::fs::remove_file(&list_file);
    restored.map(|_| ())
}

/// Makes `schema` if needed and checks that the URL's connections work in it and that it holds
/// no tables.
async fn check_empty_schema(pool: &sqlx::AnyPool, schema: &str) -> Result<()> {
    sqlx::query(&format!(
        "CREATE SCHEMA IF NOT EXISTS \"{}\"",
        schema.replace('"', "\"\"")
    ))
    .execute(pool)
    .await?;
    let current: Option<String> = sqlx::query_scalar("SELECT current_schema()::text")
        .fetch_one(pool)
        .await?;
    if current.as_deref() != Some(schema) {
        return Err(invalid(format!(
            "the backup is of schema {schema}, but the database URL works in {}: set its \
             search_path to {schema}",
            current.unwrap_or_else(|| "no schema".into())
        )));
    }
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(schema)
    .fetch_one(pool)
    .await?;
    if tables > 0 {
        return Err(invalid(format!(
            "schema {schema} already has {tables} tables: restore into an empty database"
        )));
    }
    Ok(())
}

async fn last_migration(pool: &sqlx::AnyPool) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
            .fetch_one(pool)
            .await?,
    )
}

/// A PostgreSQL client tool (`pg_dump`, `pg_restore`) for `database_url`, with the password in
/// its environment rather than on its command line (where `ps` shows it).
fn pg_tool(program: &str, database_url: &str) -> Result<Command> {
    let (url, password) = libpq_url(database_url)?;
    let mut command = Command::new(program);
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    if program == "pg_dump" {
        command.arg("--dbname").arg(url);
    }
    Ok(command)
}

/// `database_url` as libpq reads it: without its password (returned apart) and without the
/// parameters only sqlx knows.
fn libpq_url(database_url: &str) -> Result<(String, Option<String>)> {
    let mut url = url::Url::parse(database_url)
        .map_err(|e| invalid(format!("the database URL cannot be read: {e}")))?;
    let password = url.password().map(percent_decode).filter(|p| !p.is_empty());
    let _ = url.set_password(None);
    // Filtered as text: re-encoding the pairs would turn `%20` into `+`, which libpq keeps.
    let kept: Vec<String> = url
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("statement-cache-capacity="))
        .map(str::to_string)
        .collect();
    url.set_query((!kept.is_empty()).then(|| kept.join("&")).as_deref());
    Ok((url.to_string(), password))
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("p={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Runs a tool, answering its standard output; its error output becomes the error.
fn run(mut command: Command, what: &str) -> Result<String> {
    let output = command.output().map_err(|e| {
        invalid(format!(
            "{what} could not be run ({e}): install the PostgreSQL client tools of the \
             server's version (Debian: postgresql-client)"
        ))
    })?;
    if !output.status.success() {
        return Err(invalid(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The database file of a `sqlite://PATH` URL.
fn sqlite_path(database_url: &str) -> PathBuf {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .unwrap_or(database_url);
    PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

fn partial_name(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    target.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

fn source_list_file() -> PathBuf {
    std::env::temp_dir().join(format!(
        "machi-restore-{}-{}.list",
        std::process::id(),
        rand::random::<u32>()
    ))
}

/// Copies every file under `from` (if it exists) to the same place under `to`, durably.
fn copy_files(from: &Path, to: &Path) -> Result<()> {
    for file in crate::files::list_files(from)? {
        let relative = file.strip_prefix(from).map_err(std::io::Error::other)?;
        let target = to.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        copy_durably(&file, &target)?;
    }
    Ok(())
}

fn copy_durably(from: &Path, to: &Path) -> Result<()> {
    let temporary = to.with_extension("restoring");
    std::fs::copy(from, &temporary)?;
    std::fs::File::open(&temporary)?.sync_all()?;
    std::fs::rename(&temporary, to)?;
    sync_parent(to)
}

fn sync_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// The SHA-256 of every file under `dir` but the manifest, by `/`-separated relative path.
fn digests(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path.strip_prefix(dir).map_err(std::io::Error::other)?;
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            if name != MANIFEST {
                let bytes = std::fs::read(&path)?;
                found.insert(name, machi_core::digest::sha256_hex(&bytes));
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        let (url, password) = libpq_url(
            "postgres://city:p%40ss@db.example/machi?statement-cache-capacity=1024&options=-c%20search_path%3Dx",
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://city@db.example/machi?options=-c%20search_path%3Dx"
        );
        assert_eq!(password.as_deref(), Some("p@ss"));
    }

    #[test]
    fn a_sqlite_url_names_its_file() {
        assert_eq!(
            sqlite_path("sqlite:///var/lib/machi/machi.db?mode=rwc"),
            PathBuf::from("/var/lib/machi/machi.db")
        );
    }

    #[test]
    fn a_damaged_backup_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("machi.db"), b"snapshot").unwrap();
        let manifest = Manifest {
            format: FORMAT.into(),
            machi_version: "test".into(),
            backend: "sqlite".into(),
            created_at: crate::now_text(),
            migration: 1,
            schema: None,
            files: digests(dir.path()).unwrap(),
        };
        std::fs::write(
            dir.path().join(MANIFEST),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        assert_eq!(read_manifest(dir.path()).unwrap(), manifest);
        std::fs::write(dir.path().join("machi.db"), b"snapshoT").unwrap();
        let error = read_manifest(dir.path()).unwrap_err().to_string();
        assert!(error.contains("machi.db is damaged"), "{error}");
    }
}
