//! Reading what a browser posts: a urlencoded form, or a multipart form with files, as text
//! pairs and uploads, with the file names made safe to keep.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use axum::Form;

use super::problem::ApiError;
use crate::AppState;

/// A file as uploaded, before it is checked.
pub(crate) struct Upload {
    pub field: String,
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// Keeps only the last path segment of an uploaded file name, without control characters.
pub(crate) fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if cleaned.is_empty() {
        "file".to_string()
    } else {
        cleaned
    }
}

/// Reads a urlencoded or multipart form into text pairs and uploaded files.
pub(crate) async fn read_form(
    state: &AppState,
    request: Request,
) -> Result<(Vec<(String, String)>, Vec<Upload>), ApiError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(|e| bad_form(e.status(), e.body_text()))?;
        return Ok((pairs, Vec::new()));
    }
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|e| bad_form(e.status(), e.body_text()))?;
    let mut pairs = Vec::new();
    let mut uploads = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| bad_form(e.status(), e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        match field.file_name().map(str::to_string) {
            Some(filename) => {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| bad_form(e.status(), e.body_text()))?;
                if !bytes.is_empty() {
                    uploads.push(Upload {
                        field: name,
                        filename,
                        bytes: bytes.to_vec(),
                    });
                }
            }
            None => pairs.push((
                name,
                field
                    .text()
                    .await
                    .map_err(|e| bad_form(e.status(), e.body_text()))?,
            )),
        }
    }
    Ok((pairs, uploads))
}

/// A form the server could not read (a broken upload, a body over the limit): the reason for
/// API clients and the log, a plain sentence for a Japanese page.
fn bad_form(status: axum::http::StatusCode, reason: String) -> ApiError {
    ApiError::new(status, "bad-form", "Bad form", reason).with_ja(
        "送信内容を読み取れませんでした。ファイルの大きさを確かめて、もう一度送信してください。",
    )
}
