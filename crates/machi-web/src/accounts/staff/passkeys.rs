//! パスキー (passkeys, WebAuthn): staff register passkeys on their account page and then sign
//! in with one instead of the password.
//!
//! Each ceremony takes two requests: a start that returns the browser's options and a ceremony
//! id, and a finish that sends the authenticator's answer back. The ceremony's state waits in
//! the database (any node may get the finish), is good for five minutes and is used once. The
//! relying party is the site as the browser sees it: the host name of the request (so each
//! city's host has its own passkeys) and its scheme, https behind the proxy. Sign-in uses
//! discoverable credentials, so nobody types an e-mail address; the passkey names the account,
//! which must still be enabled and not locked. Registration is behind the console's guard
//! (session, Origin, CSRF token in `X-CSRF-Token`); the two sign-in endpoints check Origin,
//! and an answer counts only for the challenge of its ceremony. Errors are problem+json.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use machi_store::audit::AuditEntry;
use machi_store::passkeys::{Ceremony, NewPasskey, PasskeyRecord};
use machi_store::users::LoginOutcome;
use machi_store::Tenant;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use super::login::{safe_next, signed_in};
use crate::kit::{
    check_origin, city_name, is_https, is_json, jst_stored, jst_text, render, see_other, ApiError,
    Chrome, City, PageError, Signed, Ui,
};
use crate::AppState;

/// Longest name a passkey may be given.
const NAME_LIMIT: usize = 60;

/// The WebAuthn relying party of this request: its host name and origin, named after the city.
fn relying_party(headers: &HeaderMap, city: &Tenant, ui: Ui) -> Result<Webauthn, ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let scheme = if is_https(headers) { "https" } else { "http" };
    let unavailable = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "passkeys-unavailable",
            "Passkeys unavailable",
            ui.t(
                "パスキーは、IP アドレスではなくドメイン名でこのサイトを開いたときに使えます。",
                "Passkeys work when this site is opened by its domain name, not an IP address.",
            ),
        )
    };
    let origin = Url::parse(&format!("{scheme}://{host}")).map_err(|_| unavailable())?;
    let id = origin.domain().ok_or_else(unavailable)?;
    let name = city_name(ui, city);
    WebauthnBuilder::new(id, &origin)
        .and_then(|builder| builder.rp_name(&name).build())
        .map_err(|_| unavailable())
}

/// The authenticator's answer was not accepted (the cause goes to the log only).
fn refused(ui: Ui, status: StatusCode, cause: impl std::fmt::Display) -> ApiError {
    tracing::info!(%cause, "passkey refused");
    ApiError::new(
        status,
        "passkey-refused",
        "Passkey refused",
        ui.t(
            "パスキーを確認できませんでした。もう一度お試しいただくか、パスワードでログインしてください。",
            "The passkey could not be checked. Please try again, or sign in with your password.",
        ),
    )
}

fn ceremony_expired(ui: Ui) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "passkey-ceremony-expired",
        "Passkey request expired",
        ui.t(
            "時間切れか、すでに使われた要求です。もう一度お試しください。",
            "This request has expired or was already used. Please try again.",
        ),
    )
}

/// The body as `T`, if it is JSON of that shape.
fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send application/json",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_request("the body is not the JSON this endpoint expects"))
}

fn internal(cause: impl std::fmt::Display) -> ApiError {
    ApiError::internal(cause)
}

/// What a registration keeps between its start and finish.
#[derive(Serialize, Deserialize)]
struct Registering {
    handle: Uuid,
    registration: PasskeyRegistration,
}

/// This account's WebAuthn user handle (shared by its passkeys, new for the first one) and
/// the credentials it already has, which the authenticator is asked not to register again.
fn handle_and_existing(records: &[PasskeyRecord]) -> Result<(Uuid, Vec<Passkey>), ApiError> {
    let handle = records
        .first()
        .and_then(|r| Uuid::parse_str(&r.user_handle).ok())
        .unwrap_or_else(Uuid::new_v4);
    let existing = records
        .iter()
        .map(|r| serde_json::from_str::<Passkey>(&r.passkey).map_err(internal))
        .collect::<Result<_, _>>()?;
    Ok((handle, existing))
}

