//! Alerts and signage: notices that warn (緊急, or 重要 about 防災) go out as CAP 1.2 documents
//! that an independent CAP implementation (oasiscap) reads, and in an Atom CAP feed that
//! feed-rs reads; the lobby screen shows the current notices, and an emergency takes it over.

use chrono::{Duration, FixedOffset, Utc};
use oasiscap::v1dot2::{Category, Certainty, MessageType, Scope, Severity, Status, Urgency};

use crate::harness::{StaffClient, TestApp};
use crate::on_both_backends;

mod evacuation;

pub(super) const WRITER: &str = "bousai@kikikanri.test";
/// 北町 and 南町, as they travel in a query string.
const NORTH: &str = "%E5%8C%97%E7%94%BA";
const SOUTH: &str = "%E5%8D%97%E7%94%BA";

/// Writes a notice through the staff form; returns its id.
pub(super) async fn write(staff: &mut StaffClient, form: &[(&str, &str)]) -> String {
    let response = staff
        .submit("/staff/notices/new", "/staff/notices/new", form)
        .await;
    assert_eq!(response.status(), 303, "{form:?}");
    let location = response.headers()["location"].to_str().unwrap();
    location.rsplit('/').next().unwrap().to_string()
}

/// Saves an existing notice through the staff edit form.
pub(super) async fn edit(staff: &mut StaffClient, id: &str, form: &[(&str, &str)]) {
    let page = format!("/staff/notices/{id}");
    let response = staff.submit(&page, &page, form).await;
    assert_eq!(response.status(), 303, "{form:?}");
}

/// Whether `text` is CAP's dateTime: `YYYY-MM-DDThh:mm:ss+hh:mm`, no fraction, no `Z`.
fn is_cap_time(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 25
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 | 22 => *c == b':',
            19 => *c == b'+' || *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// Asserts the `tags` that occur in `xml` come in this order (the schema's `sequence`).
fn in_order(xml: &str, tags: &[&str]) {
    let positions: Vec<(usize, &str)> = tags
        .iter()
        .filter_map(|t| xml.find(t).map(|at| (at, *t)))
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0].0 < w[1].0),
        "out of the CAP 1.2 order: {positions:?}"
    );
}

/// What the CAP 1.2 schema demands and oasiscap does not check: the elements' order and the
/// form of every dateTime.
fn assert_schema_shape(xml: &str) {
    let alert = [
        "<identifier>",
        "<sender>",
        "<sent>",
        "<status>",
        "<msgType>",
        "<scope>",
        "<references>",
        "<info>",
    ];
    in_order(xml, &alert);
    for info in xml.split("<info>").skip(1) {
        let info_order = [
            "<language>",
            "<category>",
            "<event>",
            "<urgency>",
            "<severity>",
            "<certainty>",
            "<expires>",
            "<senderName>",
            "<headline>",
            "<description>",
            "<web>",
            "<area>",
            "<areaDesc>",
        ];
        in_order(info, &info_order);
    }
    for tag in ["sent", "expires"] {
        for part in xml.split(&format!("<{tag}>")).skip(1) {
            let value = part.split('<').next().unwrap();
            assert!(is_cap_time(value), "<{tag}>{value}");
        }
    }
}

/// Fetches a CAP document and reads it with oasiscap.
pub(super) async fn cap(app: &TestApp, url: &str) -> (String, oasiscap::v1dot2::Alert) {
    let response = app.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {url}");
    assert_eq!(
        response.headers()["content-type"],
        "application/cap+xml; charset=utf-8"
    );
    let xml = response.text().await.unwrap();
    let alert: oasiscap::Alert = xml.parse().unwrap_or_else(|e| panic!("{e}: {xml}"));
    let oasiscap::Alert::V1dot2(alert) = alert else {
        panic!("not CAP 1.2: {xml}")
    };
    assert_schema_shape(&xml);
    (xml, alert)
}

/// The CAP feed as feed-rs reads it, and as text.
async fn feed(app: &TestApp, query: &str) -> (feed_rs::model::Feed, String) {
    let response = app.get(&format!("/feeds/alerts.cap{query}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    let parsed = feed_rs::parser::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}: {text}"));
    (parsed, text)
}

async fn page(app: &TestApp, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.text().await.unwrap()
}

