//! Bookings in the staff console: a department sees its services' day with each booking, books
//! a visitor at the counter, cancels for a resident who called, exports the week as Shift_JIS
//! CSV; another department's staff see none of it; every change is in the audit log.

use machi_core::plans::metric::Metric;
use serde_json::Value;

use super::{book, person, slots, with_demo_services};
use crate::harness::{TestApp, CITY};
use crate::on_both_backends;

on_both_backends!(
    staff_see_the_day_book_a_visitor_cancel_and_export,
    a_day_closed_cancels_its_bookings_and_tells_each_booker,
);

const SHIMIN: &str = "madoguchi@shimin.test";
const KOSODATE: &str = "tanto@kosodate.test";

async fn staff_see_the_day_book_a_visitor_cancel_and_export(app: &TestApp) {
    with_demo_services(app).await;
    app.create_staff(SHIMIN, "counter", Some("shimin")).await;
    app.create_staff(KOSODATE, "staff", Some("kosodate")).await;
    let (start, _, _) = slots(app, "tennyu-madoguchi", "").await[0].clone();
    let day = &start[..10];
    let (status, made) = book(app, person("tennyu-madoguchi", &start, "転入 太郎"), None).await;
    assert_eq!(status, 201, "{made}");
    let number = made["booking_number"].as_str().unwrap().to_string();

    let mut staff = app.sign_in(SHIMIN).await;
    let page_path = format!("/staff/bookings?service=tennyu-madoguchi&date={day}");
    let page = staff.get_html(&page_path).await;
    assert!(
        page.contains("転入 太郎") && page.contains(&number),
        "{page}"
    );
    assert!(
        !page.contains("子育て相談"),
        "only the department's services: {page}"
    );

    // A visitor at the counter takes the other counter at the same time.
    let slot = format!("{}|", &start[..16]);
    let booked = staff
        .submit(
            &page_path,
            "/staff/bookings/new",
            &[
                ("service", "tennyu-madoguchi"),
                ("slot", &slot),
                ("name", "窓口 花子"),
                ("phone", "06-1234-5678"),
                ("email", ""),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(booked.status(), 303);
    let after = staff.get_html(&page_path).await;
    assert!(after.contains("窓口 花子"), "{after}");
    let left = slots(app, "tennyu-madoguchi", &format!("from={day}&to={day}")).await;
    assert_eq!(left.iter().find(|s| s.0 == start).map(|s| s.1), Some(0));
    // The plans' live KPIs: one of this month's two bookings was made online; two places of
    // the slots' month are taken.
    let kpi = |metric, month: String| async move {
        app.store.metric_value(CITY, metric, &month).await.unwrap()
    };
    let this_month = machi_store::plans::metrics::current_month();
    assert_eq!(
        kpi(Metric::OnlineBookingShare, this_month).await,
        Some(50.0)
    );
    let used = kpi(Metric::BookingUtilisation, start[..7].to_string())
        .await
        .unwrap();
    assert!(
        used > 0.0 && used < 1.0,
        "two places of a month of slots: {used}"
    );

    // Cancelled for the resident who called: the slot has room again.
    let cancelled = staff
        .submit(
            &page_path,
            &format!("/staff/bookings/{number}/cancel"),
            &[("service", "tennyu-madoguchi"), ("date", day)],
        )
        .await;
    assert_eq!(cancelled.status(), 303);
    let left = slots(app, "tennyu-madoguchi", &format!("from={day}&to={day}")).await;
    assert_eq!(left.iter().find(|s| s.0 == start).map(|s| s.1), Some(1));
    // Not started yet: it cannot be marked a no-show.
    let early = staff
        .submit(
            &page_path,
            &format!("/staff/bookings/{number}/no-show"),
            &[("service", "tennyu-madoguchi"), ("date", day)],
        )
        .await;
    assert_eq!(early.status(), 409);

    // The week as Shift_JIS CSV, each booking a row.
    let csv = staff
        .get(&format!(
            "/staff/bookings.csv?service=tennyu-madoguchi&from={day}&encoding=sjis"
        ))
        .await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=Shift_JIS");
    let bytes = csv.bytes().await.unwrap();
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad);
    assert!(text.starts_with("予約番号,予約,場所,開始"), "{text}");
    assert!(
        text.contains("窓口 花子") && text.contains("取消"),
        "{text}"
    );

    // Another department sees none of 市民課's bookings.
    let mut other = app.sign_in(KOSODATE).await;
    let theirs = other.get_html(&page_path).await;
    assert!(!theirs.contains("転入 太郎"), "{theirs}");
    let foreign = other
        .submit(
            "/staff/bookings",
            &format!("/staff/bookings/{number}/cancel"),
            &[("service", "tennyu-madoguchi"), ("date", day)],
        )
        .await;
    assert_eq!(foreign.status(), 403);

    let entries = app
        .store
        .audit_entries(
            crate::harness::CITY,
            &machi_store::audit::AuditQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let audit: Value = entries.iter().map(|e| e.action.clone()).collect();
    for action in ["booking.counter", "booking.cancel", "booking.export"] {
        assert!(
            audit.as_array().unwrap().iter().any(|a| a == action),
            "{action}: {audit}"
        );
    }
}

async fn a_day_closed_cancels_its_bookings_and_tells_each_booker(app: &TestApp) {
    with_demo_services(app).await;
    app.create_staff(SHIMIN, "counter", Some("shimin")).await;
    let (start, _, _) = slots(app, "tennyu-madoguchi", "").await[0].clone();
    let day = &start[..10];
    let (status, made) = book(app, person("tennyu-madoguchi", &start, "転入 太郎"), None).await;
    assert_eq!(status, 201, "{made}");
    let number = made["booking_number"].as_str().unwrap().to_string();
    let mails_before = app.store.unsent_mail().await.unwrap();
    let mut staff = app.sign_in(SHIMIN).await;
    let page_path = format!("/staff/bookings?service=tennyu-madoguchi&date={day}");
    // A reason is required: it goes to those booked.
    let close = |reason: &'static str| {
        [
            ("service", "tennyu-madoguchi"),
            ("date", day),
            ("resource", "all"),
            ("reason", reason),
        ]
    };
    let refused = staff
        .submit(&page_path, "/staff/bookings/close", &close(""))
        .await;
    assert_eq!(refused.status(), 400);
    let closed = staff
        .submit(
            &page_path,
            "/staff/bookings/close",
            &close("庁舎の停電工事のため"),
        )
        .await;
    assert_eq!(closed.status(), 303);
    assert!(closed.headers()["location"]
        .to_str()
        .unwrap()
        .contains("closed-1"));
    // The booking is cancelled and its booker told; the day offers nothing and takes nothing.
    let booking = app.store.booking(CITY, &number).await.unwrap().unwrap();
    assert_eq!(booking.state, "cancelled");
    assert_eq!(app.store.unsent_mail().await.unwrap(), mails_before + 1);
    assert!(
        slots(app, "tennyu-madoguchi", &format!("from={day}&to={day}"))
            .await
            .is_empty()
    );
    let (status, _) = book(app, person("tennyu-madoguchi", &start, "別の 人"), None).await;
    assert_eq!(status, 409);
    let page = staff.get_html(&page_path).await;
    assert!(page.contains("庁舎の停電工事のため"), "{page}");
    // Opened again, counter by counter.
    for counter in ["counter-1", "counter-2"] {
        let reopened = staff
            .submit(
                &page_path,
                "/staff/bookings/reopen",
                &[
                    ("service", "tennyu-madoguchi"),
                    ("date", day),
                    ("resource", counter),
                ],
            )
            .await;
        assert_eq!(reopened.status(), 303);
    }
    let (status, made) = book(app, person("tennyu-madoguchi", &start, "別の 人"), None).await;
    assert_eq!(status, 201, "{made}");
}
