//! お知らせ (notices): what a city tells its residents, by category and area, with an urgency.
//! Residents choose what concerns them (インフォメーションのえらべる化).

use serde::{Deserialize, Serialize};

use crate::procedures::Localized;

/// The categories residents can choose (the demo city's; ids are stable in URLs and feeds).
pub const CATEGORIES: [(&str, &str, &str); 7] = [
    ("bousai", "防災", "Disaster prevention"),
    ("kosodate", "子育て", "Child-rearing"),
    ("kenko", "健康・福祉", "Health and welfare"),
    ("gomi", "ごみ・環境", "Waste and environment"),
    ("zei", "税・保険", "Tax and insurance"),
    ("event", "イベント", "Events"),
    ("douro", "道路・交通", "Roads and traffic"),
];

/// The name of a category id, if it is one.
pub fn category_label(id: &str) -> Option<Localized> {
    CATEGORIES
        .iter()
        .find(|(c, _, _)| *c == id)
        .map(|(_, ja, en)| Localized::new(*ja, *en))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Normal,
    /// 重要.
    Important,
    /// 緊急: disaster alerts; they take over the signage screen and jump every queue.
    Emergency,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Normal => "normal",
            Urgency::Important => "important",
            Urgency::Emergency => "emergency",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        [Urgency::Normal, Urgency::Important, Urgency::Emergency]
            .into_iter()
            .find(|u| u.as_str() == input)
    }

    pub fn label(self) -> Localized {
        let (ja, en) = match self {
            Urgency::Normal => ("通常", "Normal"),
            Urgency::Important => ("重要", "Important"),
            Urgency::Emergency => ("緊急", "Emergency"),
        };
        Localized::new(ja, en)
    }
}

/// Reads areas typed as a list (separated by commas, 、 or line breaks): each cleaned and
/// written as the 町字 list writes it ([`crate::areas::canonical_area`]), so that a notice for
/// 「一丁目」 or 「１丁目」 reaches a subscriber of 「1丁目」; no repeats.
pub fn read_areas(typed: &str) -> Vec<String> {
    let mut areas: Vec<String> = Vec::new();
    for area in typed.split([',', '、', '，', '\n']) {
        let area = crate::areas::canonical_area(area);
        if !area.is_empty() && !areas.contains(&area) {
            areas.push(area);
        }
    }
    areas
}

/// 避難情報 as the national guidelines (避難情報に関するガイドライン, 2021) grade them by 警戒レベル.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EvacuationLevel {
    /// 警戒レベル3 高齢者等避難: those who need time evacuate, everyone else prepares.
    ElderlyEvacuate,
    /// 警戒レベル4 避難指示: everyone in the area evacuates.
    Evacuate,
    /// 警戒レベル5 緊急安全確保: a disaster is happening or imminent; secure your life where you are.
    EmergencySafety,
}

impl EvacuationLevel {
    pub const ALL: [EvacuationLevel; 3] = [
        EvacuationLevel::ElderlyEvacuate,
        EvacuationLevel::Evacuate,
        EvacuationLevel::EmergencySafety,
    ];

    /// The 警戒レベル: 3, 4 or 5.
    pub fn number(self) -> u8 {
        match self {
            EvacuationLevel::ElderlyEvacuate => 3,
            EvacuationLevel::Evacuate => 4,
            EvacuationLevel::EmergencySafety => 5,
        }
    }

    pub fn from_number(level: i64) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|l| i64::from(l.number()) == level)
    }

    pub fn label(self) -> Localized {
        let (ja, en) = match self {
            EvacuationLevel::ElderlyEvacuate => {
                ("高齢者等避難", "Evacuation of older and disabled people")
            }
            EvacuationLevel::Evacuate => ("避難指示", "Evacuation order"),
            EvacuationLevel::EmergencySafety => ("緊急安全確保", "Emergency safety measures"),
        };
        Localized::new(ja, en)
    }
}

