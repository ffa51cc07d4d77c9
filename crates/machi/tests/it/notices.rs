//! Notices: staff write them (Markdown, categories, areas, urgency, schedule); residents see
//! only what is published and not expired, filtered by category and area, on the site and in
//! an Atom feed that a standard feed parser (feed-rs) reads.

use crate::harness::{TestApp, CITY};
use crate::on_both_backends;

mod categories;

pub(super) const WRITER: &str = "bousai@kikikanri.test";
const OUTSIDER: &str = "tanto@shimin.test";

pub(super) async fn write(
    staff: &mut crate::harness::StaffClient,
    form: &[(&str, &str)],
) -> reqwest::Response {
    staff
        .submit("/staff/notices/new", "/staff/notices/new", form)
        .await
}

async fn staff_publish_and_residents_choose_what_concerns_them(app: &TestApp) {
    app.create_staff(WRITER, "staff", Some("kikikanri")).await;
    app.create_staff(OUTSIDER, "staff", Some("shimin")).await;
    let mut staff = app.sign_in(WRITER).await;

    // Bad input comes back with the reason, and nothing is saved.
    let empty = write(
        &mut staff,
        &[("title_ja", " "), ("body_ja", "x"), ("category", "bousai")],
    )
    .await;
    assert_eq!(empty.status(), 422);
    assert!(empty
        .text()
        .await
        .unwrap()
        .contains("件名を入力してください"));
    let bad_time = write(
        &mut staff,
        &[
            ("title_ja", "t"),
            ("body_ja", "x"),
            ("category", "bousai"),
            ("publish_at", "明日の朝"),
        ],
    )
    .await;
    assert_eq!(bad_time.status(), 422);
    let backwards = write(
        &mut staff,
        &[
            ("title_ja", "t"),
            ("body_ja", "x"),
            ("category", "bousai"),
            ("publish_at", "2026-01-02 09:00"),
            ("expires_at", "2026-01-01 09:00"),
        ],
    )
    .await;
    assert_eq!(backwards.status(), 422);
    assert!(app
        .store
        .department_notices(CITY, None)
        .await
        .unwrap()
        .is_empty());

    // An emergency goes out at once: saving it first asks to confirm whom it reaches.
    let unconfirmed = write(
        &mut staff,
        &[
            ("title_ja", "北町に避難指示"),
            ("body_ja", "避難してください。"),
            ("category", "bousai"),
            ("areas", "北町"),
            ("urgency", "emergency"),
        ],
    )
    .await;
    assert_eq!(unconfirmed.status(), 200);
    let asked = unconfirmed.text().await.unwrap();
    assert!(asked.contains("緊急のお知らせを送信しますか") && asked.contains("人に送信する"));
    assert!(
        asked.contains("SMTP"),
        "e-mail that cannot leave is said before it is sent"
    );
    assert!(
        asked.contains("value=\"北町に避難指示\""),
        "the notice is kept"
    );
    assert!(
        app.store
            .department_notices(CITY, None)
            .await
            .unwrap()
            .is_empty(),
        "nothing was saved or sent"
    );

    let alert = write(
        &mut staff,
        &[
            ("title_ja", "北町に避難指示"),
            (
                "body_ja",
                "**北町小学校**へ避難してください。<script>alert(1)</script>",
            ),
            ("category", "bousai"),
            ("areas", "北町、北町二丁目"),
            ("urgency", "emergency"),
            ("confirm_send", "1"),
        ],
    )
    .await;
    assert_eq!(alert.status(), 303);
    for form in [
        vec![
            ("title_ja", "来年の健診"),
            ("body_ja", "予定です。"),
            ("category", "kenko"),
            ("publish_at", "2099-01-01 09:00"),
        ],
        vec![
            ("title_ja", "終わった催し"),
            ("body_ja", "終了しました。"),
            ("category", "event"),
            ("publish_at", "2020-01-01 09:00"),
            ("expires_at", "2020-01-02 09:00"),
        ],
        vec![
            ("title_ja", "市民まつり"),
            ("body_ja", "全市で開催します。"),
            ("category", "event"),
        ],
    ] {
        assert_eq!(write(&mut staff, &form).await.status(), 303);
    }

    let all = app.get("/notices").await.text().await.unwrap();
    assert!(all.contains("北町に避難指示") && all.contains("市民まつり"));
    assert!(
        !all.contains("来年の健診") && !all.contains("終わった催し"),
        "scheduled and expired are hidden"
    );
    let north = app
        .get("/notices?category=bousai&area=%E5%8C%97%E7%94%BA")
        .await
        .text()
        .await
        .unwrap();
    assert!(north.contains("北町に避難指示"));
    let south = app
        .get("/notices?category=bousai&area=%E5%8D%97%E7%94%BA")
        .await
        .text()
        .await
        .unwrap();
    // (Above the list, the banner of a live emergency is on every page.)
    let south_list = south.split("<main").nth(1).unwrap();
    assert!(
        !south_list.contains("北町に避難指示"),
        "another area does not get it"
    );
    let south_events = app
        .get("/notices?area=%E5%8D%97%E7%94%BA")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        south_events.contains("市民まつり"),
        "a notice for the whole city reaches every area"
    );

    // The Atom feed parses in a standard reader and carries the sanitised body.
    let response = app.get("/feeds/notices.atom?category=bousai").await;
    assert_eq!(
        response.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let feed = feed_rs::parser::parse(response.bytes().await.unwrap().as_ref()).unwrap();
    assert_eq!(feed.entries.len(), 1);
    let entry = &feed.entries[0];
    assert_eq!(entry.title.as_ref().unwrap().content, "北町に避難指示");
    let body = entry.content.as_ref().unwrap().body.as_ref().unwrap();
    assert!(
        body.contains("<strong>北町小学校</strong>") && !body.contains("<script"),
        "{body}"
    );
    assert_eq!(entry.categories[0].term, "bousai");
    let link = &entry.links[0].href;
    let id = link.rsplit('/').next().unwrap();
    let page = app
        .get(&format!("/notices/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<strong>北町小学校</strong>") && !page.contains("<script>alert"));

    // Scheduled notices are not reachable by address either; other departments cannot edit.
    let scheduled = app
        .store
        .department_notices(CITY, Some("kikikanri"))
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.draft.title.ja == "来年の健診")
        .unwrap();
    assert_eq!(
        app.get(&format!("/notices/{}", scheduled.id))
            .await
            .status(),
        404
    );
    let mut outsider = app.sign_in(OUTSIDER).await;
    assert_eq!(
        outsider.get(&format!("/staff/notices/{id}")).await.status(),
        403
    );
    let log = app
        .store
        .audit_entries(
            CITY,
            &machi_store::audit::AuditQuery {
                action: "notice.create".into(),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(log.len(), 4);
}

on_both_backends!(staff_publish_and_residents_choose_what_concerns_them);

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

/// Posts the notice form as a browser does once it has a file input: multipart, with the
/// CSRF token of the form page.
async fn write_with_files(
    app: &TestApp,
    staff: &mut crate::harness::StaffClient,
    page: &str,
    action: &str,
    form: &[(&str, &str)],
    files: &[(&str, &[u8])],
) -> reqwest::Response {
    let html = staff.get_html(page).await;
    let mut multipart =
        reqwest::multipart::Form::new().text("csrf", crate::harness::csrf_of(&html));
    for (name, value) in form {
        multipart = multipart.text(name.to_string(), value.to_string());
    }
    for (name, bytes) in files {
        multipart = multipart.part(
            "files",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()),
        );
    }
    let cookie = staff
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    staff
        .client
        .post(app.url(action))
        .header("cookie", cookie)
        .multipart(multipart)
        .send()
        .await
        .unwrap()
}

