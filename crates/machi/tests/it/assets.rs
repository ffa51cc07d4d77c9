//! 情報資産台帳: CSV round trips in UTF-8 and CP932, a bad file changes nothing and names line
//! and column, departments touch only their own systems, every change is audited, cost per
//! department and 年度, reminders go once to the right department, and the staff-only API.

use chrono::{Duration, NaiveDate};
use machi_store::audit::AuditQuery;
use sqlx::Row;

use crate::harness::{csrf_of, StaffClient, TestApp, CITY};
use crate::on_both_backends;

const HEADER: &str = "管理番号,システム名,所管課,事業者,契約開始日,契約終了日,年額費用（円）,稼働環境,標準化対象業務,移行状況\r\n";

fn today() -> NaiveDate {
    (chrono::Utc::now() + Duration::hours(9)).date_naive()
}

async fn admin(app: &TestApp) -> StaffClient {
    app.create_staff("joho@demo.example", "admin", Some("shimin"))
        .await;
    app.sign_in("joho@demo.example").await
}

/// Uploads `bytes` as the import form's file.
async fn import(staff: &mut StaffClient, bytes: Vec<u8>) -> (u16, String) {
    let html = staff.get_html("/staff/assets/import").await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf_of(&html))
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("台帳.csv"),
        );
    let response = staff.post_multipart("/staff/assets/import", form).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn asset_audit(app: &TestApp, action: &str) -> Vec<machi_store::audit::AuditRecord> {
    app.store
        .audit_entries(
            CITY,
            &AuditQuery {
                action: action.into(),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
}

async fn the_ledger_round_trips_through_csv_in_utf8_and_cp932(app: &TestApp) {
    let mut staff = admin(app).await;
    let text = format!(
        "{HEADER}SYS-001,住民記録システム,市民課,デモ情報,2024-04-01,2029-03-31,\"18,000,000\",ガバメントクラウド,住民基本台帳,移行中\r\n\
         SYS-002,髙橋データ連携基盤,shimin,=1+2,,,,クラウド,,\r\n"
    );
    let (status, html) = import(&mut staff, text.into_bytes()).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("新規 2"), "{html}");

    let utf8 = staff.get("/staff/assets/export").await;
    assert_eq!(utf8.headers()["content-type"], "text/csv; charset=utf-8");
    let utf8 = utf8.bytes().await.unwrap().to_vec();
    assert!(utf8.starts_with(b"\xEF\xBB\xBF"));
    let utf8_text = String::from_utf8(utf8[3..].to_vec()).unwrap();
    assert!(utf8_text.contains("\r\nSYS-001,住民記録システム,市民課,"));
    assert!(
        utf8_text.contains(",'=1+2,"),
        "a formula is made inert for Excel: {utf8_text}"
    );

    let sjis = staff.get("/staff/assets/export?encoding=sjis").await;
    assert_eq!(
        sjis.headers()["content-type"],
        "text/csv; charset=Shift_JIS"
    );
    let sjis = sjis.bytes().await.unwrap().to_vec();
    let (decoded, _, errors) = encoding_rs::SHIFT_JIS.decode(&sjis);
    let decoded = decoded.into_owned();
    assert!(!errors);
    assert_eq!(decoded, utf8_text, "the same ledger in both encodings");

    // The CP932 file reads back as it is; a changed cost, encoded by encoding_rs, updates one.
    let (status, html) = import(&mut staff, sjis).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("変更なし 2"), "{html}");
    let changed = decoded.replace("18000000", "19500000");
    let (cp932, _, _) = encoding_rs::SHIFT_JIS.encode(&changed);
    let (status, html) = import(&mut staff, cp932.to_vec()).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("更新 1"), "{html}");
    let asset = app.store.asset(CITY, "SYS-001").await.unwrap().unwrap();
    assert_eq!(asset.yearly_cost, Some(19_500_000));
    assert_eq!(asset.name, "住民記録システム");
    let second = app.store.asset(CITY, "SYS-002").await.unwrap().unwrap();
    assert_eq!(
        second.name, "髙橋データ連携基盤",
        "CP932 keeps IBM extension kanji"
    );
    assert_eq!(second.vendor, "=1+2", "the escape reads back as it was");

    let imports = asset_audit(app, "asset.import").await;
    assert_eq!(imports.len(), 3);
    assert!(imports[0].detail.contains("\"encoding\":\"cp932\""));
    assert_eq!(asset_audit(app, "asset.export").await.len(), 2);
}

