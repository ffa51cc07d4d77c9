//! The files of a notice being written: carried between a preview and the save as sealed
//! hidden fields, and each upload checked by its content (PDF, JPEG, PNG) and size.

use machi_core::procedures::{AttachmentKind, Localized};
use machi_store::notices::NoticeAttachment;

use super::staff::{MAX_FILES, MAX_FILE_BYTES};
use crate::kit::{clean_filename, PageError, Signed, Upload};
use crate::AppState;

/// The key carried files are sealed with: the deployment's secret and this session's, so that
/// a form carries only files this session uploaded, never another stored file by its digest.
pub(super) async fn carry_key(state: &AppState, signed: &Signed) -> Result<String, PageError> {
    let secret = state.seal_secret().await?;
    Ok(format!("{secret}:{}", signed.session.csrf_token))
}

/// A carried file as a sealed hidden field: `sha256:media type:size:name`.
pub(super) fn carry_value(key: &str, file: &NoticeAttachment) -> String {
    crate::kit::seal(
        key,
        &format!(
            "{}:{}:{}:{}",
            file.sha256, file.media_type, file.size_bytes, file.filename
        ),
    )
}

/// Files a preview carried, kept only if their seal holds and they are on disk with the
/// stated size and type.
pub(super) async fn read_carried(
    state: &AppState,
    key: &str,
    pairs: &[(String, String)],
) -> Vec<NoticeAttachment> {
    let mut kept = Vec::new();
    for (_, sealed) in pairs.iter().filter(|(k, _)| k == "carried") {
        let Some(value) = crate::kit::unseal(key, sealed) else {
            continue;
        };
        let mut parts = value.splitn(4, ':');
        let (Some(sha256), Some(_), Some(size), Some(name)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let digest_like = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if !digest_like {
            continue;
        }
        let Ok(bytes) = state.store.read_file(sha256.to_ascii_lowercase()).await else {
            continue;
        };
        let Some(kind) = AttachmentKind::sniff(&bytes) else {
            continue;
        };
        if size.parse::<u64>().ok() == Some(bytes.len() as u64) {
            kept.push(NoticeAttachment {
                id: String::new(),
                filename: clean_filename(name),
                media_type: kind.media_type().to_string(),
                size_bytes: bytes.len() as u64,
                sha256: sha256.to_ascii_lowercase(),
            });
        }
    }
    kept
}

/// Checks new files (type from the content, size, how many the notice would then carry).
pub(super) fn check_uploads(
    uploads: &[Upload],
    keeping: usize,
    errors: &mut Vec<(&'static str, Localized)>,
) -> Vec<(String, AttachmentKind)> {
    let mut good = Vec::new();
    if keeping + uploads.len() > MAX_FILES {
        errors.push((
            "files",
            Localized::new(
                format!("添付ファイルは{MAX_FILES}件までにしてください"),
                format!("attach at most {MAX_FILES} files"),
            ),
        ));
    }
    for upload in uploads {
        let name = clean_filename(&upload.filename);
        if upload.bytes.len() > MAX_FILE_BYTES {
            errors.push((
                "files",
                Localized::new(
                    format!("{name}は10MB以下のファイルにしてください"),
                    format!("{name} must be 10 MB or smaller"),
                ),
            ));
        } else if let Some(kind) = AttachmentKind::sniff(&upload.bytes) {
            good.push((name, kind));
        } else {
            errors.push((
                "files",
                Localized::new(
                    format!("{name}は PDF・JPEG・PNG のファイルにしてください"),
                    format!("{name} must be a PDF, JPEG or PNG file"),
                ),
            ));
        }
    }
    good
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_than_five_files_or_a_renamed_program_are_refused() {
        let upload = |name: &str, bytes: &[u8]| Upload {
            field: "files".into(),
            filename: name.into(),
            bytes: bytes.to_vec(),
        };
        let mut errors = Vec::new();
        let good = check_uploads(
            &[upload("a.pdf", b"%PDF-1.4"), upload("b.pdf", b"MZ\x90\x00")],
            0,
            &mut errors,
        );
        assert_eq!(good, vec![("a.pdf".to_string(), AttachmentKind::Pdf)]);
        assert_eq!(errors.len(), 1);
        let mut errors = Vec::new();
        check_uploads(&[upload("a.pdf", b"%PDF-1.4")], MAX_FILES, &mut errors);
        assert_eq!(errors.len(), 1);
    }
}
