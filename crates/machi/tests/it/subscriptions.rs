//! えらべる化 end to end: residents subscribe without an account (e-mail with double opt-in, a
//! browser's push subscription, a webhook that answers its challenge, a LINE follow), staff
//! publish, and each channel's far end receives what its protocol says: a mail with RFC 8058
//! headers (read by mail-parser), an HMAC-signed webhook, a Web Push message that Mozilla's
//! `ece` decrypts and whose VAPID token `jwt-simple` verifies, and LINE requests that the
//! Messaging API stand-in accepts.

use base64::Engine;
use serde_json::{json, Value};

use crate::harness::{StaffClient, TestApp, CITY};
use crate::on_both_backends;
use crate::receivers::{Receivers, LINE_SECRET, LINE_TOKEN};
use crate::smtp_sink::SmtpSink;

pub(crate) mod channels;
mod leases;

use channels::{
    addresses_inside_are_refused, check_push, check_webhook_signature, line_enabled_app,
    line_event, subscribe_browser, subscribe_webhook,
};

pub(super) const WRITER: &str = "bousai@kikikanri.test";

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The far ends of every channel, and delivery workers that send to them.
pub(crate) struct FarEnds {
    pub sink: SmtpSink,
    pub receivers: Receivers,
    delivery: machi_work::delivery::Workers,
}

impl FarEnds {
    pub(crate) async fn start(app: &TestApp) -> Self {
        let sink = SmtpSink::start().await;
        let receivers = Receivers::start().await;
        let mut settings = machi_work::delivery::DeliverySettings::new(&app.url(""));
        settings.smtp_url = Some(sink.url.clone());
        settings.mail_from = "no-reply@demo.test".into();
        settings.mail_per_second = 1000;
        settings.line = Some(line_settings(&receivers));
        settings.allow_private = true; // the receivers listen on this machine
        let delivery = machi_work::delivery::spawn(app.store.clone(), settings);
        Self {
            sink,
            receivers,
            delivery,
        }
    }

    pub(crate) async fn stop(self) {
        self.delivery.shutdown().await;
        self.receivers.stop();
        self.sink.stop();
    }
}

fn line_settings(receivers: &Receivers) -> machi_work::delivery::LineSettings {
    machi_work::delivery::LineSettings {
        api_url: receivers.url("/line"),
        channel_token: LINE_TOKEN.into(),
        channel_secret: LINE_SECRET.into(),
    }
}

pub(super) async fn publish(staff: &mut StaffClient, form: &[(&str, &str)]) {
    let response = staff
        .submit("/staff/notices/new", "/staff/notices/new", form)
        .await;
    assert_eq!(response.status(), 303, "the notice is saved");
}

/// The `/subscriptions/{id}…` link in a text.
fn link_id(text: &str, suffix: &str) -> String {
    let start =
        text.find("/subscriptions/").expect("a subscription link") + "/subscriptions/".len();
    let id: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    assert!(text[start + id.len()..].starts_with(suffix), "{text}");
    id
}

