//! A published file replaced by a new version keeps its resource (id, address, place), its
//! datastore rows follow the new file, and the audit log names both files; the dataset form
//! takes full-width names and 和暦 dates as residents' forms do; staff pages show JST.

use crate::harness::{csrf_of, TestApp, CITY};

async fn upload(
    client: &mut crate::harness::StaffClient,
    page: &str,
    csv: &str,
    replace: &str,
) -> reqwest::Response {
    use reqwest::multipart::{Form, Part};
    let csrf = csrf_of(&client.get_html(page).await);
    let form = Form::new()
        .text("csrf", csrf)
        .text("standard", "")
        .text("replace", replace.to_string())
        .part(
            "file",
            Part::bytes(csv.as_bytes().to_vec()).file_name("parks.csv"),
        );
    client
        .post_multipart(&format!("{page}/resources"), form)
        .await
}

async fn a_file_is_replaced_by_its_new_version(app: &TestApp) {
    let staff = "midori@kikikanri.test";
    app.create_staff(staff, "staff", Some("kikikanri")).await;
    let mut client = app.sign_in(staff).await;
    let created = client
        .submit(
            "/staff/opendata/new",
            "/staff/opendata/new",
            &[
                ("name", "ｐａｒｋｓ－２０２４"),
                ("title_ja", "公園一覧"),
                ("temporal_start", "令和６年４月１日"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303, "{}", created.text().await.unwrap());
    let dataset = app
        .store
        .dataset(CITY, "parks-2024")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dataset.input.temporal_start, "2024-04-01");
    let page = format!("/staff/opendata/{}", dataset.id);

    let first = upload(&mut client, &page, "名称,面積\n中央公園,1200\n", "").await;
    assert_eq!(first.status(), 200, "{}", first.text().await.unwrap());
    let dataset = app
        .store
        .dataset(CITY, "parks-2024")
        .await
        .unwrap()
        .unwrap();
    let id = dataset.resources[0].id.clone();

    let second = upload(
        &mut client,
        &page,
        "名称,面積\n中央公園,1200\n北公園,800\n",
        &id,
    )
    .await;
    assert_eq!(second.status(), 200, "{}", second.text().await.unwrap());
    let dataset = app
        .store
        .dataset(CITY, "parks-2024")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        dataset.resources.len(),
        1,
        "the same resource, not a second one"
    );
    assert_eq!(dataset.resources[0].id, id);
    let rows: serde_json::Value = app
        .get_json(&format!("/api/3/action/datastore_search?resource_id={id}"))
        .await;
    assert_eq!(
        rows["result"]["total"], 2,
        "the rows follow the new version"
    );
    let file = app
        .get(&format!("/opendata/resources/{id}/download"))
        .await
        .text()
        .await
        .unwrap();
    assert!(file.contains("北公園"));
    let log = app
        .store
        .audit_entries(
            CITY,
            &machi_store::audit::AuditQuery {
                subject: format!("resource:{id}"),
                action: "resource.replace".into(),
                limit: 5,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(log.len(), 1, "the replacement is audited with both files");

    let elsewhere = upload(&mut client, &page, "名称\nx\n", "no-such-resource").await;
    assert_eq!(elsewhere.status(), 422);

    let list = client.get_html("/staff/opendata").await;
    assert!(
        list.contains("令和") && !list.contains("Z</td>"),
        "times in JST"
    );
}

crate::on_both_backends!(a_file_is_replaced_by_its_new_version);
