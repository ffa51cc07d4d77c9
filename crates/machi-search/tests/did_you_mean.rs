//! "Did you mean" over the demo catalog: names typed a little wrong — a wrong kanji of the
//! same sound, a long vowel misheard, a letter left out — are offered corrected, and the
//! corrected query finds the procedure meant; questions typed right get no correction.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::demo_engine;
use machi_search::Kind;

#[test]
fn a_mistyped_name_is_corrected_and_the_correction_finds_the_procedure() {
    let engine = demo_engine();
    let cases = [
        ("住民表がほしい", "juminhyo"),
        ("こせきとおほん", "koseki-touhon"),
        ("いんかんとおろく", "inkan-touroku"),
        ("印鑑証名書", "inkan-shoumeisho"),
        ("罹災照明書がいる", "risai-shoumeisho"),
        ("国民建康保険に入る", "kokuho-kanyu"),
        ("てんにゅよやく", "tennyu-yoyaku"),
        ("residense certificate", "juminhyo"),
        ("いぬのとおろく", "inu-touroku"),
        ("じゅうみんひょお", "juminhyo"),
        ("印艦登録", "inkan-touroku"),
        ("りさいしょおめいしょ", "risai-shoumeisho"),
        ("国民健康保検", "kokuho-kanyu"),
        ("そおさいひ", "kokuho-sousaihi"),
        ("ふくしよおぐ", "kaigo-fukushi-yougu"),
        ("介護保健証をなくした", "kaigo-hihokenshasho-saikoufu"),
        ("dog registraton", "inu-touroku"),
    ];
    let mut wrong = Vec::new();
    for (typed, expect) in cases {
        let suggestion = engine.suggest(typed);
        let found = suggestion.as_deref().is_some_and(|corrected| {
            engine
                .search(corrected, Some(Kind::Procedure), 3)
                .unwrap()
                .iter()
                .any(|hit| hit.id == expect)
        });
        if !found {
            wrong.push(format!("{typed} → {suggestion:?} (expected {expect})"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn questions_typed_right_get_no_correction() {
    let engine = demo_engine();
    let set: serde_json::Value = serde_json::from_str(include_str!("dev-questions.json")).unwrap();
    let more = [
        "じゅうみんひょうがほしい",
        "粗大ゴミをだしたい",
        "こうがくかいごさーびす",
        "介護度を見直してほしい",
        "ケアマネを決めた",
        "ペンギンを飼いたい",
        "please help me",
    ];
    let corrected: Vec<String> = set["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| case["q"].as_str().unwrap())
        .chain(more)
        .filter_map(|q| engine.suggest(q).map(|s| format!("{q} → {s}")))
        .collect();
    assert!(corrected.is_empty(), "{}", corrected.join("\n"));
}
