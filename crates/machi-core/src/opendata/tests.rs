use super::standard::{check, column_types, Definitions, Severity};
use super::table::read_csv;
use super::types::{infer, ColumnType};
use crate::text::{to_cp932, Encoding};

const AED_HEADER: &str = "都道府県コード又は市区町村コード,NO,都道府県名,市区町村名,名称,名称_カナ,住所,方書,緯度,経度,設置位置,電話番号,内線番号,法人番号,団体名,利用可能曜日,開始時間,終了時間,利用可能日時特記事項,小児対応設備の有無,URL,備考";

/// An AED list in the 推奨データセット format, saved by Excel as Shift_JIS: line 2 is right;
/// line 3 has a latitude in words; line 4 lacks its 名称, has a wrong check digit and a
/// value outside 有/無; line 5 writes its time and date loosely.
fn aed_csv() -> Vec<u8> {
    let rows = [
        AED_HEADER,
        "272230,1,大阪府,門真市,門真市役所,カドマシヤクショ,大阪府門真市中町1-1,本館,34.7390,135.5870,1階 正面玄関,06-6902-1231,,,門真市,月-金,09:00,17:30,,有,https://www.city.kadoma.osaka.jp/,",
        "272230,2,大阪府,門真市,市民プラザ,シミンプラザ,大阪府門真市末広町29-1,,北緯34度,135.58,2階,06-6909-1231,,,門真市,毎日,09:00,21:00,,無,,",
        "272231,3,大阪府,門真市,,ルミエール,大阪府門真市末広町29-2,,34.74,135.58,ホール,06-6909-1234,,,門真市,毎日,09:00,21:00,,あり,,",
        "272230,4,大阪府,門真市,体育館,タイイクカン,大阪府門真市松生町1-1,,34.73,135.59,受付,０６－６９０２－０００１,,,門真市,月-土,9時,21:00,,有,,",
    ];
    to_cp932(&(rows.join("\r\n") + "\r\n"))
}

#[test]
fn a_shift_jis_aed_list_is_checked_line_by_line() {
    let table = read_csv(&aed_csv()).unwrap();
    assert_eq!(table.encoding, Encoding::Cp932);
    assert_eq!(table.lines, [2, 3, 4, 5]);
    let definitions = Definitions::bundled().unwrap();
    let dataset = definitions.recognise(&table).unwrap();
    assert_eq!(dataset.id, "aed_legacy");
    assert!(dataset.is_certain());
    let report = check(dataset, &table);
    let found: Vec<(Severity, u64, &str)> = report
        .findings
        .iter()
        .map(|f| (f.severity, f.line, f.column.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Severity::Error, 3, "緯度"),
            (Severity::Error, 4, "名称"),
            (Severity::Error, 4, "小児対応設備の有無"),
            (Severity::Error, 4, "都道府県コード又は市区町村コード"),
            (Severity::Warning, 5, "開始時間"),
            (Severity::Warning, 5, "電話番号"),
        ],
        "{:#?}",
        report.findings
    );
    assert_eq!((report.errors(), report.warnings()), (4, 2));
    assert!(report.findings[1]
        .message
        .ja
        .contains("必須の「名称」が空です"));
}

#[test]
fn an_uncertain_definition_warns_instead_of_rejecting() {
    let definitions = Definitions::bundled().unwrap();
    let aed = definitions.dataset("aed").unwrap();
    assert!(
        !aed.is_certain(),
        "the current AED sheet was read only in part"
    );
    let header: Vec<&str> = aed.columns.iter().map(|c| c.name.as_str()).collect();
    let mut row = vec![""; header.len()];
    row[0] = "999999";
    let csv = format!("{}\n{}\n", header.join(","), row.join(","));
    let report = check(aed, &read_csv(csv.as_bytes()).unwrap());
    assert!(report.warnings() > 0);
    assert_eq!(report.errors(), 0, "{:#?}", report.findings);
}

#[test]
fn a_missing_required_column_and_extra_columns_are_named_in_the_header() {
    let definitions = Definitions::bundled().unwrap();
    let aed = definitions.dataset("aed_legacy").unwrap();
    let csv = AED_HEADER.replace(",設置位置", "") + ",独自の列\n";
    let report = check(aed, &read_csv(csv.as_bytes()).unwrap());
    let header: Vec<(Severity, &str)> = report
        .findings
        .iter()
        .map(|f| (f.severity, f.column.as_str()))
        .collect();
    assert_eq!(
        header,
        [
            (Severity::Error, "設置位置"),
            (Severity::Warning, "独自の列")
        ]
    );
}

