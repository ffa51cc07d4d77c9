//! 予約: booking, changing and cancelling through the API and the pages; a full slot refuses
//! the next booking, also under a rush; 開庁日, the booking window and the cancellation
//! deadline hold; the iCalendar files parse with a client nobody at machi wrote.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use serde_json::{json, Value};

use crate::harness::{TestApp, CITY};
use crate::on_both_backends;

mod fees;
mod lottery;
mod reminders;
mod staff;
mod visits;

on_both_backends!(
    a_resident_books_changes_and_cancels_a_counter_slot,
    closed_days_the_window_and_bad_requests_are_refused,
    a_rush_never_fills_a_slot_past_its_capacity,
    the_cancellation_deadline_holds,
    a_resident_books_and_cancels_on_the_pages_without_javascript,
    an_independent_client_reads_the_calendar_files,
    the_day_before_each_booking_gets_one_reminder,
);

async fn with_demo_services(app: &TestApp) {
    let services =
        machi_core::reservations::parse_services(include_bytes!("../../demo/services.yaml"))
            .unwrap();
    app.store.save_services(CITY, &services).await.unwrap();
}

/// The slots of a service, `(start, available, resource)`.
async fn slots(app: &TestApp, service: &str, query: &str) -> Vec<(String, u64, Option<String>)> {
    let page = app
        .get_json(&format!("/api/v1/services/{service}/slots?{query}"))
        .await;
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}"))
        .iter()
        .map(|s| {
            (
                s["start"].as_str().unwrap().to_string(),
                s["available"].as_u64().unwrap(),
                s["resource"].as_str().map(str::to_string),
            )
        })
        .collect()
}

