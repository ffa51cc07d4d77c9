//! 使用料: a facility's fee paid online through the city's payment provider (the built-in test
//! provider, over its real redirect and signed webhook), never twice; a cancelled booking that
//! was paid shows up for a refund in reconciliation; what cannot be paid says why.

use std::time::Duration;

use super::{book, cancel_on_page, person, slots, with_demo_services};
use crate::harness::{TestApp, CITY};
use crate::on_both_backends;

on_both_backends!(a_facility_fee_is_paid_online_once_and_a_paid_cancellation_is_refunded,);

/// Presses the booking page's "pay" button; the response (a redirect to the provider, or a
/// problem).
async fn press_pay(app: &TestApp, number: &str, code: &str) -> reqwest::Response {
    app.client
        .post(app.url("/payments/start"))
        .form(&[("booking_number", number), ("code", code)])
        .send()
        .await
        .unwrap()
}

/// Pays a booking's fee at the test provider's checkout (the webhook comes at once) and waits
/// until the city has it.
pub(super) async fn pay(app: &TestApp, number: &str, code: &str, amount: &str) {
    let started = press_pay(app, number, code).await;
    assert_eq!(started.status(), 303, "{}", started.text().await.unwrap());
    let checkout = started.headers()["location"].to_str().unwrap().to_string();
    let page = app.get(&checkout).await.text().await.unwrap();
    assert!(page.contains(amount), "the checkout shows {amount}: {page}");
    let paid = app
        .client
        .post(app.url(&checkout))
        .form(&[("outcome", "succeeded"), ("webhook", "on_time")])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    for _ in 0..100 {
        let booking = app.store.booking(CITY, number).await.unwrap().unwrap();
        if booking.fee_paid_at.is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the webhook never marked booking {number} paid");
}

async fn booking_page(app: &TestApp, number: &str, code: &str) -> String {
    app.get(&format!("/bookings/{number}?code={code}"))
        .await
        .text()
        .await
        .unwrap()
}

async fn a_facility_fee_is_paid_online_once_and_a_paid_cancellation_is_refunded(app: &TestApp) {
    with_demo_services(app).await;
    // A week ahead: the rooms can be cancelled online until 48 hours before.
    let week = machi_core::wareki::today_jst() + chrono::Duration::days(7);
    let query = format!("from={week}&to={}", week + chrono::Duration::days(7));
    let (start, _, room) = slots(app, "kaigishitsu", &query).await[0].clone();
    let mut body = person("kaigishitsu", &start, "市民太郎");
    body["resource"] = room.into();
    let (status, made) = book(app, body, None).await;
    assert_eq!(status, 201, "{made}");
    let number = made["booking_number"].as_str().unwrap().to_string();
    let code = made["cancel_code"].as_str().unwrap().to_string();
    assert_eq!(made["fee_yen"], 1500);
    let page = booking_page(app, &number, &code).await;
    assert!(page.contains("使用料を支払う"), "{page}");

    // Someone without the code cannot pay (or learn about) the booking.
    let wrong = press_pay(app, &number, "wrong-code").await;
    assert_eq!(wrong.status(), 404);

    pay(app, &number, &code, "1500").await;
    let page = booking_page(app, &number, &code).await;
    assert!(page.contains("id=\"fee-paid\""), "{page}");
    assert!(!page.contains("使用料を支払う"));
    // A second press leads to the payment made, not to a second charge.
    let again = press_pay(app, &number, &code).await;
    assert_eq!(again.status(), 303);
    assert!(again.headers()["location"]
        .to_str()
        .unwrap()
        .ends_with("/return"));
    let payments = app
        .store
        .payments_of(CITY, machi_store::payments::Payable::Booking(&number))
        .await
        .unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].amount_yen, 1500);
    let returned = app
        .get(&format!("/payments/{}/return", payments[0].id))
        .await
        .text()
        .await
        .unwrap();
    assert!(returned.contains("予約番号") && returned.contains(&number));

    // Staff see it paid on the day's list and in the CSV.
    app.create_staff("sports@shimin.test", "manager", Some("sports"))
        .await;
    let mut staff = app.sign_in("sports@shimin.test").await;
    let day = staff
        .get_html(&format!(
            "/staff/bookings?service=kaigishitsu&date={}",
            &start[..10]
        ))
        .await;
    assert!(day.contains("1,500円（オンラインで支払済）"), "{day}");

    // Cancelled after paying: the resident reads that the refund follows, and reconciliation
    // flags it for the department.
    assert_eq!(cancel_on_page(app, &number, &code).await.status(), 303);
    let page = booking_page(app, &number, &code).await;
    assert!(page.contains("還付"), "{page}");
    let mails = app
        .store
        .claim_deliveries(machi_core::subscriptions::Channel::Email, 100)
        .await
        .unwrap();
    let told = mails
        .iter()
        .find(|m| m.subject.contains("予約を取り消しました"))
        .unwrap();
    assert!(told.body.contains("使用料の還付"), "{}", told.body);
    let reconcile = staff.get_html("/staff/payments").await;
    assert!(reconcile.contains(&number), "{reconcile}");
    assert!(reconcile.contains("予約は取消済み（使用料の還付を確認）"));
    let refused = press_pay(app, &number, &code).await;
    assert_eq!(refused.status(), 409);
    let why = refused.text().await.unwrap();
    assert!(why.contains("取り消された予約"), "the page says why: {why}");

    // A group whose fee is waived in full (障がい者団体 100%減免) reads 0 円 and why; nothing to pay.
    let group = super::lottery::register_with(
        app,
        "group",
        "手話サークル",
        "しゅわさーくる",
        &["shogaisha".into()],
    )
    .await
    .unwrap();
    let mut waived = person("kaigishitsu", &start, "手話サークル");
    waived["resource"] = made["resource"].clone();
    waived["registration"] = group.0.into();
    waived["registration_code"] = group.1.into();
    let (status, waived) = book(app, waived, None).await;
    assert_eq!(
        (status, waived["fee_yen"].clone()),
        (201, 0.into()),
        "{waived}"
    );
    let (number, code) = (
        waived["booking_number"].as_str().unwrap(),
        waived["cancel_code"].as_str().unwrap(),
    );
    let page = booking_page(app, number, code).await;
    assert!(
        page.contains("0円 障がいのある方の団体（100%減免）"),
        "{page}"
    );
    assert!(!page.contains("使用料を支払う") && !page.contains("pay-at-counter"));
    assert_eq!(press_pay(app, number, code).await.status(), 409);

    // A counter appointment has no fee: nothing to pay.
    let counter = slots(app, "tennyu-madoguchi", "").await;
    let (start, _, _) = counter[0].clone();
    let (status, made) = book(app, person("tennyu-madoguchi", &start, "市民花子"), None).await;
    assert_eq!(status, 201, "{made}");
    let free = press_pay(
        app,
        made["booking_number"].as_str().unwrap(),
        made["cancel_code"].as_str().unwrap(),
    )
    .await;
    assert_eq!(free.status(), 409);
}
