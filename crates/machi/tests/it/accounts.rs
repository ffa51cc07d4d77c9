//! Residents' accounts (optional): sign in by a one-time link sent over real SMTP, keep a
//! profile that prefills forms (once-only), and see "my applications".

use crate::harness::{TestApp, CITY};
use crate::on_both_backends;
use crate::smtp_sink::SmtpSink;

/// A browser of a resident: keeps its cookies.
struct Resident<'a> {
    app: &'a TestApp,
    cookies: Vec<(String, String)>,
}

impl<'a> Resident<'a> {
    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() {
                self.cookies.push((name.into(), value.into()));
            }
        }
    }

    async fn get(&mut self, path: &str) -> reqwest::Response {
        let response = self
            .app
            .client
            .get(self.app.url(path))
            .header("cookie", self.header())
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let response = self
            .app
            .client
            .post(self.app.url(path))
            .header("cookie", self.header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response
    }
}

async fn a_resident_signs_in_by_link_and_forms_are_prefilled(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let mailer = sink.workers(&app.store);
    let mut resident = Resident {
        app,
        cookies: Vec::new(),
    };
    let page = resident.get("/account").await.text().await.unwrap();
    assert!(page.contains("ログイン用のリンクを送る"));
    let bad = resident
        .post("/account/login", &[("email", "not-an-address")])
        .await;
    assert_eq!(bad.status(), 422);
    let sent = resident
        .post("/account/login", &[("email", "Hanako@Example.jp")])
        .await;
    assert_eq!(sent.status(), 200);
    let mails = sink.wait_for(1).await;
    assert_eq!(mails[0].to, vec!["hanako@example.jp".to_string()]);
    let (_, text) = mails[0].subject_and_text();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/account/link/"))
        .unwrap()
        .to_string();
    let path = &link[link.find("/account/link/").unwrap()..];
    // Opening the link (as a mail scanner does) signs in nobody and uses nothing up.
    for _ in 0..2 {
        let opened = resident.get(path).await;
        assert_eq!(opened.status(), 200);
        let page = opened.text().await.unwrap();
        assert!(page.contains(&format!("action=\"{path}\"")), "{page}");
    }
    assert!(!resident.cookies.iter().any(|(k, _)| k == "machi_resident"));
    let signed = resident.post(path, &[]).await;
    assert_eq!(signed.status(), 303);
    assert!(resident.cookies.iter().any(|(k, _)| k == "machi_resident"));
    // The link works once.
    let mut other = Resident {
        app,
        cookies: Vec::new(),
    };
    assert_eq!(other.post(path, &[]).await.status(), 404);

    // The profile, typed as people type, is kept canonical.
    let account = resident.get("/account").await.text().await.unwrap();
    let csrf = crate::pages::hidden_values(&account, "csrf").remove(0);
    let form = resident.get("/account/profile").await.text().await.unwrap();
    assert!(form.contains("hanako@example.jp"), "the address is known");
    let wrong = resident
        .post(
            "/account/profile",
            &[("csrf", &csrf), ("bday", "令和99年13月1日")],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    let saved = resident
        .post(
            "/account/profile",
            &[
                ("csrf", &csrf),
                ("name", "山田 花子"),
                ("name-kana", "やまだ　はなこ"),
                ("bday", "平成4年5月14日"),
                ("postal-code", "５９０ー０９０１"),
                ("street-address", "大阪府デモ市中央町1丁目2番3号"),
                ("tel", "０９０１２３４５６７８"),
                ("email", "hanako@example.jp"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let forged = resident
        .post("/account/profile", &[("csrf", "forged"), ("name", "x")])
        .await;
    assert_eq!(forged.status(), 403);

    // Once-only: the form of another procedure comes filled in.
    let form = resident
        .get("/procedures/jidou-teate-nintei/apply")
        .await
        .text()
        .await
        .unwrap();
    for expected in [
        "山田 花子",
        "ヤマダ　ハナコ",
        "1992-05-14",
        "590-0901",
        "090-1234-5678",
    ] {
        assert!(form.contains(expected), "{expected} is prefilled");
    }
    let anonymous = app
        .get("/procedures/jidou-teate-nintei/apply")
        .await
        .text()
        .await
        .unwrap();
    assert!(!anonymous.contains("山田 花子"));

    // Applications made while signed in are listed, and open without the access code.
    let detail = app.procedure("juminhyo").await;
    let example = detail["form"]["schema"]["examples"][0]
        .as_object()
        .unwrap()
        .clone();
    let mut multipart = reqwest::multipart::Form::new();
    for (name, value) in crate::harness::example_as_pairs(&example) {
        multipart = multipart.text(name, value);
    }
    for attachment in detail["form"]["attachments"].as_array().unwrap() {
        let part = reqwest::multipart::Part::bytes(crate::harness::tiny_file(attachment))
            .file_name("書類.pdf");
        multipart = multipart.part(attachment["name"].as_str().unwrap().to_string(), part);
    }
    let confirm = app
        .client
        .post(app.url("/procedures/juminhyo/apply"))
        .header("cookie", resident.header())
        .multipart(multipart)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut pairs = vec![
        (
            "form_version".to_string(),
            crate::pages::hidden_values(&confirm, "form_version")[0].clone(),
        ),
        (
            "answers_json".to_string(),
            crate::pages::hidden_values(&confirm, "answers_json")[0].clone(),
        ),
    ];
    for carried in crate::pages::hidden_values(&confirm, "attachment") {
        pairs.push(("attachment".into(), carried));
    }
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let submitted = resident.post("/procedures/juminhyo/submit", &refs).await;
    let receipt_page =
        crate::harness::follow_to_receipt(&app.client, &app.url(""), submitted, &resident.header())
            .await;
    assert_eq!(receipt_page.status(), 200);
    let receipt = crate::pages::text_of_id(&receipt_page.text().await.unwrap(), "receipt-number");
    let mine = resident.get("/account").await.text().await.unwrap();
    assert!(mine.contains(&receipt) && mine.contains("山田 花子"));
    let status = resident
        .get(&format!("/account/applications/{receipt}"))
        .await;
    assert_eq!(status.status(), 200);
    assert!(status.text().await.unwrap().contains("受付済み"));
    assert_eq!(
        other
            .get(&format!("/account/applications/{receipt}"))
            .await
            .status(),
        401
    );

    // Signing out ends the session.
    resident.post("/account/logout", &[("csrf", &csrf)]).await;
    assert_eq!(
        resident
            .get(&format!("/account/applications/{receipt}"))
            .await
            .status(),
        401
    );

    // At most five links an hour per address.
    for _ in 0..4 {
        resident
            .post("/account/login", &[("email", "hanako@example.jp")])
            .await;
    }
    let throttled = resident
        .post("/account/login", &[("email", "hanako@example.jp")])
        .await;
    assert_eq!(throttled.status(), 429);
    assert_eq!(
        app.store
            .my_applications(CITY, "nobody")
            .await
            .unwrap()
            .len(),
        0
    );
    mailer.shutdown().await;
    sink.stop();
}

on_both_backends!(a_resident_signs_in_by_link_and_forms_are_prefilled);

/// Sign-in links asked for by one client, to any number of addresses: the one client gets
/// 20 an hour, whatever `X-Forwarded-For` it claims; behind a trusted proxy each client
/// named by the proxy has its own 20.
async fn one_client_cannot_have_links_mailed_to_many_addresses(app: &TestApp) {
    let ask = |base: String, n: usize, forwarded: Option<String>| {
        let client = app.client.clone();
        async move {
            let mut request = client
                .post(format!("{base}/account/login"))
                .form(&[("email", format!("stranger{n}@example.jp"))]);
            if let Some(forwarded) = forwarded {
                request = request.header("x-forwarded-for", forwarded);
            }
            request.send().await.unwrap().status().as_u16()
        }
    };
    let direct = app.url("");
    let mut answers = Vec::new();
    for n in 0..25 {
        // Claiming another address in X-Forwarded-For changes nothing for a direct client.
        answers.push(ask(direct.clone(), n, Some(format!("198.51.100.{n}"))).await);
    }
    assert_eq!(answers[..20], [200; 20]);
    assert_eq!(answers[20..], [429; 5]);
    // Behind a proxy the deployment trusts, the proxy's X-Forwarded-For names the client.
    let proxied = app
        .serve_beside(|state| state.with_trusted_proxies(vec!["127.0.0.1/32".parse().unwrap()]))
        .await;
    for n in 25..30 {
        let status = ask(proxied.clone(), n, Some(format!("203.0.113.{n}"))).await;
        assert_eq!(status, 200, "client 203.0.113.{n} behind the proxy");
    }
    // The proxy itself, asking with no client named, is the client that used its 20.
    assert_eq!(ask(proxied, 30, None).await, 429);
}

on_both_backends!(one_client_cannot_have_links_mailed_to_many_addresses);
