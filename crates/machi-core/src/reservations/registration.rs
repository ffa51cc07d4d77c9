//! 利用者登録: a person or a group registered at the counter to use the city's facilities — to
//! apply for their lotteries, and to book those only registered users (or groups) may book.
//!
//! Staff see an identity document of the person (for a group, its representative) and type the
//! name's reading and the date of birth. Those are kept only as a digest, the registration's
//! identity: one person is registered once, so one person (or the group they represent) applies
//! once to each lottery — duplicates are found by who the person is, not by a phone number.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::Booker;
use crate::digest::sha256_hex;
use crate::procedures::Localized;

/// A person, or a group (団体) with its representative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationKind {
    Person,
    Group,
}

impl RegistrationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationKind::Person => "person",
            RegistrationKind::Group => "group",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "person" => Some(RegistrationKind::Person),
            "group" => Some(RegistrationKind::Group),
            _ => None,
        }
    }
}

/// A registration as staff type it at the counter, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registrant {
    pub kind: RegistrationKind,
    /// The group's name, or the person's.
    pub name: String,
    /// The person, or the group's representative: name, e-mail, phone.
    pub contact: Booker,
    /// Whether staff saw that the person (the representative) lives in the city.
    pub in_city: bool,
    /// The 減免 kinds staff confirmed (ids of the services' `fee_reductions`).
    pub reductions: Vec<String>,
    /// The reading of the person's name (katakana, no spaces) and the date of birth.
    reading: String,
    birth_date: NaiveDate,
}

/// What staff type, as the form gives it.
pub struct RegistrationForm<'a> {
    pub kind: &'a str,
    pub group_name: &'a str,
    pub name: &'a str,
    pub reading: &'a str,
    pub birth_date: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    pub in_city: bool,
    pub reductions: &'a [String],
}

impl Registrant {
    /// The registration, or each field's problem (field name, message).
    pub fn checked(
        form: &RegistrationForm<'_>,
        today: NaiveDate,
    ) -> Result<Self, Vec<(&'static str, Localized)>> {
        let mut problems = Vec::new();
        let kind = RegistrationKind::parse(form.kind);
        if kind.is_none() {
            problems.push((
                "kind",
                Localized::new("個人か団体かを選んでください", "choose a person or a group"),
            ));
        }
        let contact = Booker::checked(form.name, form.email, form.phone, "");
        let contact = contact.map_err(|p| problems.extend(p)).ok();
        let group_name = crate::text::strip_control_chars(form.group_name.trim());
        let group_name_length = group_name.chars().count();
        if kind == Some(RegistrationKind::Group) && !(1..=100).contains(&group_name_length) {
            problems.push((
                "group_name",
                Localized::new(
                    "団体名を100文字以内で入力してください",
                    "enter the group's name, at most 100 characters",
                ),
            ));
        }
        let reading = crate::text::search_key(form.reading);
        let is_kana = |c: char| ('\u{30A1}'..='\u{30FC}').contains(&c);
        if reading.is_empty() || reading.chars().count() > 100 || !reading.chars().all(is_kana) {
            problems.push((
                "reading",
                Localized::new(
                    "ふりがなをひらがなかカタカナで入力してください",
                    "enter the reading of the name in kana",
                ),
            ));
        }
        let birth_date = crate::wareki::parse_date(form.birth_date)
            .ok()
            .filter(|d| *d < today && today.years_since(*d).is_some_and(|years| years < 130));
        if birth_date.is_none() {
            problems.push((
                "birth_date",
                Localized::new(
                    "生年月日を 1980-04-01 や 昭和55年4月1日 のように入力してください",
                    "enter the date of birth, like 1980-04-01",
                ),
            ));
        }
        match (kind, contact, birth_date) {
            (Some(kind), Some(contact), Some(birth_date)) if problems.is_empty() => Ok(Self {
                kind,
                name: match kind {
                    RegistrationKind::Group => group_name,
                    RegistrationKind::Person => contact.name.clone(),
                },
                contact,
                in_city: form.in_city,
                reductions: form.reductions.to_vec(),
                reading,
                birth_date,
            }),
            _ => Err(problems),
        }
    }

    /// The digest that finds the same person registered twice in a city.
    pub fn identity_sha256(&self, tenant: &str) -> String {
        sha256_hex(format!("{tenant}:{}:{}", self.reading, self.birth_date).as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form<'a>(reading: &'a str, birth: &'a str) -> RegistrationForm<'a> {
        RegistrationForm {
            kind: "group",
            group_name: "デモ市バスケットボールクラブ",
            name: "山田 太郎",
            reading,
            birth_date: birth,
            email: "taro@example.jp",
            phone: "06-1234-5678",
            in_city: true,
            reductions: &[],
        }
    }

    #[test]
    fn the_same_person_typed_another_way_has_the_same_identity() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let a = Registrant::checked(&form("やまだ たろう", "1980-04-01"), today).unwrap();
        let b = Registrant::checked(&form("ﾔﾏﾀﾞﾀﾛｳ", "昭和55年4月1日"), today).unwrap();
        assert_eq!(a.identity_sha256("demo"), b.identity_sha256("demo"));
        assert_ne!(a.identity_sha256("demo"), a.identity_sha256("tonari"));
        assert_eq!(a.name, "デモ市バスケットボールクラブ");
        let problems = Registrant::checked(&form("Yamada", "2030-01-01"), today).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["reading", "birth_date"]);
    }
}
