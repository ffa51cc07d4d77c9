//! 情報化計画: the five seed plans import in the machi-plan/1 format and can be browsed on the
//! public pages and through the API; a re-import replaces a plan; a broken file changes nothing.

use machi_core::plans::parse_plan;

use crate::harness::{Db, TestApp, TestDb, CITY};
use crate::on_both_backends;

const DEMO_PLANS: [&[u8]; 5] = [
    include_bytes!("../../demo/plans/ibaraki-ict-vision.yaml"),
    include_bytes!("../../demo/plans/ibaraki-dx-roadmap.yaml"),
    include_bytes!("../../demo/plans/takatsuki-ict-strategy.yaml"),
    include_bytes!("../../demo/plans/kadoma-dx-plan.yaml"),
    include_bytes!("../../demo/plans/settsu-chiiki-johoka-2.yaml"),
];

/// The documentation's minimal example, with a title to vary between imports.
fn small_plan(title: &str, second_node: bool) -> String {
    let mut yaml = format!(
        r#"format: machi-plan/1
plan:
  id: example-dx-plan
  city: {{code: "272230", name: 門真市}}
  title: {title}
  period: {{from_fy: 2022, to_fy: 2025, source: "p.12"}}
  document: {{title: 門真市DX推進計画, date: "2023-03", source: 表紙}}
  levels:
    - {{depth: 1, name: 基本目標, source: "p.16"}}
    - {{depth: 2, name: 重点取組事項, source: "p.16"}}
nodes:
  - id: G1
    level: 1
    label: 基本目標1
    title: 市民の利便性向上
    source: "p.16"
    children:
      - id: 1-(1)
        level: 2
        label: 1-(1)
        title: 行政手続のオンライン化拡充
        measure: true
        owners: [{{name: ICT推進課}}]
        schedule:
          - {{fy: 2022, text: 環境整備・運用開始}}
        source: "p.17"
"#
    );
    if second_node {
        yaml.push_str(
            "      - {id: 1-(2), level: 2, label: 1-(2), title: 窓口のデジタル化, source: p.18}\n",
        );
    }
    yaml
}

async fn import_demo_plans(app: &TestApp) {
    for bytes in DEMO_PLANS {
        let plan = parse_plan(bytes).unwrap();
        app.store
            .import_plan(CITY, &plan, "test", "test")
            .await
            .unwrap();
    }
}

