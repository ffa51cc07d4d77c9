//! 予約: the services residents book — a counter (転入手続, マイナンバーカード交付), a consultation
//! (子育て相談, online or in person), a facility (体育館 第1アリーナ, 会議室 A) — each with its
//! resources (counters, staff, rooms, courts) and their capacity, its opening hours on the
//! city's calendar, its slot length, how far ahead it can be booked and until when a booking
//! can be cancelled.
//!
//! Times are Japan's (JST): a slot is a local date and time, as residents and staff read it.

mod booker;
pub mod lottery;
mod registration;
pub mod reminder_link;
mod slots;

pub use booker::Booker;
pub use lottery::LotteryRules;

pub use registration::{Registrant, RegistrationForm, RegistrationKind};
pub use slots::{Slot, SlotQuery, MAX_DAYS_ASKED};

use chrono::{NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::procedures::{DepartmentRef, ImportError, Localized, RowError};

/// What kind of service: how it is shown and whether residents pick the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// A counter: the resident picks a time, any counter with room serves them.
    Counter,
    /// A consultation with a member of staff, at the counter or online.
    Consultation,
    /// A room, hall or court: the resident picks which.
    Facility,
}

impl ServiceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Counter => "counter",
            ServiceKind::Consultation => "consultation",
            ServiceKind::Facility => "facility",
        }
    }

    /// Whether residents choose the resource (a facility) or are given any with room.
    pub fn resident_picks_resource(self) -> bool {
        self == ServiceKind::Facility
    }
}

/// On which days a service opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Days {
    /// 開庁日: the city hall's days (not weekends, national holidays, 12/29–1/3 or closures).
    #[default]
    CityOffices,
    /// Every day but 12/29–1/3 and the city's closures, and the weekdays the service names as
    /// closed (休館日): a sports hall opens on Saturdays and holidays.
    Facility,
}

/// Who may book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    #[default]
    Anyone,
    /// Residents of the city (signed in, with an address in the city).
    Residents,
    /// Groups registered with the city (団体登録).
    RegisteredGroups,
}

impl Eligibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Eligibility::Anyone => "anyone",
            Eligibility::Residents => "residents",
            Eligibility::RegisteredGroups => "registered_groups",
        }
    }

    /// Whether a registered person or group (`kind`, living in the city or not) may book.
    pub fn admits(self, kind: RegistrationKind, in_city: bool) -> Result<(), Localized> {
        match self {
            Eligibility::Anyone => Ok(()),
            Eligibility::Residents if in_city => Ok(()),
            Eligibility::RegisteredGroups if kind == RegistrationKind::Group => Ok(()),
            Eligibility::Residents => Err(Localized::new(
                "市内にお住まいの方（市内在住で登録した方）だけが予約できます",
                "only registered residents of the city may book",
            )),
            Eligibility::RegisteredGroups => Err(Localized::new(
                "市に登録した団体だけが予約できます",
                "only groups registered with the city may book",
            )),
        }
    }
}

/// A day of the week as a service's YAML names it (`mon` … `sun`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayOfWeek {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl DayOfWeek {
    pub fn weekday(self) -> Weekday {
        match self {
            DayOfWeek::Mon => Weekday::Mon,
            DayOfWeek::Tue => Weekday::Tue,
            DayOfWeek::Wed => Weekday::Wed,
            DayOfWeek::Thu => Weekday::Thu,
            DayOfWeek::Fri => Weekday::Fri,
            DayOfWeek::Sat => Weekday::Sat,
            DayOfWeek::Sun => Weekday::Sun,
        }
    }
}

/// Opening hours within a day (local time), e.g. 09:00–12:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    #[serde(with = "hh_mm")]
    pub from: NaiveTime,
    #[serde(with = "hh_mm")]
    pub to: NaiveTime,
}

/// How far ahead a slot can be booked: from `latest_days` before it up to `earliest_days`
/// before it (e.g. from 60 days to 2 days ahead); 0 allows booking on the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub earliest_days: u32,
    pub latest_days: u32,
}

/// A counter, a member of staff, a room or a court, and how many it takes at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    pub id: String,
    pub name: Localized,
    #[serde(default = "one")]
    pub capacity: u32,
}

fn one() -> u32 {
    1
}