async fn residents_subscribe_by_email_with_double_opt_in_and_leave_in_one_click(app: &TestApp) {
    let far = FarEnds::start(app).await;
    let sink = &far.sink;
    let resident = StaffClient::anonymous(app);
    let page = app.get("/subscribe").await.text().await.unwrap();
    assert!(page.contains("お知らせ配信の登録"));

    // Bad input: the form again, saying what is wrong.
    let bad = app
        .client
        .post(app.url("/subscribe"))
        .form(&[("channel", "email"), ("email", "taro@"), ("areas", "北町")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let bad = bad.text().await.unwrap();
    assert!(bad.contains("受け取る分類を1つ以上選んでください"));
    assert!(bad.contains("メールアドレスを正しく入力してください"));

    let form = [
        ("category", "bousai"),
        ("category", "kosodate"),
        ("areas", "北町"),
        ("channel", "email"),
        ("email", "Taro@Example.JP"),
    ];
    let sent = app
        .client
        .post(app.url("/subscribe"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    assert!(sent
        .text()
        .await
        .unwrap()
        .contains("確認のメールを送りました"));
    let opt_in = sink.wait_for(1).await;
    assert_eq!(opt_in[0].to, vec!["taro@example.jp"]);
    let (subject, text) = opt_in[0].subject_and_text();
    assert!(subject.contains("登録確認"), "{subject}");
    let id = link_id(&text, "/confirm");

    // Not confirmed yet: a notice now reaches nobody.
    app.create_staff(WRITER, "staff", Some("kikikanri")).await;
    let mut staff = app.sign_in(WRITER).await;
    publish(
        &mut staff,
        &[
            ("title_ja", "防災訓練の前のお知らせ"),
            ("body_ja", "x"),
            ("category", "bousai"),
        ],
    )
    .await;

    // The link opens a page with a button: following a link alone confirms nothing.
    let confirm_page = app.get(&format!("/subscriptions/{id}/confirm")).await;
    assert_eq!(confirm_page.status(), 200);
    assert!(confirm_page.text().await.unwrap().contains("登録する"));
    let manage = app
        .get(&format!("/subscriptions/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(manage.contains("確認待ち"));
    let confirmed = app
        .client
        .post(app.url(&format!("/subscriptions/{id}/confirm")))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 303);
    let manage = app
        .get(&format!("/subscriptions/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(manage.contains("配信中"));

    // Subscribing the same address again tells nothing new and changes nothing.
    let again = app
        .client
        .post(app.url("/subscribe"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("確認のメールを送りました"));
    let mails = sink.wait_for(2).await;
    assert!(mails[1]
        .subject_and_text()
        .1
        .contains(&format!("/subscriptions/{id}")));

    // Three notices; only the one of a chosen category in a chosen area arrives.
    publish(
        &mut staff,
        &[
            ("title_ja", "南町で断水"),
            ("body_ja", "南町の一部"),
            ("category", "bousai"),
            ("areas", "南町"),
        ],
    )
    .await;
    publish(
        &mut staff,
        &[
            ("title_ja", "粗大ごみの日"),
            ("body_ja", "北町"),
            ("category", "gomi"),
            ("areas", "北町"),
        ],
    )
    .await;
    publish(
        &mut staff,
        &[
            ("title_ja", "北町で断水"),
            ("body_ja", "北町一丁目で断水します。"),
            ("category", "bousai"),
            ("areas", "北町、南町"),
            ("urgency", "important"),
        ],
    )
    .await;
    let mails = sink.wait_for(3).await;
    let notice = &mails[2];
    let (subject, text) = notice.subject_and_text();
    assert_eq!(subject, "【重要】北町で断水");
    assert!(text.contains("北町一丁目で断水します。"));
    assert!(
        text.contains(&format!("/subscriptions/{id}")),
        "the manage link: {text}"
    );
    let parsed = mail_parser::MessageParser::default()
        .parse(notice.data.as_bytes())
        .unwrap();
    let header = |name: &str| {
        parsed
            .header_raw(name)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    assert_eq!(
        header("List-Unsubscribe"),
        format!("<{}>", app.url(&format!("/subscriptions/{id}/unsubscribe")))
    );
    assert_eq!(
        header("List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(
        sink.messages.lock().unwrap().len(),
        3,
        "nothing else was sent"
    );

    // Choices can change on the manage page; bad choices are refused there.
    let bad_change = app
        .client
        .post(app.url(&format!("/subscriptions/{id}")))
        .form(&[("areas", "北町")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_change.status(), 422);
    let change = app
        .client
        .post(app.url(&format!("/subscriptions/{id}")))
        .form(&[("category", "gomi"), ("areas", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), 303);
    let stored = app.store.subscription(CITY, &id).await.unwrap().unwrap();
    assert_eq!(stored.choices.categories, vec!["gomi"]);
    assert!(stored.choices.areas.is_empty());

    // RFC 8058 one-click: a POST with that body, no cookie, no token.
    let one_click = reqwest::Client::new()
        .post(app.url(&format!("/subscriptions/{id}/unsubscribe")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(one_click.status(), 200);
    assert!(app.store.subscription(CITY, &id).await.unwrap().is_none());
    assert_eq!(app.get(&format!("/subscriptions/{id}")).await.status(), 404);
    drop(resident);
    far.stop().await;
}

async fn an_emergency_alert_reaches_every_channel(app: &TestApp) {
    let far = FarEnds::start(app).await;
    let (sink, receivers) = (&far.sink, &far.receivers);
    let line_app = line_enabled_app(app, receivers).await;

    // Subscribers on every channel, each choosing 防災 (or, by e-mail, only ごみ: an
    // emergency reaches them too).
    let email = app
        .client
        .post(app.url("/subscribe"))
        .form(&[
            ("category", "gomi"),
            ("areas", "北町"),
            ("channel", "email"),
            ("email", "hanako@example.jp"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(email.status(), 200);
    let opt_in = sink.wait_for(1).await;
    let email_id = link_id(&opt_in[0].subject_and_text().1, "/confirm");
    assert!(app
        .store
        .confirm_subscription(CITY, &email_id)
        .await
        .unwrap());
    let (browser_keys, browser_auth) = subscribe_browser(app, receivers).await;
    let secret = subscribe_webhook(app, receivers).await;
    addresses_inside_are_refused(app, receivers).await;
    let line_user = "U4af4980629a0c8f7e3a7e6b2b1b1b1b1";
    line_event(&line_app, "follow", line_user).await;
    let reply = receivers.wait_for("/line/reply", 1).await;
    assert!(reply[0].json()["messages"][0]["text"]
        .as_str()
        .unwrap()
        .contains("/subscriptions/"));
    // Somebody in another area hears nothing.
    app.client
        .post(app.url("/api/v1/subscriptions"))
        .json(&json!({
            "endpoint": receivers.url("/push/2"),
            "keys": { "p256dh": b64url(&ece::generate_keypair_and_auth_secret().unwrap().0.pub_as_raw().unwrap()), "auth": b64url(&[7; 16]) },
            "categories": ["bousai"], "areas": "南町",
        }))
        .send()
        .await
        .unwrap();

    app.create_staff(WRITER, "staff", Some("kikikanri")).await;
    let mut staff = app.sign_in(WRITER).await;
    publish(
        &mut staff,
        &[
            ("title_ja", "北町に避難指示"),
            ("body_ja", "北町小学校へ避難してください。"),
            ("category", "bousai"),
            ("areas", "北町"),
            ("urgency", "emergency"),
            ("confirm_send", "1"),
        ],
    )
    .await;

    let mails = sink.wait_for(2).await;
    assert_eq!(mails[1].to, vec!["hanako@example.jp"]);
    assert_eq!(mails[1].subject_and_text().0, "【緊急】北町に避難指示");
    let hooks = receivers.wait_for("/hook", 2).await;
    check_webhook_signature(&hooks[1], &secret);
    let event = hooks[1].json();
    assert_eq!(event["type"], "notice.published");
    assert_eq!(event["notice"]["urgency"], "emergency");
    assert_eq!(event["notice"]["title"], "北町に避難指示");
    assert_eq!(
        hooks[1].header("machi-delivery"),
        event["id"].as_str().unwrap()
    );
    let pushed = receivers.wait_for("/push/1", 1).await;
    assert_eq!(
        pushed[0].header("urgency"),
        "high",
        "worth waking a phone for"
    );
    let vapid: Value = app.get_json("/api/v1/subscriptions/vapid-key").await;
    let shown = check_push(
        &pushed[0],
        browser_keys.as_ref(),
        &browser_auth,
        vapid["public_key"].as_str().unwrap(),
        &format!("http://{}", receivers.addr),
    );
    assert_eq!(shown["title"], "【緊急】北町に避難指示");
    assert_eq!(shown["urgent"], true);
    assert!(shown["manage_url"]
        .as_str()
        .unwrap()
        .contains("/subscriptions/"));
    let line = receivers.wait_for("/line/push", 1).await;
    assert_eq!(line[0].json()["to"], line_user);
    assert!(line[0].json()["messages"][0]["text"]
        .as_str()
        .unwrap()
        .contains("北町に避難指示"));
    assert!(receivers.refused().is_empty(), "{:?}", receivers.refused());
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert!(
        receivers.at("/push/2").is_empty(),
        "南町 hears nothing of 北町"
    );

    // The delivery report staff see: one sent per channel.
    let notices = app.store.department_notices(CITY, None).await.unwrap();
    let report = app
        .store
        .delivery_report(CITY, &notices[0].id)
        .await
        .unwrap();
    let sent: Vec<(String, i64)> = report.iter().map(|r| (r.channel.clone(), r.sent)).collect();
    assert_eq!(
        sent,
        vec![
            ("email".to_string(), 1),
            ("line".to_string(), 1),
            ("webhook".to_string(), 1),
            ("webpush".to_string(), 1)
        ]
    );

    // Blocking the official account ends the LINE subscription.
    let line_subscribers = |counts: Vec<(machi_core::subscriptions::Channel, i64)>| {
        counts
            .into_iter()
            .find(|(c, _)| *c == machi_core::subscriptions::Channel::Line)
            .map_or(0, |(_, n)| n)
    };
    assert_eq!(
        line_subscribers(app.store.subscriber_counts(CITY).await.unwrap()),
        1
    );
    line_event(&line_app, "unfollow", line_user).await;
    assert_eq!(
        line_subscribers(app.store.subscriber_counts(CITY).await.unwrap()),
        0
    );
    far.stop().await;
}

/// What could not be sent is reported to staff and can be sent again.
async fn staff_see_the_delivery_report_and_resend_dead_letters(app: &TestApp) {
    let far = FarEnds::start(app).await;
    let receivers = &far.receivers;
    let broken = machi_store::subscriptions::NewSubscription {
        channel: machi_core::subscriptions::Channel::Webhook,
        address: receivers.url("/hook-broken"),
        secret: "s".repeat(64),
        choices: machi_core::subscriptions::Choices::read(&["bousai".into()], ""),
        language: "ja".into(),
        confirmed: true,
    };
    assert_eq!(
        app.store
            .import_subscriptions(CITY, &[broken])
            .await
            .unwrap(),
        1
    );
    app.create_staff(WRITER, "staff", Some("kikikanri")).await;
    app.create_staff("tanto@shimin.test", "staff", Some("shimin"))
        .await;
    app.create_staff("admin@kikikanri.test", "admin", Some("kikikanri"))
        .await;
    let mut staff = app.sign_in(WRITER).await;
    publish(
        &mut staff,
        &[
            ("title_ja", "台風の備え"),
            ("body_ja", "x"),
            ("category", "bousai"),
            ("urgency", "important"),
        ],
    )
    .await;
    let notice = app
        .store
        .department_notices(CITY, None)
        .await
        .unwrap()
        .remove(0);
    let mut dead = 0;
    for _ in 0..200 {
        let report = app.store.delivery_report(CITY, &notice.id).await.unwrap();
        dead = report.iter().map(|r| r.dead).sum();
        if dead == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(dead, 1, "a 400 answer is final: a dead letter at once");
    let page = format!("/staff/notices/{}/deliveries", notice.id);
    let report = staff.get_html(&page).await;
    assert!(report.contains("送信不能") && report.contains("台風の備え"));
    let mut outsider = app.sign_in("tanto@shimin.test").await;
    assert_eq!(outsider.get(&page).await.status(), 403);
    assert_eq!(staff.get("/staff/deliveries").await.status(), 403);

    let mut admin = app.sign_in("admin@kikikanri.test").await;
    let letters = admin.get_html("/staff/deliveries").await;
    assert!(letters.contains("/hook-broken") && letters.contains("answered 400"));
    let id = app.store.dead_letters(CITY, 10).await.unwrap()[0].id;
    let retried = admin
        .submit(
            "/staff/deliveries",
            &format!("/staff/deliveries/{id}/retry"),
            &[],
        )
        .await;
    assert_eq!(retried.status(), 303);
    let again = admin
        .submit(
            "/staff/deliveries",
            &format!("/staff/deliveries/{id}/retry"),
            &[],
        )
        .await;
    assert!(
        again.status() == 404 || again.status() == 303,
        "{}",
        again.status()
    );
    far.stop().await;
}

on_both_backends!(
    staff_see_the_delivery_report_and_resend_dead_letters,
    residents_subscribe_by_email_with_double_opt_in_and_leave_in_one_click,
    an_emergency_alert_reaches_every_channel,
);