async fn a_bad_csv_changes_nothing_and_names_line_and_column(app: &TestApp) {
    let mut staff = admin(app).await;
    let text = format!(
        "{HEADER}SYS-001,住民記録,市民課,,2024-04-01,2029-03-31,100,クラウド,,\r\n\
         SYS-002,税務,市民税課,,2024-04-01,2027-02-30,100,クラウド,,\r\n\
         SYS-003,福祉,市民課,,,,100,宇宙,,\r\n"
    );
    let (status, html) = import(&mut staff, text.into_bytes()).await;
    assert_eq!(status, 422);
    assert!(html.contains("何も変更していません"), "{html}");
    assert!(
        html.contains("<td>3</td><td>契約終了日</td>"),
        "line 3, bad date: {html}"
    );
    assert!(
        html.contains("<td>4</td><td>稼働環境</td>"),
        "line 4, unknown hosting: {html}"
    );
    assert!(app
        .store
        .assets(CITY, &Default::default())
        .await
        .unwrap()
        .is_empty());
    assert!(asset_audit(app, "asset.").await.is_empty());

    // Bytes that are neither UTF-8 nor Shift_JIS: refused with their line.
    let mut bytes = encoding_rs::SHIFT_JIS.encode(HEADER).0.to_vec();
    bytes.extend_from_slice(b"SYS-9,\xff\xff,shimin,,,,,,,\r\n");
    let (status, html) = import(&mut staff, bytes).await;
    assert_eq!(status, 422);
    assert!(html.contains("2行目に読み取れない文字があります"), "{html}");
}

fn form<'a>(
    id: &'a str,
    department: &'a str,
    cost: &'a str,
    end: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("id", id),
        ("name", "国保システム"),
        ("department", department),
        ("vendor", "株式会社サンプル"),
        ("contract_start", "2024-04-01"),
        ("contract_end", end),
        ("yearly_cost", cost),
        ("hosting", "オンプレミス"),
        ("confidentiality", "3"),
        ("integrity", "2"),
        ("availability", "2"),
        ("personal_data", "あり"),
        ("standard_business", "国民健康保険"),
        ("migration", "計画中"),
    ]
}

async fn departments_change_only_their_own_systems_and_every_change_is_audited(app: &TestApp) {
    app.create_staff("kokuho.kacho@demo.example", "manager", Some("kokuho"))
        .await;
    app.create_staff("shimin.kacho@demo.example", "manager", Some("shimin"))
        .await;
    let mut kokuho = app.sign_in("kokuho.kacho@demo.example").await;
    let mut shimin = app.sign_in("shimin.kacho@demo.example").await;

    // A wrong form is shown again with the problem at its field.
    let bad = form("KK-1", "kokuho", "たくさん", "2024-03-31");
    let response = kokuho
        .submit("/staff/assets/new", "/staff/assets", &bad)
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("href=\"#a-yearly_cost\""), "{html}");
    assert!(html.contains("href=\"#a-contract_end\""), "{html}");
    assert!(html.contains("id=\"a-yearly_cost-error\""), "{html}");

    // Its own department: saved. Another department: refused at the field.
    let good = form("KK-1", "kokuho", "7,200,000", "2029-03-31");
    let response = kokuho
        .submit("/staff/assets/new", "/staff/assets", &good)
        .await;
    assert_eq!(response.status(), 303);
    let other = form("KK-2", "shimin", "1", "2029-03-31");
    let response = kokuho
        .submit("/staff/assets/new", "/staff/assets", &other)
        .await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("自課のみ"));

    // Another department's manager can neither open nor change it, nor see it listed.
    assert_eq!(shimin.get("/staff/assets/KK-1/edit").await.status(), 403);
    let steal = form("KK-1", "shimin", "1", "2029-03-31");
    let response = shimin
        .submit("/staff/assets", "/staff/assets/KK-1", &steal)
        .await;
    assert_eq!(response.status(), 403);
    assert!(!shimin.get_html("/staff/assets").await.contains("KK-1"));
    assert!(kokuho
        .get_html("/staff/assets")
        .await
        .contains("国保システム"));

    // An update is audited with before and after of what changed only.
    let raise = form("KK-1", "kokuho", "8,000,000", "2029-03-31");
    let response = kokuho
        .submit("/staff/assets/KK-1/edit", "/staff/assets/KK-1", &raise)
        .await;
    assert_eq!(response.status(), 303);
    let created = asset_audit(app, "asset.create").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].actor, "kokuho.kacho@demo.example");
    let updated = asset_audit(app, "asset.update").await;
    assert_eq!(updated.len(), 1);
    let detail: serde_json::Value = serde_json::from_str(&updated[0].detail).unwrap();
    assert_eq!(
        detail["changes"],
        serde_json::json!({"yearly_cost": {"before": 7_200_000, "after": 8_000_000}})
    );
    assert!(app
        .store
        .verify_audit(CITY)
        .await
        .unwrap()
        .problems
        .is_empty());

    // The counter has no business with the ledger.
    app.create_staff("madoguchi@demo.example", "counter", Some("shimin"))
        .await;
    let mut counter = app.sign_in("madoguchi@demo.example").await;
    assert_eq!(counter.get("/staff/assets").await.status(), 403);
}

