//! The area picker of the notice and subscription forms: the city's 町字 list as checkboxes,
//! one group per 町 (the whole 町, or some of its 丁目); a city without a list gets a text field.

use machi_core::areas::Area;

/// One 町 and its 丁目, with what is ticked.
pub struct TownChoice {
    pub name: String,
    pub checked: bool,
    /// (丁目 as the resident reads it, its full name, ticked)
    pub chome: Vec<(String, String, bool)>,
    /// Open when something in it is ticked.
    pub open: bool,
}

/// What the form shows for areas.
pub struct AreaPicker {
    /// The element the error summary links to.
    pub id: String,
    /// The areas as typed, for the text field of a city without a 町字 list.
    pub typed: String,
    pub towns: Vec<TownChoice>,
}

impl AreaPicker {
    /// The picker with `chosen` ticked (typed text is kept for a city without a list).
    pub fn new(id: &str, list: &[Area], chosen: &[String], typed: String) -> Self {
        let ticked = |name: &str| chosen.iter().any(|c| c == name);
        let towns = list
            .iter()
            .filter(|area| area.parent.is_none())
            .map(|town| {
                let chome: Vec<(String, String, bool)> = list
                    .iter()
                    .filter(|a| a.parent.as_ref() == Some(&town.name))
                    .map(|a| {
                        let short = a.name.strip_prefix(&town.name).unwrap_or(&a.name);
                        (short.to_string(), a.name.clone(), ticked(&a.name))
                    })
                    .collect();
                TownChoice {
                    checked: ticked(&town.name),
                    open: ticked(&town.name) || chome.iter().any(|c| c.2),
                    name: town.name.clone(),
                    chome,
                }
            })
            .collect();
        Self {
            id: id.to_string(),
            typed,
            towns,
        }
    }
}

/// The areas a form sent: typed into its text field (「、」 separated) and ticked in its picker,
/// as one list for `machi_core::notices::read_areas`.
pub fn sent_areas(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .filter(|(k, _)| k == "areas" || k == "area")
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>()
        .join("、")
}

/// The message for areas the city's 町字 list does not have.
pub fn unknown_areas_message(unknown: &[String]) -> machi_core::procedures::Localized {
    machi_core::procedures::Localized::new(
        format!(
            "次の地域は市の町字の一覧にありません。一覧から選んでください: {}",
            unknown.join("、")
        ),
        format!(
            "These areas are not in the city's list of districts; choose from the list: {}",
            unknown.join(", ")
        ),
    )
}
