//! The CKAN Action API v3 at `/api/3/action/{action}`, so that the portals, harvesters and
//! client libraries cities already use read machi's catalog unchanged. Parameters come as a
//! query string (GET) or as a JSON or form body (POST), as CKAN accepts them; every answer is
//! CKAN's envelope `{help, success, result}` or `{help, success: false, error: {__type,
//! message}}` with CKAN's status codes (400 unknown action, 404 Not Found Error, 409
//! Validation Error).

mod datastore;
mod datastore_write;
mod package;
mod write;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::kit::City;
use crate::AppState;

/// The CKAN API version machi answers as (what `site_read`-era clients check for).
pub(crate) const CKAN_VERSION: &str = "2.10.4";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/3/action/{action}", any(action))
        .route("/api/action/{action}", any(action))
        .route("/datastore/dump/{id}", axum::routing::get(datastore::dump))
}

/// A call's parameters, whichever way they came.
pub(crate) struct Params(pub(super) Map<String, Value>);

/// A failed call, as CKAN reports it.
pub(crate) struct CkanError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    pub(super) fields: Map<String, Value>,
}

impl CkanError {
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            kind: "Not Found Error",
            message: message.into(),
            fields: Map::new(),
        }
    }

    /// CKAN's Validation Error: a message per field.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut fields = Map::new();
        fields.insert(field.to_string(), json!([message.clone()]));
        Self {
            status: StatusCode::CONFLICT,
            kind: "Validation Error",
            message,
            fields,
        }
    }

    /// CKAN's Authorization Error (403): no token, a bad one, or not allowed.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            kind: "Authorization Error",
            message: message.into(),
            fields: Map::new(),
        }
    }

    /// A Validation Error naming several fields, each with its message.
    pub fn validation_fields(problems: Vec<(String, String)>) -> Self {
        let mut fields = Map::new();
        for (field, message) in &problems {
            let entry = fields.entry(field.clone()).or_insert_with(|| json!([]));
            if let Some(list) = entry.as_array_mut() {
                list.push(json!(message));
            }
        }
        let message = problems
            .iter()
            .map(|(f, m)| format!("{f}: {m}"))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            status: StatusCode::CONFLICT,
            kind: "Validation Error",
            message,
            fields,
        }
    }

    fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "CKAN action failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "Internal Server Error",
            message: "the action failed; see the server log".into(),
            fields: Map::new(),
        }
    }
}

impl From<machi_store::StoreError> for CkanError {
    fn from(error: machi_store::StoreError) -> Self {
        CkanError::internal(error)
    }
}

impl Params {
    pub fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A required text parameter (CKAN answers a Validation Error "Missing value").
    pub fn required(&self, name: &str) -> Result<String, CkanError> {
        self.text(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| CkanError::validation(name, "Missing value"))
    }

    /// An integer in `min..=max`, or the default when absent.
    pub fn int(&self, name: &str, default: i64, min: i64, max: i64) -> Result<i64, CkanError> {
        let Some(text) = self.text(name).filter(|t| !t.is_empty()) else {
            return Ok(default);
        };
        let value: i64 = text
            .trim()
            .parse()
            .map_err(|_| CkanError::validation(name, "Invalid integer"))?;
        if !(min..=max).contains(&value) {
            return Err(CkanError::validation(
                name,
                format!("Must be between {min} and {max}"),
            ));
        }
        Ok(value)
    }

    pub fn flag(&self, name: &str, default: bool) -> Result<bool, CkanError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" | "" => Ok(false),
                _ => Err(CkanError::validation(name, "Invalid boolean")),
            },
            Some(_) => Err(CkanError::validation(name, "Invalid boolean")),
        }
    }

    /// A list of JSON values given as an array, or (in a query string or form) as JSON text;
    /// empty when absent, a Validation Error saying `message` when it is no list.
    pub fn json_list(&self, name: &str, message: &str) -> Result<Vec<Value>, CkanError> {
        let value = match self.0.get(name) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::String(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
            Some(value) => value.clone(),
        };
        match value {
            Value::Array(items) => Ok(items),
            _ => Err(CkanError::validation(name, message)),
        }
    }

    /// A list given as a JSON array, or (in a query string) as JSON text or a comma list.
    pub fn list(&self, name: &str) -> Result<Vec<String>, CkanError> {
        let invalid = || CkanError::validation(name, "Expected a list of strings");
        let value = match self.0.get(name) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::String(s)) if s.trim_start().starts_with('[') => {
                serde_json::from_str(s).map_err(|_| invalid())?
            }
            Some(Value::String(s)) => {
                return Ok(s
                    .split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect())
            }
            Some(other) => other.clone(),
        };
        match value {
            Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(invalid()),
                })
                .collect(),
            _ => Err(invalid()),
        }
    }
}