async fn cost_is_counted_per_department_and_fiscal_year(app: &TestApp) {
    let mut staff = admin(app).await;
    let text = format!(
        "{HEADER}A-1,住民記録,市民課,,2024-10-01,2026-04-30,1000000,クラウド,,\r\n\
         A-2,窓口予約,市民課,,,2025-03-31,10000,クラウド,,\r\n\
         A-3,税務,市民税課,,2026-04-01,,1,クラウド,,\r\n"
    );
    let (status, html) = import(&mut staff, text.into_bytes()).await;
    assert_eq!(status, 200, "{html}");
    let html = staff
        .get_html("/staff/assets/costs?from=2023&to=2027")
        .await;
    let row = |department: &str| {
        let start = html
            .find(&format!("<th scope=\"row\">{department}</th>"))
            .unwrap();
        html[start..start + html[start..].find("</tr>").unwrap()].to_string()
    };
    let cells = |row: String| -> Vec<String> {
        row.split("<td class=\"number\">")
            .skip(1)
            .map(|c| c[..c.find("</td>").unwrap()].to_string())
            .collect()
    };
    assert_eq!(
        cells(row("市民課")),
        [
            "10,000",
            "1,010,000",
            "1,000,000",
            "1,000,000",
            "0",
            "3,020,000"
        ]
    );
    assert_eq!(cells(row("市民税課")), ["0", "0", "0", "1", "1", "2"]);
    assert_eq!(
        cells(row("合計")),
        [
            "10,000",
            "1,010,000",
            "1,000,000",
            "1,000,001",
            "1",
            "3,020,002"
        ]
    );
}

async fn reminders_go_once_to_the_department_managers(app: &TestApp) {
    app.create_staff("kokuho.kacho@demo.example", "manager", Some("kokuho"))
        .await;
    app.create_staff("kokuho@demo.example", "staff", Some("kokuho"))
        .await;
    app.create_staff("shimin.kacho@demo.example", "manager", Some("shimin"))
        .await;
    let mut staff = admin(app).await;
    let soon = today() + Duration::days(60);
    let later = today() + Duration::days(200);
    let text = format!(
        "{HEADER}R-1,国保システム,保険年金課,,2024-04-01,{soon},1,オンプレミス,,\r\n\
         R-2,子育てアプリ,子育て支援課,,2024-04-01,{later},1,クラウド,,\r\n"
    );
    let (status, html) = import(&mut staff, text.into_bytes()).await;
    assert_eq!(status, 200, "{html}");
    // R-2's end of life is in 20 days, and 子育て支援課 has no manager: the administrator hears.
    let mut r2 = app.store.asset(CITY, "R-2").await.unwrap().unwrap();
    r2.end_of_life = Some(today() + Duration::days(20));
    app.store
        .save_assets(CITY, &[r2], "test", None, None)
        .await
        .unwrap();

    let url = "http://machi.example/staff/assets";
    assert_eq!(
        app.store
            .send_asset_reminders(CITY, today(), url)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        app.store
            .send_asset_reminders(CITY, today(), url)
            .await
            .unwrap(),
        0
    );
    let rows = sqlx::query(
        "SELECT address, subject, body FROM deliveries WHERE channel = 'email' ORDER BY address",
    )
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    let mails: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.get::<String, _>("address"), r.get::<String, _>("subject")))
        .collect();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_eq!(mails[0].0, "joho@demo.example");
    assert!(mails[0].1.contains("サポート終了まで20日") && mails[0].1.contains("R-2"));
    assert_eq!(mails[1].0, "kokuho.kacho@demo.example");
    assert!(mails[1].1.contains("契約終了まで60日") && mails[1].1.contains("R-1"));

    // 30 days before, the second reminder; then nothing more.
    let later_day = soon - Duration::days(30);
    assert_eq!(
        app.store
            .send_asset_reminders(CITY, later_day, url)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app.store
            .send_asset_reminders(CITY, later_day, url)
            .await
            .unwrap(),
        0
    );

    // The ledger page shows what is coming.
    let html = staff.get_html("/staff/assets").await;
    assert!(
        html.contains(&format!(
            "<td>{soon}</td><td>60</td><td>契約終了</td><td>R-1</td>"
        )),
        "{html}"
    );
}