/// A service residents book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub id: String,
    pub department: DepartmentRef,
    pub name: Localized,
    #[serde(default)]
    pub summary: Localized,
    pub kind: ServiceKind,
    #[serde(default)]
    pub days: Days,
    /// 休館日 of a facility (e.g. `[mon]`).
    #[serde(default)]
    pub closed_weekdays: Vec<DayOfWeek>,
    pub hours: Vec<Hours>,
    pub slot_minutes: u32,
    pub window: Window,
    /// Until how many hours before its start a booking can be cancelled or changed online.
    pub cancel_until_hours: u32,
    #[serde(default)]
    pub fee_yen: Option<i64>,
    /// 減免: the kinds of registered users whose fee is reduced, and by how much.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fee_reductions: Vec<FeeReduction>,
    #[serde(default)]
    pub eligibility: Eligibility,
    /// For an online consultation: the meeting address, `{booking}` standing for the booking
    /// number (e.g. `https://meet.jit.si/demo-city-{booking}`); shown only to the resident
    /// and staff.
    #[serde(default)]
    pub meeting_url: Option<String>,
    /// Booked only as the visit of an application (a procedure's `booking`): 粗大ごみ's
    /// collection day means nothing without the items applied for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub via_procedure: bool,
    /// 抽選: a month's slots go by lottery first (see [`lottery`]).
    #[serde(default)]
    pub lottery: Option<LotteryRules>,
    pub resources: Vec<Resource>,
}

/// 減免 of a facility's fee for a kind of registered user (障がい者団体, 子ども会…), which
/// staff confirm when they register the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeReduction {
    pub id: String,
    pub name: Localized,
    /// 1–100: how much of the fee is waived (100: 全額免除).
    pub percent: u32,
}

impl FeeReduction {
    /// The 減免 as a booking notes it: 「子ども会・青少年団体（50%減免）」.
    pub fn note(&self) -> String {
        format!("{}（{}%減免）", self.name.ja, self.percent)
    }
}

/// What a booking costs: the fee after any 減免, and the 減免 applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingFee<'a> {
    pub yen: i64,
    pub reduction: Option<&'a FeeReduction>,
}

/// Most resources one service may have, and most slots one day of a resource may have.
const MAX_RESOURCES: usize = 100;
const MAX_SLOTS_A_DAY: u32 = 200;

impl Service {
    /// What is wrong with the service, each problem in Japanese and English.
    pub fn problems(&self) -> Vec<Localized> {
        let mut problems = Vec::new();
        let mut problem = |ja: String, en: String| problems.push(Localized::new(ja, en));
        if !id_is_valid(&self.id) {
            problem(
                format!(
                    "id「{}」は英小文字・数字・ハイフンの1〜60文字にしてください",
                    self.id
                ),
                format!(
                    "id '{}' must be 1–60 lowercase letters, digits or hyphens",
                    self.id
                ),
            );
        }
        if self.name.ja.trim().is_empty() {
            problem(
                "名前（日本語）がありません".into(),
                "name.ja is empty".into(),
            );
        }
        if !(5..=24 * 60).contains(&self.slot_minutes) {
            problem(
                "slot_minutes は 5〜1440 分です".into(),
                "slot_minutes must be 5 to 1440".into(),
            );
        }
        if self.hours.is_empty() {
            problem(
                "受付時間（hours）がありません".into(),
                "hours is empty".into(),
            );
        }
        for h in &self.hours {
            if h.from >= h.to {
                problem(
                    format!("受付時間 {}–{} は始まりが終わりより前です", h.from, h.to),
                    format!(
                        "hours {}–{}: the start must be before the end",
                        h.from, h.to
                    ),
                );
            }
        }
        if self.slots_a_day() > MAX_SLOTS_A_DAY {
            problem(
                format!("1日の枠が{MAX_SLOTS_A_DAY}を超えます"),
                format!("more than {MAX_SLOTS_A_DAY} slots a day"),
            );
        }
        if self.window.earliest_days > self.window.latest_days || self.window.latest_days > 400 {
            problem(
                "予約できる期間は earliest_days ≦ latest_days ≦ 400 日です".into(),
                "window: earliest_days ≤ latest_days ≤ 400".into(),
            );
        }
        if self.resources.is_empty() || self.resources.len() > MAX_RESOURCES {
            problem(
                format!("資源（resources）は1〜{MAX_RESOURCES}件です"),
                format!("a service has 1 to {MAX_RESOURCES} resources"),
            );
        }
        let mut seen = std::collections::HashSet::new();
        for r in &self.resources {
            if !id_is_valid(&r.id) || !seen.insert(r.id.as_str()) {
                problem(
                    format!("資源 id「{}」が不正か重複しています", r.id),
                    format!("resource id '{}' is not valid or used twice", r.id),
                );
            }
            if !(1..=1000).contains(&r.capacity) {
                problem(
                    format!("資源「{}」の定員は1〜1000です", r.id),
                    format!("resource '{}': capacity must be 1 to 1000", r.id),
                );
            }
        }
        if let Some(fee) = self.fee_yen.filter(|fee| *fee < 0) {
            problem(
                format!("料金 {fee} 円は0以上にしてください"),
                format!("fee_yen {fee} must not be negative"),
            );
        }
        let mut reduction_ids = std::collections::HashSet::new();
        for reduction in &self.fee_reductions {
            if !id_is_valid(&reduction.id)
                || !reduction_ids.insert(reduction.id.as_str())
                || !(1..=100).contains(&reduction.percent)
                || self.fee_yen.is_none()
            {
                problem(
                    format!(
                        "減免「{}」: id は重複しない英小文字・数字・ハイフン、percent は1〜100、fee_yen が必要です",
                        reduction.id
                    ),
                    format!(
                        "fee reduction '{}': a unique id, percent 1 to 100, and a fee_yen",
                        reduction.id
                    ),
                );
            }
        }
        if let Some(url) = &self.meeting_url {
            let https = url.starts_with("https://") && url.contains("{booking}");
            if !https {
                problem(
                    "meeting_url は https:// で始まり {booking} を含めてください".into(),
                    "meeting_url must start with https:// and hold {booking}".into(),
                );
            }
        }
        if let Some(lottery) = &self.lottery {
            problems.extend(lottery.problems());
        }
        problems
    }

