//! 職員コンソール (the staff console) under `/staff`: sign-in, the department inbox and
//! review, accounts, and the audit log. Server-rendered like the resident pages.
//!
//! Every route but the sign-in page passes [`guard`]: it finds the session from the cookie,
//! and on every unsafe method checks the Origin header and the form's CSRF token before the
//! handler runs, so no handler can forget either. Department scoping is checked per handler
//! with [`Signed::require_department`].

mod accounts;
pub(crate) mod application;
pub(crate) mod assets;
mod audit_log;
mod counter;
mod deliveries;
mod export;
mod inbox;
mod login;
mod passkeys;
mod payments;
mod procedures;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use machi_core::staff::Role;
use machi_store::sessions::StaffSession;
use machi_store::Tenant;

use crate::i18n::{cookie, Ui};
use crate::pages::{city_name, PageError};
use crate::problem::ApiError;
use crate::tenant::City;
use crate::AppState;

/// The session cookie; only its SHA-256 is stored.
pub(crate) const SESSION_COOKIE: &str = "machi_staff";
/// Largest urlencoded staff form body (comments and bulk selections).
const FORM_LIMIT: usize = 256 * 1024;
/// Largest multipart staff form body (a notice with its attachments).
pub(crate) const MULTIPART_LIMIT: usize = 56 * 1024 * 1024;

pub(crate) fn routes(state: AppState) -> Router<AppState> {
    let guarded = Router::new()
        .route("/staff", get(inbox::home))
        .route("/staff/inbox", get(inbox::inbox))
        .route("/staff/inbox/bulk", post(inbox::bulk))
        .route("/staff/inbox/export", get(export::applications))
        .route("/staff/applications/{receipt}", get(application::show))
        .route(
            "/staff/applications/{receipt}/status",
            post(application::change_status),
        )
        .route(
            "/staff/applications/{receipt}/message",
            post(application::message),
        )
        .route(
            "/staff/applications/{receipt}/comment",
            post(application::comment),
        )
        .route(
            "/staff/applications/{receipt}/assign",
            post(application::assign),
        )
        .route(
            "/staff/applications/{receipt}/print",
            get(application::print),
        )
        .route(
            "/staff/applications/{receipt}/files/{field}",
            get(application::attachment),
        )
        .route(
            "/staff/procedures",
            get(procedures::list).post(procedures::create),
        )
        .route("/staff/procedures/new", get(procedures::new_form))
        .route(
            "/staff/procedures/{id}/edit",
            get(procedures::edit).post(procedures::save_basics),
        )
        .route("/staff/procedures/{id}/fields", post(procedures::add_field))
        .route(
            "/staff/procedures/{id}/fields/{name}/move",
            post(procedures::move_field),
        )
        .route(
            "/staff/procedures/{id}/fields/{name}/remove",
            post(procedures::remove_field),
        )
        .route("/staff/procedures/{id}/preview", get(procedures::preview))
        .route("/staff/procedures/{id}/publish", post(procedures::publish))
        .route(
            "/staff/procedures/{id}/unpublish",
            post(procedures::unpublish),
        )
        .route("/staff/procedures/{id}/discard", post(procedures::discard))
        .route("/staff/payments", get(payments::reconcile))
        .route("/staff/notices", get(crate::notices::staff_list))
        .route(
            "/staff/notices/new",
            get(crate::notices::staff_new)
                .post(crate::notices::staff_create)
                .layer(DefaultBodyLimit::max(MULTIPART_LIMIT)),
        )
        .route(
            "/staff/notices/{id}",
            get(crate::notices::staff_edit)
                .post(crate::notices::staff_update)
                .layer(DefaultBodyLimit::max(MULTIPART_LIMIT)),
        )
        .route("/staff/notices/{id}/deliveries", get(deliveries::report))
        .route("/staff/deliveries", get(deliveries::dead_letters))
        .route("/staff/deliveries/{id}/retry", post(deliveries::retry))
        .route("/staff/counter", get(counter::home))
        .route("/staff/counter/open", get(counter::open))
        .route("/staff/counter/submit", post(counter::submit_for_visitor))
        .route("/staff/assets", get(assets::list).post(assets::create))
        .route("/staff/assets/new", get(assets::new_form))
        .route("/staff/assets/costs", get(assets::costs))
        .route("/staff/assets/export", get(assets::export))
        .route(
            "/staff/assets/import",
            get(assets::import_form)
                .post(assets::import)
                .layer(DefaultBodyLimit::max(assets::MAX_CSV_BYTES)),
        )
        .route("/staff/assets/{id}", post(assets::update))
        .route("/staff/assets/{id}/edit", get(assets::edit_form))
        .route("/staff/users", get(accounts::list).post(accounts::create))
        .route("/staff/users/{email}", post(accounts::change))
        .route("/staff/audit", get(audit_log::search))
        .route("/staff/audit/export", get(audit_log::export))
        .route("/staff/account", get(passkeys::account))
        .route(
            "/staff/passkeys/register/start",
            post(passkeys::register_start),
        )
        .route(
            "/staff/passkeys/register/finish",
            post(passkeys::register_finish),
        )
        .route("/staff/passkeys/{id}/remove", post(passkeys::remove))
        .merge(crate::plans::staff_routes())
        .merge(crate::opendata::staff_routes())
        .route("/staff/logout", post(login::logout))
        .route("/staff/logout-everywhere", post(login::logout_everywhere))
        .route_layer(axum::middleware::from_fn_with_state(state, guard));
    Router::new()
        .route("/staff/login", get(login::form).post(login::submit))
        .route("/staff/login/passkey/start", post(passkeys::login_start))
        .route("/staff/login/passkey/finish", post(passkeys::login_finish))
        .merge(guarded)
}

