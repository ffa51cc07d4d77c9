//! 避難情報 in CAP: each 警戒レベル says what residents should do and how CAP grades it, the
//! area carries the city's 地方公共団体コード and its 町字ID, and a 解除 is a Cancel of what was
//! issued, naming it.

use chrono::{Duration, FixedOffset, Utc};
use oasiscap::v1dot2::{Certainty, MessageType, ResponseType, Severity, Urgency};

use super::{cap, edit, write, WRITER};
use crate::harness::{TestApp, CITY};

const DEMO_AREAS: &[u8] = include_bytes!("../../../demo/areas.csv");

async fn evacuation_levels_map_to_cap_and_a_lifting_cancels_the_order(app: &TestApp) {
    let areas = machi_core::areas::parse_area_list(DEMO_AREAS).unwrap();
    app.store
        .replace_areas(CITY, &areas, "system")
        .await
        .unwrap();
    app.create_staff(WRITER, "staff", Some("kikikanri")).await;
    let mut staff = app.sign_in(WRITER).await;
    let order = [
        ("title_ja", "中央町に避難指示"),
        ("body_ja", "直ちに中央小学校へ避難してください。"),
        ("category", "bousai"),
        ("area", "中央町"),
        ("urgency", "emergency"),
        ("evacuation", "4"),
        ("confirm_send", "1"),
    ];
    let id = write(&mut staff, &order).await;
    let url = app.url(&format!("/alerts/{id}.cap"));
    let (xml, issued) = cap(app, &url).await;
    let info = &issued.info[0];
    assert_eq!(issued.message_type, MessageType::Alert);
    assert_eq!(info.event, "避難指示（警戒レベル4）");
    assert_eq!(info.response_type, [ResponseType::Evacuate]);
    assert_eq!(
        (info.urgency, info.severity, info.certainty),
        (Urgency::Immediate, Severity::Severe, Certainty::Likely)
    );
    let geocode = &info.areas[0].geocode;
    assert_eq!(geocode.get("地方公共団体コード"), Some("279994"));
    assert_eq!(geocode.get("町字ID"), Some("2799940001000"), "{xml}");

    let page = app
        .get(&format!("/notices/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<strong>避難指示（警戒レベル4）</strong>"));

    // 高齢者等避難 and 緊急安全確保 ask other things, graded otherwise.
    for (level, responses, grade) in [
        (
            "3",
            vec![ResponseType::Evacuate, ResponseType::Prepare],
            (Urgency::Expected, Severity::Severe, Certainty::Likely),
        ),
        (
            "5",
            vec![ResponseType::Shelter],
            (Urgency::Immediate, Severity::Extreme, Certainty::Observed),
        ),
    ] {
        let mut form = order.to_vec();
        form[5] = ("evacuation", level);
        form[0] = ("title_ja", "中央町の避難情報");
        let other = write(&mut staff, &form).await;
        let (_, alert) = cap(app, &app.url(&format!("/alerts/{other}.cap"))).await;
        let info = &alert.info[0];
        assert!(
            info.event.contains(&format!("警戒レベル{level}")),
            "{}",
            info.event
        );
        assert_eq!(info.response_type, responses, "level {level}");
        assert_eq!(
            (info.urgency, info.severity, info.certainty),
            grade,
            "level {level}"
        );
    }

    // An hour later the order is lifted (the notice's times move back rather than the test
    // waiting): a Cancel that names the order it cancels, all clear.
    let published = Utc::now() - Duration::hours(1);
    let stored = published.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let pool = sqlx::AnyPool::connect(&app.database_url()).await.unwrap();
    sqlx::query("UPDATE notices SET publish_at = $1, updated_at = $1 WHERE id = $2")
        .bind(&stored)
        .bind(&id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (_, original) = cap(app, &url).await;
    let shown = published
        .with_timezone(&FixedOffset::east_opt(9 * 3600).unwrap())
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let mut lifted = order.to_vec();
    lifted[0] = ("title_ja", "中央町の避難指示を解除しました");
    lifted.push(("evacuation_lifted", "1"));
    lifted.push(("publish_at", &shown));
    edit(&mut staff, &id, &lifted).await;
    let (_, cancel) = cap(app, &url).await;
    assert_eq!(cancel.message_type, MessageType::Cancel);
    let references = cancel.references.expect("the order it cancels");
    assert_eq!(references.len(), 1);
    assert_eq!(references[0].identifier, original.identifier);
    assert_eq!(references[0].sent, original.sent);
    assert_eq!(references[0].sender, original.sender);
    let info = &cancel.info[0];
    assert_eq!(info.event, "避難指示の解除");
    assert_eq!(info.response_type, [ResponseType::AllClear]);
    assert_eq!(info.urgency, Urgency::Past);
}

crate::on_both_backends!(evacuation_levels_map_to_cap_and_a_lifting_cancels_the_order,);