    fn slots_a_day(&self) -> u32 {
        let minutes: i64 = self
            .hours
            .iter()
            .map(|h| (h.to - h.from).num_minutes().max(0))
            .sum();
        u32::try_from(minutes).unwrap_or(u32::MAX) / self.slot_minutes.max(1)
    }

    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.id == id)
    }

    /// Where a booking of `resource` is and, for an online consultation, its meeting line,
    /// as an e-mail to the booker writes them (「1番窓口」, 「ビデオ通話: https://…」).
    pub fn place_and_meeting(&self, resource: &str, booking_number: &str) -> (String, String) {
        let place = self
            .resource(resource)
            .map(|r| r.name.ja.clone())
            .unwrap_or_default();
        let meeting = self
            .meeting_for(booking_number)
            .map(|url| format!("ビデオ通話: {url}\n"))
            .unwrap_or_default();
        (place, meeting)
    }

    /// The fee of one booking by a user with the 減免 kinds `kinds` (none for a service
    /// without a fee): the largest reduction the service grants any of them.
    pub fn fee_for(&self, kinds: &[String]) -> Option<BookingFee<'_>> {
        let fee = self.fee_yen?;
        let reduction = self
            .fee_reductions
            .iter()
            .filter(|r| kinds.contains(&r.id))
            .max_by_key(|r| r.percent);
        let waived = reduction.map_or(0, |r| fee * i64::from(r.percent) / 100);
        Some(BookingFee {
            yen: fee - waived,
            reduction,
        })
    }

    /// The meeting address of a booking of an online consultation.
    pub fn meeting_for(&self, booking_number: &str) -> Option<String> {
        self.meeting_url
            .as_ref()
            .map(|url| url.replace("{booking}", booking_number))
    }
}

fn id_is_valid(id: &str) -> bool {
    (1..=60).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServicesFile {
    services: Vec<Service>,
}

/// Parses and checks a YAML list of services (`services: [...]`); every problem of every
/// service is reported, each naming the service.
pub fn parse_services(bytes: &[u8]) -> Result<Vec<Service>, ImportError> {
    let file: ServicesFile = serde_yaml_ng::from_slice(bytes).map_err(|e| {
        ImportError(vec![RowError {
            line: e.location().map(|l| l.line() as u64),
            item: None,
            message: e.to_string(),
        }])
    })?;
    let mut errors = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for service in &file.services {
        if !ids.insert(service.id.as_str()) {
            errors.push(RowError {
                line: None,
                item: Some(service.id.clone()),
                message: "id が重複しています / the id is used twice".into(),
            });
        }
        errors.extend(service.problems().into_iter().map(|p| RowError {
            line: None,
            item: Some(service.id.clone()),
            message: format!("{} / {}", p.ja, p.en),
        }));
    }
    if errors.is_empty() {
        Ok(file.services)
    } else {
        Err(ImportError(errors))
    }
}

/// `HH:MM` in the YAML, as staff write opening hours.
mod hh_mm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time.format("%H:%M").to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let text = String::deserialize(d)?;
        NaiveTime::parse_from_str(&text, "%H:%M")
            .map_err(|_| serde::de::Error::custom(format!("'{text}' is not a time HH:MM")))
    }
}