async fn alerts_go_out_as_cap_and_take_over_the_lobby_screens(app: &TestApp) {
    app.create_staff(WRITER, "staff", Some("kikikanri")).await;
    let mut staff = app.sign_in(WRITER).await;

    let empty = page(app, "/signage").await;
    assert!(empty.contains("現在、お知らせはありません"));
    assert!(empty.contains("<meta http-equiv=\"refresh\" content=\"30\">"));
    assert!(
        empty.contains("<html lang=\"ja\">") && !empty.contains("<nav"),
        "its own page, without the site's navigation"
    );
    let (none, _) = feed(app, "").await;
    assert!(none.entries.is_empty());

    let festival = write(
        &mut staff,
        &[
            ("title_ja", "市民まつり"),
            ("body_ja", "全市で開催します。"),
            ("category", "event"),
        ],
    )
    .await;
    write(
        &mut staff,
        &[
            ("title_ja", "固定資産税の納期"),
            ("body_ja", "今月末です。"),
            ("category", "zei"),
            ("urgency", "important"),
        ],
    )
    .await;
    let typhoon = write(
        &mut staff,
        &[
            ("title_ja", "台風10号が接近しています"),
            ("title_en", "Typhoon No. 10 is approaching"),
            ("body_ja", "明日の朝にかけて**暴風**に警戒してください。"),
            ("body_en", "Expect **storm winds** until tomorrow morning."),
            ("category", "bousai"),
            ("urgency", "important"),
        ],
    )
    .await;

    // Important notices are marked on the screen; none takes it over.
    let calm = page(app, "/signage").await;
    assert!(calm.contains("市民まつり") && calm.contains("台風10号が接近しています"));
    assert!(calm.contains("<span class=\"signage-badge\">重要</span>"));
    assert!(!calm.contains("signage-emergency"));

    let order = write(
        &mut staff,
        &[
            ("title_ja", "北町に避難指示"),
            (
                "body_ja",
                "**北町小学校**へ避難してください。<script>alert(1)</script>",
            ),
            ("category", "bousai"),
            ("areas", "北町、北町二丁目"),
            ("urgency", "emergency"),
            ("confirm_send", "1"),
            ("expires_at", "2099-12-31 23:00"),
        ],
    )
    .await;

    // Only alerts are in the feed, newest first, each linking to its CAP document.
    let (all, text) = feed(app, "").await;
    let links: Vec<(String, String)> = all
        .entries
        .iter()
        .map(|e| {
            let cap = e
                .links
                .iter()
                .find(|l| l.media_type.as_deref() == Some("application/cap+xml"))
                .unwrap();
            assert_eq!(cap.rel.as_deref(), Some("alternate"));
            (e.title.as_ref().unwrap().content.clone(), cap.href.clone())
        })
        .collect();
    assert_eq!(
        links.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(),
        ["北町に避難指示", "台風10号が接近しています"],
        "the festival and the tax reminder are not alerts"
    );
    assert!(links[0].1.ends_with(&format!("/alerts/{order}.cap")));

    let (xml, alert) = cap(app, &links[0].1).await;
    assert!(alert
        .identifier
        .as_str()
        .starts_with(&format!("urn:machi:demo:alert:{order}:")));
    assert_eq!(
        alert.sender.as_str(),
        crate::harness::CAP_SENDER,
        "the sender the deployment configures"
    );
    assert_eq!(alert.status, Status::Actual);
    assert_eq!(alert.message_type, MessageType::Alert);
    assert_eq!(alert.scope, Scope::Public);
    assert!(alert.references.is_none());
    assert_eq!(alert.info.len(), 1, "no English text, no English info");
    let info = &alert.info[0];
    assert_eq!(info.language, "ja-JP");
    assert_eq!(info.categories, [Category::Safety]);
    assert_eq!(info.event, "防災");
    assert_eq!(
        (info.urgency, info.severity, info.certainty),
        (Urgency::Immediate, Severity::Severe, Certainty::Observed)
    );
    assert_eq!(info.sender_name.as_deref(), Some("デモ市"));
    assert_eq!(info.headline.as_deref(), Some("北町に避難指示"));
    assert_eq!(
        info.description.as_deref(),
        Some("北町小学校へ避難してください。"),
        "plain text, the script dropped"
    );
    assert_eq!(
        info.web.as_ref().unwrap().as_str(),
        app.url(&format!("/notices/{order}"))
    );
    assert!(xml.contains("<expires>2099-12-31T23:00:00+09:00</expires>"));
    assert_eq!(
        info.areas[0].description, "北町、北町2丁目",
        "a 丁目 is written as the 町字 list writes it"
    );

    // The feed entry carries the same alert as the document.
    let start = text.find("<cap:alert>").unwrap();
    let end = text.find("</cap:alert>").unwrap() + "</cap:alert>".len();
    let embedded = text[start..end].replacen(
        "<cap:alert>",
        "<cap:alert xmlns:cap=\"urn:oasis:names:tc:emergency:cap:1.2\">",
        1,
    );
    let embedded: oasiscap::Alert = embedded.parse().unwrap();
    assert_eq!(embedded, oasiscap::Alert::V1dot2(alert.clone()));

    // An important 防災 notice: expected, moderate, likely; English in its own <info>.
    let (_, warning) = cap(app, &links[1].1).await;
    assert!(links[1].1.ends_with(&format!("/alerts/{typhoon}.cap")));
    let [ja, en] = &warning.info[..] else {
        panic!("{warning:?}")
    };
    assert_eq!(
        (ja.urgency, ja.severity, ja.certainty),
        (Urgency::Expected, Severity::Moderate, Certainty::Likely)
    );
    assert_eq!(ja.areas[0].description, "デモ市", "the whole city");
    assert_eq!(en.language, "en-US");
    assert_eq!(
        en.headline.as_deref(),
        Some("Typhoon No. 10 is approaching")
    );
    assert_eq!(
        en.description.as_deref(),
        Some("Expect storm winds until tomorrow morning.")
    );
    assert_eq!(en.sender_name.as_deref(), Some("Demo City"));
    assert_eq!(en.areas[0].description, "Demo City");

    // Not an alert, not an address: no CAP document.
    for path in [
        format!("/alerts/{festival}.cap"),
        format!("/alerts/{order}"),
        format!("/alerts/{order}.xml"),
        "/alerts/nosuch.cap".to_string(),
    ] {
        assert_eq!(app.get(&path).await.status(), 404, "{path}");
    }

    // The emergency takes over the screens of its area, and only those.
    let north = page(app, &format!("/signage?area={NORTH}")).await;
    assert!(north.contains("<body class=\"signage signage-emergency\">"));
    assert!(north.contains("<h1>北町に避難指示</h1>"));
    assert!(north.contains("<strong>北町小学校</strong>") && !north.contains("<script>alert"));
    assert!(
        !north.contains("市民まつり") && !north.contains("台風10号"),
        "nothing else is on the screen"
    );
    let south = page(app, &format!("/signage?area={SOUTH}")).await;
    assert!(!south.contains("signage-emergency") && south.contains("市民まつり"));
    let (south_feed, _) = feed(app, &format!("?area={SOUTH}")).await;
    assert_eq!(south_feed.entries.len(), 1, "only the city-wide typhoon");

    // Once expired, the alert leaves the feed, its address and the screens.
    edit(
        &mut staff,
        &order,
        &[
            ("title_ja", "北町に避難指示"),
            ("body_ja", "解除しました。"),
            ("category", "bousai"),
            ("areas", "北町"),
            ("urgency", "emergency"),
            ("confirm_send", "1"),
            ("publish_at", "2020-01-01 09:00"),
            ("expires_at", "2020-01-01 10:00"),
        ],
    )
    .await;
    let (after, _) = feed(app, "").await;
    assert_eq!(after.entries.len(), 1);
    assert_eq!(app.get(&format!("/alerts/{order}.cap")).await.status(), 404);
    let screen = page(app, &format!("/signage?area={NORTH}")).await;
    assert!(!screen.contains("signage-emergency") && screen.contains("市民まつり"));
}