/// `POST /staff/passkeys/register/start`: options for `navigator.credentials.create`.
pub(super) async fn register_start(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let webauthn = relying_party(&headers, &signed.city, signed.ui)?;
    let records = state
        .store
        .passkeys(&signed.city.id, signed.email())
        .await?;
    let (handle, existing) = handle_and_existing(&records)?;
    let exclude = existing.iter().map(|p| p.cred_id().clone()).collect();
    let user = &signed.session.user;
    let (options, registration) = webauthn
        .start_passkey_registration(handle, &user.email, &user.display_name, Some(exclude))
        .map_err(internal)?;
    let mut options = serde_json::to_value(options).map_err(internal)?;
    // Sign-in names no account, so the authenticator must keep the credential (resident).
    let selection = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(Value::as_object_mut);
    if let Some(selection) = selection {
        selection.insert("residentKey".into(), json!("required"));
        selection.insert("requireResidentKey".into(), json!(true));
    }
    let saved = serde_json::to_string(&Registering {
        handle,
        registration,
    })
    .map_err(internal)?;
    let ceremony = state
        .store
        .start_ceremony(
            &signed.city.id,
            Ceremony::Register,
            Some(signed.email()),
            &saved,
        )
        .await?;
    Ok(Json(json!({ "ceremony": ceremony, "options": options })))
}

#[derive(Deserialize)]
pub(super) struct RegisterFinish {
    ceremony: String,
    #[serde(default)]
    name: String,
    credential: RegisterPublicKeyCredential,
}

/// The name a passkey is listed under; empty means a plain "passkey".
fn passkey_name(ui: Ui, name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.chars().count() > NAME_LIMIT {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-name",
            "Name too long",
            ui.t(
                "パスキーの名前は60文字以内で入力してください。",
                "Give the passkey a name of 60 characters or fewer.",
            ),
        ));
    }
    Ok(match name {
        "" => ui.t("パスキー", "Passkey").to_string(),
        name => name.to_string(),
    })
}

/// `POST /staff/passkeys/register/finish`: checks the new credential and stores it.
pub(super) async fn register_finish(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (ui, tenant, email) = (signed.ui, &signed.city.id, signed.email());
    let finish: RegisterFinish = json_body(&headers, &body)?;
    let name = passkey_name(ui, &finish.name)?;
    let saved = state
        .store
        .take_ceremony(tenant, &finish.ceremony, Ceremony::Register, Some(email))
        .await?
        .ok_or_else(|| ceremony_expired(ui))?;
    let registering: Registering = serde_json::from_str(&saved).map_err(internal)?;
    let passkey = relying_party(&headers, &signed.city, ui)?
        .finish_passkey_registration(&finish.credential, &registering.registration)
        .map_err(|e| refused(ui, StatusCode::BAD_REQUEST, e))?;
    let id = hex::encode(passkey.cred_id());
    let new = NewPasskey {
        email,
        credential_id: &id,
        user_handle: &registering.handle.to_string(),
        name: &name,
        passkey: &serde_json::to_string(&passkey).map_err(internal)?,
    };
    let audit = AuditEntry::new(
        email,
        "staff.passkey_add",
        email,
        json!({ "credential": id }),
    );
    state.store.add_passkey(tenant, &new, &audit).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id, "name": name }))))
}

/// `POST /staff/passkeys/{id}/remove` (a form on the account page).
pub(super) async fn remove(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let email = signed.email();
    let audit = AuditEntry::new(
        email,
        "staff.passkey_remove",
        email,
        json!({ "credential": id }),
    );
    let removed = state
        .store
        .remove_passkey(&signed.city.id, email, &id, &audit)
        .await?;
    if !removed {
        return Err(PageError::from(ApiError::not_found(signed.ui.t(
            "そのパスキーは登録されていません。",
            "You have no such passkey.",
        ))));
    }
    Ok(see_other("/staff/account?removed=1"))
}

/// One row of the passkey list.
struct PasskeyRow {
    id: String,
    name: String,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "staff_account.html")]
