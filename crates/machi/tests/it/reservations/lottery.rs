//! 抽選: registered groups apply on the page, the draw gives one win per applicant, anyone
//! re-runs it from the published round with `machi lottery verify` (and a changed round fails
//! it), wins are confirmed online or go to the next in line when cancelled or left to lapse,
//! and only registered users book the facilities that say so.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use machi_core::reservations::lottery::{self, first_of_month, Published};
use machi_core::reservations::{Registrant, RegistrationForm};
use machi_core::subscriptions::Channel;
use machi_store::reservations::lottery::CityLinks;
use machi_store::reservations::Booking;
use serde_json::{json, Value};

use super::{book, person, with_demo_services};
use crate::harness::{TestApp, CITY};
use crate::on_both_backends;

on_both_backends!(
    a_lottery_is_drawn_once_fairly_and_anyone_can_re_run_it,
    only_registered_groups_book_a_facility_that_says_so,
);

const LINKS: CityLinks<'static> = CityLinks {
    city_name: "デモ市",
    base: "https://machi.example",
};

/// Registers a person or group at the counter; its number and code.
pub(super) async fn register(
    app: &TestApp,
    kind: &str,
    name: &str,
    reading: &str,
) -> Result<(String, String), machi_store::StoreError> {
    register_with(app, kind, name, reading, &[]).await
}

/// Registers a person or group with the 減免 kinds staff confirmed.
pub(super) async fn register_with(
    app: &TestApp,
    kind: &str,
    name: &str,
    reading: &str,
    reductions: &[String],
) -> Result<(String, String), machi_store::StoreError> {
    let registrant = Registrant::checked(
        &RegistrationForm {
            kind,
            group_name: &format!("{name}クラブ"),
            name,
            reading,
            birth_date: "1980-04-01",
            email: "club@example.jp",
            phone: "06-1234-5678",
            in_city: true,
            reductions,
        },
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    )
    .unwrap();
    let (registration, code) = app
        .store
        .register_facility_user(CITY, &registrant, "counter@shimin.test")
        .await?;
    Ok((registration.number, code))
}

/// The demo services, the gymnasium taking applications all this month for next month.
async fn with_lottery_open_all_month(app: &TestApp) {
    with_demo_services(app).await;
    let mut gym = app.store.service(CITY, "taiikukan").await.unwrap().unwrap();
    let rules = gym.lottery.as_mut().unwrap();
    rules.apply_from_day = 1;
    rules.apply_until_day = 31;
    app.store.save_services(CITY, &[gym]).await.unwrap();
}

async fn apply(app: &TestApp, fields: &[(&str, &str)]) -> (u16, String) {
    let response = app
        .client
        .post(app.url("/reservations/taiikukan/lottery"))
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = match response.headers().get("location") {
        Some(location) => location.to_str().unwrap().to_string(),
        None => response.text().await.unwrap(),
    };
    (status, text)
}

fn wish(resource: &str, at: NaiveDateTime) -> String {
    format!("{resource}|{}", at.format("%Y-%m-%dT%H:%M"))
}

async fn round(app: &TestApp, month: &str) -> Value {
    app.get_json(&format!("/api/v1/services/taiikukan/lotteries/{month}"))
        .await
}

/// The mails queued since the last look: (to, subject, body).
async fn new_mails(app: &TestApp) -> Vec<(String, String, String)> {
    app.store
        .claim_deliveries(Channel::Email, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.address, d.subject, d.body))
        .collect()
}

async fn gym_bookings(app: &TestApp, month: NaiveDate) -> Vec<Booking> {
    app.store
        .service_bookings(CITY, "taiikukan", month, month + Duration::days(31))
        .await
        .unwrap()
}

/// Who holds `slot` now (its application).
fn holder(bookings: &[Booking], resource: &str, at: NaiveDateTime) -> Option<(String, String)> {
    bookings
        .iter()
        .find(|b| b.holds_slot() && b.resource_id == resource && b.starts == at)
        .map(|b| (b.lottery_application.clone().unwrap(), b.state.clone()))
}