/// A signed-in member of staff, put in place by [`guard`].
#[derive(Clone)]
pub(crate) struct Signed {
    pub session: StaffSession,
    pub city: Tenant,
    pub ui: Ui,
}

impl Signed {
    pub fn email(&self) -> &str {
        &self.session.user.email
    }

    pub fn role(&self) -> Role {
        self.session.user.role
    }

    /// An error page in this person's city and language.
    pub fn error(&self, error: impl Into<ApiError>) -> PageError {
        PageError::new(self.ui, &self.city, error)
    }

    /// 403 unless the role allows the work.
    pub fn require(&self, allowed: bool) -> Result<(), PageError> {
        if allowed {
            Ok(())
        } else {
            Err(self.error(ApiError::forbidden(self.ui.t(
                "この操作を行う権限がありません。",
                "Your role does not allow this.",
            ))))
        }
    }

    /// 403 unless the data belongs to this person's department.
    pub fn require_department(&self, department: &str) -> Result<(), PageError> {
        self.require(machi_core::staff::same_department(
            self.session.user.department_code.as_deref(),
            department,
        ))
    }

    /// Once the role allows the work: the department whose data this person works on, or
    /// `None` for administrators, who work on every department's.
    pub fn department_scope(&self, allowed: bool) -> Result<Option<String>, PageError> {
        self.require(allowed)?;
        if self.role().manages_accounts() {
            Ok(None)
        } else {
            Ok(Some(self.department()?.to_string()))
        }
    }

    /// The department whose work this person does (reviewers always have one).
    pub fn department(&self) -> Result<&str, PageError> {
        self.session.user.department_code.as_deref().ok_or_else(|| {
            self.error(ApiError::forbidden(self.ui.t(
                "所属が設定されていません。管理者に連絡してください。",
                "You have no department; ask an administrator.",
            )))
        })
    }

    /// Records what this person did (an audit entry in their city's chain).
    pub async fn audit(
        &self,
        state: &AppState,
        action: &str,
        subject: &str,
        detail: serde_json::Value,
    ) -> Result<(), PageError> {
        let entry = machi_store::audit::AuditEntry::new(self.email(), action, subject, detail);
        state
            .store
            .audit(&self.city.id, &entry)
            .await
            .map_err(|e| self.error(e))
    }

    /// What every staff page shows around its content.
    pub fn chrome(&self, back: &str) -> Chrome {
        let role = self.role();
        Chrome {
            ui: self.ui,
            city: city_name(self.ui, &self.city),
            name: self.session.user.display_name.clone(),
            role: self.ui.l(&role.label()).to_string(),
            csrf: self.session.csrf_token.clone(),
            back: back.to_string(),
            reviews: role.reviews_applications(),
            edits_procedures: role.edits_procedures(),
            reconciles: role.assigns_work(),
            serves_counter: role.serves_counter(),
            manages_accounts: role.manages_accounts(),
            reads_audit: role.reads_audit_log(),
            plans: role.reports_progress(),
            opendata: role.publishes_open_data(),
            reads_assets: role.reads_assets(),
        }
    }
}

/// The frame of a staff page: who is signed in and what they may open.
pub(crate) struct Chrome {
    pub ui: Ui,
    pub city: String,
    pub name: String,
    pub role: String,
    pub csrf: String,
    pub back: String,
    pub reviews: bool,
    pub edits_procedures: bool,
    pub reconciles: bool,
    pub serves_counter: bool,
    pub manages_accounts: bool,
    pub reads_audit: bool,
    pub plans: bool,
    pub opendata: bool,
    pub reads_assets: bool,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Signed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Signed>()
            .cloned()
            .ok_or_else(|| ApiError::forbidden("sign in first"))
    }
}