struct AccountPage {
    chrome: Chrome,
    passkeys: Vec<PasskeyRow>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub(super) struct Notice {
    added: Option<String>,
    removed: Option<String>,
}

/// `GET /staff/account`: the signed-in person's passkeys, to add and remove.
pub(super) async fn account(
    State(state): State<AppState>,
    signed: Signed,
    Query(notice): Query<Notice>,
) -> Result<Response, PageError> {
    let ui = signed.ui;
    let records = state
        .store
        .passkeys(&signed.city.id, signed.email())
        .await?;
    let passkeys = records
        .into_iter()
        .map(|r| PasskeyRow {
            id: r.credential_id,
            name: r.name,
            created: jst_text(r.created_at),
            last_used: r
                .last_used_at
                .map(jst_text)
                .unwrap_or_else(|| ui.t("まだ使われていません", "Not used yet").to_string()),
        })
        .collect();
    let notice = match (notice.added.is_some(), notice.removed.is_some()) {
        (true, _) => Some(ui.t("パスキーを登録しました。", "The passkey was added.")),
        (_, true) => Some(ui.t("パスキーを削除しました。", "The passkey was removed.")),
        _ => None,
    };
    let page = AccountPage {
        chrome: signed.chrome("/staff/account"),
        passkeys,
        notice,
    };
    Ok(render(&page))
}

/// `POST /staff/login/passkey/start`: options for `navigator.credentials.get`, asking for any
/// passkey of this site.
pub(super) async fn login_start(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    check_origin(&headers)?;
    let (mut options, authentication) = relying_party(&headers, &city, ui)?
        .start_discoverable_authentication()
        .map_err(internal)?;
    // A button starts this, not the browser's autofill.
    options.mediation = None;
    let saved = serde_json::to_string(&authentication).map_err(internal)?;
    let ceremony = state
        .store
        .start_ceremony(&city.id, Ceremony::Login, None, &saved)
        .await?;
    Ok(Json(json!({ "ceremony": ceremony, "options": options })))
}

#[derive(Deserialize)]
pub(super) struct LoginFinish {
    ceremony: String,
    credential: PublicKeyCredential,
    next: Option<String>,
}

/// `POST /staff/login/passkey/finish`: checks the answer and starts a session, as the
/// password sign-in does; answers `{"redirect": …}` with the session cookie.
pub(super) async fn login_finish(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_origin(&headers)?;
    let finish: LoginFinish = json_body(&headers, &body)?;
    let saved = state
        .store
        .take_ceremony(&city.id, &finish.ceremony, Ceremony::Login, None)
        .await?
        .ok_or_else(|| ceremony_expired(ui))?;
    let authentication: DiscoverableAuthentication =
        serde_json::from_str(&saved).map_err(internal)?;
    let webauthn = relying_party(&headers, &city, ui)?;
    let (record, passkey) = verify(
        &state,
        &city,
        ui,
        &webauthn,
        &finish.credential,
        authentication,
    )
    .await?;
    let email = admitted(&state, &city, ui, &record.email).await?;
    state
        .store
        .passkey_used(&city.id, &record.credential_id, &passkey)
        .await?;
    let next = safe_next(finish.next.as_deref());
    let response = Json(json!({ "redirect": next })).into_response();
    Ok(signed_in(&state, &city, &headers, &email, "passkey", response).await?)
}

/// Finds the passkey the answer names and checks the answer against it; returns the record
/// and the passkey's new state (its signature counter moves on).
async fn verify(
    state: &AppState,
    city: &Tenant,
    ui: Ui,
    webauthn: &Webauthn,
    credential: &PublicKeyCredential,
    authentication: DiscoverableAuthentication,
) -> Result<(PasskeyRecord, String), ApiError> {
    let unknown = |cause: &str| refused(ui, StatusCode::FORBIDDEN, cause);
    let (handle, raw_id) = webauthn
        .identify_discoverable_authentication(credential)
        .map_err(|e| refused(ui, StatusCode::FORBIDDEN, e))?;
    let record = state
        .store
        .passkey(&city.id, &hex::encode(raw_id))
        .await?
        .ok_or_else(|| unknown("unknown credential"))?;
    if record.user_handle != handle.to_string() {
        return Err(unknown("the user handle does not match the credential"));
    }
    let mut passkey: Passkey = serde_json::from_str(&record.passkey).map_err(internal)?;
    let key = DiscoverableKey::from(&passkey);
    match webauthn.finish_discoverable_authentication(credential, authentication, &[key]) {
        Ok(result) => {
            passkey.update_credential(&result);
            let passkey = serde_json::to_string(&passkey).map_err(internal)?;
            Ok((record, passkey))
        }
        Err(error) => {
            let email = &record.email;
            let entry = AuditEntry::new(
                email,
                "staff.login_refused",
                email,
                json!({ "method": "passkey" }),
            );
            state.store.audit(&city.id, &entry).await?;
            Err(refused(ui, StatusCode::FORBIDDEN, error))
        }
    }
}

/// The e-mail of a passkey's owner if the account may sign in now; a disabled account is
/// refused and a locked one waits, as with the password.
async fn admitted(
    state: &AppState,
    city: &Tenant,
    ui: Ui,
    email: &str,
) -> Result<String, ApiError> {
    let (action, error) = match state.store.passkey_account(&city.id, email).await? {
        LoginOutcome::Accepted(user) => return Ok(user.email),
        LoginOutcome::Refused => (
            "staff.login_refused",
            refused(ui, StatusCode::FORBIDDEN, "the account is disabled"),
        ),
        LoginOutcome::Locked { until } => (
            "staff.login_locked",
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "locked",
                "Signing in is paused",
                format!(
                    "{} {}",
                    ui.t(
                        "失敗が続いたため、ログインを一時的に止めています。再開:",
                        "Too many failed attempts; signing in is paused until",
                    ),
                    jst_stored(&until)
                ),
            ),
        ),
    };
    let entry = AuditEntry::new(email, action, email, json!({ "method": "passkey" }));
    state.store.audit(&city.id, &entry).await?;
    Err(error)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn city() -> Tenant {
        Tenant {
            id: "demo".into(),
            name_ja: "デモ市".into(),
            name_en: "Demo City".into(),
            host: None,
        }
    }

