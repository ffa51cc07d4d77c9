//! The development set: 44 questions residents type, each with the demo procedure a good
//! search ranks in its top 3 (a copy of `shared/search/dev-questions.json`). The whole set is
//! run, not picked cases; the search is judged on other questions of the same kind.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::demo_engine;
use machi_search::{Engine, Kind};

/// The questions whose expected procedure is not in the top 3, each with what came instead.
fn misses(engine: &Engine, cases: &[(&str, &str)]) -> Vec<String> {
    let mut missed = Vec::new();
    for (q, expect) in cases {
        let hits = engine.search(q, Some(Kind::Procedure), 3).unwrap();
        if !hits.iter().any(|h| h.id == *expect) {
            let top: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
            missed.push(format!("{q} → {expect}, got {top:?}"));
        }
    }
    missed
}

#[test]
fn the_expected_procedure_is_in_the_top_3_for_40_of_the_44_questions() {
    let set: serde_json::Value = serde_json::from_str(include_str!("dev-questions.json")).unwrap();
    let engine = demo_engine();
    let cases: Vec<(&str, &str)> = set["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            (
                case["q"].as_str().unwrap(),
                case["expect"].as_str().unwrap(),
            )
        })
        .collect();
    let missed = misses(&engine, &cases);
    let found = cases.len() - missed.len();
    println!("top 3: {found} of {}\n{}", cases.len(), missed.join("\n"));
    assert!(
        found >= 40,
        "{found} of {}:\n{}",
        cases.len(),
        missed.join("\n")
    );
}

/// Questions written for this test, not tuned on: the search must do as well on questions of
/// the same kind that it has not seen.
#[test]
fn questions_of_the_same_kind_do_as_well() {
    let engine = demo_engine();
    let cases = [
        ("印鑑証明 ほしい", "inkan-shoumeisho"),
        ("介護保険証をなくしました", "kaigo-hihokenshasho-saikoufu"),
        ("子供が生まれました 手当", "jidou-teate-nintei"),
        ("保育園に入りたい", "hoiku-riyou-moushikomi"),
        ("ハンコ登録", "inkan-touroku"),
        ("転出届を出したい", "tenshutsu-todoke"),
        ("家族が死んだ 届け", "shibou-todoke"),
        ("いぬ とうろく", "inu-touroku"),
        ("じゅうみんひょう", "juminhyo"),
        ("ｺｾｷﾄｳﾎﾝ", "koseki-touhon"),
        ("会社を辞めたので国保に入る", "kokuho-kanyu"),
        ("台風で屋根が壊れた 証明", "risai-shoumeisho"),
        ("手すりをつける工事 介護", "kaigo-jutaku-kaishu"),
        ("所得証明書", "shotoku-kazei-shoumei"),
        ("ソファを捨てたい", "sodai-gomi"),
        ("母子手帳がほしい", "ninshin-todokede"),
    ];
    let missed = misses(&engine, &cases);
    println!("unseen missed: {missed:?}");
    assert!(missed.len() <= 2, "{}", missed.join("\n"));
}

#[test]
fn kana_forms_agree_and_a_query_of_nothing_known_finds_nothing() {
    let engine = demo_engine();
    let ids = |q: &str| -> Vec<String> {
        engine
            .search(q, Some(Kind::Procedure), 50)
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect()
    };
    let hiragana = ids("じどうてあて");
    assert_eq!(hiragana, ids("ｼﾞﾄﾞｳﾃｱﾃ"));
    assert_eq!(hiragana, ids("ジドウテアテ"));
    assert_eq!(hiragana[0], "jidou-teate-nintei");
    assert!(
        ids("存在しない手続xyz").is_empty(),
        "a shared common word is no match"
    );
    assert!(ids("ほげほげ").is_empty());
    let hits = engine.search("住民票 ほしい", None, 3).unwrap();
    assert_eq!(
        hits[0].matched,
        ["住民票"],
        "results say which words they matched"
    );
}

/// The same engine answers questions typed in English, from the English names and summaries
/// the catalog gives (the desk's `lang=en`).
#[test]
fn questions_in_english_find_the_procedure() {
    let engine = demo_engine();
    let cases = [
        ("I need a residence certificate", "juminhyo"),
        ("How do I register my seal?", "inkan-touroku"),
        ("certificate of my registered seal", "inkan-shoumeisho"),
        ("copy of the family register", "koseki-touhon"),
        ("My baby was born, child allowance", "jidou-teate-nintei"),
        ("I am moving out of the city", "tenshutsu-todoke"),
        ("register my dog", "inu-touroku"),
        ("large garbage collection", "sodai-gomi"),
        ("someone in my family died", "shibou-todoke"),
        ("join the national health insurance", "kokuho-kanyu"),
    ];
    let missed = misses(&engine, &cases);
    assert!(missed.len() <= 1, "{}", missed.join("\n"));
}