async fn staff_preview_and_attach_files_residents_download(app: &TestApp) {
    app.create_staff(WRITER, "staff", Some("kikikanri")).await;
    let mut staff = app.sign_in(WRITER).await;
    let form = [
        ("title_ja", "避難所の案内"),
        ("title_en", "Evacuation shelters"),
        ("body_ja", "**北小学校**が開いています。"),
        ("body_en", "**Kita school** is open."),
        ("category", "bousai"),
        ("areas", "北町"),
        ("urgency", "emergency"),
        ("confirm_send", "1"),
    ];

    // A preview shows the notice as residents will see it, in both languages, and saves nothing.
    let mut previewing = form.to_vec();
    previewing.push(("preview", "1"));
    let preview = write_with_files(
        app,
        &mut staff,
        "/staff/notices/new",
        "/staff/notices/new",
        &previewing,
        &[("避難所一覧.pdf", PDF)],
    )
    .await;
    assert_eq!(preview.status(), 200);
    let html = preview.text().await.unwrap();
    assert!(html.contains("id=\"preview-title\""), "{html}");
    assert!(
        html.contains("<strong>北小学校</strong>") && html.contains("<strong>Kita school</strong>")
    );
    assert!(html.contains("避難所一覧（PDF、1KB）"), "{html}");
    let sealed = crate::pages::hidden_values(&html, "carried");
    assert_eq!(sealed.len(), 1, "{html}");
    assert!(app
        .store
        .department_notices(CITY, None)
        .await
        .unwrap()
        .is_empty());

    // A program renamed .pdf is refused by its content, and nothing is saved.
    let refused = write_with_files(
        app,
        &mut staff,
        "/staff/notices/new",
        "/staff/notices/new",
        &form,
        &[("避難所一覧.pdf", b"MZ\x90\x00\x03\x00\x00\x00")],
    )
    .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("href=\"#n-files\""), "{html}");
    assert!(app
        .store
        .department_notices(CITY, None)
        .await
        .unwrap()
        .is_empty());

    // Saved with a PDF and a PNG; residents download them with the right headers.
    let png: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0];
    let created = write_with_files(
        app,
        &mut staff,
        "/staff/notices/new",
        "/staff/notices/new",
        &form,
        &[("避難所一覧.pdf", PDF), ("map.png", png)],
    )
    .await;
    assert_eq!(created.status(), 303);
    let edit_path = created.headers()["location"].to_str().unwrap().to_string();
    let id = edit_path.rsplit('/').next().unwrap().to_string();
    let files = app.store.notice_attachments(CITY, &id).await.unwrap();
    assert_eq!(files.len(), 2);
    let page = app
        .get(&format!("/notices/{id}"))
        .await
        .text()
        .await
        .unwrap();
    let href = format!("/notices/{id}/files/{}", files[0].id);
    assert!(
        page.contains(&format!("<a href=\"{href}\">避難所一覧（PDF、1KB）</a>")),
        "{page}"
    );
    let download = app.get(&href).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "application/pdf");
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    let disposition = download.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment;")
            && disposition
                .contains("filename*=UTF-8''%E9%81%BF%E9%9B%A3%E6%89%80%E4%B8%80%E8%A6%A7.pdf"),
        "{disposition}"
    );
    assert_eq!(download.bytes().await.unwrap().as_ref(), PDF);

    // The feed carries each file as an enclosure with its type and length.
    let feed = app.get("/feeds/notices.atom").await.bytes().await.unwrap();
    let feed = feed_rs::parser::parse(feed.as_ref()).unwrap();
    let enclosures: Vec<_> = feed.entries[0]
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("enclosure"))
        .collect();
    assert_eq!(enclosures.len(), 2);
    assert!(enclosures[0].href.ends_with(&href));
    assert_eq!(enclosures[0].media_type.as_deref(), Some("application/pdf"));
    assert_eq!(enclosures[0].length, Some(PDF.len() as u64));

    // Editing removes one file; the other stays.
    let removed = write_with_files(
        app,
        &mut staff,
        &edit_path,
        &edit_path,
        &[form.as_slice(), &[("remove_file", files[1].id.as_str())]].concat(),
        &[],
    )
    .await;
    assert_eq!(removed.status(), 303);
    let left = app.store.notice_attachments(CITY, &id).await.unwrap();
    assert_eq!(left, vec![files[0].clone()]);
    assert_eq!(
        app.get(&format!("/notices/{id}/files/{}", files[1].id))
            .await
            .status(),
        404
    );

    // A notice not yet published does not give its files away.
    let scheduled = write_with_files(
        app,
        &mut staff,
        "/staff/notices/new",
        "/staff/notices/new",
        &[form.as_slice(), &[("publish_at", "2099-01-01 09:00")]].concat(),
        &[("later.pdf", PDF)],
    )
    .await;
    assert_eq!(scheduled.status(), 303);
    let later = scheduled.headers()["location"].to_str().unwrap();
    let later = later.rsplit('/').next().unwrap();
    let file = &app.store.notice_attachments(CITY, later).await.unwrap()[0];
    assert_eq!(
        app.get(&format!("/notices/{later}/files/{}", file.id))
            .await
            .status(),
        404
    );

    // The form carries back only what this session's preview gave it: the sealed field
    // attaches its file; a digest of any other stored file (a resident's attachment, say),
    // or the sealed field edited, attaches nothing.
    let other = app
        .store
        .save_file([PDF, b"a resident's document".as_slice()].concat())
        .await
        .unwrap();
    let forged = format!(
        "{}:application/pdf:{}:住民の書類.pdf",
        other.sha256, other.size_bytes
    );
    let edited = sealed[0].replacen(':', ":x", 1);
    for (carried, attached) in [(&sealed[0], 1), (&forged, 0), (&edited, 0)] {
        let sent = write_with_files(
            app,
            &mut staff,
            "/staff/notices/new",
            "/staff/notices/new",
            &[form.as_slice(), &[("carried", carried.as_str())]].concat(),
            &[],
        )
        .await;
        assert_eq!(sent.status(), 303);
        let id = sent.headers()["location"].to_str().unwrap();
        let id = id.rsplit('/').next().unwrap();
        let files = app.store.notice_attachments(CITY, id).await.unwrap();
        assert_eq!(files.len(), attached, "{carried}");
    }
}

on_both_backends!(staff_preview_and_attach_files_residents_download);