/// Reads the parameters: the query string, then (for POST) a JSON object or a form body.
fn read_params(
    method: &Method,
    headers: &HeaderMap,
    query: Vec<(String, String)>,
    body: &Bytes,
) -> Result<Params, CkanError> {
    // A name given more than once (`facet.field=tags&facet.field=groups`, as clients encode a
    // list in a query string) becomes a list.
    let mut params = Map::new();
    for (name, value) in query {
        match params.get_mut(&name) {
            None => {
                params.insert(name, Value::String(value));
            }
            Some(Value::Array(values)) => values.push(Value::String(value)),
            Some(first) => *first = Value::Array(vec![first.take(), Value::String(value)]),
        }
    }
    if *method == Method::POST && !body.is_empty() {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if content_type.starts_with("application/x-www-form-urlencoded") {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
                .map_err(|_| CkanError::validation("body", "Cannot read the form body"))?;
            params.extend(pairs.into_iter().map(|(k, v)| (k, Value::String(v))));
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(fields)) => params.extend(fields),
                _ => {
                    return Err(CkanError {
                        status: StatusCode::BAD_REQUEST,
                        kind: "Bad request",
                        message: "Bad request - JSON Error: the body must be a JSON object".into(),
                        fields: Map::new(),
                    })
                }
            }
        }
    }
    Ok(Params(params))
}

/// Reads a call's parameters as the action endpoint does (a query string, and a JSON or form
/// body) and every parameter of the search and datastore actions from them; for the fuzz
/// target `ckan_parameters`, which looks for input that panics instead of answering an error.
pub(crate) fn read_every_parameter(query: &str, body: &[u8], form: bool) {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let mut headers = HeaderMap::new();
    let content_type = if form {
        "application/x-www-form-urlencoded"
    } else {
        "application/json"
    };
    headers.insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(content_type),
    );
    let body = Bytes::copy_from_slice(body);
    let Ok(params) = read_params(&Method::POST, &headers, pairs, &body) else {
        return;
    };
    let _ = package::dataset_query(&params);
    let _ = datastore::search_query(&params);
    let _ = datastore_write::records(&params);
    let _ = datastore_write::declared_fields(&params);
    let _ = datastore_write::primary_key(&params);
}

/// The API token of a call, as CKAN clients send it (`Authorization: <token>`, optionally
/// with `Bearer`, or `X-CKAN-API-Key`).
fn api_token(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(header::AUTHORIZATION)
        .or_else(|| headers.get("x-ckan-api-key"))?
        .to_str()
        .ok()?
        .trim();
    let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
    (!token.is_empty()).then(|| token.to_string())
}

fn help_url(base: &str, action: &str) -> String {
    format!("{base}/api/3/action/help_show?name={action}")
}

async fn action(
    State(state): State<AppState>,
    City(city): City,
    method: Method,
    headers: HeaderMap,
    Path(action): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    let base = state.public_url.for_city(&city);
    let help = help_url(&base, &action);
    let outcome = match read_params(&method, &headers, query, &body) {
        Ok(params) => {
            let call = package::Call {
                state: &state,
                city: &city,
                base: &base,
                params,
                token: api_token(&headers),
            };
            package::dispatch(&action, call).await
        }
        Err(error) => Some(Err(error)),
    };
    match outcome {
        Some(Ok(result)) => {
            Json(json!({"help": help, "success": true, "result": result})).into_response()
        }
        Some(Err(error)) => {
            let mut body = error.fields;
            body.insert("__type".into(), json!(error.kind));
            body.insert("message".into(), json!(error.message));
            let envelope = json!({"help": help, "success": false, "error": body});
            (error.status, Json(envelope)).into_response()
        }
        None => {
            let message = format!("Bad request - Action name not known: {action}");
            let envelope = json!({"help": help, "success": false,
                "error": {"__type": "Bad request", "message": message}});
            (StatusCode::BAD_REQUEST, Json(envelope)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz target's entry point on inputs of each shape it gets (and a place for the
    /// inputs a fuzz run finds): every one answers, none panics.
    #[test]
    fn any_parameters_are_read_without_a_panic() {
        let cases: [(&str, &[u8], bool); 6] = [
            (
                "q=%E9%81%BF%E9%9B%A3&fq=tags:%E9%98%B2&facet.field=tags&facet.field=x",
                b"",
                false,
            ),
            (
                "filters=%7B&q=%7B%22a%22%3A1&fields=%5B1%5D&limit=-1&sort=",
                b"",
                false,
            ),
            (
                "",
                br#"{"records":[1],"fields":[{"type":"int4"}],"primary_key":{}}"#,
                false,
            ),
            ("", b"records=%5B%7B%7D%5D&primary_key=a%2Cb&fq=%22", true),
            ("rows=99999999999999999999&start=-0", b"\xff\xfe", false),
            ("fq=-tags:%22%22&sort=metadata_modified%20up", b"[]", false),
        ];
        for (query, body, form) in cases {
            read_every_parameter(query, body, form);
        }
        let params = Params(Map::from_iter([(
            "fq".to_string(),
            Value::String("tags:防災 organization:kikikanri".into()),
        )]));
        assert!(package::dataset_query(&params).is_ok());
    }
}