#[test]
fn a_newer_definitions_file_is_data() {
    let newer =
        r#"{"title": "t", "compiled": "2027-04-01", "datasets": [{"id": "x", "name_ja": "X一覧",
        "edition": "current", "version": "v2", "confidence": "high", "columns": [
        {"name": "名称", "required": true, "type": "text"}]}]}"#
            .as_bytes();
    let definitions = Definitions::from_json(newer).unwrap();
    let report = check(
        definitions.dataset("x").unwrap(),
        &read_csv("名称\n\n".as_bytes()).unwrap(),
    );
    assert_eq!(
        report.findings.len(),
        0,
        "an empty file has no rows to fault"
    );
    assert!(Definitions::from_json(b"{\"title\": 1}").is_err());
}

#[test]
fn unreadable_files_name_their_line() {
    let ragged = read_csv("a,b\n1,2\n3\n".as_bytes()).unwrap_err();
    assert_eq!(ragged.line, 3);
    let mut bytes = b"a,b\n1,2\n".to_vec();
    bytes.extend_from_slice(&[0x82, b'\n']);
    assert_eq!(read_csv(&bytes).unwrap_err().line, 3);
    assert_eq!(read_csv("a,a\n".as_bytes()).unwrap_err().line, 1);
    assert_eq!(read_csv(b"").unwrap_err().line, 1);
    let quoted = read_csv("a,b\n\"x\ny\",2\n3,4\n".as_bytes()).unwrap();
    assert_eq!(
        quoted.lines,
        [2, 4],
        "a quoted line break stays in its cell"
    );
}

#[test]
fn column_types_are_inferred_as_a_reader_would() {
    let infer_of = |cells: &[&str]| infer(cells.iter().copied());
    assert_eq!(infer_of(&["1", "２３", "1,234", ""]), ColumnType::Integer);
    assert_eq!(infer_of(&["1.5", "-2", ""]), ColumnType::Numeric);
    assert_eq!(
        infer_of(&["2024-04-01", "令和6年4月2日", "R6.4.3"]),
        ColumnType::Date
    );
    assert_eq!(
        infer_of(&["9:00", "17:30:00", "９時３０分", "9時"]),
        ColumnType::Time
    );
    assert_eq!(
        infer_of(&["0120", "0601"]),
        ColumnType::Text,
        "leading zeros are codes"
    );
    assert_eq!(infer_of(&["1", "たくさん"]), ColumnType::Text);
    assert_eq!(infer_of(&["", " "]), ColumnType::Text);
    assert_eq!(
        ColumnType::Date.normalise("令和6年4月1日").as_deref(),
        Some("2024-04-01")
    );
    assert_eq!(
        ColumnType::Integer.normalise("1,234").as_deref(),
        Some("1234")
    );
    assert_eq!(ColumnType::parse("integer"), Some(ColumnType::Int4));
    assert_eq!(ColumnType::parse("blob"), None);
}

#[test]
fn a_declared_standard_decides_column_types_where_the_cells_fit() {
    let table = read_csv(&aed_csv()).unwrap();
    let definitions = Definitions::bundled().unwrap();
    let aed = definitions.dataset("aed_legacy").unwrap();
    let types = column_types(&table, Some(aed));
    let of = |name: &str| types[table.headers.iter().position(|h| h == name).unwrap()];
    assert_eq!(
        of("都道府県コード又は市区町村コード"),
        ColumnType::Text,
        "a code, not a number"
    );
    assert_eq!(of("経度"), ColumnType::Numeric);
    assert_eq!(of("開始時間"), ColumnType::Time, "9時 fits a time");
    assert_eq!(
        of("緯度"),
        ColumnType::Text,
        "line 3's 北緯34度 fits no number"
    );
    let inferred = column_types(&table, None);
    assert_eq!(
        inferred[0],
        ColumnType::Integer,
        "without a standard the cells decide"
    );
}

#[test]
fn a_dataset_is_checked_and_tidied() {
    use super::catalog::{format_of, DatasetInput};
    let groups = Definitions::bundled().unwrap().groups();
    assert!(groups
        .iter()
        .any(|g| g.name == "aed" && g.title == "AED設置箇所一覧"));
    assert!(groups.iter().any(|g| g.name == "standard-06"));
    let departments = vec!["kikikanri".to_string()];
    let input = DatasetInput {
        name: "aed-list".into(),
        title_ja: " AED設置箇所一覧 ".into(),
        organization: "kikikanri".into(),
        tags: vec!["防災".into(), "防災".into(), " AED ".into()],
        groups: vec!["aed".into()],
        ..DatasetInput::default()
    };
    let checked = input.clone().check(&departments, &groups).unwrap();
    assert_eq!(checked.license_id, "CC-BY-4.0", "CC BY 4.0 by default");
    assert_eq!(checked.tags, ["防災", "AED"]);
    assert_eq!(checked.title_ja, "AED設置箇所一覧");
    let bad = DatasetInput {
        name: "AED List".into(),
        title_ja: "".into(),
        organization: "nowhere".into(),
        license_id: "mine".into(),
        tags: vec!["a,b".into()],
        groups: vec!["parks".into()],
        temporal_start: "someday".into(),
        ..DatasetInput::default()
    };
    let fields: Vec<&str> = bad
        .check(&departments, &groups)
        .unwrap_err()
        .iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(
        fields,
        [
            "name",
            "title",
            "owner_org",
            "license_id",
            "tags",
            "groups",
            "temporal_start"
        ]
    );
    assert_eq!(format_of("aed.CSV", ""), "CSV");
    assert_eq!(format_of("x", "application/pdf"), "PDF");
}

