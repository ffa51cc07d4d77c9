//! How CAP grades a notice: its `<category>`, and `<urgency>`, `<severity>`, `<certainty>` and
//! `<responseType>` from its urgency or, for 避難情報, from its 警戒レベル.

use machi_core::notices::{Category, Evacuation, EvacuationLevel, Urgency, CAP_CATEGORIES};

/// CAP `<category>` of a notice category, as the city maps it (the defaults: 防災 is general
/// public safety, as the notice does not say whether the hazard is weather or an earthquake;
/// the rest by subject); Other for an id the city does not have.
pub(super) fn cap_category(categories: &[Category], id: &str) -> &'static str {
    categories
        .iter()
        .find(|c| c.id == id)
        .and_then(|c| CAP_CATEGORIES.iter().find(|cap| **cap == c.cap))
        .copied()
        .unwrap_or("Other")
}

/// (urgency, severity, certainty): 緊急 is happening now (Immediate, Severe, Observed); 重要 防災
/// is expected (Expected, Moderate, Likely).
pub(super) fn grading(urgency: Urgency) -> (&'static str, &'static str, &'static str) {
    match urgency {
        Urgency::Emergency => ("Immediate", "Severe", "Observed"),
        Urgency::Important => ("Expected", "Moderate", "Likely"),
        Urgency::Normal => ("Unknown", "Unknown", "Unknown"),
    }
}

/// What a 避難情報 asks of residents, and how CAP grades it, by 警戒レベル (the national
/// guidelines' meaning of each level): 3 — those who need time evacuate, the rest prepare,
/// the disaster is expected; 4 — everyone evacuates before it comes; 5 — it is happening or
/// imminent, and residents secure their lives where they are. 解除 is all clear.
pub(super) struct EvacuationGrade {
    pub(super) response_types: Vec<&'static str>,
    pub(super) urgency: &'static str,
    pub(super) severity: &'static str,
    pub(super) certainty: &'static str,
}

pub(super) fn evacuation_grade(evacuation: Evacuation) -> EvacuationGrade {
    let (response_types, urgency, severity, certainty) = match (evacuation.lifted, evacuation.level)
    {
        (true, _) => (vec!["AllClear"], "Past", "Minor", "Observed"),
        (false, EvacuationLevel::ElderlyEvacuate) => {
            (vec!["Evacuate", "Prepare"], "Expected", "Severe", "Likely")
        }
        (false, EvacuationLevel::Evacuate) => (vec!["Evacuate"], "Immediate", "Severe", "Likely"),
        (false, EvacuationLevel::EmergencySafety) => {
            (vec!["Shelter"], "Immediate", "Extreme", "Observed")
        }
    };
    EvacuationGrade {
        response_types,
        urgency,
        severity,
        certainty,
    }
}