async fn book(app: &TestApp, body: Value, key: Option<&str>) -> (u16, Value) {
    let mut request = app.client.post(app.url("/api/v1/bookings")).json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn person(service: &str, start: &str, name: &str) -> Value {
    json!({"service": service, "start": start, "name": name, "email": "hanako@example.jp"})
}

/// Cancels through the API with the cancel code; the status.
async fn cancel_by_api(app: &TestApp, number: &str, code: &str) -> u16 {
    app.client
        .delete(app.url(&format!("/api/v1/bookings/{number}?cancel_code={code}")))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Presses the booking page's cancel button.
async fn cancel_on_page(app: &TestApp, number: &str, code: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/bookings/{number}/cancel")))
        .form(&[("code", code)])
        .send()
        .await
        .unwrap()
}

async fn available_at(app: &TestApp, service: &str, start: &str) -> u64 {
    let day = &start[..10];
    slots(app, service, &format!("from={day}&to={day}"))
        .await
        .into_iter()
        .find(|(s, _, _)| s == start)
        .map_or(0, |(_, left, _)| left)
}

async fn a_resident_books_changes_and_cancels_a_counter_slot(app: &TestApp) {
    with_demo_services(app).await;
    let services = app.get_json("/api/v1/services").await;
    assert_eq!(services["items"].as_array().unwrap().len(), 7, "{services}");
    let open = slots(app, "tennyu-madoguchi", "").await;
    let (first, left, _) = open[0].clone();
    let second = open[1].0.clone();
    assert_eq!(left, 2, "two counters");
    let (status, made) = book(
        app,
        person("tennyu-madoguchi", &first, "山田 花子"),
        Some("k-1"),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let number = made["booking_number"].as_str().unwrap().to_string();
    let code = made["cancel_code"].as_str().unwrap().to_string();
    assert_eq!(made["start"], first.as_str());
    assert!(made["manage_url"].as_str().unwrap().contains(&code));
    // The same request again (a retry) is the same booking, not a second one.
    let (status, again) = book(
        app,
        person("tennyu-madoguchi", &first, "山田 花子"),
        Some("k-1"),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["booking_number"], number.as_str());
    assert_eq!(available_at(app, "tennyu-madoguchi", &first).await, 1);
    // The second counter takes the next person; the third is refused.
    let (status, _) = book(app, person("tennyu-madoguchi", &first, "B"), None).await;
    assert_eq!(status, 201);
    let (status, full) = book(app, person("tennyu-madoguchi", &first, "C"), None).await;
    assert_eq!(status, 409, "{full}");
    assert_eq!(available_at(app, "tennyu-madoguchi", &first).await, 0);
    // Changed to the next slot: the first has room again.
    let changed = app
        .client
        .patch(app.url(&format!("/api/v1/bookings/{number}")))
        .json(&json!({"cancel_code": code, "start": second}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["start"], second.as_str(), "{changed}");
    assert_eq!(available_at(app, "tennyu-madoguchi", &first).await, 1);
    assert_eq!(available_at(app, "tennyu-madoguchi", &second).await, 1);
    // A wrong code says nothing; the right one cancels, twice is no error.
    let cancel = |code: String| {
        let url = app.url(&format!("/api/v1/bookings/{number}?cancel_code={code}"));
        async move { app.client.delete(url).send().await.unwrap() }
    };
    assert_eq!(cancel("0000".into()).await.status(), 404);
    for _ in 0..2 {
        let cancelled = cancel(code.clone()).await;
        assert_eq!(cancelled.status(), 200);
        let body: Value = cancelled.json().await.unwrap();
        assert_eq!(body["state"], "cancelled");
    }
    assert_eq!(available_at(app, "tennyu-madoguchi", &second).await, 2);
    // Each booking made sent its confirmation (no SMTP here: it waits in the outbox).
    assert!(app.store.unsent_mail().await.unwrap() >= 2);
}

/// The first date from `from` on that is `weekday`.
fn next(from: NaiveDate, weekday: Weekday) -> NaiveDate {
    let mut date = from;
    while date.weekday() != weekday {
        date += Duration::days(1);
    }
    date
}

fn today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&machi_core::wareki::jst())
        .date_naive()
}

async fn closed_days_the_window_and_bad_requests_are_refused(app: &TestApp) {
    with_demo_services(app).await;
    let saturday = next(today() + Duration::days(1), Weekday::Sat);
    let beyond = next(today() + Duration::days(31), Weekday::Wed);
    let weekday = next(today() + Duration::days(2), Weekday::Wed);
    for (start, why) in [
        (format!("{saturday}T09:00:00+09:00"), "a Saturday"),
        (
            format!("{beyond}T09:00:00+09:00"),
            "after the 30-day window",
        ),
        (
            format!("{weekday}T09:15:00+09:00"),
            "not on the 30-minute grid",
        ),
        (format!("{weekday}T12:00:00+09:00"), "the lunch hour"),
        (
            format!("{}T09:00:00+09:00", today()),
            "today (from tomorrow on)",
        ),
    ] {
        let (status, problem) = book(app, person("tennyu-madoguchi", &start, "X"), None).await;
        assert_eq!(status, 409, "{why}: {problem}");
    }
    // The slots listed skip the weekend.
    let listed = slots(
        app,
        "tennyu-madoguchi",
        &format!("from={saturday}&to={saturday}"),
    )
    .await;
    assert!(listed.is_empty(), "{listed:?}");
    // A facility opens on Saturdays, and needs the room named.
    let (status, problem) = book(
        app,
        person("taiikukan", &format!("{saturday}T09:00:00+09:00"), "X"),
        None,
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    let mut named = person("taiikukan", &format!("{saturday}T09:00:00+09:00"), "X");
    named["resource"] = json!("arena-1");
    let (number, code) = lottery::register(app, "group", "体育協会", "たいいく")
        .await
        .unwrap();
    named["registration"] = json!(number);
    named["registration_code"] = json!(code);
    assert_eq!(book(app, named, None).await.0, 201);
    // Bad input: each a problem naming what is wrong.
    let start = format!("{weekday}T09:00:00+09:00");
    let (status, problem) = book(
        app,
        json!({"service": "tennyu-madoguchi", "start": start, "name": "", "email": "no"}),
        None,
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(pointers, ["/name", "/email"], "{problem}");
    assert_eq!(
        book(app, person("no-such-service", &start, "X"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        book(app, person("tennyu-madoguchi", "tomorrow", "X"), None)
            .await
            .0,
        422
    );
    let mut extra = person("tennyu-madoguchi", &start, "X");
    extra["surprise"] = json!(1);
    assert_eq!(book(app, extra, None).await.0, 400);
    let bad_key = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("Idempotency-Key", "")
        .json(&person("tennyu-madoguchi", &start, "X"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_key.status(), 400);
    let bad_range = app
        .get("/api/v1/services/tennyu-madoguchi/slots?from=2026-01-01&to=2026-12-31")
        .await;
    assert_eq!(bad_range.status(), 422);
    assert_eq!(app.get("/api/v1/services/nope/slots").await.status(), 404);
}

async fn a_rush_never_fills_a_slot_past_its_capacity(app: &TestApp) {
    with_demo_services(app).await;
    // The card desk takes three at a time; forty try the same slot at once.
    let (start, left, _) = slots(app, "mynumber-card-koufu", "").await[0].clone();
    assert_eq!(left, 3);
    let attempts = (0..40).map(|i| {
        let body = person("mynumber-card-koufu", &start, &format!("person {i}"));
        async move { book(app, body, None).await.0 }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let booked = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((booked, refused), (3, 37), "{statuses:?}");
    assert_eq!(available_at(app, "mynumber-card-koufu", &start).await, 0);
}

async fn the_cancellation_deadline_holds(app: &TestApp) {
    with_demo_services(app).await;
    // The gymnasium takes cancellations until 72 hours before: its first slot is sooner.
    let (start, _, resource) = slots(app, "taiikukan", "").await[0].clone();
    let mut body = person("taiikukan", &start, "体育協会");
    body["resource"] = json!(resource);
    let (number, code) = lottery::register(app, "group", "体育協会", "たいいく")
        .await
        .unwrap();
    body["registration"] = json!(number);
    body["registration_code"] = json!(code);
    let (status, made) = book(app, body, None).await;
    assert_eq!(status, 201, "{made}");
    let number = made["booking_number"].as_str().unwrap();
    let code = made["cancel_code"].as_str().unwrap();
    assert_eq!(cancel_by_api(app, number, code).await, 409);
    let page = app
        .get(&format!("/bookings/{number}?code={code}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("72時間前まで"), "{page}");
    assert!(!page.contains("この予約を取り消す"));
}

async fn a_resident_books_and_cancels_on_the_pages_without_javascript(app: &TestApp) {
    with_demo_services(app).await;
    let list = app.get("/reservations").await.text().await.unwrap();
    assert!(list.contains("子育て相談"), "{list}");
    let page = app
        .get("/reservations/kosodate-soudan")
        .await
        .text()
        .await
        .unwrap();
    let link = page
        .split("href=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().replace("&#38;", "&"))
        .find(|href| href.starts_with("/reservations/kosodate-soudan/book"))
        .unwrap_or_else(|| panic!("no time to book: {page}"));
    let form = app.get(&link).await.text().await.unwrap();
    assert!(form.contains("この内容で予約する"), "{form}");
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(link.split_once('?').unwrap().1).unwrap();
    let mut fields = query.clone();
    fields.extend([
        ("name".into(), "山田 花子".into()),
        ("email".into(), "hanako@example.jp".into()),
        ("note".into(), "保育園のこと".into()),
    ]);
    let made = app
        .client
        .post(app.url("/reservations/kosodate-soudan/book"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 303);
    let location = made.headers()["location"].to_str().unwrap().to_string();
    let booking = app.get(&location).await.text().await.unwrap();
    assert!(booking.contains("予約しました"), "{booking}");
    let (number, code) = {
        let rest = location.trim_start_matches("/bookings/");
        let (number, query) = rest.split_once('?').unwrap();
        let code = query.split('&').next().unwrap().trim_start_matches("code=");
        (number.to_string(), code.to_string())
    };
    // Without its code, the booking is not shown.
    assert_eq!(app.get(&format!("/bookings/{number}")).await.status(), 404);
    let cancelled = cancel_on_page(app, &number, &code).await;
    assert_eq!(cancelled.status(), 303);
    let after = app
        .get(cancelled.headers()["location"].to_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert!(after.contains("予約を取り消しました"), "{after}");
    // The same form, sent with mistakes, names them.
    let mut wrong = query;
    wrong.extend([("name".into(), String::new()), ("email".into(), "x".into())]);
    let refused = app
        .client
        .post(app.url("/reservations/kosodate-soudan/book"))
        .form(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let text = refused.text().await.unwrap();
    assert!(text.contains("href=\"#email\""), "{text}");
}

async fn an_independent_client_reads_the_calendar_files(app: &TestApp) {
    with_demo_services(app).await;
    let sink = crate::smtp_sink::SmtpSink::start().await;
    let mailer = sink.workers(&app.store);
    let (start, _, resource) = slots(app, "kaigishitsu", "").await[0].clone();
    let mut body = person("kaigishitsu", &start, "秘密の名前");
    body["resource"] = json!(resource);
    let (status, made) = book(app, body, None).await;
    assert_eq!(status, 201, "{made}");
    let local = NaiveDateTime::parse_from_str(&start[..19], "%Y-%m-%dT%H:%M:%S").unwrap();
    let utc = (local - Duration::hours(9))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    // The confirmation arrives over SMTP with the booking's file attached, as a mail client
    // reads it (mail-parser).
    use mail_parser::MimeHeaders;
    let mail = sink.wait_for(1).await.remove(0);
    let message = mail_parser::MessageParser::default()
        .parse(mail.data.as_bytes())
        .unwrap();
    let attached = message
        .attachments()
        .find(|part| {
            part.content_type()
                .is_some_and(|t| t.subtype() == Some("calendar"))
        })
        .expect("the booking's calendar file is attached");
    let dir = tempfile::tempdir().unwrap();
    let attached_path = dir.path().join("booking.ics");
    std::fs::write(&attached_path, attached.contents()).unwrap();
    mailer.shutdown().await;
    sink.stop();
    let Ok(python) = std::env::var("MACHI_TEST_CKANAPI") else {
        eprintln!("MACHI_TEST_CKANAPI is not set: icalendar_client.py is skipped");
        return;
    };
    let script = format!(
        "{}/tests/clients/icalendar_client.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let output = tokio::process::Command::new(python)
        .arg(script)
        .arg(made["ics_url"].as_str().unwrap())
        .arg(utc)
        .arg(app.url("/reservations/kaigishitsu/calendar.ics"))
        .arg("秘密の名前")
        .arg(&attached_path)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "icalendar_client.py failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn the_day_before_each_booking_gets_one_reminder(app: &TestApp) {
    with_demo_services(app).await;
    // The counter takes changes until 2 hours before: its first slot may be tomorrow.
    let (start, _, _) = slots(app, "tennyu-madoguchi", "").await[0].clone();
    let day = NaiveDate::parse_from_str(&start[..10], "%Y-%m-%d").unwrap();
    let (status, made) = book(app, person("tennyu-madoguchi", &start, "受取 花子"), None).await;
    assert_eq!(status, 201, "{made}");
    let before = app.store.unsent_mail().await.unwrap();
    let sent = app
        .store
        .send_booking_reminders(CITY, "デモ市", day)
        .await
        .unwrap();
    assert_eq!(sent, 1);
    // Checked again (every few hours, on every node): nothing more.
    assert_eq!(
        app.store
            .send_booking_reminders(CITY, "デモ市", day)
            .await
            .unwrap(),
        0
    );
    assert_eq!(app.store.unsent_mail().await.unwrap(), before + 1);
    // Moved to another day, it is reminded again for that day; cancelled, never.
    let number = made["booking_number"].as_str().unwrap();
    let code = made["cancel_code"].as_str().unwrap();
    let later = slots(
        app,
        "tennyu-madoguchi",
        &format!("from={}", day + Duration::days(1)),
    )
    .await
    .into_iter()
    .find(|s| !s.0.starts_with(&start[..10]))
    .unwrap()
    .0;
    let moved = app
        .client
        .patch(app.url(&format!("/api/v1/bookings/{number}")))
        .json(&json!({"cancel_code": code, "start": later}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    let later_day = NaiveDate::parse_from_str(&later[..10], "%Y-%m-%d").unwrap();
    assert_eq!(
        app.store
            .send_booking_reminders(CITY, "デモ市", later_day)
            .await
            .unwrap(),
        1
    );
    assert_eq!(cancel_by_api(app, number, code).await, 200);
    // Booked, changed and cancelled each told the resident; two reminders went out.
    assert_eq!(app.store.unsent_mail().await.unwrap(), before + 4);
}