    fn headers(host: &'static str, proto: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static(host));
        if let Some(proto) = proto {
            headers.insert("x-forwarded-proto", HeaderValue::from_static(proto));
        }
        headers
    }

    #[test]
    fn the_relying_party_is_the_host_name_and_origin_of_the_request() {
        let ui = Ui { en: false };
        let party = relying_party(&headers("city.example:8443", Some("https")), &city(), ui)
            .expect("a domain name can be a relying party");
        let origins: Vec<&str> = party
            .get_allowed_origins()
            .iter()
            .map(|o| o.as_str())
            .collect();
        assert_eq!(origins, ["https://city.example:8443/"]);
        let (options, _) = party.start_discoverable_authentication().unwrap();
        assert_eq!(options.public_key.rp_id, "city.example");
        let plain = relying_party(&headers("localhost:3000", None), &city(), ui).unwrap();
        assert_eq!(
            plain.get_allowed_origins()[0].as_str(),
            "http://localhost:3000/"
        );
    }

    #[test]
    fn an_ip_address_cannot_be_a_relying_party() {
        let error = relying_party(&headers("127.0.0.1:3000", None), &city(), Ui { en: true })
            .expect_err("refused");
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert!(error.problem.kind.ends_with("passkeys-unavailable"));
    }

    #[test]
    fn a_passkey_name_is_trimmed_defaulted_and_limited() {
        let ui = Ui { en: false };
        assert_eq!(
            passkey_name(ui, "  事務室のパソコン ").unwrap(),
            "事務室のパソコン"
        );
        assert_eq!(passkey_name(ui, "   ").unwrap(), "パスキー");
        assert!(passkey_name(ui, &"あ".repeat(60)).is_ok());
        assert!(passkey_name(ui, &"あ".repeat(61)).is_err());
    }
}
