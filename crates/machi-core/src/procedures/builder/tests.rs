//! Tests of the form builder.
use super::*;

fn field(name: &str, field_type: FieldType, required: bool) -> NewField {
    NewField {
        name: name.into(),
        label: Localized::new(format!("{name}のラベル"), ""),
        help: None,
        field_type,
        required,
        options: if field_type.has_options() {
            vec![
                Localized::new("はい", "Yes"),
                Localized::new("いいえ", "No"),
            ]
        } else {
            Vec::new()
        },
        show_if: None,
        group: None,
        max_items: None,
    }
}

#[test]
fn every_question_type_makes_a_form_that_passes_its_own_check() {
    let mut form = FormDefinition::empty();
    for (i, field_type) in FIELD_TYPES.into_iter().enumerate() {
        form.add_field(field(&format!("q{i}"), field_type, i % 2 == 0))
            .unwrap();
    }
    let group = format!("q{}", FIELD_TYPES.len() - 1);
    assert!(form.check().is_err(), "a group needs questions of its own");
    form.add_field(NewField {
        group: Some(group),
        ..field("name", FieldType::Text, true)
    })
    .unwrap();
    assert_eq!(form.check(), Ok(()));
    assert!(
        form.ui.fields.contains_key("q4_postcode"),
        "address brings a postcode"
    );
    assert_eq!(form.attachments.len(), 1);
}

#[test]
fn a_conditional_question_is_required_only_when_its_condition_holds() {
    let mut form = FormDefinition::empty();
    form.add_field(field("has_spouse", FieldType::Radio, true))
        .unwrap();
    let mut spouse = field("spouse_name", FieldType::Text, true);
    spouse.show_if = Some(Condition {
        field: "has_spouse".into(),
        equals: "o1".into(),
    });
    form.add_field(spouse).unwrap();
    assert_eq!(form.check(), Ok(()));
    let compiled = form.compile().unwrap();
    let answers = |v: Value| v.as_object().unwrap().clone();
    let missing = compiled
        .validate(&answers(json!({"has_spouse": "o1"})))
        .unwrap_err();
    assert_eq!(missing[0].field, "spouse_name");
    let without = compiled
        .validate(&answers(
            json!({"has_spouse": "o2", "spouse_name": "消える"}),
        ))
        .unwrap();
    assert!(
        !without.contains_key("spouse_name"),
        "hidden answers are dropped"
    );
    assert!(
        form.remove_field("has_spouse").is_err(),
        "its dependant comes first"
    );
    assert!(form.move_field("spouse_name", true).is_err());
    form.remove_field("spouse_name").unwrap();
    assert!(form.schema.get("allOf").is_none());
    assert_eq!(form.check(), Ok(()));
}

#[test]
fn bad_questions_are_refused_with_a_reason() {
    let mut form = FormDefinition::empty();
    assert!(form
        .add_field(field("Bad Name", FieldType::Text, true))
        .is_err());
    let mut one_choice = field("pick", FieldType::Select, true);
    one_choice.options.truncate(1);
    assert!(form
        .add_field(one_choice)
        .unwrap_err()
        .message
        .en
        .contains("two choices"));
    form.add_field(field("name", FieldType::Text, true))
        .unwrap();
    assert!(form
        .add_field(field("name", FieldType::Date, true))
        .is_err());
    let mut dangling = field("x", FieldType::Text, false);
    dangling.show_if = Some(Condition {
        field: "nothing".into(),
        equals: "o1".into(),
    });
    assert!(form.add_field(dangling).is_err());
}
