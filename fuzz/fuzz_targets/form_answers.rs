//! A resident's answers to every demo form, normalised and validated as a submission is: the
//! input is either a JSON object of answers or, when it is not one, text put in every field
//! (names, kana, dates in 和暦 or western form, postcodes, numbers, choices). The text also
//! goes to the 和暦 date reader on its own.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use machi_core::procedures::{parse_catalog, CatalogFormat, CompiledForm};
use serde_json::{Map, Value};

const DEMO_CATALOG: &[u8] = include_bytes!("../../crates/machi/demo/procedures.yaml");

/// Each demo form, compiled, with the names of its fields.
fn forms() -> &'static [(CompiledForm, Vec<String>)] {
    static FORMS: OnceLock<Vec<(CompiledForm, Vec<String>)>> = OnceLock::new();
    FORMS.get_or_init(|| {
        parse_catalog(DEMO_CATALOG, CatalogFormat::Yaml)
            .expect("the demo catalog parses")
            .into_iter()
            .filter_map(|procedure| procedure.form)
            .map(|form| {
                let names = form.schema["properties"]
                    .as_object()
                    .map(|properties| properties.keys().cloned().collect())
                    .unwrap_or_default();
                (form.compile().expect("a demo form compiles"), names)
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let forms = forms();
    let (form, names) = &forms[selector as usize % forms.len()];
    let text = String::from_utf8_lossy(bytes);
    let _ = machi_core::wareki::parse_date(&text);
    let answers = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(answers)) => answers,
        _ => names
            .iter()
            .map(|name| (name.clone(), Value::String(text.to_string())))
            .collect::<Map<String, Value>>(),
    };
    let _ = form.validate(&answers);
});