/// The 避難情報 a notice carries: its level, and whether it is issued (発令) or lifted (解除).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evacuation {
    pub level: EvacuationLevel,
    pub lifted: bool,
}

impl Evacuation {
    /// 「避難指示（警戒レベル4）」, 「避難指示の解除」.
    pub fn label(self) -> Localized {
        let name = self.level.label();
        let n = self.level.number();
        if self.lifted {
            Localized::new(format!("{}の解除", name.ja), format!("{} lifted", name.en))
        } else {
            Localized::new(
                format!("{}（警戒レベル{n}）", name.ja),
                format!("{} (alert level {n})", name.en),
            )
        }
    }
}

/// A notice as staff write it.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeDraft {
    pub title: Localized,
    /// Markdown, rendered to sanitised HTML for display.
    pub body: Localized,
    pub categories: Vec<String>,
    /// 町丁目 or school districts; empty means the whole city.
    pub areas: Vec<String>,
    pub urgency: Urgency,
    /// 避難情報 (警戒レベル 3–5, 発令 or 解除), when the notice is one.
    pub evacuation: Option<Evacuation>,
}

impl NoticeDraft {
    /// Problems that keep the notice from being saved, each naming the field.
    pub fn check(&self) -> Result<(), Vec<(&'static str, Localized)>> {
        let mut problems = Vec::new();
        if self.title.ja.trim().is_empty() {
            problems.push((
                "title_ja",
                Localized::new("件名を入力してください", "enter a title"),
            ));
        }
        if self.title.ja.chars().count() > 200 || self.title.en.chars().count() > 200 {
            problems.push((
                "title_ja",
                Localized::new("件名は200文字までです", "the title is over 200 characters"),
            ));
        }
        if self.body.ja.trim().is_empty() {
            problems.push((
                "body_ja",
                Localized::new("本文を入力してください", "enter the text"),
            ));
        }
        if self.body.ja.chars().count() > 20_000 || self.body.en.chars().count() > 20_000 {
            problems.push((
                "body_ja",
                Localized::new(
                    "本文は20,000文字までです",
                    "the text is over 20,000 characters",
                ),
            ));
        }
        check_categories(
            &self.categories,
            Localized::new(
                "分類を1つ以上選んでください",
                "choose at least one category",
            ),
            &mut problems,
        );
        problems_or_ok(problems)
    }
}

/// A problem with one field of a form: the field's name and what to tell the person.
pub type Problem = (&'static str, Localized);

/// Adds the problems of a list of category ids (`when_empty` if there is none) to `problems`.
pub fn check_categories(categories: &[String], when_empty: Localized, problems: &mut Vec<Problem>) {
    if categories.is_empty() {
        problems.push(("categories", when_empty));
    }
    if categories.iter().any(|c| category_label(c).is_none()) {
        problems.push((
            "categories",
            Localized::new("不明な分類があります", "unknown category"),
        ));
    }
}

/// `Ok` when nothing was found wrong.
pub fn problems_or_ok(problems: Vec<Problem>) -> Result<(), Vec<Problem>> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_needs_a_title_a_text_and_a_known_category() {
        let mut draft = NoticeDraft {
            title: Localized::new("断水のお知らせ", ""),
            body: Localized::new("北町で断水します。", ""),
            categories: vec!["bousai".into()],
            areas: vec!["北町".into()],
            urgency: Urgency::Important,
            evacuation: None,
        };
        assert_eq!(draft.check(), Ok(()));
        draft.categories = vec!["weather".into()];
        assert_eq!(draft.check().unwrap_err()[0].0, "categories");
        draft.title.ja = " ".into();
        assert_eq!(draft.check().unwrap_err()[0].0, "title_ja");
        assert_eq!(Urgency::parse("emergency"), Some(Urgency::Emergency));
        assert_eq!(
            read_areas("北町、 南町,北町\n１丁目"),
            vec!["北町", "南町", "1丁目"]
        );
    }
}