/// The ids of the city's plans.
async fn list_plans(app: &TestApp) -> Vec<String> {
    let listed = app.get_json("/api/v1/plans").await;
    listed["plans"]
        .as_array()
        .or(listed.as_array())
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

async fn the_seed_plans_can_be_browsed_with_their_own_levels(app: &TestApp) {
    import_demo_plans(app).await;
    let home = app.get("/").await.text().await.unwrap();
    assert!(home.contains(r#"<a href="/plans">ICT計画</a>"#), "nav link");
    let list = app.get("/plans").await.text().await.unwrap();
    for title in [
        "次なる茨木のための ICT ビジョン【改定版】",
        "DX推進ロードマップ - StartUp! Edition -",
        "高槻市 ICT 戦略",
        "(仮称) 門真市DX推進計画(案)",
        "第2次摂津市地域情報化計画",
    ] {
        assert!(list.contains(title), "{title} listed");
    }
    assert!(
        list.contains("高槻市") && list.contains("施策 12"),
        "{list}"
    );

    let takatsuki = app.get("/plans/takatsuki-ict-strategy").await;
    assert_eq!(takatsuki.status(), 200);
    let takatsuki = takatsuki.text().await.unwrap();
    let basic = takatsuki
        .find(">(1) ICT利活用による行政サービスの向上</h3>")
        .unwrap();
    let measure = takatsuki
        .find("(ア) 防災分野におけるICTの利活用</a></h4>")
        .unwrap();
    assert!(basic < measure, "the measure is under its 基本方針");
    // A contents list leads to the first level; what is under it is folded.
    let contents = takatsuki.find("<nav class=\"contents\"").unwrap();
    assert!(contents < basic);
    assert!(takatsuki.contains("<details class=\"fold\"><summary>"));
    assert!(takatsuki.contains("ICT戦略の基本方針") && takatsuki.contains("個別施策"));
    assert!(
        takatsuki.contains("83.3 %"),
        "figures of the earlier plans are shown"
    );

    let kadoma = app.get("/plans/kadoma-dx-plan").await.text().await.unwrap();
    for year in ["2022年度", "2023年度", "2024年度", "2025年度"] {
        assert!(
            kadoma.contains(&format!(r#"<th scope="col">{year}</th>"#)),
            "{year}"
        );
    }
    assert!(kadoma.contains("<td>環境整備・運用開始</td>"));
    assert!(kadoma.contains("ぴったりサービス"));
    assert!(
        !kadoma.contains("出典: 重点取組事項のスケジュール"),
        "where a transcriber found it is not for residents"
    );
    for summary in list_plans(app).await {
        let page = app
            .get(&format!("/plans/{summary}"))
            .await
            .text()
            .await
            .unwrap();
        for never in ["(seed ", "出典:", "施策施策", "?〜", "〜?", "転記者"] {
            assert!(!page.contains(never), "{summary} shows {never}");
        }
    }

    let missing = app.get("/plans/no-such-plan").await;
    assert_eq!(missing.status(), 404);
}

async fn the_api_gives_the_tree_and_a_problem_for_an_unknown_plan(app: &TestApp) {
    import_demo_plans(app).await;
    let list = app.get_json("/api/v1/plans").await;
    let plans = list["plans"].as_array().unwrap();
    assert_eq!(plans.len(), 5);
    let takatsuki = plans
        .iter()
        .find(|p| p["id"] == "takatsuki-ict-strategy")
        .unwrap();
    assert_eq!(takatsuki["city"]["code"], "272078");
    assert_eq!(takatsuki["city"]["name"], "高槻市");
    assert_eq!(takatsuki["measure_count"], 12);
    assert_eq!(takatsuki["node_count"], 16);

    let kadoma = app.get_json("/api/v1/plans/kadoma-dx-plan").await;
    assert_eq!(kadoma["format"], "machi-plan/1");
    assert_eq!(kadoma["period"]["from_fy"], 2022);
    assert_eq!(kadoma["header"]["levels"][0]["name"], "基本目標");
    let pittari = &kadoma["nodes"][0]["children"][0]["children"][0];
    assert_eq!(pittari["title"], "ぴったりサービス");
    assert_eq!(pittari["schedule"][0]["fy"], 2022);
    assert_eq!(pittari["schedule"][0]["text"], "環境整備・運用開始");

    let missing = app.get("/api/v1/plans/no-such-plan").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
    let openapi = app.get_json("/api/v1/openapi.json").await;
    assert!(openapi["paths"]["/api/v1/plans"]["get"].is_object());
    assert!(openapi["paths"]["/api/v1/plans/{id}"]["get"].is_object());
}

async fn a_reimport_replaces_the_plan_and_its_nodes(app: &TestApp) {
    let first = parse_plan(small_plan("第1版", true).as_bytes()).unwrap();
    let summary = app
        .store
        .import_plan(CITY, &first, "test", "first")
        .await
        .unwrap();
    assert_eq!((summary.node_count, summary.measure_count), (3, 1));
    let second = parse_plan(small_plan("第2版", false).as_bytes()).unwrap();
    app.store
        .import_plan(CITY, &second, "test", "second")
        .await
        .unwrap();
    let stored = app
        .store
        .plan(CITY, "example-dx-plan")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.summary.title, "第2版");
    assert_eq!(stored.plan, second, "the file is kept as parsed");
    let ids: Vec<&str> = stored.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["G1", "1-(1)"], "the removed node is gone");
    assert_eq!(stored.nodes[1].parent_id.as_deref(), Some("G1"));
    assert_eq!(stored.nodes[1].depth, 2);
    assert!(stored.nodes[1].measure);
    assert_eq!(app.store.plans(CITY).await.unwrap().len(), 1);
    assert!(app
        .store
        .plan("tonari", "example-dx-plan")
        .await
        .unwrap()
        .is_none());
}

on_both_backends!(
    the_seed_plans_can_be_browsed_with_their_own_levels,
    the_api_gives_the_tree_and_a_problem_for_an_unknown_plan,
    a_reimport_replaces_the_plan_and_its_nodes,
);

async fn the_cli_imports_a_plan_and_a_broken_file_changes_nothing(db: Db) {
    let Some(db) = TestDb::new(db).await else {
        return;
    };
    let dir = db.data_dir.path().to_path_buf();
    let good = dir.join("plan.yaml");
    std::fs::write(&good, small_plan("第1版", true)).unwrap();
    let output = db
        .machi()
        .args(["import", "plan"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("imported plan example-dx-plan"), "{stdout}");

    let broken = small_plan("第2版", false)
        .replace("272230", "272231")
        .replace("        level: 2", "        level: 3")
        .replace("{fy: 2022, text", "{fy: 3000, text");
    let bad = dir.join("broken.yaml");
    std::fs::write(&bad, broken).unwrap();
    let output = db
        .machi()
        .args(["import", "plan"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for path in [
        "plan.city.code:",
        "nodes[G1].children[1-(1)]: level is 3, expected 2",
        "nodes[G1].children[1-(1)].schedule[0].fy:",
    ] {
        assert!(stderr.contains(path), "{path} in {stderr}");
    }
    assert!(stderr.contains("3 problem(s)"), "{stderr}");

    // Replacing a plan is a revision: it needs a reason.
    let output = db
        .machi()
        .args(["import", "plan"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("give --reason"));
    let output = db
        .machi()
        .args(["import", "plan", "--reason", "字句の修正"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(output.status.success());

    let store = machi_store::Store::open(db.url.as_deref(), dir)
        .await
        .unwrap();
    let stored = store
        .plan("demo", "example-dx-plan")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.summary.title, "第1版",
        "nothing of the broken file was written"
    );
    assert_eq!(stored.nodes.len(), 3);
    let revisions = store
        .plan_revisions("demo", "example-dx-plan")
        .await
        .unwrap();
    let reasons: Vec<&str> = revisions.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons, ["字句の修正", "初版の取込"]);
    store.close().await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_cli_imports_a_plan_and_a_broken_file_changes_nothing() {
    the_cli_imports_a_plan_and_a_broken_file_changes_nothing(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_cli_imports_a_plan_and_a_broken_file_changes_nothing() {
    the_cli_imports_a_plan_and_a_broken_file_changes_nothing(Db::Postgres).await;
}
