//! Attachment files, content-addressed by SHA-256 under `<data-dir>/attachments`.
//!
//! A file is written to a temporary name, fsynced, renamed and its directory fsynced before
//! its digest is handed back, so a committed application never points at a missing file.

use std::io::Write;
use std::path::PathBuf;

use crate::Result;

/// A file safely on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub sha256: String,
    pub size_bytes: u64,
}

#[derive(Clone)]
pub(crate) struct FileStore {
    root: PathBuf,
}

impl FileStore {
    pub(crate) fn new(root: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&root)?;
        Ok(Self { root })
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
        let files = self.files.clone();
        tokio::task::spawn_blocking(move || files.save(&bytes))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
    }

    /// Reads an attachment back by digest.
    pub async fn read_file(&self, sha256: String) -> Result<Vec<u8>> {
        let files = self.files.clone();
        tokio::task::spawn_blocking(move || files.read(&sha256))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_files_read_back_by_digest_and_are_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().to_path_buf()).unwrap();
        let first = store.save(b"%PDF-1.7 hello").unwrap();
        let again = store.save(b"%PDF-1.7 hello").unwrap();
        assert_eq!(first, again);
        assert_eq!(store.read(&first.sha256).unwrap(), b"%PDF-1.7 hello");
    }
}
