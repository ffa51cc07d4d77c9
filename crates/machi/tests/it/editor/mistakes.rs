//! The editor never loses what staff typed: a bad id or a choice question without choices comes
//! back as the editor's own page, in Japanese, with an error summary and the input kept; a
//! question can be reworded where it stands; labels keep their full-width brackets; and 公開する
//! is offered only when nothing blocks publishing.

use crate::harness::TestApp;
use crate::on_both_backends;

use super::MANAGER;

async fn mistakes_come_back_with_the_input_and_questions_are_edited(app: &TestApp) {
    app.create_staff(MANAGER, "manager", Some("kankyo")).await;
    let mut manager = app.sign_in(MANAGER).await;
    let refused = manager
        .submit(
            "/staff/procedures/new",
            "/staff/procedures",
            &[
                ("id", "Neko Touroku!"),
                ("name_ja", "猫の登録（試行）"),
                ("kana", "ねこのとうろく"),
                ("department", "kankyo"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("staff-header"), "the staff console's page");
    assert!(
        refused.contains("href=\"#id\"") && refused.contains("手続ID「Neko Touroku!」は使えません")
    );
    assert!(
        refused.contains("value=\"猫の登録（試行）\""),
        "the name is kept"
    );

    let created = manager
        .submit(
            "/staff/procedures/new",
            "/staff/procedures",
            &[
                ("id", "neko-touroku"),
                ("name_ja", "猫の登録（試行）"),
                ("kana", "ねこのとうろく"),
                ("department", "kankyo"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let edit = "/staff/procedures/neko-touroku/edit";
    let page = manager.get_html(edit).await;
    assert!(
        !page.contains("/staff/procedures/neko-touroku/publish"),
        "no 公開する while the form has no questions"
    );
    let no_choices = manager
        .submit(
            edit,
            "/staff/procedures/neko-touroku/fields",
            &[
                ("label_ja", "猫の種類（フリガナ）"),
                ("field_type", "radio"),
                ("name", "kind"),
                ("required", "1"),
            ],
        )
        .await;
    assert_eq!(no_choices.status(), 422);
    let no_choices = no_choices.text().await.unwrap();
    assert!(no_choices.contains("href=\"#options\"") && no_choices.contains("選択肢を2つ以上"));
    assert!(
        no_choices.contains("value=\"猫の種類（フリガナ）\""),
        "the question is kept"
    );
    assert!(no_choices.contains("<option value=\"radio\" selected>"));

    let added = manager
        .submit(
            edit,
            "/staff/procedures/neko-touroku/fields",
            &[
                ("label_ja", "猫の種類（フリガナ）"),
                ("field_type", "radio"),
                ("name", "kind"),
                ("options", "和猫\n洋猫"),
                ("required", "1"),
            ],
        )
        .await;
    assert_eq!(added.status(), 303);
    let added = manager
        .submit(
            edit,
            "/staff/procedures/neko-touroku/fields",
            &[
                ("label_ja", "猫の名前"),
                ("field_type", "text"),
                ("name", "cat_name"),
            ],
        )
        .await;
    assert_eq!(added.status(), 303);
    let draft = app
        .store
        .draft(crate::harness::CITY, "neko-touroku")
        .await
        .unwrap()
        .unwrap();
    let form = draft.form.unwrap();
    assert_eq!(
        form.ui.fields["kind"].label.ja, "猫の種類（フリガナ）",
        "full-width brackets stay"
    );
    assert_eq!(draft.name.ja, "猫の登録（試行）");
    let page = manager.get_html(edit).await;
    assert!(
        page.contains("/staff/procedures/neko-touroku/publish"),
        "nothing blocks it now"
    );

    // Reworded where it stands: a third choice, and no longer required.
    let question = "/staff/procedures/neko-touroku/fields/kind/edit";
    let shown = manager.get_html(question).await;
    assert!(shown.contains("value=\"猫の種類（フリガナ）\"") && shown.contains("和猫\n洋猫"));
    let empty = manager
        .submit(
            question,
            question,
            &[("label_ja", " "), ("options", "和猫\n洋猫")],
        )
        .await;
    assert_eq!(empty.status(), 422);
    assert!(empty
        .text()
        .await
        .unwrap()
        .contains("質問文を入力してください"));
    let saved = manager
        .submit(
            question,
            question,
            &[
                ("label_ja", "猫の種類"),
                ("options", "和猫\n洋猫\nその他 / Other"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let form = app
        .store
        .draft(crate::harness::CITY, "neko-touroku")
        .await
        .unwrap()
        .unwrap()
        .form
        .unwrap();
    assert_eq!(form.ui.order, ["kind", "cat_name"], "it stays where it was");
    assert_eq!(form.ui.fields["kind"].label.ja, "猫の種類");
    assert_eq!(form.ui.fields["kind"].options["o3"].en, "Other");
    let required = form.schema["required"].as_array().unwrap();
    assert!(!required.iter().any(|r| r == "kind"), "no longer required");
    assert_eq!(form.check(), Ok(()));
}

on_both_backends!(mistakes_come_back_with_the_input_and_questions_are_edited);
