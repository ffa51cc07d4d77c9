use super::*;

const DEMO: [(&str, &[u8]); 5] = [
    (
        "ibaraki-ict-vision",
        include_bytes!("../../../machi/demo/plans/ibaraki-ict-vision.yaml"),
    ),
    (
        "ibaraki-dx-roadmap",
        include_bytes!("../../../machi/demo/plans/ibaraki-dx-roadmap.yaml"),
    ),
    (
        "takatsuki-ict-strategy",
        include_bytes!("../../../machi/demo/plans/takatsuki-ict-strategy.yaml"),
    ),
    (
        "kadoma-dx-plan",
        include_bytes!("../../../machi/demo/plans/kadoma-dx-plan.yaml"),
    ),
    (
        "settsu-chiiki-johoka-2",
        include_bytes!("../../../machi/demo/plans/settsu-chiiki-johoka-2.yaml"),
    ),
];

const MINIMAL: &str = r#"format: machi-plan/1
plan:
  id: example-dx-plan
  city: {code: "272230", name: 門真市}
  title: 門真市DX推進計画
  period: {from_fy: 2022, to_fy: 2025, source: "p.12"}
  document: {title: 門真市DX推進計画, date: "2023-03", source: 表紙}
  levels:
    - {depth: 1, name: 基本目標, source: "p.16"}
    - {depth: 2, name: 重点取組事項, source: "p.16"}
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
        owners: [{name: ICT推進課}]
        schedule:
          - {fy: 2022, text: 環境整備・運用開始}
        kpis:
          - id: online-procedures
            name: オンライン化した手続数
            unit: 手続
            direction: increase
            baseline: {value: 6, as_of: "2022-06"}
            target: {value: 100, fy: 2025}
            source: "p.17"
        source: "p.17"
"#;

fn problems(yaml: &str) -> Vec<String> {
    parse_plan(yaml.as_bytes()).unwrap_err()
}

#[test]
fn the_five_demo_plans_parse() {
    for (id, bytes) in DEMO {
        let plan = parse_plan(bytes).unwrap_or_else(|e| panic!("{id}: {e:#?}"));
        assert_eq!(plan.plan.id, id);
    }
}

#[test]
fn the_takatsuki_tree_has_its_own_level_names() {
    let plan = parse_plan(DEMO[2].1).unwrap();
    assert_eq!(plan.level_name(1), Some("ICT戦略の基本方針"));
    assert_eq!(plan.level_name(2), Some("個別施策"));
    assert_eq!(plan.nodes.len(), 4);
    assert_eq!(plan.walk().iter().filter(|(_, n)| n.level == 2).count(), 12);
}

#[test]
fn the_kadoma_plan_keeps_its_schedule_per_fiscal_year() {
    let plan = parse_plan(DEMO[3].1).unwrap();
    let columns: Vec<i32> = plan.plan.schedule_columns.iter().map(|c| c.fy).collect();
    assert_eq!(columns, [2022, 2023, 2024, 2025]);
    let (_, pittari) = plan
        .walk()
        .into_iter()
        .find(|(_, n)| n.id == "1-(1)-1")
        .unwrap();
    assert_eq!(pittari.schedule[0].text, "環境整備・運用開始");
}

#[test]
fn the_minimal_example_of_the_documentation_parses() {
    let plan = parse_plan(MINIMAL.as_bytes()).unwrap();
    assert_eq!(plan.walk().len(), 2);
}

#[test]
fn city_codes_carry_a_check_digit() {
    for code in ["272230", "272116", "272078", "272248", "271004", "131016"] {
        assert!(city_code_is_valid(code), "{code}");
    }
    for code in ["272231", "27223", "2722300", "27223a"] {
        assert!(!city_code_is_valid(code), "{code}");
    }
}

#[test]
fn an_unknown_key_is_an_error_with_its_path() {
    let found = problems(&MINIMAL.replace(
        "        measure: true",
        "        measure: true\n        colour: red",
    ));
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("nodes[0].children[0]: unknown field `colour`"),
        "{found:?}"
    );
}

