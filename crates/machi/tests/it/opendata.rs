//! `machi opendata check`: a Shift_JIS CSV is checked against its standard dataset, with every
//! problem named by line and column; a right file passes; a newer definitions file is used as
//! given, without a rebuild.

use std::process::Command;

const AED_HEADER: &str = "都道府県コード又は市区町村コード,NO,都道府県名,市区町村名,名称,名称_カナ,住所,方書,緯度,経度,設置位置,電話番号,内線番号,法人番号,団体名,利用可能曜日,開始時間,終了時間,利用可能日時特記事項,小児対応設備の有無,URL,備考";
const GOOD_ROW: &str = "272230,1,大阪府,門真市,門真市役所,カドマシヤクショ,大阪府門真市中町1-1,本館,34.7390,135.5870,1階 正面玄関,06-6902-1231,,,門真市,月-金,09:00,17:30,,有,https://www.city.kadoma.osaka.jp/,";
const BAD_ROW: &str = "272231,2,大阪府,門真市,,ルミエール,大阪府門真市末広町29-2,,134.74,135.58,ホール,06-6909-1234,,,門真市,毎日,09:00,21:00,,あり,,";

fn shift_jis(lines: &[&str]) -> Vec<u8> {
    let text = lines.join("\r\n") + "\r\n";
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!unmappable);
    bytes.into_owned()
}

fn check(file: &std::path::Path, extra: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_machi"))
        .args(["opendata", "check"])
        .arg(file)
        .args(extra)
        .env("MACHI_LOG", "warn")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[test]
fn a_shift_jis_aed_list_is_checked_against_its_standard() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("272230_aed.csv");
    std::fs::write(&bad, shift_jis(&[AED_HEADER, GOOD_ROW, BAD_ROW])).unwrap();
    let (passed, report) = check(&bad, &[]);
    assert!(!passed, "{report}");
    for expected in [
        "2 rows (cp932), checked against aed_legacy AED設置箇所一覧",
        "error: line 3 名称: 必須の「名称」が空です",
        "error: line 3 緯度: 「緯度」の値「134.74」",
        "error: line 3 小児対応設備の有無: 「小児対応設備の有無」の値「あり」: 決められた値（有 / 無）ではありません",
        "error: line 3 都道府県コード又は市区町村コード:",
        "4 error(s), 0 warning(s)",
        "column 都道府県コード又は市区町村コード: text",
        "column 経度: numeric",
        "column 開始時間: time",
    ] {
        assert!(report.contains(expected), "{expected} in {report}");
    }

    let good = dir.path().join("good.csv");
    std::fs::write(&good, shift_jis(&[AED_HEADER, GOOD_ROW])).unwrap();
    let (passed, report) = check(&good, &["--dataset", "aed_legacy"]);
    assert!(passed, "{report}");
    assert!(report.contains("0 error(s), 0 warning(s)"));

    // A newer definitions file is data: it is read at run time.
    let newer = dir.path().join("newer.json");
    std::fs::write(
        &newer,
        r#"{"title": "t", "compiled": "2027-04-01", "datasets": [{"id": "aed_2027", "name_ja": "AED設置箇所一覧", "edition": "current", "version": "2027", "confidence": "high", "columns": [{"name": "名称", "required": true, "type": "text"}, {"name": "備考", "required": true, "type": "text"}]}]}"#,
    )
    .unwrap();
    let (passed, report) = check(&good, &["--definitions", newer.to_str().unwrap()]);
    assert!(!passed, "{report}");
    assert!(report.contains("checked against aed_2027"), "{report}");
    assert!(
        report.contains("error: line 2 備考: 必須の「備考」が空です"),
        "{report}"
    );

    let (passed, report) = check(&good, &["--dataset", "no_such"]);
    assert!(!passed);
    assert!(
        report.contains("no dataset 'no_such'; known: public_toilet"),
        "{report}"
    );
}

