//! Staff sign-in: signed-out pages and posts, the session cookie, CSRF and Origin checks,
//! signing out everywhere, throttling that tells no one which addresses are accounts, and
//! disabled accounts.

use crate::harness::{StaffClient, TestApp, STAFF_PASSWORD};
use crate::on_both_backends;

use super::{staff_of_the_demo_city, ADMIN, MANAGER, REVIEWER};

async fn sign_in_throttling_sessions_and_csrf(app: &TestApp) {
    staff_of_the_demo_city(app).await;
    // Signed out: pages go to the sign-in page, posts are refused.
    let mut anonymous = StaffClient::anonymous(app);
    let response = anonymous.get("/staff/inbox").await;
    assert_eq!(response.status(), 303);
    assert!(response.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/staff/login?next="));
    assert_eq!(anonymous.post("/staff/users", &[]).await.status(), 401);

    // The session cookie is HttpOnly and SameSite.
    let mut first = StaffClient::anonymous(app);
    let response = first.try_sign_in(REVIEWER, STAFF_PASSWORD).await;
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("machi_staff="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let mut second = app.sign_in(REVIEWER).await;

    // CSRF: no token, a wrong token, or another site's Origin are all refused.
    assert_eq!(
        first
            .post("/staff/applications/x/comment", &[("body", "x")])
            .await
            .status(),
        403
    );
    let forged = first
        .post(
            "/staff/applications/x/comment",
            &[("body", "x"), ("csrf", "forged")],
        )
        .await;
    assert_eq!(forged.status(), 403);
    // The refusal is said on a Japanese page in Japanese, not in the API's English.
    let page = forged.text().await.unwrap();
    assert!(page.contains("画面の有効期限が切れました"), "{page}");
    assert!(!page.contains("security token"), "{page}");
    let csrf = crate::harness::csrf_of(&first.get_html("/staff/inbox").await);
    let cross_site = first
        .client
        .post(app.url("/staff/logout"))
        .header("cookie", format!("machi_staff={}", cookie_value(&first)))
        .header("origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);

    // Log out everywhere ends the other session too.
    let response = second
        .submit("/staff/inbox", "/staff/logout-everywhere", &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(first.get("/staff/inbox").await.status(), 303);
    assert_eq!(second.get("/staff/inbox").await.status(), 303);

    // Five wrong passwords lock the account; then even the right one is refused for a while.
    // A locked account, a wrong password and an address that is no account answer alike,
    // so that nobody learns which addresses are staff accounts.
    let mut attacker = StaffClient::anonymous(app);
    let error_text = |html: &str| crate::pages::text_of_id(html, "login-error");
    let mut answers = Vec::new();
    for _ in 1..=5 {
        let response = attacker.try_sign_in(MANAGER, "wrong password!!").await;
        answers.push((
            response.status(),
            error_text(&response.text().await.unwrap()),
        ));
    }
    let locked = attacker.try_sign_in(MANAGER, STAFF_PASSWORD).await;
    answers.push((locked.status(), error_text(&locked.text().await.unwrap())));
    let unknown = attacker
        .try_sign_in("nobody@city.test", STAFF_PASSWORD)
        .await;
    answers.push((unknown.status(), error_text(&unknown.text().await.unwrap())));
    assert!(
        answers.iter().all(|answer| *answer == answers[0]),
        "{answers:?}"
    );
    assert_eq!(answers[0].0, 401);
    let after_lock = app
        .store
        .check_login(crate::harness::CITY, MANAGER, STAFF_PASSWORD)
        .await
        .unwrap();
    assert!(
        matches!(after_lock, machi_store::users::LoginOutcome::Locked { .. }),
        "the account is locked even though the page does not say so"
    );
    // A disabled account cannot sign in, and the admin's change is audited.
    let mut admin = app.sign_in(ADMIN).await;
    let response = admin
        .submit(
            "/staff/users",
            &format!("/staff/users/{REVIEWER}"),
            &[
                ("role", "staff"),
                ("department", "kosodate"),
                ("disabled", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let refused = StaffClient::anonymous(app)
        .try_sign_in(REVIEWER, STAFF_PASSWORD)
        .await;
    assert_eq!(refused.status(), 401);
}

fn cookie_value(client: &StaffClient) -> String {
    client
        .cookies
        .iter()
        .find(|(k, _)| k == "machi_staff")
        .map(|(_, v)| v.clone())
        .unwrap()
}

on_both_backends!(sign_in_throttling_sessions_and_csrf);
