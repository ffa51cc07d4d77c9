//! Fees through the built-in test provider, over the real redirect flow and real signed
//! webhooks: success, failure, cancel, late webhook, duplicate webhook, forged webhook, and
//! never charging twice.

use std::time::Duration;

use serde_json::Value;

use crate::harness::{TestApp, CITY};
use crate::on_both_backends;

const FEE_PROCEDURE: &str = "juminhyo";

struct Applied {
    receipt: String,
    code: String,
}

async fn apply(app: &TestApp) -> Applied {
    let response = app.apply_example(FEE_PROCEDURE).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    Applied {
        receipt: created["receipt_number"].as_str().unwrap().into(),
        code: created["access_code"].as_str().unwrap().into(),
    }
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

/// Presses "pay": returns where the browser is sent (the provider's checkout).
async fn start(app: &TestApp, applied: &Applied) -> String {
    let response = app
        .client
        .post(app.url("/payments/start"))
        .form(&[
            ("receipt_number", applied.receipt.as_str()),
            ("access_code", applied.code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    location(&response)
}

/// At the test checkout, chooses an outcome; returns the return URL the browser is sent to.
async fn checkout(app: &TestApp, checkout_path: &str, outcome: &str, webhook: &str) -> String {
    let page = app.get(checkout_path).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("300"));
    let response = app
        .client
        .post(app.url(checkout_path))
        .form(&[("outcome", outcome), ("webhook", webhook)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let back = location(&response);
    assert!(
        back.starts_with("http://") && back.contains("/payments/pay_"),
        "{back}"
    );
    back
}

async fn return_page(app: &TestApp, url: &str) -> String {
    let response = app.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

async fn payments(app: &TestApp, receipt: &str) -> Vec<machi_store::payments::Payment> {
    app.store
        .payments_of(CITY, machi_store::payments::Payable::Application(receipt))
        .await
        .unwrap()
}

async fn wait_until_paid(app: &TestApp, receipt: &str) {
    for _ in 0..100 {
        if payments(app, receipt)
            .await
            .iter()
            .any(|p| p.state.as_str() == "paid")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the webhook never marked {receipt} paid");
}

async fn audit_count(app: &TestApp, receipt: &str, action: &str) -> usize {
    app.store
        .audit_entries(
            CITY,
            &machi_store::audit::AuditQuery {
                subject: receipt.into(),
                action: action.into(),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .len()
}

/// 住民票の写し is 1通300円: three copies cost ¥900, which the resident sees and is charged.
async fn a_fee_per_copy_is_charged_for_every_copy(app: &TestApp) {
    let created: Value = app
        .apply_example_with(FEE_PROCEDURE, serde_json::json!({"copies": 3}))
        .await
        .json()
        .await
        .unwrap();
    let applied = Applied {
        receipt: created["receipt_number"].as_str().unwrap().into(),
        code: created["access_code"].as_str().unwrap().into(),
    };
    let status = app.status_page(&applied.receipt, &applied.code).await;
    assert!(
        status.contains("900円（300円×3通）"),
        "the total before paying"
    );
    let page = app.get("/procedures/juminhyo").await.text().await.unwrap();
    assert!(page.contains("1通300円"));
    assert!(
        page.contains("減免: 生活保護の申請・受給の手続に使うもの"),
        "{page}"
    );
    let checkout = start(app, &applied).await;
    checkout_shows(app, &checkout, "900").await;
    let started = payments(app, &applied.receipt).await;
    assert_eq!(started[0].amount_yen, 900);
}

/// 減免: a 住民票 for a 生活保護 procedure is free; the resident reads why, and nothing is charged.
async fn an_exemption_waives_the_fee_and_says_why(app: &TestApp) {
    let created: Value = app
        .apply_example_with(
            FEE_PROCEDURE,
            serde_json::json!({"copies": 2, "purpose": "welfare"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let receipt = created["receipt_number"].as_str().unwrap();
    let code = created["access_code"].as_str().unwrap();
    let status = app.status_page(receipt, code).await;
    assert!(status.contains("id=\"fee-waived\""), "{status}");
    assert!(
        status.contains("0円（300円×2通、減免: 生活保護"),
        "{status}"
    );
    assert!(!status.contains("/payments/start"), "nothing to pay");
    let response = app
        .client
        .post(app.url("/payments/start"))
        .form(&[("receipt_number", receipt), ("access_code", code)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(payments(app, receipt).await.is_empty());
}

async fn checkout_shows(app: &TestApp, checkout: &str, amount: &str) {
    let path = checkout.trim_start_matches(&app.url(""));
    let page = app.get(path).await.text().await.unwrap();
    assert!(page.contains(amount), "{page}");
}

async fn a_webhook_marks_the_fee_paid_and_the_resident_sees_it(app: &TestApp) {
    let applied = apply(app).await;
    let to_checkout = start(app, &applied).await;
    assert!(to_checkout.starts_with("/test-pay/cs_test_"));
    let back = checkout(app, &to_checkout, "succeeded", "on_time").await;
    wait_until_paid(app, &applied.receipt).await;
    assert!(return_page(app, &back)
        .await
        .contains("お支払いが完了しました"));
    let status: Value = app
        .status(&applied.receipt, &applied.code)
        .await
        .json()
        .await
        .unwrap();
    let last = status["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "message");
    assert!(last["note"]["ja"].as_str().unwrap().contains("300 円"));
    assert_eq!(audit_count(app, &applied.receipt, "payment.paid").await, 1);

    // Paying again is not possible: the browser is sent to the paid payment.
    let again = start(app, &applied).await;
    assert!(again.contains("/return"), "{again}");
    assert_eq!(payments(app, &applied.receipt).await.len(), 1);
    // The checkout cannot be settled a second time either.
    let replay = app
        .client
        .post(app.url(&to_checkout))
        .form(&[("outcome", "failed"), ("webhook", "on_time")])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 303);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        payments(app, &applied.receipt).await[0].state.as_str(),
        "paid"
    );
}

async fn failure_and_cancel_then_a_new_attempt(app: &TestApp) {
    let applied = apply(app).await;
    let back = checkout(app, &start(app, &applied).await, "failed", "never").await;
    let page = return_page(app, &back).await;
    assert!(
        page.contains("支払いできませんでした"),
        "asked the provider itself"
    );
    let back = checkout(app, &start(app, &applied).await, "cancelled", "on_time").await;
    assert!(return_page(app, &back)
        .await
        .contains("支払いを中止しました"));
    let back = checkout(app, &start(app, &applied).await, "succeeded", "never").await;
    assert!(return_page(app, &back)
        .await
        .contains("お支払いが完了しました"));
    let states: Vec<String> = payments(app, &applied.receipt)
        .await
        .iter()
        .map(|p| p.state.as_str().to_string())
        .collect();
    assert_eq!(states, ["failed", "cancelled", "paid"]);
}

async fn late_and_duplicate_webhooks_change_nothing_twice(app: &TestApp) {
    let late = apply(app).await;
    let back = checkout(app, &start(app, &late).await, "succeeded", "late").await;
    // Back before the webhook: the return page asks the provider and shows it paid.
    assert!(return_page(app, &back)
        .await
        .contains("お支払いが完了しました"));
    let twice = apply(app).await;
    checkout(app, &start(app, &twice).await, "succeeded", "twice").await;
    wait_until_paid(app, &twice.receipt).await;
    tokio::time::sleep(Duration::from_millis(3000)).await;
    for applied in [&late, &twice] {
        assert_eq!(payments(app, &applied.receipt).await.len(), 1);
        assert_eq!(audit_count(app, &applied.receipt, "payment.paid").await, 1);
    }
}

async fn forged_webhooks_are_refused(app: &TestApp) {
    let applied = apply(app).await;
    start(app, &applied).await;
    let payment = &payments(app, &applied.receipt).await[0];
    let body = serde_json::json!({
        "event_id": "evt_forged",
        "session_id": payment.provider_ref,
        "order_id": payment.id,
        "tenant": CITY,
        "outcome": "succeeded",
    })
    .to_string();
    let now = chrono::Utc::now().timestamp();
    for signature in [
        None,
        Some(format!("t={now},v1={}", "00".repeat(32))),
        Some(format!("t={},v1={}", now - 3600, "00".repeat(32))),
        Some("garbage".to_string()),
    ] {
        let mut request = app
            .client
            .post(app.url("/api/v1/payments/webhooks/test"))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(signature) = &signature {
            request = request.header("machi-test-signature", signature);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{signature:?}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    assert_eq!(
        payments(app, &applied.receipt).await[0].state.as_str(),
        "pending"
    );
    let unknown = app
        .client
        .post(app.url("/api/v1/payments/webhooks/stripe"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

async fn two_clicks_make_one_payment(app: &TestApp) {
    let applied = apply(app).await;
    let (a, b) = tokio::join!(start(app, &applied), start(app, &applied));
    assert_eq!(a, b, "both clicks continue the same checkout");
    assert_eq!(payments(app, &applied.receipt).await.len(), 1);
    // Staff see it in reconciliation.
    app.create_staff("kacho@shimin.test", "manager", Some("shimin"))
        .await;
    let mut manager = app.sign_in("kacho@shimin.test").await;
    let page = manager.get_html("/staff/payments").await;
    assert!(page.contains(&applied.receipt));
    let detail = manager
        .get_html(&format!("/staff/applications/{}", applied.receipt))
        .await;
    assert!(detail.contains("手数料未納"));
}

on_both_backends!(
    a_fee_per_copy_is_charged_for_every_copy,
    an_exemption_waives_the_fee_and_says_why,
    a_webhook_marks_the_fee_paid_and_the_resident_sees_it,
    failure_and_cancel_then_a_new_attempt,
    late_and_duplicate_webhooks_change_nothing_twice,
    forged_webhooks_are_refused,
    two_clicks_make_one_payment,
    without_a_provider_fees_are_paid_at_the_counter,
);

/// machi as a city runs it without `--payments-test-provider`: nobody can mark a fee paid.
async fn without_a_provider_fees_are_paid_at_the_counter(app: &TestApp) {
    let applied = apply(app).await;
    let base = app.serve_beside(|state| state).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let refused = client
        .post(format!("{base}/payments/start"))
        .form(&[
            ("receipt_number", applied.receipt.as_str()),
            ("access_code", applied.code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("窓口でお支払いください"));
    assert!(payments(app, &applied.receipt).await.is_empty());

    // The test provider's pages and webhook are not there.
    let checkout = start(app, &applied).await;
    let path = checkout.trim_start_matches(&app.url(""));
    let page = client.get(format!("{base}{path}")).send().await.unwrap();
    assert_eq!(page.status(), 404, "{path}");
    let webhook = client
        .post(format!("{base}/api/v1/payments/webhooks/test"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status(), 404);
}