/// Uploads a file (a CSV unless `name` says otherwise) to a dataset's page as the staff form
/// does, the standard recognised.
async fn upload(
    client: &mut crate::harness::StaffClient,
    page: &str,
    bytes: Vec<u8>,
    csrf: String,
) -> reqwest::Response {
    upload_named(client, page, (bytes, "272230_aed.csv"), csrf).await
}

async fn upload_named(
    client: &mut crate::harness::StaffClient,
    page: &str,
    (bytes, name): (Vec<u8>, &str),
    csrf: String,
) -> reqwest::Response {
    use reqwest::multipart::{Form, Part};
    let form = Form::new()
        .text("csrf", csrf)
        .text("standard", "auto")
        .part("file", Part::bytes(bytes).file_name(name.to_string()));
    client
        .post_multipart(&format!("{page}/resources"), form)
        .await
}

async fn staff_publish_a_dataset_and_see_the_report_of_a_shift_jis_file(
    app: &crate::harness::TestApp,
) {
    let staff = "bousai@kikikanri.test";
    app.create_staff(staff, "staff", Some("kikikanri")).await;
    let mut client = app.sign_in(staff).await;
    let bad_form = client
        .submit(
            "/staff/opendata/new",
            "/staff/opendata/new",
            &[("name", "AED List"), ("title_ja", ""), ("groups", "parks")],
        )
        .await;
    assert_eq!(bad_form.status(), 422);
    let bad_form = bad_form.text().await.unwrap();
    assert!(
        bad_form.contains(r##"<a href="#name">"##)
            && bad_form.contains("タイトルを入力してください")
    );
    let created = client
        .submit(
            "/staff/opendata/new",
            "/staff/opendata/new",
            &[
                ("name", "aed"),
                ("title_ja", "AED設置箇所一覧"),
                ("tags", "防災、AED"),
                ("groups", "aed"),
                ("organization", "shimin"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303, "{}", created.text().await.unwrap());
    let page = created.headers()["location"].to_str().unwrap().to_string();
    let dataset = app
        .store
        .dataset(crate::harness::CITY, "aed")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        dataset.input.organization, "kikikanri",
        "a department publishes as itself"
    );
    assert_eq!(dataset.input.license_id, "CC-BY-4.0");

    let csrf = crate::harness::csrf_of(&client.get_html(&page).await);
    let rejected = upload(
        &mut client,
        &page,
        shift_jis(&[AED_HEADER, GOOD_ROW, BAD_ROW]),
        csrf.clone(),
    )
    .await;
    assert_eq!(rejected.status(), 422);
    let report = rejected.text().await.unwrap();
    for shown in [
        "エラーがあるため公開していません",
        "cp932",
        "AED設置箇所一覧（aed_legacy, legacy）",
        "<td>3</td><td>名称</td><td>エラー</td><td>必須の「名称」が空です</td>",
        "決められた値（有 / 無）ではありません",
    ] {
        assert!(report.contains(shown), "{shown} in the report");
    }
    let unchanged = app
        .store
        .dataset(crate::harness::CITY, "aed")
        .await
        .unwrap()
        .unwrap();
    assert!(
        unchanged.resources.is_empty(),
        "a file with errors is not kept"
    );

    let loose_time = GOOD_ROW.replace(",09:00,", ",9時,");
    let kept = upload(
        &mut client,
        &page,
        shift_jis(&[AED_HEADER, &loose_time]),
        csrf,
    )
    .await;
    assert_eq!(kept.status(), 200);
    let report = kept.text().await.unwrap();
    assert!(report.contains("ファイルを公開しました。"));
    assert!(
        report.contains("<td>2</td><td>開始時間</td><td>警告</td>"),
        "warnings are shown"
    );
    let published = app
        .store
        .dataset(crate::harness::CITY, "aed")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(published.resources.len(), 1);
    assert_eq!(published.resources[0].standard, "aed_legacy");
    assert_eq!(published.resources[0].format, "CSV");
    let id = &published.resources[0].id;
    let rows: serde_json::Value = app
        .get(&format!("/api/3/action/datastore_search?resource_id={id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        rows["result"]["total"], 1,
        "the kept file's rows are in the datastore"
    );
    assert_eq!(
        rows["result"]["records"][0]["開始時間"], "09:00:00",
        "9時 stored as a time"
    );
    assert_eq!(
        rows["result"]["records"][0]["都道府県コード又は市区町村コード"], "272230",
        "a code stays text"
    );

    // Residents find it, read it and download the very file.
    let catalog = app.get("/opendata?q=aed").await.text().await.unwrap();
    assert!(catalog.contains("1件のデータセット") && catalog.contains("/opendata/datasets/aed"));
    let filtered = app.get("/opendata?tags=防災").await.text().await.unwrap();
    assert!(
        filtered.contains("aria-current=\"true\""),
        "the chosen facet is marked"
    );
    let page_html = app
        .get("/opendata/datasets/aed")
        .await
        .text()
        .await
        .unwrap();
    assert!(page_html.contains("クリエイティブ・コモンズ 表示 4.0"));
    assert!(
        page_html.contains("データのプレビュー"),
        "the file's first rows are shown"
    );
    assert!(page_html.contains("<td>門真市役所</td>"));
    let download = format!("/opendata/resources/{}/download", published.resources[0].id);
    assert!(page_html.contains(&download));
    let file = app.get(&download).await;
    assert_eq!(
        file.headers()["content-type"],
        "text/csv; charset=Shift_JIS"
    );
    assert!(file.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("filename*=UTF-8''272230_aed.csv"));
    assert_eq!(
        file.bytes().await.unwrap().to_vec(),
        shift_jis(&[AED_HEADER, &loose_time]),
        "the file as uploaded"
    );
    assert_eq!(
        app.get("/opendata/resources/nothing/download")
            .await
            .status(),
        404
    );

    // An Excel workbook is read the same way, and its rows reach the datastore.
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (row, line) in (0u32..).zip([AED_HEADER, GOOD_ROW]) {
        for (column, cell) in (0u16..).zip(line.split(',')) {
            sheet.write_string(row, column, cell).unwrap();
        }
    }
    let csrf = crate::harness::csrf_of(&client.get_html(&page).await);
    let file = (workbook.save_to_buffer().unwrap(), "aed.xlsx");
    let excel = upload_named(&mut client, &page, file, csrf).await;
    assert_eq!(excel.status(), 200);
    let report = excel.text().await.unwrap();

    // Two cells at the grid's corners (1.5 KB) are refused, not read into gigabytes.
    let mut sparse = rust_xlsxwriter::Workbook::new();
    let sheet = sparse.add_worksheet();
    sheet.write_string(0, 0, "名称").unwrap();
    sheet.write_string(1_048_575, 16_383, "x").unwrap();
    let csrf = crate::harness::csrf_of(&client.get_html(&page).await);
    let file = (sparse.save_to_buffer().unwrap(), "sparse.xlsx");
    let refused = upload_named(&mut client, &page, file, csrf).await;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("シートが大きすぎます"), "{refused}");
    assert!(
        report.contains("xlsx") && report.contains("AED設置箇所一覧（aed_legacy, legacy）"),
        "{report}"
    );
    let published = app
        .store
        .dataset(crate::harness::CITY, "aed")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(published.resources[1].format, "XLSX");
    let rows: serde_json::Value = app
        .get(&format!(
            "/api/3/action/datastore_search?resource_id={}",
            published.resources[1].id
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rows["result"]["records"][0]["名称"], "門真市役所");

    let mut outsider = {
        app.create_staff("tanto@shimin.test", "staff", Some("shimin"))
            .await;
        app.sign_in("tanto@shimin.test").await
    };
    assert_eq!(
        outsider.get(&page).await.status(),
        403,
        "another department's dataset"
    );
}

mod versions;

crate::on_both_backends!(staff_publish_a_dataset_and_see_the_report_of_a_shift_jis_file,);
