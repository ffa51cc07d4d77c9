//! The day-before reminder on the channels the booker chose on the booking's page: this
//! browser's notifications (a push subscription made as browsers make them, decrypted by `ece`
//! at the far end) and LINE (the booking's link message sent to the official account, signed
//! as LINE signs it), besides the e-mail; once each, without the booker's name.

use chrono::NaiveDate;
use machi_core::reservations::reminder_link::{link_message, read_link_message};
use serde_json::json;

use super::{book, person, slots, with_demo_services};
use crate::harness::{TestApp, CITY};
use crate::on_both_backends;
use crate::subscriptions::channels::{check_push, line_enabled_app, line_message};
use crate::subscriptions::FarEnds;

on_both_backends!(the_reminder_goes_to_the_browser_and_line_the_booker_chose,);

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The LINE link message the booking's page shows.
fn shown_line_message(page: &str) -> String {
    page.split("id=\"line-message\">")
        .nth(1)
        .and_then(|rest| rest.split("</strong>").next())
        .unwrap_or_else(|| panic!("no LINE message on the page: {page}"))
        .to_string()
}

async fn the_reminder_goes_to_the_browser_and_line_the_booker_chose(app: &TestApp) {
    with_demo_services(app).await;
    let far = FarEnds::start(app).await;
    let receivers = &far.receivers;
    let line_app = line_enabled_app(app, receivers).await;
    let (start, _, _) = slots(app, "tennyu-madoguchi", "").await[0].clone();
    let day = NaiveDate::parse_from_str(&start[..10], "%Y-%m-%d").unwrap();
    let (status, made) = book(app, person("tennyu-madoguchi", &start, "通知 花子"), None).await;
    assert_eq!(status, 201, "{made}");
    let number = made["booking_number"].as_str().unwrap().to_string();
    let code = made["cancel_code"].as_str().unwrap().to_string();
    let page_url = format!("{line_app}/bookings/{number}?code={code}");
    let page = reqwest::get(&page_url).await.unwrap().text().await.unwrap();
    assert!(page.contains("hanako@example.jp"), "e-mail first: {page}");
    let message = shown_line_message(&page);

    // This browser: the page's script posts its push subscription with the cancel code.
    let (keys, auth) = ece::generate_keypair_and_auth_secret().unwrap();
    let public = keys.pub_as_raw().unwrap();
    let push = |code: &str, p256dh: Vec<u8>| {
        json!({
            "cancel_code": code,
            "endpoint": receivers.url("/push/reminder"),
            "keys": { "p256dh": b64url(&p256dh), "auth": b64url(&auth) },
        })
    };
    let reminders_url = app.url(&format!("/api/v1/bookings/{number}/reminders"));
    let post = |body: serde_json::Value| app.client.post(&reminders_url).json(&body).send();
    assert_eq!(
        post(push("wrong", public.clone())).await.unwrap().status(),
        404
    );
    let bad_keys = post(push(&code, public[..20].to_vec())).await.unwrap();
    assert_eq!(bad_keys.status(), 422);
    assert_eq!(
        bad_keys.headers()["content-type"],
        "application/problem+json"
    );
    let added = post(push(&code, public.clone())).await.unwrap();
    assert_eq!(added.status(), 201);
    let added: serde_json::Value = added.json().await.unwrap();
    assert_eq!(added["channels"], json!(["email", "webpush"]));

    // LINE: a wrong code links nothing and says so; the page's message links the booking.
    let user = "U0123456789abcdef0123456789abcdef";
    let (linked, link_code) = read_link_message(&message).unwrap();
    assert_eq!(linked, number);
    let other_code = if link_code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    line_message(&line_app, user, &link_message(&number, other_code)).await;
    let replies = receivers.wait_for("/line/reply", 1).await;
    assert!(replies[0].json()["messages"][0]["text"]
        .as_str()
        .unwrap()
        .contains("違います"));
    // As a phone might type it: full-width digits.
    let typed: String = message
        .chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap(),
            other => other,
        })
        .collect();
    line_message(&line_app, user, &typed).await;
    let replies = receivers.wait_for("/line/reply", 2).await;
    assert!(
        replies[1].json()["messages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("LINEでもお送りします"),
        "{:?}",
        replies[1].json()
    );
    let page = reqwest::get(&page_url).await.unwrap().text().await.unwrap();
    assert!(page.contains("<li>ブラウザ通知</li>") && page.contains("<li>LINE</li>"));

    // The day before: one reminder on each channel, however often the check runs.
    let sent = app.store.send_booking_reminders(CITY, "デモ市", day).await;
    assert_eq!(sent.unwrap(), 1);
    let again = app.store.send_booking_reminders(CITY, "デモ市", day).await;
    assert_eq!(again.unwrap(), 0);
    let pushed = receivers.wait_for("/push/reminder", 1).await;
    let vapid = app.get_json("/api/v1/subscriptions/vapid-key").await;
    let shown = check_push(
        &pushed[0],
        keys.as_ref(),
        &auth,
        vapid["public_key"].as_str().unwrap(),
        &format!("http://{}", receivers.addr),
    );
    assert!(
        shown["title"].as_str().unwrap().contains("明日は"),
        "{shown}"
    );
    assert!(shown["body"].as_str().unwrap().contains(&number));
    let line = receivers.wait_for("/line/push", 1).await;
    assert_eq!(line[0].json()["to"], user);
    let text = line[0].json()["messages"][0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("明日は") && text.contains(&number), "{text}");
    assert!(
        !text.contains("通知 花子"),
        "no name on a lock screen: {text}"
    );
    let mails = far.sink.wait_for(2).await; // the confirmation, then the reminder
    assert!(mails
        .iter()
        .any(|m| m.subject_and_text().0.contains("明日は")));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(receivers.at("/push/reminder").len(), 1);
    assert_eq!(receivers.at("/line/push").len(), 1);

    // A cancelled booking takes no new place to remind.
    assert_eq!(super::cancel_by_api(app, &number, &code).await, 200);
    assert_eq!(
        post(push(&code, public.clone())).await.unwrap().status(),
        409
    );
    far.stop().await;
}