async fn the_api_is_for_staff_and_filtered_by_department(app: &TestApp) {
    let mut staff = admin(app).await;
    let text = format!(
        "{HEADER}S-1,住民記録,市民課,,,,1,ガバメントクラウド,住民基本台帳,移行中\r\n\
         K-1,国保,保険年金課,,,,1,オンプレミス,国民健康保険,未着手\r\n\
         K-2,国保分析,保険年金課,,,,1,クラウド,,\r\n"
    );
    let (status, html) = import(&mut staff, text.into_bytes()).await;
    assert_eq!(status, 200, "{html}");

    let anonymous = app.get("/api/v1/assets").await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["content-type"],
        "application/problem+json"
    );

    let all = staff
        .get("/api/v1/assets")
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(all["assets"].as_array().unwrap().len(), 3);
    let gov = staff
        .get("/api/v1/assets?hosting=gov_cloud&standard=true")
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(gov["assets"][0]["id"], "S-1");
    assert_eq!(gov["assets"][0]["standard_business"], "resident_registry");
    assert_eq!(gov["assets"][0]["migration"], "migrating");
    assert_eq!(gov["assets"].as_array().unwrap().len(), 1);
    let bad = staff.get("/api/v1/assets?hosting=moon").await;
    assert_eq!(bad.status(), 422);
    let not_a_flag = staff.get("/api/v1/assets?standard=AAA").await;
    assert_eq!(not_a_flag.status(), 422, "standard is true or false");

    app.create_staff("kokuho@demo.example", "staff", Some("kokuho"))
        .await;
    let mut kokuho = app.sign_in("kokuho@demo.example").await;
    let own = kokuho
        .get("/api/v1/assets?department=shimin")
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let ids: Vec<&str> = own["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["K-1", "K-2"],
        "only the own department, whatever is asked"
    );

    app.create_staff("madoguchi@demo.example", "counter", Some("shimin"))
        .await;
    let mut counter = app.sign_in("madoguchi@demo.example").await;
    assert_eq!(counter.get("/api/v1/assets").await.status(), 403);

    // A script or another system uses an API token, as the CKAN API does; the console's
    // cookie is scoped to /staff, so a token is the API's way in.
    let token = app
        .store
        .create_api_token(CITY, "kokuho@demo.example", "ledger sync")
        .await
        .unwrap()
        .1;
    let by_token = app
        .client
        .get(app.url("/api/v1/assets"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(by_token.status(), 200);
    let own = by_token.json::<serde_json::Value>().await.unwrap();
    assert_eq!(own["assets"].as_array().unwrap().len(), 2, "{own}");
    let forged = app
        .client
        .get(app.url("/api/v1/assets"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let counter_token = app
        .store
        .create_api_token(CITY, "madoguchi@demo.example", "x")
        .await
        .unwrap()
        .1;
    let refused = app
        .client
        .get(app.url("/api/v1/assets"))
        .header("authorization", format!("bearer {counter_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "the role still decides");

    let openapi = app.get_json("/api/v1/openapi.json").await;
    assert!(openapi["paths"]["/api/v1/assets"]["get"].is_object());
    assert_eq!(
        openapi["components"]["securitySchemes"]["api_token"]["scheme"],
        "bearer"
    );
    assert!(openapi["components"]["schemas"]["AssetItem"].is_object());
}

on_both_backends!(
    the_ledger_round_trips_through_csv_in_utf8_and_cp932,
    a_bad_csv_changes_nothing_and_names_line_and_column,
    departments_change_only_their_own_systems_and_every_change_is_audited,
    cost_is_counted_per_department_and_fiscal_year,
    reminders_go_once_to_the_department_managers,
    the_api_is_for_staff_and_filtered_by_department,
);
