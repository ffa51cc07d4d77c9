//! The PDCA cycle of a plan: a department reports progress on its own measure, the CIO
//! evaluates, and the public dashboard, measure page, yearly report and API follow; a revision
//! keeps the progress; a live KPI moves when a procedure is put online.

use machi_core::plans::parse_plan;
use machi_store::audit::AuditQuery;

use crate::harness::{TestApp, CITY};
use crate::on_both_backends;

const DEMO_PLAN: &str = include_str!("../../demo/plans/demo-city-dx.yaml");
const REPORTER: &str = "tanto@shimin.test";
const OUTSIDER: &str = "tanto@kosodate.test";
const CIO: &str = "cio@city.test";
const MEASURE: &str = "/staff/plans/demo-city-dx/measures/1-2";

async fn import_demo_plan(app: &TestApp) {
    let plan = parse_plan(DEMO_PLAN.as_bytes()).unwrap();
    app.store
        .import_plan(CITY, &plan, "test", "初版の取込")
        .await
        .unwrap();
}

async fn dashboard(app: &TestApp) -> String {
    let page = app.get("/plans/demo-city-dx/dashboard?fy=2026").await;
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

async fn a_department_reports_the_cio_evaluates_and_the_views_follow(app: &TestApp) {
    import_demo_plan(app).await;
    app.create_staff(REPORTER, "staff", Some("shimin")).await;
    app.create_staff(OUTSIDER, "staff", Some("kosodate")).await;
    app.create_staff(CIO, "cio", None).await;
    let before = dashboard(app).await;
    assert!(
        before.contains("施策 4件、うち完了 0件：達成率 <strong>0.0%</strong>"),
        "{before}"
    );

    // Another department may not report on 市民課's measure.
    let mut outsider = app.sign_in(OUTSIDER).await;
    let refused = outsider
        .submit(
            MEASURE,
            &format!("{MEASURE}/report"),
            &[("fy", "2026"), ("status", "done"), ("narrative", "x")],
        )
        .await;
    assert_eq!(refused.status(), 403);

    let mut reporter = app.sign_in(REPORTER).await;
    let home = reporter.get_html("/staff/plans").await;
    assert!(
        home.contains("オンライン申請の利用促進"),
        "own measure listed"
    );
    assert!(
        !home.contains("子育て関連手続の電子申請"),
        "others' are not"
    );

    // Bad input: every problem named at its field, nothing stored.
    let bad = reporter
        .submit(
            MEASURE,
            &format!("{MEASURE}/report"),
            &[
                ("fy", "2031"),
                ("narrative", ""),
                ("evidence", "file:///etc/passwd"),
                ("kpi_demo-online-applications", "たくさん"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let bad = bad.text().await.unwrap();
    for message in [
        "計画期間外の年度です",
        "進捗状況を選んでください",
        "取組内容・進捗を入力してください",
        "https:// で始まるアドレス",
        "実績値は数値で入力してください",
    ] {
        assert!(bad.contains(message), "{message}");
    }
    assert!(bad.contains(r##"<a href="#status">"##));
    let cycle = app.store.plan_cycle(CITY, "demo-city-dx").await.unwrap();
    assert!(cycle.reports.is_empty() && cycle.actuals.is_empty());

    let reported = reporter
        .submit(
            MEASURE,
            &format!("{MEASURE}/report"),
            &[
                ("fy", "2026"),
                ("status", "done"),
                ("narrative", "全窓口でオンライン申請の案内を開始した"),
                ("evidence", "https://city.example.jp/report-2026.pdf"),
                ("kpi_demo-online-applications", "４２．５％"),
            ],
        )
        .await;
    assert_eq!(reported.status(), 303);
    // A department may not grade its own work.
    let self_graded = reporter
        .submit(
            MEASURE,
            &format!("{MEASURE}/evaluate"),
            &[("fy", "2026"), ("grade", "A")],
        )
        .await;
    assert_eq!(self_graded.status(), 403);

    let after = dashboard(app).await;
    assert!(
        after.contains("施策 4件、うち完了 1件：達成率 <strong>25.0%</strong>"),
        "{after}"
    );
    assert!(
        after.contains("42.5%（2026年度）"),
        "the KPI actual is charted"
    );

    let mut cio = app.sign_in(CIO).await;
    let awaiting = cio.get_html("/staff/plans").await;
    assert!(awaiting.contains("評価待ちの進捗報告"));
    assert!(awaiting.contains("オンライン申請の利用促進"));
    let bad_grade = cio
        .submit(
            MEASURE,
            &format!("{MEASURE}/evaluate"),
            &[("fy", "2026"), ("grade", "S")],
        )
        .await;
    assert_eq!(bad_grade.status(), 422);
    let evaluated = cio
        .submit(
            MEASURE,
            &format!("{MEASURE}/evaluate"),
            &[
                ("fy", "2026"),
                ("grade", "B"),
                ("comment", "利用率の伸びを次年度も確認"),
            ],
        )
        .await;
    assert_eq!(evaluated.status(), 303);
    let planned = cio
        .submit(
            MEASURE,
            &format!("{MEASURE}/action"),
            &[("fy", "2027"), ("action", "子育て手続にも案内を広げる")],
        )
        .await;
    assert_eq!(planned.status(), 303);
    assert!(!cio
        .get_html("/staff/plans")
        .await
        .contains("オンライン申請の利用促進"));

    let measure = app.get("/plans/demo-city-dx/measures/1-2").await;
    assert_eq!(measure.status(), 200);
    let measure = measure.text().await.unwrap();
    for shown in [
        "<strong>完了</strong>",
        "全窓口でオンライン申請の案内を開始した",
        "https://city.example.jp/report-2026.pdf",
        "<strong>B</strong>",
        "利用率の伸びを次年度も確認",
        "子育て手続にも案内を広げる",
        r#"role="img""#,
        "<caption>オンラインで行われた申請の割合（グラフの数値）</caption>",
    ] {
        assert!(measure.contains(shown), "{shown}");
    }
    let grades = dashboard(app).await;
    let grade_table = &grades[grades.find("目標ごとの評価の件数").unwrap()..];
    assert!(grade_table
        .contains("<th scope=\"row\">基本目標1 行かなくてもいい市役所</th><td>0</td><td>1</td>"));

    // The yearly report, as CSV (UTF-8 with BOM) and Excel.
    let csv = app
        .get("/plans/demo-city-dx/report?fy=2026&format=csv")
        .await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.bytes().await.unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let mut reader = csv::Reader::from_reader(&csv[3..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4, "one row per measure");
    let row = rows.iter().find(|r| &r[0] == "1-2").unwrap();
    assert_eq!(&row[5], "完了");
    assert_eq!(&row[8], "B");
    assert!(row[10].contains("42.5%"), "{:?}", &row[10]);
    let xlsx = app
        .get("/plans/demo-city-dx/report?fy=2026&format=xlsx")
        .await;
    assert_eq!(xlsx.status(), 200);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK\x03\x04"));
    let printable = app.get("/plans/demo-city-dx/report?fy=2026").await;
    assert!(printable
        .text()
        .await
        .unwrap()
        .contains("全窓口でオンライン申請の案内を開始した"));

    let api = app.get_json("/api/v1/plans/demo-city-dx").await;
    assert_eq!(api["cycle"]["reports"][0]["status"], "完了");
    assert_eq!(api["cycle"]["evaluations"][0]["grade"], "B");
    assert_eq!(api["cycle"]["actuals"][0]["value"], "42.5");

    let audit = app
        .store
        .audit_entries(
            CITY,
            &AuditQuery {
                limit: 50,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for action in ["plan.import", "plan.report", "plan.evaluate", "plan.action"] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }

    // A revision renames a measure and drops another: progress stays with the kept measure.
    let revised = DEMO_PLAN
        .replace(
            "title: オンライン申請の利用促進",
            "title: オンライン申請の利用促進と周知",
        )
        .replace(
            "title: 防災・生活情報の配信登録の促進",
            "title: 配信登録の促進",
        );
    let revised = parse_plan(revised.as_bytes()).unwrap();
    app.store
        .import_plan(CITY, &revised, CIO, "令和8年度の見直し")
        .await
        .unwrap();
    let history = app
        .get("/plans/demo-city-dx/revisions")
        .await
        .text()
        .await
        .unwrap();
    assert!(history.contains("令和8年度の見直し"));
    assert!(
        history.contains("1-2 オンライン申請の利用促進と周知（title）"),
        "{history}"
    );
    assert!(dashboard(app).await.contains("完了 1件"), "progress kept");
}

async fn the_online_procedure_kpi_moves_when_a_procedure_is_put_online(app: &TestApp) {
    import_demo_plan(app).await;
    let manager = "kacho@kankyo.test";
    app.create_staff(manager, "manager", Some("kankyo")).await;
    let mut staff = app.sign_in(manager).await;
    let created = staff
        .submit(
            "/staff/procedures/new",
            "/staff/procedures",
            &[
                ("id", "inu-toroku"),
                ("name_ja", "犬の登録"),
                ("kana", "いぬのとうろく"),
                ("department", "kankyo"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let edit = "/staff/procedures/inu-toroku/edit";
    let field = staff
        .submit(
            edit,
            "/staff/procedures/inu-toroku/fields",
            &[
                ("label_ja", "飼い主の氏名"),
                ("field_type", "text"),
                ("name", "owner_name"),
                ("required", "1"),
            ],
        )
        .await;
    assert_eq!(field.status(), 303);
    let latest = |page: &str| {
        let start = page.find(r#"<dd class="kpi-latest">"#).unwrap() + 23;
        page[start..start + page[start..].find('%').unwrap()].to_string()
    };
    let page = "/plans/demo-city-dx/measures/1-1";
    let draft: f64 = latest(&app.get(page).await.text().await.unwrap())
        .parse()
        .unwrap();
    let published = staff
        .submit(edit, "/staff/procedures/inu-toroku/publish", &[])
        .await;
    assert_eq!(published.status(), 303);
    let online: f64 = latest(&app.get(page).await.text().await.unwrap())
        .parse()
        .unwrap();
    assert!(online > draft, "{draft}% → {online}%");

    // The month's snapshot keeps the figure for the trend.
    let month = machi_store::plans::metrics::current_month();
    app.store.snapshot_metrics(CITY, &month).await.unwrap();
    let metric = machi_core::plans::metric::Metric::OnlineProcedureShare;
    let history = app.store.metric_history(CITY, metric).await.unwrap();
    assert_eq!(history, vec![(month, online)]);
}

on_both_backends!(
    a_department_reports_the_cio_evaluates_and_the_views_follow,
    the_online_procedure_kpi_moves_when_a_procedure_is_put_online,
);