/// Finds the session and, for unsafe methods, checks Origin and the CSRF token. A JSON
/// request (the passkey script's) is answered with problem+json instead of an error page.
async fn guard(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    request: Request,
    next: Next,
) -> Response {
    let json = is_json(request.headers());
    let refuse = |error: ApiError| {
        if json {
            error.into_response()
        } else {
            PageError::new(ui, &city, error).into_response()
        }
    };
    let token = cookie(request.headers(), SESSION_COOKIE).map(str::to_string);
    let session = match token {
        Some(token) => state.store.session(&city.id, &token).await,
        None => Ok(None),
    };
    let session = match session {
        Ok(Some(session)) => session,
        Ok(None) if json => return signed_out_error(ui).into_response(),
        Ok(None) => return signed_out(ui, &city, &request),
        Err(error) => return refuse(error.into()),
    };
    let mut request = if is_safe(request.method()) {
        request
    } else {
        match checked_form(request, &session.csrf_token).await {
            Ok(request) => request,
            Err(error) => return refuse(error),
        }
    };
    request
        .extensions_mut()
        .insert(Signed { session, city, ui });
    crate::pages::no_store(next.run(request).await)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

/// No session: pages send the person to sign in and come back; form posts are refused (their
/// content cannot be carried across the sign-in).
fn signed_out(ui: Ui, city: &Tenant, request: &Request) -> Response {
    if is_safe(request.method()) {
        let next = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/staff");
        let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
        return Redirect::to(&format!("/staff/login?{query}")).into_response();
    }
    PageError::new(ui, city, signed_out_error(ui)).into_response()
}

fn signed_out_error(ui: Ui) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "signed-out",
        "Signed out",
        ui.t(
            "ログインの有効期限が切れました。もう一度ログインしてください。",
            "Your session has ended. Please sign in again.",
        ),
    )
}

/// Whether the request body is JSON (sent by a script, not a form).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// Reads the form body (urlencoded, or multipart when it carries files), checks its `csrf`
/// field against the session's token, and hands the request on with the same body. A JSON request carries the token in `X-CSRF-Token`
/// instead (a cross-site page cannot send that header, nor JSON, without CORS).
async fn checked_form(request: Request, expected: &str) -> Result<Request, ApiError> {
    check_origin(request.headers())?;
    if is_json(request.headers()) {
        let sent = request
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok());
        if !sent.is_some_and(|sent| constant_time_eq(sent.as_bytes(), expected.as_bytes())) {
            return Err(csrf_refused());
        }
        return Ok(request);
    }
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok());
    let (parts, body) = request.into_parts();
    let limit = if boundary.is_some() {
        MULTIPART_LIMIT
    } else {
        FORM_LIMIT
    };
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::bad_request("the form is too large"))?;
    let sent = match boundary {
        Some(boundary) => multipart_csrf(bytes.clone(), boundary).await,
        None => serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .unwrap_or_default()
            .into_iter()
            .find(|(name, _)| name == "csrf")
            .map(|(_, value)| value),
    };
    if !sent.is_some_and(|sent| constant_time_eq(sent.as_bytes(), expected.as_bytes())) {
        return Err(csrf_refused());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The `csrf` field of a multipart form (a form with files), read from the buffered body.
async fn multipart_csrf(bytes: axum::body::Bytes, boundary: String) -> Option<String> {
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes) });
    let mut form = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("csrf") && field.file_name().is_none() {
            return field.text().await.ok();
        }
    }
    None
}

fn csrf_refused() -> ApiError {
    ApiError::forbidden(
        "the form's security token is missing or out of date; go back, reload the page and try again",
    )
}

/// A cross-site form post carries the other site's Origin; refuse it even before the token.
pub(crate) fn check_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin.split("://").nth(1).unwrap_or_default();
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(ApiError::forbidden("cross-site form posts are refused"))
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `Set-Cookie` for a staff cookie: HttpOnly, SameSite=Lax, scoped to `/staff`, and Secure
/// whenever the request came over HTTPS (directly or through the proxy).
pub(crate) fn staff_cookie(
    headers: &HeaderMap,
    name: &str,
    value: &str,
    max_age_seconds: i64,
) -> Option<HeaderValue> {
    let secure = is_https(headers);
    let cookie = format!(
        "{name}={value}; Path=/staff; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&cookie).ok()
}

/// Whether the request came over HTTPS (directly or through the proxy).
pub(crate) fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// A redirect after a successful form post (Post/Redirect/Get).
pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_must_be_this_host() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("city.example:8080"));
        assert!(check_origin(&headers).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://city.example:8080"),
        );
        assert!(check_origin(&headers).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(check_origin(&headers).is_err());
    }

    #[test]
    fn json_requests_are_told_apart_by_their_content_type() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        assert!(!is_json(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(is_json(&headers));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
