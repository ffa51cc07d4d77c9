use std::collections::HashSet;

use chrono::NaiveDate;

use super::*;

fn context() -> Context {
    Context {
        departments: [
            ("shimin".to_string(), "市民課".to_string()),
            ("zeimu".to_string(), "税務課".to_string()),
        ]
        .into_iter()
        .collect(),
        writable: None,
        measures: [MeasureLink {
            plan_id: "kadoma-dx-plan".into(),
            node_id: "1-(1)".into(),
        }]
        .into_iter()
        .collect(),
    }
}

fn input() -> AssetInput {
    AssetInput {
        id: "SYS-001".into(),
        name: "住民記録システム".into(),
        department: "市民課".into(),
        purpose: "住民基本台帳事務".into(),
        vendor: "デモ情報システム株式会社".into(),
        contract_start: "2021/4/1".into(),
        contract_end: "令和8年3月31日".into(),
        yearly_cost: "１２,０００,０００円".into(),
        hosting: "ガバメントクラウド".into(),
        confidentiality: "3".into(),
        integrity: "2".into(),
        availability: "2".into(),
        personal_data: "あり".into(),
        standard_business: "住民基本台帳".into(),
        migration: "移行中".into(),
        end_of_life: "".into(),
        measures: "kadoma-dx-plan:1-(1)".into(),
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn a_full_input_becomes_an_asset_with_codes_and_dates() {
    let asset = input().parse(&context()).unwrap();
    assert_eq!(asset.department, "shimin");
    assert_eq!(asset.contract_start, Some(day(2021, 4, 1)));
    assert_eq!(asset.contract_end, Some(day(2026, 3, 31)));
    assert_eq!(asset.yearly_cost, Some(12_000_000));
    assert_eq!(asset.hosting, Hosting::GovCloud);
    assert_eq!(
        asset.standard_business.map(|b| b.code()),
        Some("resident_registry")
    );
    assert_eq!(asset.migration, MigrationStatus::Migrating);
    assert!(asset.personal_data);
    assert_eq!(asset.measures.len(), 1);
}

#[test]
fn every_wrong_field_is_named_in_japanese_and_english() {
    let wrong = AssetInput {
        id: "住民/1".into(),
        contract_end: "2020-02-30".into(),
        yearly_cost: "-5".into(),
        hosting: "自宅".into(),
        confidentiality: "4".into(),
        personal_data: "たぶん".into(),
        standard_business: "水道".into(),
        measures: "nope".into(),
        department: "総務課".into(),
        ..input()
    };
    let errors = wrong.parse(&context()).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    for field in [
        "id",
        "department",
        "contract_end",
        "yearly_cost",
        "hosting",
        "confidentiality",
        "personal_data",
        "standard_business",
        "measures",
    ] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    assert!(errors
        .iter()
        .all(|e| !e.message.ja.is_empty() && !e.message.en.is_empty()));
}

#[test]
fn a_contract_cannot_end_before_it_starts() {
    let wrong = AssetInput {
        contract_start: "2026-04-01".into(),
        contract_end: "2026-03-31".into(),
        ..input()
    };
    let errors = wrong.parse(&context()).unwrap_err();
    assert_eq!(errors[0].field, "contract_end");
}

#[test]
fn only_the_20_businesses_migrate_and_others_are_not_applicable() {
    let other = AssetInput {
        standard_business: "".into(),
        migration: "".into(),
        ..input()
    };
    assert_eq!(
        other.parse(&context()).unwrap().migration,
        MigrationStatus::NotApplicable
    );
    let wrong = AssetInput {
        standard_business: "".into(),
        migration: "移行中".into(),
        ..input()
    };
    assert_eq!(wrong.parse(&context()).unwrap_err()[0].field, "migration");
    let wrong = AssetInput {
        migration: "対象外".into(),
        ..input()
    };
    assert_eq!(wrong.parse(&context()).unwrap_err()[0].field, "migration");
    assert_eq!(STANDARD_BUSINESSES.len(), 20);
    assert_eq!(
        StandardBusiness::parse("子ども子育て支援").map(|b| b.label()),
        Some("子ども・子育て支援")
    );
}

#[test]
fn a_department_writes_only_its_own_systems() {
    let mut own = context();
    own.writable = Some(HashSet::from(["zeimu".to_string()]));
    let errors = input().parse(&own).unwrap_err();
    assert_eq!(errors[0].field, "department");
    assert!(errors[0].message.ja.contains("自課のみ"));
}

#[test]
fn fiscal_years_start_on_the_first_of_april() {
    assert_eq!(fiscal_year(day(2026, 3, 31)), 2025);
    assert_eq!(fiscal_year(day(2026, 4, 1)), 2026);
    assert_eq!(fiscal_year(day(2027, 1, 15)), 2026);
}

#[test]
fn a_yearly_cost_counts_in_every_fiscal_year_the_contract_touches() {
    let mut a = input().parse(&context()).unwrap();
    a.contract_start = Some(day(2024, 10, 1)); // FY2024
    a.contract_end = Some(day(2026, 4, 30)); // FY2026
    a.yearly_cost = Some(100);
    let mut b = a.clone();
    b.id = "SYS-002".into();
    b.contract_start = None; // open start: from the table's first year
    b.contract_end = Some(day(2025, 3, 31)); // FY2024
    b.yearly_cost = Some(10);
    let mut c = a.clone();
    c.department = "zeimu".into();
    c.contract_start = Some(day(2026, 4, 1));
    c.contract_end = None; // open end: to the table's last year
    c.yearly_cost = Some(1);
    let mut free = a.clone();
    free.yearly_cost = None;
    let (rows, totals) = cost_table(&[a, b, c, free], 2023, 2027);
    assert_eq!(rows[0].department, "shimin");
    assert_eq!(rows[0].per_year, vec![10, 110, 100, 100, 0]);
    assert_eq!(rows[0].total, 320);
    assert_eq!(rows[1].per_year, vec![0, 0, 0, 1, 1]);
    assert_eq!(totals, vec![10, 110, 100, 101, 1]);
}

#[test]
fn reminders_come_at_90_and_30_days_and_not_after_the_deadline() {
    let end = day(2026, 6, 30);
    let due = |today| due_reminder(Deadline::ContractEnd, end, today).map(|r| r.days_before);
    assert_eq!(due(day(2026, 3, 31)), None); // 91 days before
    assert_eq!(due(day(2026, 4, 1)), Some(90));
    assert_eq!(due(day(2026, 5, 31)), Some(30));
    assert_eq!(due(day(2026, 6, 30)), Some(30));
    assert_eq!(due(day(2026, 7, 1)), None);
}

#[test]
fn the_reminder_mail_names_the_system_the_date_and_the_days_left() {
    let asset = input().parse(&context()).unwrap();
    let reminder = due_reminder(Deadline::ContractEnd, day(2026, 3, 31), day(2026, 1, 30)).unwrap();
    let (subject, body) = reminder_mail(&asset, &reminder, "市民課", "https://x/staff/assets");
    assert!(subject.contains("契約終了まで60日") && subject.contains("SYS-001"));
    assert!(body.contains("令和8年3月31日") && body.contains("https://x/staff/assets"));
}

#[test]
fn changes_list_only_what_differs_with_before_and_after() {
    let before = input().parse(&context()).unwrap();
    let mut after = before.clone();
    after.yearly_cost = Some(13_000_000);
    let changes = after.changes_from(Some(&before));
    assert_eq!(changes.len(), 1);
    assert_eq!(changes["yearly_cost"]["before"], 12_000_000);
    assert_eq!(changes["yearly_cost"]["after"], 13_000_000);
    assert_eq!(after.changes_from(None).len(), 17);
}

const HEADER: &str = "管理番号,システム名,所管課,契約終了日,稼働環境\r\n";

#[test]
fn a_utf8_file_with_or_without_bom_and_a_cp932_file_read_the_same() {
    let text = format!(
        "{HEADER}A-1,住民記録,市民課,2027-03-31,クラウド\r\nA-2,税務,zeimu,,オンプレミス\r\n"
    );
    let plain = parse_csv(text.as_bytes(), &context()).unwrap();
    let bom = parse_csv(&[b"\xEF\xBB\xBF", text.as_bytes()].concat(), &context()).unwrap();
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    let sjis = parse_csv(&sjis, &context()).unwrap();
    assert_eq!(plain.encoding, Encoding::Utf8);
    assert_eq!(sjis.encoding, Encoding::Cp932);
    assert_eq!(plain.assets, bom.assets);
    assert_eq!(plain.assets, sjis.assets);
    assert_eq!(plain.assets[1].0, 3, "line numbers");
    assert_eq!(plain.assets[1].1.department, "zeimu");
}

#[test]
fn every_bad_row_is_reported_with_line_and_column() {
    let text = format!(
        "{HEADER}A-1,住民記録,市民課,2027-03-31,クラウド\r\nA-2,税務,税務課,2027-02-31,クラウド\r\nA-3,福祉,市民課,,宇宙\r\nA-1,重複,市民課,,クラウド\r\n"
    );
    let problems = parse_csv(text.as_bytes(), &context()).unwrap_err();
    let found: Vec<(u64, &str)> = problems
        .iter()
        .map(|p| (p.line, p.column.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![(3, "契約終了日"), (4, "稼働環境"), (5, "管理番号")]
    );
}

#[test]
fn unknown_and_missing_columns_are_refused_before_any_row() {
    let problems = parse_csv("管理番号,名前\r\nA-1,x\r\n".as_bytes(), &context()).unwrap_err();
    assert!(problems.iter().all(|p| p.line == 1));
    assert!(problems.iter().any(|p| p.column == "名前"));
    assert!(problems.iter().any(|p| p.column == "システム名"));
}

#[test]
fn bytes_that_are_neither_utf8_nor_cp932_are_refused_with_their_line() {
    let mut bytes = encoding_rs::SHIFT_JIS.encode(HEADER).0.to_vec();
    bytes.extend_from_slice(b"A-1,\x82\xa0,x,,\r\nA-2,\xff\xfe,x,,\r\n");
    let problems = parse_csv(&bytes, &context()).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, 3);
}

#[test]
fn an_exported_ledger_reads_back_the_same_in_both_encodings() {
    let asset = input().parse(&context()).unwrap();
    for encoding in [Encoding::Utf8, Encoding::Cp932] {
        let bytes = encode_csv(
            std::slice::from_ref(&asset),
            &context().departments,
            encoding,
        )
        .unwrap();
        assert_eq!(
            bytes.starts_with(b"\xEF\xBB\xBF"),
            encoding == Encoding::Utf8
        );
        assert!(bytes.windows(2).any(|w| w == b"\r\n"));
        let back = parse_csv(&bytes, &context()).unwrap();
        assert_eq!(back.encoding, encoding);
        assert_eq!(back.assets[0].1, asset);
    }
}
