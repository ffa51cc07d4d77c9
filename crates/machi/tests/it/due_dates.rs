//! 標準処理期間 in 開庁日: the due date of an application counts the city's office days from the
//! day after it came in (no weekends, national holidays, 年末年始 or the city's own closures),
//! a correction with the resident stops the clock, a decided application is never overdue, and
//! administrators keep the city's closures. (The calendar's own cases — the Friday before a
//! three-day weekend, 12/28 — are in machi-core's calendar tests, on the shipped holidays.)

use chrono::{Duration, NaiveDate, Utc};

use crate::harness::{TestApp, CITY};
use crate::on_both_backends;
use crate::staff::{resident_applies, staff_of_the_demo_city, ADMIN, MANAGER};

/// The processing time of the procedure `resident_applies` uses.
const DAYS: u32 = 14;

fn today() -> NaiveDate {
    machi_store::calendar::jst_date(Utc::now())
}

async fn due_date(app: &TestApp, receipt: &str, code: &str) -> NaiveDate {
    let seen: serde_json::Value = app.status(receipt, code).await.json().await.unwrap();
    NaiveDate::parse_from_str(seen["due_date"].as_str().unwrap(), "%Y-%m-%d").unwrap()
}

async fn due_dates_count_office_days_and_stop_for_corrections(app: &TestApp) {
    staff_of_the_demo_city(app).await;
    let calendar = app.store.calendar(CITY).await.unwrap();
    let (first, code) = resident_applies(app).await;
    let due = due_date(app, &first, &code).await;
    assert_eq!(due, calendar.add_open_days(today(), DAYS));
    assert!(calendar.is_open(due));

    // A closure on the next office day moves the next application's due date by one.
    let closed = calendar.add_open_days(today(), 1);
    let mut admin = app.sign_in(ADMIN).await;
    let bad = admin
        .submit("/staff/calendar", "/staff/calendar", &[("date", "いつか")])
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("href=\"#closure-date\""));
    let date = closed.format("%Y-%m-%d").to_string();
    let added = admin
        .submit(
            "/staff/calendar",
            "/staff/calendar",
            &[("date", date.as_str()), ("name", "庁舎の停電工事")],
        )
        .await;
    assert_eq!(added.status(), 303);
    assert!(admin
        .get_html("/staff/calendar")
        .await
        .contains("庁舎の停電工事"));
    let (second, second_code) = resident_applies(app).await;
    let later = due_date(app, &second, &second_code).await;
    assert_eq!(
        later,
        app.store
            .calendar(CITY)
            .await
            .unwrap()
            .add_open_days(today(), DAYS)
    );
    assert_eq!(
        later,
        calendar.add_open_days(due, 1),
        "one office day later"
    );

    // A correction with the resident for ten days stops the clock for its office days.
    let mut manager = app.sign_in(MANAGER).await;
    let page = format!("/staff/applications/{first}");
    manager
        .submit(
            &page,
            &format!("{page}/status"),
            &[("from", "received"), ("to", "correction_requested")],
        )
        .await;
    let asked = Utc::now() - Duration::days(10);
    let pool = sqlx::AnyPool::connect(&app.database_url()).await.unwrap();
    sqlx::query(
        "UPDATE application_events SET created_at = $1 WHERE receipt_number = $2 AND status = 'correction_requested'",
    )
    .bind(machi_store::format_time(asked))
    .bind(&first)
    .execute(&pool)
    .await
    .unwrap();
    let example = app.procedure("jidou-teate-nintei").await["form"]["schema"]["examples"][0]
        .as_object()
        .unwrap()
        .clone();
    let mut pairs = crate::harness::example_as_pairs(&example);
    for (name, value) in [
        ("receipt_number", first.as_str()),
        ("access_code", code.as_str()),
        ("step", "send"),
    ] {
        pairs.push((name.into(), value.into()));
    }
    let sent = app
        .client
        .post(app.url("/status/correct"))
        .form(&pairs)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let calendar = app.store.calendar(CITY).await.unwrap();
    let stopped = calendar.open_days_between(machi_store::calendar::jst_date(asked), today());
    assert!(stopped >= 5, "ten days hold at least five office days");
    assert_eq!(
        due_date(app, &first, &code).await,
        calendar.add_open_days(due, stopped),
        "moved on by the office days the correction took"
    );

    // Past due: listed while a decision is awaited, never once decided.
    sqlx::query("UPDATE applications SET due_at = '2020-01-01T00:00:00.000000Z'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let overdue = manager.get_html("/staff/inbox?overdue=1").await;
    assert!(overdue.contains(&second) && overdue.contains(&first));
    let second_page = format!("/staff/applications/{second}");
    for (from, to) in [("received", "in_review"), ("in_review", "approved")] {
        let changed = manager
            .submit(
                &second_page,
                &format!("{second_page}/status"),
                &[("from", from), ("to", to)],
            )
            .await;
        assert_eq!(changed.status(), 303);
    }
    let overdue = manager.get_html("/staff/inbox?overdue=1").await;
    assert!(
        !overdue.contains(&format!(">{second}<")),
        "approved is never overdue"
    );
}

async fn the_cabinet_office_list_replaces_the_national_holidays(app: &TestApp) {
    let file = app.db.data_dir.path().join("syukujitsu.csv");
    let list =
        "国民の祝日・休日月日,国民の祝日・休日名称\r\n2028/1/1,元日\r\n2028/1/10,成人の日\r\n";
    std::fs::write(&file, encoding_rs::SHIFT_JIS.encode(list).0).unwrap();
    let imported = app
        .db
        .machi()
        .args(["import", "calendar"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(imported.status.success(), "{imported:?}");
    let national = app.store.days_off("", false).await.unwrap();
    assert_eq!(national.len(), 2);
    std::fs::write(&file, "見出し\n2028/13/1,x\n").unwrap();
    let refused = app
        .db
        .machi()
        .args(["import", "calendar"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("line 2"));
    assert_eq!(
        app.store.days_off("", false).await.unwrap().len(),
        2,
        "nothing changed"
    );
}

on_both_backends!(
    due_dates_count_office_days_and_stop_for_corrections,
    the_cabinet_office_list_replaces_the_national_holidays,
);