#[test]
fn the_demo_files_follow_their_standards_without_a_finding() {
    let definitions = Definitions::bundled().unwrap();
    for (file, id) in [
        (
            &include_bytes!("../../../machi/demo/opendata/990019_evacuation_space.csv")[..],
            "evacuation_space",
        ),
        (
            &include_bytes!("../../../machi/demo/opendata/990019_aed.csv")[..],
            "aed_legacy",
        ),
        (
            &include_bytes!("../../../machi/demo/opendata/990019_public_facility.csv")[..],
            "public_facility_legacy",
        ),
    ] {
        let table = read_csv(file).unwrap();
        let dataset = definitions.recognise(&table).unwrap();
        assert_eq!(dataset.id, id);
        // 災害種別 columns are required yet may be empty: "1" or empty is the enumeration.
        let report = check(dataset, &table);
        assert!(report.findings.is_empty(), "{id}: {:#?}", report.findings);
    }
}

#[test]
fn openness_stars_follow_the_five_star_scheme() {
    use super::catalog::{coverage, openness_stars};
    assert_eq!(openness_stars("CSV", "CC-BY-4.0"), 3);
    assert_eq!(openness_stars("XLSX", "CC-BY-4.0"), 2);
    assert_eq!(openness_stars("PDF", "PDL-1.0"), 1);
    assert_eq!(openness_stars("CSV", "other-closed"), 0);
    let groups = Definitions::bundled().unwrap().groups();
    let (covered, all) = coverage(&groups, &["aed".into(), "aed".into(), "population".into()]);
    assert_eq!((covered, all), (2, groups.len()));
}

#[test]
fn an_excel_workbook_reads_as_a_table_with_dates_and_numbers_as_written() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let date = Format::new().set_num_format("yyyy/mm/dd");
    for (column, header) in (0u16..).zip(["名称", "開設日", "定員", "緯度", "開所時刻"])
    {
        sheet.write_string(0, column, header).unwrap();
    }
    sheet.write_string(1, 0, "北保育所").unwrap();
    sheet
        .write_datetime_with_format(1, 1, ExcelDateTime::from_ymd(2024, 4, 1).unwrap(), &date)
        .unwrap();
    sheet.write_number(1, 2, 80.0).unwrap();
    sheet.write_number(1, 3, 34.7355).unwrap();
    let time = Format::new().set_num_format("hh:mm");
    sheet
        .write_datetime_with_format(1, 4, ExcelDateTime::from_hms(7, 30, 0).unwrap(), &time)
        .unwrap();
    sheet.write_string(3, 0, "南保育所").unwrap();
    let bytes = workbook.save_to_buffer().unwrap();
    let table = super::table::read_xlsx(&bytes).unwrap();
    assert_eq!(
        table.headers,
        ["名称", "開設日", "定員", "緯度", "開所時刻"]
    );
    assert_eq!(
        table.rows[0],
        ["北保育所", "2024-04-01", "80", "34.7355", "07:30:00"]
    );
    assert_eq!(
        table.lines,
        [2, 4],
        "an empty row between is skipped, lines are sheet rows"
    );
    let types = column_types(&table, None);
    assert_eq!(types[1], ColumnType::Date);
    assert_eq!(types[2], ColumnType::Integer);
    assert_eq!(types[4], ColumnType::Time);
    assert!(super::table::read_xlsx(b"not a workbook").is_err());
}

#[test]
fn a_sheet_spanning_the_whole_grid_is_refused_before_it_is_read() {
    use rust_xlsxwriter::Workbook;
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "名称").unwrap();
    sheet.write_string(1_048_575, 16_383, "x").unwrap();
    let bytes = workbook.save_to_buffer().unwrap();
    assert!(bytes.len() < 10_000, "a tiny file: {} bytes", bytes.len());
    let error = super::table::read_xlsx(&bytes).unwrap_err();
    assert!(error.message.en.contains("too large"), "{error}");
    assert!(error.message.ja.contains("1048576行×16384列"), "{error}");

    // Stray cells far apart but within the columns are refused by the cells really there.
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "名称").unwrap();
    sheet.write_string(0, 999, "備考").unwrap();
    for row in 1..20_000 {
        sheet.write_string(row * 50, 0, "x").unwrap();
    }
    let error = super::table::read_xlsx(&workbook.save_to_buffer().unwrap()).unwrap_err();
    assert!(error.message.en.contains("too large"), "{error}");
}