async fn an_alert_edited_after_it_went_out_is_an_update_of_the_first(app: &TestApp) {
    app.create_staff(WRITER, "staff", Some("kikikanri")).await;
    let mut staff = app.sign_in(WRITER).await;
    let form = [
        ("title_ja", "南町で断水"),
        ("body_ja", "給水車を出します。"),
        ("category", "bousai"),
        ("areas", "南町"),
        ("urgency", "emergency"),
        ("confirm_send", "1"),
    ];
    let id = write(&mut staff, &form).await;
    let url = app.url(&format!("/alerts/{id}.cap"));
    let (_, fresh) = cap(app, &url).await;
    assert_eq!(fresh.message_type, MessageType::Alert);

    // Ten minutes pass (the notice's times move back rather than the test waiting).
    let published = Utc::now() - Duration::minutes(10);
    let stored = published.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let pool = sqlx::AnyPool::connect(&app.database_url()).await.unwrap();
    sqlx::query("UPDATE notices SET publish_at = $1, updated_at = $1 WHERE id = $2")
        .bind(&stored)
        .bind(&id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (_, first) = cap(app, &url).await;
    assert_eq!(first.message_type, MessageType::Alert);

    // Staff correct it through the form, which keeps the publish time to the minute.
    let jst = FixedOffset::east_opt(9 * 3600).unwrap();
    let shown = published
        .with_timezone(&jst)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let mut corrected = form.to_vec();
    corrected[1] = ("body_ja", "給水車を南町公園に出します。");
    corrected.push(("publish_at", &shown));
    edit(&mut staff, &id, &corrected).await;

    let (_, update) = cap(app, &url).await;
    assert_eq!(update.message_type, MessageType::Update);
    assert_ne!(update.identifier, first.identifier);
    assert!(update.sent > first.sent);
    let references = update.references.unwrap();
    assert_eq!(references.len(), 1);
    assert_eq!(references[0].sender, first.sender);
    assert_eq!(references[0].identifier, first.identifier);
    assert_eq!(references[0].sent, first.sent);
    assert_eq!(
        update.info[0].description.as_deref(),
        Some("給水車を南町公園に出します。")
    );
}

on_both_backends!(
    alerts_go_out_as_cap_and_take_over_the_lobby_screens,
    an_alert_edited_after_it_went_out_is_an_update_of_the_first
);
