//! Passkeys of staff: the JSON ceremony endpoints refuse what a cross-site page or a forger
//! could send (no CSRF token, a foreign Origin, a made-up credential, an expired or reused
//! ceremony) with problem+json and without a session; the account page lists, and removes
//! with an audit entry. A real ceremony with an authenticator runs in the browser test.

use machi_store::audit::{AuditEntry, AuditQuery};
use machi_store::passkeys::{Ceremony, NewPasskey};
use machi_store::users::{LoginOutcome, UserChange};
use serde_json::{json, Value};
use sqlx::Executor;

use crate::harness::{csrf_of, StaffClient, TestApp, CITY};
use crate::on_both_backends;

const CLERK: &str = "tanto@kosodate.test";
const OTHER: &str = "tanto2@kosodate.test";

/// A JSON POST as the passkey script sends it, to the site opened as `localhost` (a passkey
/// needs a domain name; 127.0.0.1 cannot be a relying party).
async fn post_json(
    app: &TestApp,
    staff: Option<&StaffClient>,
    path: &str,
    extra: &[(&str, &str)],
    body: &Value,
) -> reqwest::Response {
    let host = format!("localhost:{}", app.addr.port());
    let mut request = app
        .client
        .post(app.url(path))
        .header("host", &host)
        .json(body);
    if let Some(staff) = staff {
        let cookies: Vec<String> = staff
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        request = request.header("cookie", cookies.join("; "));
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn origin(app: &TestApp) -> String {
    format!("http://localhost:{}", app.addr.port())
}

/// Asserts a problem+json answer with this status and problem type; returns the body.
async fn problem(response: reqwest::Response, status: u16, kind: &str) -> Value {
    let actual = response.status();
    let content_type = response.headers()["content-type"].clone();
    assert!(
        !set_cookies(&response)
            .iter()
            .any(|c| c.starts_with("machi_staff=")),
        "no session on a refusal"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(actual, status, "{body}");
    assert_eq!(content_type, "application/problem+json");
    assert!(
        body["type"].as_str().unwrap().ends_with(kind),
        "{kind}: {body}"
    );
    body
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// A credential in the shape a browser sends, which no authenticator made.
fn made_up_assertion() -> Value {
    json!({
        "id": "bm90LWEtcmVhbC1jcmVkZW50aWFs",
        "rawId": "bm90LWEtcmVhbC1jcmVkZW50aWFs",
        "type": "public-key",
        "response": {
            "authenticatorData": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJA",
            "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0",
            "signature": "MEUCIQAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0",
            "userHandle": "AAAAAAAAQACAAAAAAAAAAA"
        },
        "extensions": {}
    })
}

fn made_up_registration() -> Value {
    json!({
        "id": "bm90LWEtcmVhbC1jcmVkZW50aWFs",
        "rawId": "bm90LWEtcmVhbC1jcmVkZW50aWFs",
        "type": "public-key",
        "response": {
            "attestationObject": "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVglAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0"
        },
        "extensions": {}
    })
}

async fn signed_in_clerk(app: &TestApp) -> (StaffClient, String) {
    app.create_staff(CLERK, "staff", Some("kosodate")).await;
    let mut clerk = app.sign_in(CLERK).await;
    let csrf = csrf_of(&clerk.get_html("/staff/account").await);
    (clerk, csrf)
}

async fn start_endpoints_refuse_missing_csrf_and_foreign_origin(app: &TestApp) {
    let (clerk, csrf) = signed_in_clerk(app).await;
    let start = "/staff/passkeys/register/start";
    let same_origin = origin(app);

    let missing = post_json(
        app,
        Some(&clerk),
        start,
        &[("origin", &same_origin)],
        &json!({}),
    )
    .await;
    problem(missing, 403, "forbidden").await;
    let wrong = [("origin", same_origin.as_str()), ("x-csrf-token", "0123")];
    problem(
        post_json(app, Some(&clerk), start, &wrong, &json!({})).await,
        403,
        "forbidden",
    )
    .await;
    let foreign = [("origin", "https://evil.example"), ("x-csrf-token", &csrf)];
    problem(
        post_json(app, Some(&clerk), start, &foreign, &json!({})).await,
        403,
        "forbidden",
    )
    .await;
    let signed_out = [("origin", same_origin.as_str()), ("x-csrf-token", &csrf)];
    problem(
        post_json(app, None, start, &signed_out, &json!({})).await,
        401,
        "signed-out",
    )
    .await;

    // With the token and this site's Origin: options for a discoverable credential.
    let response = post_json(app, Some(&clerk), start, &signed_out, &json!({})).await;
    assert_eq!(response.status(), 200);
    let started: Value = response.json().await.unwrap();
    assert!(started["ceremony"].as_str().unwrap().len() >= 32);
    let options = &started["options"]["publicKey"];
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(options["rp"]["name"], "デモ市");
    assert_eq!(options["user"]["name"], CLERK);
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );

    // Sign-in has no session and no token: Origin is what it checks.
    let login = "/staff/login/passkey/start";
    let foreign = [("origin", "https://evil.example")];
    problem(
        post_json(app, None, login, &foreign, &json!({})).await,
        403,
        "forbidden",
    )
    .await;
    let response = post_json(app, None, login, &[("origin", &same_origin)], &json!({})).await;
    assert_eq!(response.status(), 200);
    let started: Value = response.json().await.unwrap();
    assert_eq!(started["options"]["publicKey"]["rpId"], "localhost");
    assert!(started["options"]["publicKey"]["challenge"].is_string());
    assert!(
        started["options"].get("mediation").is_none(),
        "a button, not autofill"
    );

    // Opened by IP address, the site cannot be a relying party: a clear problem, not a 500.
    let by_ip = app
        .client
        .post(app.url(login))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(by_ip, 400, "passkeys-unavailable").await;
}

/// Starts a sign-in ceremony; returns its id.
async fn login_ceremony(app: &TestApp) -> String {
    let response = post_json(app, None, "/staff/login/passkey/start", &[], &json!({})).await;
    assert_eq!(response.status(), 200);
    let started: Value = response.json().await.unwrap();
    started["ceremony"].as_str().unwrap().to_string()
}

async fn finish_login(app: &TestApp, ceremony: &str) -> reqwest::Response {
    let body = json!({ "ceremony": ceremony, "credential": made_up_assertion() });
    let origin = origin(app);
    post_json(
        app,
        None,
        "/staff/login/passkey/finish",
        &[("origin", &origin)],
        &body,
    )
    .await
}

async fn made_up_credentials_are_refused_without_a_session(app: &TestApp) {
    let (clerk, csrf) = signed_in_clerk(app).await;
    let ceremony = login_ceremony(app).await;
    let body = problem(finish_login(app, &ceremony).await, 403, "passkey-refused").await;
    assert!(!body["detail"].as_str().unwrap().is_empty());

    // A body that is not a credential at all.
    let ceremony = login_ceremony(app).await;
    let origin = origin(app);
    let junk = json!({ "ceremony": ceremony, "credential": { "id": 1 } });
    let path = "/staff/login/passkey/finish";
    problem(
        post_json(app, None, path, &[("origin", &origin)], &junk).await,
        400,
        "bad-request",
    )
    .await;

    // A made-up registration is not stored.
    let headers = [("origin", origin.as_str()), ("x-csrf-token", csrf.as_str())];
    let start = post_json(
        app,
        Some(&clerk),
        "/staff/passkeys/register/start",
        &headers,
        &json!({}),
    )
    .await;
    let started: Value = start.json().await.unwrap();
    let body = json!({
        "ceremony": started["ceremony"],
        "name": "偽物",
        "credential": made_up_registration(),
    });
    let finish = "/staff/passkeys/register/finish";
    problem(
        post_json(app, Some(&clerk), finish, &headers, &body).await,
        400,
        "passkey-refused",
    )
    .await;
    assert!(app.store.passkeys(CITY, CLERK).await.unwrap().is_empty());
}

async fn expired_reused_or_foreign_ceremonies_are_refused(app: &TestApp) {
    let (clerk, csrf) = signed_in_clerk(app).await;
    // Used once (even unsuccessfully), a ceremony is gone.
    let ceremony = login_ceremony(app).await;
    problem(finish_login(app, &ceremony).await, 403, "passkey-refused").await;
    problem(
        finish_login(app, &ceremony).await,
        400,
        "passkey-ceremony-expired",
    )
    .await;
    problem(
        finish_login(app, "no-such-ceremony").await,
        400,
        "passkey-ceremony-expired",
    )
    .await;

    // Five minutes later it has expired.
    let ceremony = login_ceremony(app).await;
    app.store
        .pool()
        .execute("UPDATE staff_passkey_ceremonies SET expires_at = '2000-01-01T00:00:00.000000Z'")
        .await
        .unwrap();
    problem(
        finish_login(app, &ceremony).await,
        400,
        "passkey-ceremony-expired",
    )
    .await;

    // A registration ceremony cannot finish a sign-in, nor someone else's registration.
    let origin = origin(app);
    let headers = [("origin", origin.as_str()), ("x-csrf-token", csrf.as_str())];
    let start = post_json(
        app,
        Some(&clerk),
        "/staff/passkeys/register/start",
        &headers,
        &json!({}),
    )
    .await;
    let registration: Value = start.json().await.unwrap();
    let registration = registration["ceremony"].as_str().unwrap();
    app.create_staff(OTHER, "staff", Some("kosodate")).await;
    let mut other = app.sign_in(OTHER).await;
    let other_csrf = csrf_of(&other.get_html("/staff/account").await);
    let other_headers = [
        ("origin", origin.as_str()),
        ("x-csrf-token", other_csrf.as_str()),
    ];
    let body = json!({ "ceremony": registration, "credential": made_up_registration() });
    let finish = "/staff/passkeys/register/finish";
    let response = post_json(app, Some(&other), finish, &other_headers, &body).await;
    problem(response, 400, "passkey-ceremony-expired").await;
    problem(
        finish_login(app, registration).await,
        400,
        "passkey-ceremony-expired",
    )
    .await;
    // The store takes a ceremony out once only.
    let id = app
        .store
        .start_ceremony(CITY, Ceremony::Login, None, "{}")
        .await
        .unwrap();
    assert!(app
        .store
        .take_ceremony(CITY, &id, Ceremony::Login, None)
        .await
        .unwrap()
        .is_some());
    assert!(app
        .store
        .take_ceremony(CITY, &id, Ceremony::Login, None)
        .await
        .unwrap()
        .is_none());
}

async fn account_page_lists_and_removes_passkeys_with_audit(app: &TestApp) {
    let (mut clerk, _) = signed_in_clerk(app).await;
    let page = clerk.get_html("/staff/account").await;
    assert!(page.contains("/static/passkey.js"));
    assert!(page.contains("<noscript>"), "says passkeys need JavaScript");
    assert!(page.contains("登録済みのパスキーはありません"));

    let audit = AuditEntry::new(
        CLERK,
        "staff.passkey_add",
        CLERK,
        json!({ "credential": "c0ffee" }),
    );
    let passkey = NewPasskey {
        email: CLERK,
        credential_id: "c0ffee",
        user_handle: "00000000-0000-4000-8000-000000000000",
        name: "事務室のパソコン",
        passkey: "{}",
    };
    app.store.add_passkey(CITY, &passkey, &audit).await.unwrap();
    let again = app.store.add_passkey(CITY, &passkey, &audit).await;
    assert!(again.is_err(), "a credential is registered once");
    let page = clerk.get_html("/staff/account").await;
    assert!(page.contains("事務室のパソコン"));
    assert!(page.contains("まだ使われていません"));

    // Someone else cannot remove it; its owner can, with the form's token.
    app.create_staff(OTHER, "staff", Some("kosodate")).await;
    let mut other = app.sign_in(OTHER).await;
    let response = other
        .submit("/staff/account", "/staff/passkeys/c0ffee/remove", &[])
        .await;
    assert_eq!(response.status(), 404);
    let response = clerk.post("/staff/passkeys/c0ffee/remove", &[]).await;
    assert_eq!(response.status(), 403, "no CSRF token");
    let response = clerk
        .submit("/staff/account", "/staff/passkeys/c0ffee/remove", &[])
        .await;
    assert_eq!(response.status(), 303);
    assert!(app.store.passkeys(CITY, CLERK).await.unwrap().is_empty());
    let page = clerk.get_html("/staff/account?removed=1").await;
    assert!(page.contains("パスキーを削除しました"));

    let entries = app
        .store
        .audit_entries(
            CITY,
            &AuditQuery {
                action: "staff.passkey".into(),
                limit: 10,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["staff.passkey_remove", "staff.passkey_add"]);
    assert!(app
        .store
        .verify_audit(CITY)
        .await
        .unwrap()
        .problems
        .is_empty());
}

async fn disabled_and_locked_accounts_cannot_use_a_passkey(app: &TestApp) {
    app.create_staff(CLERK, "staff", Some("kosodate")).await;
    let outcome = app.store.passkey_account(CITY, CLERK).await.unwrap();
    assert!(matches!(outcome, LoginOutcome::Accepted(_)));
    app.store
        .pool()
        .execute("UPDATE users SET locked_until = '2999-01-01T00:00:00.000000Z'")
        .await
        .unwrap();
    let outcome = app.store.passkey_account(CITY, CLERK).await.unwrap();
    assert!(matches!(outcome, LoginOutcome::Locked { .. }));
    app.store
        .pool()
        .execute("UPDATE users SET locked_until = NULL")
        .await
        .unwrap();
    let change = UserChange {
        role: machi_core::staff::Role::Staff,
        department_code: Some("kosodate"),
        disabled: true,
    };
    let audit = AuditEntry::new("admin@city.test", "user.change", CLERK, json!({}));
    app.store
        .change_user(CITY, CLERK, &change, &audit)
        .await
        .unwrap();
    let outcome = app.store.passkey_account(CITY, CLERK).await.unwrap();
    assert_eq!(outcome, LoginOutcome::Refused);
    let unknown = app
        .store
        .passkey_account(CITY, "nobody@city.test")
        .await
        .unwrap();
    assert_eq!(unknown, LoginOutcome::Refused);
}

async fn login_page_offers_a_passkey_and_serves_the_script(app: &TestApp) {
    let page = app.get("/staff/login").await.text().await.unwrap();
    assert!(page.contains("パスキーでログイン"));
    assert!(page.contains(r#"<script src="/static/passkey.js" defer></script>"#));
    let script = app.get("/static/passkey.js").await;
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(script
        .text()
        .await
        .unwrap()
        .contains("navigator.credentials.get"));
}

on_both_backends!(
    start_endpoints_refuse_missing_csrf_and_foreign_origin,
    made_up_credentials_are_refused_without_a_session,
    expired_reused_or_foreign_ceremonies_are_refused,
    account_page_lists_and_removes_passkeys_with_audit,
    disabled_and_locked_accounts_cannot_use_a_passkey,
    login_page_offers_a_passkey_and_serves_the_script,
);
