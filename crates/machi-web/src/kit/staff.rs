//! 職員 (staff) sessions: the guard every staff route but sign-in passes, and the [`Signed`]
//! extractor it puts in place.
//!
//! [`guard`] finds the session from the cookie, and on every unsafe method checks the Origin
//! header and the form's CSRF token before the handler runs, so no handler can forget either.
//! Department scoping is checked per handler with [`Signed::require_department`].

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use machi_core::staff::Role;
use machi_store::sessions::StaffSession;
use machi_store::Tenant;

use super::i18n::{cookie, Ui};
use super::page::{city_name, no_store, PageError};
use super::problem::ApiError;
use super::security::{check_origin, constant_time_eq, is_json};
use super::tenant::City;
use crate::AppState;

/// The session cookie; only its SHA-256 is stored.
pub(crate) const SESSION_COOKIE: &str = "machi_staff";
/// Largest urlencoded staff form body (comments and bulk selections).
const FORM_LIMIT: usize = 256 * 1024;
/// Largest multipart staff form body (a notice with its attachments).
pub(crate) const MULTIPART_LIMIT: usize = 56 * 1024 * 1024;

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

    /// 403 unless the role allows the work.
    pub fn require(&self, allowed: bool) -> Result<(), PageError> {
        if allowed {
            Ok(())
        } else {
            Err(PageError::from(ApiError::forbidden(self.ui.t(
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
            PageError::from(ApiError::forbidden(self.ui.t(
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
            .map_err(PageError::from)
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
            edits_plans: role.edits_plans(),
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
    /// The CIO and 情報政策課: the plans themselves and the 手続棚卸.
    pub edits_plans: bool,
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
            .ok_or_else(|| ApiError::forbidden("sign in first").with_ja("ログインしてください。"))
    }
}

/// Finds the session and, for unsafe methods, checks Origin and the CSRF token. A JSON
/// request (the passkey script's) is answered with problem+json instead of an error page.
pub(crate) async fn guard(
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
            PageError::from(error).into_response()
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
        Ok(None) => return signed_out(ui, &request),
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
    no_store(next.run(request).await)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

/// No session: pages send the person to sign in and come back; form posts are refused (their
/// content cannot be carried across the sign-in).
fn signed_out(ui: Ui, request: &Request) -> Response {
    if is_safe(request.method()) {
        let next = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/staff");
        let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
        return Redirect::to(&format!("/staff/login?{query}")).into_response();
    }
    PageError::from(signed_out_error(ui)).into_response()
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
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::bad_request("the form is too large")
            .with_ja("送信内容が大きすぎます。添付ファイルを小さくしてください。")
    })?;
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
    .with_ja("画面の有効期限が切れました。前の画面に戻り、再読み込みしてからもう一度送信してください。")
}
