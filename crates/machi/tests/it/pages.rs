//! Resident pages without JavaScript: find, fill in, confirm, submit, check the status.

use serde_json::Value;

use crate::harness::{example_as_pairs, follow_to_receipt, tiny_file, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_resident_finds_applies_and_checks_the_status_in_the_browser_flow,
    a_form_sent_empty_comes_back_with_a_linked_error_summary,
    pages_switch_to_english,
    unknown_pages_get_a_friendly_404,
    the_catalog_page_links_to_the_next_page_keeping_the_search,
    a_nul_byte_in_an_address_is_a_bad_request,
    a_host_that_is_no_city_gets_no_city,
);

/// Undoes askama's HTML escaping.
pub(crate) fn unescape(text: &str) -> String {
    text.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// Values of every `<input … name="NAME" value="…">` in a page.
pub(crate) fn hidden_values(html: &str, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" value=\"");
    html.match_indices(&marker)
        .map(|(at, _)| {
            let rest = &html[at + marker.len()..];
            unescape(&rest[..rest.find('"').unwrap()])
        })
        .collect()
}

pub(crate) fn text_of_id(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker).unwrap() + marker.len();
    html[start..start + html[start..].find('<').unwrap()].to_string()
}

async fn a_resident_finds_applies_and_checks_the_status_in_the_browser_flow(app: &TestApp) {
    let home = app.get("/").await.text().await.unwrap();
    assert!(home.contains("<html lang=\"ja\">") && home.contains("デモ市"));
    let search = app
        .get("/procedures?q=%EF%BD%BC%EF%BE%9E%EF%BE%84%EF%BE%9E%EF%BD%B3")
        .await
        .text()
        .await
        .unwrap();
    assert!(search.contains("児童手当"), "half-width ｼﾞﾄﾞｳ finds 児童手当");

    let detail = app.procedure("juminhyo").await;
    let page = app.get("/procedures/juminhyo").await.text().await.unwrap();
    assert!(page.contains("300円") && page.contains("/procedures/juminhyo/apply"));
    let form_page = app
        .get("/procedures/juminhyo/apply")
        .await
        .text()
        .await
        .unwrap();
    // Every question is on the form but the declaration, which the check-answers page asks.
    for field in detail["form"]["ui"]["order"].as_array().unwrap() {
        let field = field.as_str().unwrap();
        assert_eq!(
            form_page.contains(&format!("name=\"{field}\"")),
            field != "declaration",
            "{field}"
        );
    }

    let example = detail["form"]["schema"]["examples"][0]
        .as_object()
        .unwrap()
        .clone();
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in example_as_pairs(&example) {
        let input = detail["form"]["ui"]["fields"][&name]["input"]
            .as_str()
            .unwrap()
            .to_string();
        let typed = if ["phone", "postcode", "date", "number"].contains(&input.as_str()) {
            widen_digits(&value)
        } else {
            value
        };
        form = form.text(name, typed);
    }
    for attachment in detail["form"]["attachments"].as_array().unwrap() {
        let part =
            reqwest::multipart::Part::bytes(tiny_file(attachment)).file_name("本人確認書類.pdf");
        form = form.part(attachment["name"].as_str().unwrap().to_string(), part);
    }
    let confirm = app.post_multipart("/procedures/juminhyo/apply", form).await;
    assert_eq!(confirm.status(), 200);
    let confirm = confirm.text().await.unwrap();
    assert!(confirm.contains("入力内容の確認"), "{confirm}");
    let answers_json = hidden_values(&confirm, "answers_json");
    let answers: Value = serde_json::from_str(&answers_json[0]).unwrap();
    assert_eq!(
        answers,
        Value::Object(example.clone()),
        "typed in full width, stored canonical"
    );

    let mut pairs = vec![(
        "form_version".to_string(),
        hidden_values(&confirm, "form_version")[0].clone(),
    )];
    pairs.push(("answers_json".into(), answers_json[0].clone()));
    pairs.extend(
        hidden_values(&confirm, "attachment")
            .into_iter()
            .map(|v| ("attachment".to_string(), v)),
    );
    pairs.push((
        "submission".into(),
        hidden_values(&confirm, "submission")[0].clone(),
    ));
    let submit = || {
        app.client
            .post(app.url("/procedures/juminhyo/submit"))
            .form(&pairs)
            .send()
    };
    let submitted = submit().await.unwrap();
    let receipt = follow_to_receipt(&app.client, &app.url(""), submitted, "").await;
    assert_eq!(receipt.status(), 200);
    assert_eq!(receipt.headers()["cache-control"], "no-store");
    let receipt = receipt.text().await.unwrap();
    let number = text_of_id(&receipt, "receipt-number");
    let code = text_of_id(&receipt, "access-code");
    // A double click or a resubmitted POST of the same confirm page: one application, the
    // same receipt and code.
    let again = follow_to_receipt(&app.client, &app.url(""), submit().await.unwrap(), "")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(text_of_id(&again, "receipt-number"), number);
    assert_eq!(text_of_id(&again, "access-code"), code);
    assert_eq!(
        app.store
            .count_applications(crate::harness::CITY)
            .await
            .unwrap(),
        1
    );
    // The receipt page's button opens this application's status, nothing to type.
    let opened = app
        .status_page(
            hidden_values(&again, "receipt_number")[0].as_str(),
            hidden_values(&again, "access_code")[0].as_str(),
        )
        .await;
    assert!(
        opened.contains("受付済み") && opened.contains(&number),
        "{opened}"
    );
    // Without the receipt cookie (another browser, or later) the receipt page leads to the
    // status page rather than showing anyone's code.
    let elsewhere = app.get("/procedures/juminhyo/receipt").await;
    assert_eq!(elsewhere.status(), 303);
    assert_eq!(elsewhere.headers()["location"], "/status");

    let status = app.status_page(&number, &code).await;
    assert!(
        status.contains("受付済み") && status.contains(&number),
        "{status}"
    );
    // What happens next, by when, and a copy of what was sent.
    assert!(text_of_id(&status, "next-step").contains("担当課が内容を確認します"));
    let days = detail["processing_days"].as_i64().unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&machi_core::wareki::jst())
        .date_naive();
    let expected = machi_core::wareki::format_wareki(today + chrono::Days::new(days as u64));
    assert!(
        status.contains(&format!("{expected}ごろ")),
        "decision expected {expected}"
    );
    assert!(status.contains("申請した内容を見る"));
    let address = detail["form"]["schema"]["examples"][0]["address"]
        .as_str()
        .unwrap();
    assert!(status.contains(address), "the answers are shown");
    let via_api: Value = app.status(&number, &code).await.json().await.unwrap();
    assert_eq!(
        via_api["attachments"].as_array().unwrap().len(),
        detail["form"]["attachments"].as_array().unwrap().len()
    );

    let wrong = app
        .client
        .post(app.url("/status"))
        .form(&[
            ("receipt_number", number.as_str()),
            ("access_code", "0000-0000-0000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    assert!(wrong.text().await.unwrap().contains("error-summary"));
}

/// Digits and hyphens as a Japanese IME types them (全角), to prove normalisation at the edge.
fn widen_digits(value: &str) -> String {
    let looks_numeric = value.chars().all(|c| c.is_ascii_digit() || c == '-');
    if !looks_numeric {
        return value.to_string();
    }
    value
        .chars()
        .map(|c| {
            if c == '-' {
                'ー'
            } else {
                char::from_u32(c as u32 + 0xFEE0).unwrap()
            }
        })
        .collect()
}

async fn a_form_sent_empty_comes_back_with_a_linked_error_summary(app: &TestApp) {
    let form = reqwest::multipart::Form::new().text("requester_name", "");
    let response = app.post_multipart("/procedures/juminhyo/apply", form).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("class=\"error-summary\""));
    assert!(html.contains("<title>エラー: "));
    assert!(
        html.contains("href=\"#f-requester_name\""),
        "summary links to the field"
    );
    assert!(html.contains("id=\"f-requester_name\"") && html.contains("aria-invalid=\"true\""));
    assert!(
        html.contains("href=\"#att-id_document\""),
        "missing required file is listed too"
    );
}

async fn pages_switch_to_english(app: &TestApp) {
    let switch = app.get("/lang/en?back=/procedures").await;
    assert_eq!(switch.status(), 303);
    assert_eq!(switch.headers()["location"], "/procedures");
    let cookie = switch.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let html = app
        .client
        .get(app.url("/"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"en\">") && html.contains("Demo City"));
    for offsite in [
        "//evil.example",
        "/%5Cevil.example",
        "/%09/evil.example",
        "/%0D%0ASet-Cookie:%20a=b",
    ] {
        let response = app.get(&format!("/lang/en?back={offsite}")).await;
        assert_eq!(response.status(), 303, "{offsite}");
        assert_eq!(response.headers()["location"], "/", "{offsite}");
    }
}

async fn unknown_pages_get_a_friendly_404(app: &TestApp) {
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let html = response.text().await.unwrap();
    assert!(html.contains("ページが見つかりません"));
    assert!(
        html.contains("デモ市"),
        "the error page is still the city's page"
    );
    assert!(
        html.contains(&request_id),
        "the page shows the request id to quote"
    );
}

async fn the_catalog_page_links_to_the_next_page_keeping_the_search(app: &TestApp) {
    let first = app
        .get("/procedures?q=%E3%81%98%E3%81%A9%E3%81%86&limit=3")
        .await
        .text()
        .await
        .unwrap();
    let marker = "<p><a href=\"";
    let at = first.rfind(marker).expect("a next-page link") + marker.len();
    let next = unescape(&first[at..at + first[at..].find('"').unwrap()]);
    assert!(
        next.starts_with("/procedures?") && next.contains("q=") && next.contains("cursor="),
        "{next}"
    );
    let second = app.get(&next).await;
    assert_eq!(second.status(), 200);
    let second = second.text().await.unwrap();
    assert!(second.contains("児童手当"), "the search words are kept");
    let first_link = |html: &str| {
        html.split("<ul class=\"procedure-list\">")
            .nth(1)
            .unwrap()
            .split("</li>")
            .next()
            .unwrap()
            .to_string()
    };
    assert_ne!(first_link(&first), first_link(&second));
}

async fn a_nul_byte_in_an_address_is_a_bad_request(app: &TestApp) {
    for address in [
        "/procedures/juminhyo%00",
        "/notices?category=%00",
        "/opendata?q=a%00b",
        "/api/v1/applications/A%00",
        "/api/3/action/package_show?id=%00",
        "/staff/login?next=/staff%00",
        "/feeds/notices.atom?area=%00",
    ] {
        let response = app.get(address).await;
        assert_eq!(response.status(), 400, "{address}");
    }
}

/// A forged Host header gets no page, link or e-mail in the city's name: the sign-in form
/// posted to evil.example mails no link there.
async fn a_host_that_is_no_city_gets_no_city(app: &TestApp) {
    let forged = |path: &str| app.client.get(app.url(path)).header("host", "evil.example");
    assert_eq!(forged("/").send().await.unwrap().status(), 421);
    assert_eq!(
        forged("/feeds/notices.atom").send().await.unwrap().status(),
        421
    );
    let login = app
        .client
        .post(app.url("/account/login"))
        .header("host", "evil.example")
        .form(&[("email", "victim@example.jp")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 421);
    let outbox: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM deliveries) + (SELECT COUNT(*) FROM resident_login_links)",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(outbox, 0, "no sign-in link was mailed");
    // This machine's other names still reach the city configured on it.
    let local = app
        .client
        .get(app.url("/"))
        .header("host", format!("localhost:{}", app.addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(local.status(), 200);
}
