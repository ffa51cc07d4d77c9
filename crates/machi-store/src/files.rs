//! Attachment and open-data files, content-addressed by SHA-256.
//!
//! On SQLite (one node) they are files under `<data-dir>/attachments`: written to a temporary
//! name, fsynced, renamed and the directory fsynced before the digest is handed back. On
//! PostgreSQL they are rows of `stored_files`, so that every node behind a load balancer serves
//! every file. Either way a file is durable before the row that names it commits, so a
//! committed application never points at a missing file.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::connect::Backend;
use crate::Result;

/// A file safely stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub sha256: String,
    pub size_bytes: u64,
}

/// Where a deployment keeps its files.
#[derive(Clone)]
pub(crate) enum FileStore {
    Disk(DiskFiles),
    Database(sqlx::AnyPool),
}

impl FileStore {
    /// Files in the database on PostgreSQL, under `root` on SQLite. Files an earlier version
    /// left under `root` on a PostgreSQL deployment are copied into the database first (see
    /// [`copy_disk_files_into_database`]).
    pub(crate) async fn open(
        pool: &sqlx::AnyPool,
        backend: Backend,
        root: PathBuf,
    ) -> Result<Self> {
        match backend {
            Backend::Sqlite => Ok(Self::Disk(DiskFiles::new(root)?)),
            Backend::Postgres => {
                copy_disk_files_into_database(pool, &root).await?;
                Ok(Self::Database(pool.clone()))
            }
        }
    }

    async fn save(&self, bytes: Vec<u8>) -> Result<StoredFile> {
        match self {
            Self::Disk(disk) => {
                let disk = disk.clone();
                tokio::task::spawn_blocking(move || disk.save(&bytes))
                    .await
                    .map_err(|e| std::io::Error::other(e.to_string()))?
            }
            Self::Database(pool) => save_row(pool, &bytes).await,
        }
    }

    async fn read(&self, sha256: String) -> Result<Vec<u8>> {
        match self {
            Self::Disk(disk) => {
                let disk = disk.clone();
                tokio::task::spawn_blocking(move || disk.read(&sha256))
                    .await
                    .map_err(|e| std::io::Error::other(e.to_string()))?
            }
            Self::Database(pool) => {
                let content: Option<Vec<u8>> =
                    sqlx::query_scalar("SELECT content FROM stored_files WHERE sha256 = $1")
                        .bind(&sha256)
                        .fetch_optional(pool)
                        .await?;
                content.ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such stored file").into()
                })
            }
        }
    }
}

/// Stores `bytes` as a row (once per content: a second save of the same bytes changes nothing).
async fn save_row(pool: &sqlx::AnyPool, bytes: &[u8]) -> Result<StoredFile> {
    let stored = StoredFile {
        sha256: machi_core::digest::sha256_hex(bytes),
        size_bytes: bytes.len() as u64,
    };
    sqlx::query(
        "INSERT INTO stored_files (sha256, size_bytes, content, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(&stored.sha256)
    .bind(stored.size_bytes as i64)
    .bind(bytes)
    .bind(crate::now_text())
    .execute(pool)
    .await?;
    Ok(stored)
}

/// Moves a PostgreSQL deployment's files from one node's disk into the database, once: each
/// file under `root` is checked against its name (its digest) and stored, then `root` is
/// renamed `<root>.copied` and left for the administrator to delete. A file whose content does
/// not match its name is left where it is and named in the log.
async fn copy_disk_files_into_database(pool: &sqlx::AnyPool, root: &Path) -> Result<()> {
    let files = tokio::task::spawn_blocking({
        let root = root.to_path_buf();
        move || DiskFiles::list(&root)
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))??;
    if files.is_empty() {
        return Ok(());
    }
    let mut mismatched = 0;
    for path in &files {
        let bytes = tokio::fs::read(path).await?;
        let stored = save_row(pool, &bytes).await?;
        if path.file_name().and_then(|n| n.to_str()) != Some(stored.sha256.as_str()) {
            mismatched += 1;
            tracing::warn!(path = %path.display(), "a file's content does not match its name");
        }
    }
    if mismatched == 0 {
        let moved = root.with_extension("copied");
        tokio::fs::rename(root, &moved).await?;
        tracing::info!(
            files = files.len(),
            kept_at = %moved.display(),
            "attachments copied into the database; every node now serves them"
        );
    }
    Ok(())
}

/// Every stored file under `root` (see [`DiskFiles::list`]).
pub(crate) fn list_files(root: &Path) -> Result<Vec<PathBuf>> {
    DiskFiles::list(root)
}

/// Files under a directory, two levels deep (`ab/abcdef…`).
#[derive(Clone)]
pub(crate) struct DiskFiles {
    root: PathBuf,
}

impl DiskFiles {
    fn new(root: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    /// Every stored file under `root` (none when it does not exist); temporary files of an
    /// interrupted save are not files.
    fn list(root: &Path) -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        let Ok(prefixes) = std::fs::read_dir(root) else {
            return Ok(files);
        };
        for prefix in prefixes {
            let prefix = prefix?.path();
            if !prefix.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&prefix)? {
                let file = file?.path();
                let is_temporary = file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_none_or(|n| n.starts_with('.'));
                if file.is_file() && !is_temporary {
                    files.push(file);
                }
            }
        }
        files.sort();
        Ok(files)
    }

    fn path_of(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    /// Writes `bytes` durably and returns their digest.
    pub(crate) fn save(&self, bytes: &[u8]) -> Result<StoredFile> {
        let sha256 = machi_core::digest::sha256_hex(bytes);
        let path = self.path_of(&sha256);
        let stored = StoredFile {
            sha256,
            size_bytes: bytes.len() as u64,
        };
        if path.exists() {
            return Ok(stored);
        }
        let dir = path
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.clone());
        std::fs::create_dir_all(&dir)?;
        let mut temp = tempfile_in(&dir)?;
        temp.1.write_all(bytes)?;
        temp.1.sync_all()?;
        std::fs::rename(&temp.0, &path)?;
        std::fs::File::open(&dir)?.sync_all()?;
        Ok(stored)
    }

    pub(crate) fn read(&self, sha256: &str) -> Result<Vec<u8>> {
        Ok(std::fs::read(self.path_of(sha256))?)
    }
}

fn tempfile_in(dir: &std::path::Path) -> Result<(PathBuf, std::fs::File)> {
    let name = format!(".tmp-{}-{}", std::process::id(), rand::random::<u64>());
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}

impl crate::Store {
    /// Saves an attachment's bytes durably (before the application that names it is queued).
    pub async fn save_file(&self, bytes: Vec<u8>) -> Result<StoredFile> {
        self.files.save(bytes).await
    }

    /// Reads an attachment back by digest.
    pub async fn read_file(&self, sha256: String) -> Result<Vec<u8>> {
        self.files.read(sha256).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_files_read_back_by_digest_and_are_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskFiles::new(dir.path().to_path_buf()).unwrap();
        let first = store.save(b"%PDF-1.7 hello").unwrap();
        let again = store.save(b"%PDF-1.7 hello").unwrap();
        assert_eq!(first, again);
        assert_eq!(store.read(&first.sha256).unwrap(), b"%PDF-1.7 hello");
        let listed = DiskFiles::list(dir.path()).unwrap();
        assert_eq!(
            listed,
            [dir.path().join(&first.sha256[..2]).join(&first.sha256)]
        );
    }
}