#[test]
fn a_missing_title_names_its_path() {
    let found = problems(&MINIMAL.replace("        title: 行政手続のオンライン化拡充\n", ""));
    assert!(
        found[0].starts_with("nodes[0].children[0]: missing field `title`"),
        "{found:?}"
    );
    let found = problems(&MINIMAL.replace("title: 行政手続のオンライン化拡充", "title: ''"));
    assert_eq!(found, ["nodes[G1].children[1-(1)]: missing required title"]);
}

#[test]
fn every_rule_broken_is_reported_at_once() {
    let broken = MINIMAL
        .replace("format: machi-plan/1", "format: machi-plan/2")
        .replace("id: example-dx-plan", "id: Example_Plan")
        .replace("272230", "272231")
        .replace("from_fy: 2022", "from_fy: 22")
        .replace("{depth: 2,", "{depth: 3,")
        .replace("        level: 2", "        level: 3")
        .replace("{fy: 2022, text", "{fy: 3000, text")
        .replace("\"2022-06\"", "\"2022-13\"");
    let found = problems(&broken);
    let expected = [
        "format: must be exactly 'machi-plan/1'",
        "plan.id: use lowercase",
        "plan.city.code: '272231' is not",
        "plan.period.from_fy: fiscal year 22",
        "plan.levels[1].depth: is 3, expected 2",
        "nodes[G1].children[1-(1)]: level is 3, expected 2",
        "nodes[G1].children[1-(1)].schedule[0].fy: fiscal year 3000",
        "nodes[G1].children[1-(1)].kpis[online-procedures].baseline.as_of: date '2022-13'",
    ];
    for prefix in expected {
        assert!(
            found.iter().any(|p| p.starts_with(prefix)),
            "{prefix} not in {found:#?}"
        );
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

#[test]
fn ids_are_unique_in_the_file_and_labels_under_one_parent() {
    let twin = "      - id: 1-(1)\n        level: 2\n        label: 1-(1)\n        title: 二つ目\n        source: p.18\n";
    let found = problems(&format!("{MINIMAL}{twin}"));
    assert_eq!(
        found,
        [
            "nodes[G1].children[1-(1)]: node id '1-(1)' is used twice in the file",
            "nodes[G1].children[1-(1)]: label '1-(1)' is used twice under one parent",
        ]
    );
}

#[test]
fn a_null_period_needs_a_reason_and_a_loose_figure_an_existing_node() {
    let broken = MINIMAL.replace("to_fy: 2025", "to_fy: null")
        + "figures:\n  - {id: f1, name: 手続数, value: 6, unit: 件, node: G9, source: p.1}\n";
    assert_eq!(
        problems(&broken),
        [
            "plan.period.to_fy: may be null only with period.uncertain",
            "figures[f1].node: no node has id 'G9'",
        ]
    );
}

#[test]
fn a_status_reads_as_staff_write_it_in_the_file_and_on_the_page() {
    for status in [
        Status::NotStarted,
        Status::InProgress,
        Status::Done,
        Status::UnderReview,
        Status::Stopped,
    ] {
        assert_eq!(serde_json::to_value(status).unwrap(), status.label());
    }
}

#[test]
fn a_revision_names_added_removed_and_rewritten_nodes() {
    use super::revision::changes;
    let before = parse_plan(MINIMAL.as_bytes()).unwrap();
    let mut after = before.clone();
    after.plan.title = "改定版".into();
    let first = &mut after.nodes[0].children[0];
    first.title = "行政手続のオンライン化".into();
    let removed = after.nodes[0].children.remove(0);
    let mut added = removed.clone();
    added.id = "1-(9)".into();
    after.nodes[0].children.push(added);
    after.nodes[0].description = Some("書き直し".into());
    let diff = changes(&before, &after);
    assert_eq!(diff.header, ["title"]);
    assert_eq!(diff.added.len(), 1);
    assert_eq!(diff.added[0].id, "1-(9)");
    assert_eq!(diff.removed.len(), 1);
    assert_eq!(diff.changed.len(), 1);
    assert_eq!(diff.changed[0].fields, ["description"]);
    assert!(changes(&before, &before).is_empty());
}
