//! 来庁予約: a procedure that asks for a visit (転入予約) leads from the application's status
//! page to a counter slot; the booking is tied to the application only with the key its page
//! gives, and the status page shows the slot booked.

use serde_json::Value;

use super::with_demo_services;
use crate::harness::{TestApp, CITY};
use crate::on_both_backends;

on_both_backends!(
    an_application_books_its_visit_at_the_counter,
    a_collection_day_is_booked_only_from_its_application,
);

/// The first link in `page` that starts with `prefix`, unescaped.
fn link(page: &str, prefix: &str) -> String {
    page.split("href=\"")
        .skip(1)
        .map(|s| {
            s.split('"')
                .next()
                .unwrap()
                .replace("&#38;", "&")
                .replace("&amp;", "&")
        })
        .find(|href| href.starts_with(prefix))
        .unwrap_or_else(|| panic!("no link to {prefix}: {page}"))
}

async fn an_application_books_its_visit_at_the_counter(app: &TestApp) {
    with_demo_services(app).await;
    let response = app.apply_example("tennyu-yoyaku").await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let receipt = created["receipt_number"].as_str().unwrap();
    let code = created["access_code"].as_str().unwrap();
    let status = app.status_page(receipt, code).await;
    assert!(status.contains("来庁の予約"), "{status}");
    let to_service = link(&status, "/reservations/tennyu-madoguchi?application=");
    assert!(
        !to_service.contains(code),
        "the access code stays out of the link"
    );
    let service = app.get(&to_service).await.text().await.unwrap();
    let to_form = link(&service, "/reservations/tennyu-madoguchi/book");
    assert!(
        to_form.contains(&format!("application={receipt}")),
        "{to_form}"
    );
    let form = app.get(&to_form).await.text().await.unwrap();
    assert!(form.contains(receipt), "the form says whose visit: {form}");
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(to_form.split_once('?').unwrap().1).unwrap();
    let mut fields = query.clone();
    fields.extend([
        ("name".to_string(), "青木 翼".to_string()),
        ("email".to_string(), "tsubasa.aoki@example.jp".to_string()),
    ]);
    // A key that is not the application's is refused: nothing is booked for it.
    let forged: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if k == "key" {
                    "0".repeat(16)
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    let refused = app
        .client
        .post(app.url("/reservations/tennyu-madoguchi/book"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
    assert!(app
        .store
        .booking_for_application(CITY, receipt)
        .await
        .unwrap()
        .is_none());
    let booked = app
        .client
        .post(app.url("/reservations/tennyu-madoguchi/book"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(booked.status(), 303);
    let booking = app
        .store
        .booking_for_application(CITY, receipt)
        .await
        .unwrap()
        .expect("the visit is tied to the application");
    let status = app.status_page(receipt, code).await;
    assert!(
        status.contains("visit-booked") && status.contains(&booking.number),
        "{status}"
    );
    assert!(
        !status.contains("/reservations/tennyu-madoguchi?application="),
        "{status}"
    );
}

async fn a_collection_day_is_booked_only_from_its_application(app: &TestApp) {
    with_demo_services(app).await;
    // Without an application, the collection day cannot be booked (nothing to collect).
    let (start, _, _) = super::slots(app, "sodai-gomi-shushu", "").await[0].clone();
    let (status, problem) = super::book(
        app,
        super::person("sodai-gomi-shushu", &start, "斎藤 由紀"),
        None,
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    // The application's status page leads to it.
    let created: Value = app.apply_example("sodai-gomi").await.json().await.unwrap();
    let receipt = created["receipt_number"].as_str().unwrap();
    let code = created["access_code"].as_str().unwrap();
    let status = app.status_page(receipt, code).await;
    let to_service = link(&status, "/reservations/sodai-gomi-shushu?application=");
    let service = app.get(&to_service).await.text().await.unwrap();
    assert!(service.contains("1日40件"), "{service}");
    link(&service, "/reservations/sodai-gomi-shushu/book");
}