async fn verify(source: &str) -> (bool, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_machi"))
        .args(["lottery", "verify", source])
        .env("MACHI_LOG", "warn")
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

async fn a_lottery_is_drawn_once_fairly_and_anyone_can_re_run_it(app: &TestApp) {
    with_lottery_open_all_month(app).await;
    let now = machi_core::wareki::now_jst();
    let month = first_of_month(first_of_month(now.date()) + Duration::days(32));
    let name = lottery::month_name(month);
    // The round is made, its seed's hash shown, before anyone applies.
    let page = app
        .get("/reservations/taiikukan/lottery")
        .await
        .text()
        .await
        .unwrap();
    let before = round(app, &name).await;
    let hash = before["seed_sha256"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 64);
    assert!(page.contains(&hash), "{page}");
    assert_eq!(before["drawn"], json!(false));
    assert!(before["published"].is_null());
    // Five groups; the same representative cannot register twice, however the name is typed.
    let readings = [
        "やまだたろう",
        "すずきはなこ",
        "たなかけん",
        "さとうゆき",
        "いとうじろう",
    ];
    let mut groups = Vec::new();
    for (i, reading) in readings.iter().enumerate() {
        groups.push(
            register(app, "group", &format!("団体{i}"), reading)
                .await
                .unwrap(),
        );
    }
    let twice = register(app, "group", "別名", "ヤマダ タロウ")
        .await
        .unwrap_err();
    assert!(twice.to_string().contains(&groups[0].0), "{twice}");
    // Everyone wants the same three slots of a Saturday late in the month.
    let saturday = (22..=28)
        .map(|d| month.with_day(d).unwrap())
        .find(|d| d.weekday() == Weekday::Sat)
        .unwrap();
    let at = |h: u32| saturday.and_hms_opt(h, 0, 0).unwrap();
    let wishes = [
        wish("arena-1", at(9)),
        wish("arena-1", at(11)),
        wish("arena-2", at(9)),
    ];
    for (number, code) in &groups {
        let (status, location) = apply(
            app,
            &[
                ("registration", number),
                ("code", code),
                ("wish1", &wishes[0]),
                ("wish2", &wishes[1]),
                ("wish3", &wishes[2]),
            ],
        )
        .await;
        assert_eq!(status, 303, "{location}");
        assert!(location.contains("applied=L-"), "{location}");
    }
    // Applying again in the period changes the wishes: still one application per group.
    let (number, code) = &groups[0];
    let again = |wishes: &[&String]| {
        let mut fields = vec![("registration", number.clone()), ("code", code.clone())];
        for (i, w) in wishes.iter().enumerate() {
            fields.push((["wish1", "wish2", "wish3"][i], w.to_string()));
        }
        fields
    };
    for changed in [vec![&wishes[2]], vec![&wishes[0], &wishes[1], &wishes[2]]] {
        let fields = again(&changed);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, location) = apply(app, &fields).await;
        assert_eq!(status, 303, "{location}");
    }
    assert_eq!(round(app, &name).await["applications"], json!(5));
    // Bad applications are refused, each saying why.
    let outside = wish(
        "arena-1",
        (month - Duration::days(20)).and_hms_opt(9, 0, 0).unwrap(),
    );
    for (fields, says) in [
        (
            vec![
                ("registration", number.as_str()),
                ("code", "wrong"),
                ("wish1", &wishes[0]),
            ],
            "利用者コード",
        ),
        (
            vec![
                ("registration", number.as_str()),
                ("code", code.as_str()),
                ("wish1", &outside),
            ],
            "抽選の月",
        ),
        (
            vec![
                ("registration", number.as_str()),
                ("code", code.as_str()),
                ("wish1", "arena-9|x"),
            ],
            "読めません",
        ),
        (
            vec![
                ("registration", number.as_str()),
                ("code", code.as_str()),
                ("wish1", &wishes[0]),
                ("wish2", &wishes[0]),
            ],
            "2回",
        ),
    ] {
        let (status, page) = apply(app, &fields).await;
        assert_eq!(status, 422, "{page}");
        assert!(page.contains(says), "{says}: {page}");
    }
    let person = register(app, "person", "個人", "きむらさく").await.unwrap();
    let (status, page) = apply(
        app,
        &[
            ("registration", &person.0),
            ("code", &person.1),
            ("wish1", &wishes[0]),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("登録した団体"), "{page}");
    // Before the draw, the month is not first-come.
    let mut early = person_booking(&groups[1], at(13));
    early["resource"] = json!("arena-1");
    assert_eq!(book(app, early, None).await.0, 409);
    new_mails(app).await;

    // The draw, after the period: once, however often it is asked for.
    let after = (month).and_hms_opt(0, 1, 0).unwrap();
    assert_eq!(
        app.store
            .draw_due_lotteries(CITY, after, &LINKS)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app.store
            .draw_due_lotteries(CITY, after, &LINKS)
            .await
            .unwrap(),
        0
    );
    let drawn = round(app, &name).await;
    assert_eq!(drawn["drawn"], json!(true));
    let published: Published = serde_json::from_value(drawn["published"].clone()).unwrap();
    assert_eq!(published.seed_sha256, hash, "the seed is the one committed");
    assert_eq!(lottery::seed_sha256(&published.seed), hash);
    assert_eq!(published.applications.len(), 5);
    assert!(
        !drawn.to_string().contains("club@example.jp"),
        "no personal data"
    );
    // Three slots of one place: three wins, to three different groups.
    let winners: std::collections::HashSet<&str> = published
        .wins
        .iter()
        .map(|w| w.application.as_str())
        .collect();
    assert_eq!((published.wins.len(), winners.len()), (3, 3));
    let mails = new_mails(app).await;
    let won: Vec<&(String, String, String)> = mails
        .iter()
        .filter(|m| m.1.contains("当選しました"))
        .collect();
    assert_eq!(won.len(), 3, "{mails:?}");
    assert_eq!(mails.iter().filter(|m| m.1.contains("抽選結果")).count(), 2);

    // Anyone re-runs it: from a file and from the city's address; a changed round fails.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("round.json");
    std::fs::write(&file, drawn.to_string()).unwrap();
    let (ok, said) = verify(file.to_str().unwrap()).await;
    assert!(ok, "{said}");
    assert!(said.contains("same 3 wins"), "{said}");
    let url = app.url(&format!("/api/v1/services/taiikukan/lotteries/{name}"));
    assert!(verify(&url).await.0);
    let mut changed = published.clone();
    let loser = published
        .applications
        .iter()
        .find(|a| !winners.contains(a.number.as_str()))
        .unwrap();
    changed.wins[0].application = loser.number.clone();
    std::fs::write(&file, serde_json::to_string(&changed).unwrap()).unwrap();
    let (ok, said) = verify(file.to_str().unwrap()).await;
    assert!(!ok && said.contains("MISMATCH"), "{said}");
    let result_page = app
        .get(&format!("/reservations/taiikukan/lottery/{name}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(result_page.contains(&published.seed), "{result_page}");

    // The winners' links: one confirms online (本予約).
    let link_of = |body: &str| {
        let link = body.split("https://machi.example").nth(1).unwrap();
        link.split_whitespace().next().unwrap().to_string()
    };
    let bookings = gym_bookings(app, month).await;
    let order = lottery::draw(
        &published.seed,
        true,
        &published.capacity,
        &published.applications,
    )
    .order;
    let (a, b, c) = (at(9), at(11), ("arena-2", at(9)));
    let (first, _) = holder(&bookings, "arena-1", a).unwrap();
    let (second, _) = holder(&bookings, "arena-1", b).unwrap();
    let (third, _) = holder(&bookings, c.0, c.1).unwrap();
    assert_eq!([&first, &second, &third], [&order[0], &order[1], &order[2]]);
    let mail_of = |application: &str| {
        let number = bookings
            .iter()
            .find(|b| b.lottery_application.as_deref() == Some(application))
            .unwrap()
            .number
            .clone();
        won.iter()
            .find(|m| m.1.contains(&number))
            .map(|m| link_of(&m.2))
            .unwrap()
    };
    let second_link = mail_of(&second);
    let (path, query) = second_link.split_once("?code=").unwrap();
    let confirmed = app
        .client
        .post(app.url(&format!("{path}/confirm")))
        .form(&[("code", query)])
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 303);
    let page = app.get(&second_link).await.text().await.unwrap();
    assert!(page.contains("予約済み"), "{page}");
    // The first declines: the next in line who holds no win gets the slot.
    let first_link = mail_of(&first);
    let (path, query) = first_link.split_once("?code=").unwrap();
    let number = path.trim_start_matches("/bookings/");
    let declined = app
        .client
        .delete(app.url(&format!("/api/v1/bookings/{number}?cancel_code={query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(declined.status(), 200);
    let bookings = gym_bookings(app, month).await;
    assert_eq!(
        holder(&bookings, "arena-1", a),
        Some((order[3].clone(), "provisional".into()))
    );
    assert_eq!(
        new_mails(app)
            .await
            .iter()
            .filter(|m| m.1.contains("当選しました"))
            .count(),
        1
    );
    // A week on, the unconfirmed wins lapse: the fourth's goes to the fifth; nobody is left
    // for the third's, which opens to everyone. The confirmed one stays.
    let week_on = after + Duration::days(10);
    assert_eq!(
        app.store
            .release_unconfirmed(CITY, week_on, &LINKS)
            .await
            .unwrap(),
        2
    );
    let bookings = gym_bookings(app, month).await;
    assert_eq!(
        holder(&bookings, "arena-1", a),
        Some((order[4].clone(), "provisional".into()))
    );
    assert_eq!(
        holder(&bookings, "arena-1", b),
        Some((second, "booked".into()))
    );
    assert_eq!(holder(&bookings, c.0, c.1), None);
    // The fifth pays the fee online instead of pressing "confirm": paying confirms the win.
    let fifth = bookings
        .iter()
        .find(|b| b.holds_slot() && b.resource_id == "arena-1" && b.starts == a)
        .unwrap();
    let offered = new_mails(app).await;
    let link = offered
        .iter()
        .find(|m| m.1.contains(&fifth.number))
        .map(|m| link_of(&m.2))
        .unwrap();
    let (_, code) = link.split_once("?code=").unwrap();
    super::fees::pay(app, &fifth.number, code, "2400").await;
    let paid = app
        .store
        .booking(CITY, &fifth.number)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(paid.state, "booked");
    // The gymnasium's fee, with no 減免 for these groups, is on each win.
    assert!(bookings
        .iter()
        .filter(|b| b.holds_slot())
        .all(|b| b.fee_yen == Some(2400)));
    // Every application won at most once at any time.
    let holding: Vec<String> = bookings
        .iter()
        .filter(|b| b.holds_slot())
        .filter_map(|b| b.lottery_application.clone())
        .collect();
    let distinct: std::collections::HashSet<&String> = holding.iter().collect();
    assert_eq!(holding.len(), distinct.len());
}

fn person_booking((number, code): &(String, String), at: NaiveDateTime) -> Value {
    let mut body = person(
        "taiikukan",
        &format!("{}+09:00", at.format("%Y-%m-%dT%H:%M:%S")),
        "体育協会",
    );
    body["registration"] = json!(number);
    body["registration_code"] = json!(code);
    body
}

async fn only_registered_groups_book_a_facility_that_says_so(app: &TestApp) {
    with_demo_services(app).await;
    let (start, _, resource) = super::slots(app, "taiikukan", "").await[0].clone();
    let mut body = person("taiikukan", &start, "体育協会");
    body["resource"] = json!(resource);
    let (status, problem) = book(app, body.clone(), None).await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem.to_string().contains("needs a registration"),
        "{problem}"
    );
    let someone = register(app, "person", "個人", "きむらさく").await.unwrap();
    body["registration"] = json!(someone.0);
    body["registration_code"] = json!(someone.1);
    let (status, problem) = book(app, body.clone(), None).await;
    assert_eq!(status, 409, "a person is not a group: {problem}");
    let group = register(app, "group", "バスケ", "やまだたろう")
        .await
        .unwrap();
    body["registration"] = json!(group.0);
    body["registration_code"] = json!(group.1);
    let (status, made) = book(app, body, None).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["fee_yen"], json!(2400), "no 減免: the whole fee");
    // The meeting rooms take anyone, at the whole fee; a registered children's group gets its
    // 減免 (50%) when it gives its registration, a wrong code is refused.
    let slots = super::slots(app, "kaigishitsu", "").await;
    let room = |i: usize| {
        let (start, _, resource) = slots[i].clone();
        let mut body = person("kaigishitsu", &start, "子ども会");
        body["resource"] = json!(resource);
        body
    };
    let (status, made) = book(app, room(0), None).await;
    assert_eq!(
        (status, made["fee_yen"].clone()),
        (201, json!(1500)),
        "{made}"
    );
    let kids = register_with(app, "group", "子ども会", "こどもかい", &["kodomo".into()])
        .await
        .unwrap();
    let mut reduced = room(1);
    reduced["registration"] = json!(kids.0);
    reduced["registration_code"] = json!("wrong");
    assert_eq!(book(app, reduced.clone(), None).await.0, 409);
    reduced["registration_code"] = json!(kids.1);
    let (status, made) = book(app, reduced, None).await;
    assert_eq!(
        (status, made["fee_yen"].clone()),
        (201, json!(750)),
        "{made}"
    );
    let number = made["booking_number"].as_str().unwrap();
    let code = made["cancel_code"].as_str().unwrap();
    let page = app
        .get(&format!("/bookings/{number}?code={code}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("750円 子ども会・青少年団体（50%減免）"),
        "{page}"
    );
}
