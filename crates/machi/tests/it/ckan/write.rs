//! The CKAN write actions: only with a staff API token, only for the token owner's own
//! department, with CKAN's errors; ckanapi writes the same way; a revoked token signs nothing.

use serde_json::{json, Value};

use super::{action, publish, run_client_with};
use crate::harness::{TestApp, CITY};
use crate::on_both_backends;

async fn writers_need_a_token_and_write_only_their_own(app: &TestApp) {
    publish(app).await;
    let writer = "bousai@kikikanri.test";
    app.create_staff(writer, "staff", Some("kikikanri")).await;
    let (_, token) = app
        .store
        .create_api_token(CITY, writer, "test")
        .await
        .unwrap();
    let post = |action: &str, body: Value, token: Option<&str>| {
        let mut request = app
            .client
            .post(app.url(&format!("/api/3/action/{action}")))
            .json(&body);
        if let Some(token) = token {
            request = request.header("Authorization", token);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let dataset = json!({"name": "shelters", "title": "避難所一覧",
        "tags": [{"name": "防災"}], "groups": [{"name": "evacuation_space"}],
        "extras": [{"key": "frequency", "value": "随時"}],
        "resources": [{"url": "https://example.jp/s.csv", "name": "CSV", "format": "csv"}]});
    let (status, refused) = post("package_create", dataset.clone(), None).await;
    assert_eq!(
        (status, &refused["error"]["__type"]),
        (403, &json!("Authorization Error"))
    );
    let (status, forged) = post("package_create", dataset.clone(), Some("not-a-token")).await;
    assert_eq!(status, 403, "{forged}");
    let (status, created) = post("package_create", dataset, Some(&token)).await;
    assert_eq!(status, 200, "{created}");
    let created = &created["result"];
    assert_eq!(
        created["organization"]["name"], "kikikanri",
        "a department publishes as itself"
    );
    assert_eq!(created["frequency"], "随時");
    assert_eq!(created["resources"][0]["format"], "CSV");
    let (status, bad) = post(
        "package_create",
        json!({"name": "Bad Name", "title": ""}),
        Some(&token),
    )
    .await;
    assert_eq!(status, 409);
    assert!(
        bad["error"]["name"].is_array() && bad["error"]["title"].is_array(),
        "{bad}"
    );
    let (status, taken) = post(
        "package_create",
        json!({"name": "shelters", "title": "x"}),
        Some(&token),
    )
    .await;
    assert_eq!(
        (status, &taken["error"]["name"]),
        (409, &json!(["That URL is already in use."]))
    );
    let (status, _) = post(
        "package_patch",
        json!({"id": "jinko", "title": "x"}),
        Some(&token),
    )
    .await;
    assert_eq!(status, 403, "another department's dataset");
    let (_, patched) = post(
        "package_patch",
        json!({"id": "shelters", "notes": "更新"}),
        Some(&token),
    )
    .await;
    assert_eq!(
        (&patched["result"]["title"], &patched["result"]["notes"]),
        (&json!("避難所一覧"), &json!("更新"))
    );
    let (_, updated) = post(
        "package_update",
        json!({"id": "shelters", "title": "避難所"}),
        Some(&token),
    )
    .await;
    assert_eq!(
        updated["result"]["tags"],
        json!([]),
        "update replaces the dataset as given"
    );
    let (_, added) = post(
        "resource_create",
        json!({"package_id": "shelters", "url": "https://example.jp/s.json"}),
        Some(&token),
    )
    .await;
    assert_eq!(added["result"]["format"], "JSON");
    let resource_id = created["resources"][0]["id"].as_str().unwrap().to_string();
    let (status, made) = post(
        "datastore_create",
        json!({"resource_id": resource_id,
        "fields": [{"id": "名称", "type": "text"}, {"id": "収容人数", "type": "int"}],
        "records": [{"名称": "北小学校", "収容人数": 800}]}),
        Some(&token),
    )
    .await;
    assert_eq!(
        (status, &made["result"]["total"]),
        (200, &json!(1)),
        "{made}"
    );
    let (_, more) = post(
        "datastore_upsert",
        json!({"resource_id": resource_id, "method": "insert",
        "records": [{"名称": "南公園", "収容人数": "2,500"}]}),
        Some(&token),
    )
    .await;
    assert_eq!(more["result"]["total"], 2);
    let (status, wrong) = post(
        "datastore_upsert",
        json!({"resource_id": resource_id, "method": "insert",
        "records": [{"名称": "x", "収容人数": "多い"}]}),
        Some(&token),
    )
    .await;
    assert_eq!(
        (status, &wrong["error"]["__type"]),
        (409, &json!("Validation Error"))
    );
    let (status, _) = post("package_delete", json!({"id": "shelters"}), Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(action(app, "package_show?id=shelters").await.0, 404);

    // ckanapi writes the same way.
    run_client_with(app, "ckanapi_write.py", &[&token]).await;
    let email = writer.to_string();
    let tokens: Vec<String> = sqlx::query_scalar("SELECT id FROM api_tokens WHERE email = $1")
        .bind(&email)
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert!(app
        .store
        .revoke_api_token(CITY, writer, &tokens[0])
        .await
        .unwrap());
    let (status, _) = post(
        "package_create",
        json!({"name": "late", "title": "x"}),
        Some(&token),
    )
    .await;
    assert_eq!(status, 403, "a revoked token signs nothing");
}

on_both_backends!(writers_need_a_token_and_write_only_their_own,);
