//! Files a resident attached, carried between the form, the form again with its errors, the
//! confirm page, 修正する and the submit, as sealed hidden fields: a file checked and saved once
//! is never asked for again, and never lost because another answer had an error.
//!
//! A carried file is its field, digest, type, size and name, sealed with the deployment's
//! secret, so that a page can carry only files this server checked and saved, never another
//! stored file named by its digest; every carried file is read back and checked again before
//! it is used.

use machi_core::procedures::{AttachmentKind, CompiledForm};
use machi_store::{NewAttachment, StoredFile};

use crate::kit::{clean_filename, PageError, Ui};
use crate::AppState;

/// A file the resident already attached, with its sealed hidden field.
pub(crate) struct KeptFile {
    pub sealed: String,
    pub file: NewAttachment,
}

/// The key carried files are sealed under.
pub(super) async fn key(state: &AppState) -> Result<String, PageError> {
    Ok(state.seal_secret().await?.to_string())
}

/// A saved file as a sealed hidden field: field, digest, type, size and name, tab-separated.
pub(super) fn seal(key: &str, file: &NewAttachment) -> String {
    crate::kit::seal(
        key,
        &format!(
            "{}\t{}\t{}\t{}\t{}",
            file.field, file.file.sha256, file.media_type, file.file.size_bytes, file.filename
        ),
    )
}

fn unseal(key: &str, sealed: &str) -> Option<NewAttachment> {
    let text = crate::kit::unseal(key, sealed)?;
    let mut parts = text.splitn(5, '\t');
    let field = parts.next()?.to_string();
    let sha256 = parts.next()?.to_string();
    let media_type = parts.next()?.to_string();
    let size_bytes = parts.next()?.parse().ok()?;
    let filename = clean_filename(parts.next()?);
    let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then_some(NewAttachment {
        field,
        filename,
        media_type,
        file: StoredFile { sha256, size_bytes },
    })
}

/// The files a posted page carries (`attachment` fields), without those the resident chose to
/// remove (`remove_attachment` names their field).
pub(super) fn from_pairs(key: &str, pairs: &[(String, String)]) -> Vec<NewAttachment> {
    let removed: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "remove_attachment")
        .map(|(_, v)| v.as_str())
        .collect();
    pairs
        .iter()
        .filter(|(k, _)| k == "attachment")
        .filter_map(|(_, v)| unseal(key, v))
        .filter(|file| !removed.contains(&file.field.as_str()))
        .collect()
}

/// Carried files this form asks for that are stored with the stated size and a type the form
/// accepts (one per field, the last carried); any other is dropped.
pub(super) async fn checked(
    state: &AppState,
    form: &CompiledForm,
    carried: Vec<NewAttachment>,
) -> Vec<NewAttachment> {
    let mut kept: Vec<NewAttachment> = Vec::new();
    for file in carried {
        let Some(spec) = form
            .definition()
            .attachments
            .iter()
            .find(|a| a.name == file.field)
        else {
            continue;
        };
        let Ok(bytes) = state.store.read_file(file.file.sha256.clone()).await else {
            continue;
        };
        let kind = AttachmentKind::sniff(&bytes);
        let fits = bytes.len() as u64 == file.file.size_bytes
            && kind.is_some_and(|k| spec.accept.contains(&k));
        if let (true, Some(kind)) = (fits, kind) {
            kept.retain(|k| k.field != file.field);
            kept.push(NewAttachment {
                media_type: kind.media_type().to_string(),
                ..file
            });
        }
    }
    kept
}

/// The checked carried files, or `None` when a required one is missing (a submit needs them
/// all).
pub(super) async fn complete(
    state: &AppState,
    form: &CompiledForm,
    carried: Vec<NewAttachment>,
) -> Option<Vec<NewAttachment>> {
    let mut fields: Vec<String> = carried.iter().map(|c| c.field.clone()).collect();
    fields.sort();
    fields.dedup();
    let kept = checked(state, form, carried).await;
    let all_required = form
        .definition()
        .attachments
        .iter()
        .filter(|a| a.required)
        .all(|a| kept.iter().any(|k| k.field == a.name));
    (kept.len() == fields.len() && all_required).then_some(kept)
}

/// [`complete`], or the page that asks the resident to attach the files again.
pub(super) async fn required(
    state: &AppState,
    ui: Ui,
    form: &CompiledForm,
    carried: Vec<NewAttachment>,
) -> Result<Vec<NewAttachment>, PageError> {
    complete(state, form, carried).await.ok_or_else(|| {
        PageError::from(crate::kit::ApiError::bad_request(ui.t(
            "添付ファイルを確認できませんでした。もう一度選んでください。",
            "The attached files could not be checked. Please attach them again.",
        )))
    })
}

/// Files with their sealed fields, for a page to carry and show.
pub(super) fn sealed(key: &str, files: Vec<NewAttachment>) -> Vec<KeptFile> {
    files
        .into_iter()
        .map(|file| KeptFile {
            sealed: seal(key, &file),
            file,
        })
        .collect()
}

/// "書類.pdf（120 KB）": a kept file as the form shows it.
pub(crate) fn describe(ui: Ui, file: &NewAttachment) -> String {
    let size = file.file.size_bytes;
    let amount = if size >= 1_048_576 {
        format!("{:.1} MB", size as f64 / 1_048_576.0)
    } else {
        format!("{} KB", size.div_ceil(1024).max(1))
    };
    if ui.en {
        format!("{} ({amount})", file.filename)
    } else {
        format!("{}（{amount}）", file.filename)
    }
}
