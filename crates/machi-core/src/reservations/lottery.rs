//! 抽選: a popular facility's slots of a month go by lottery. Registered users (persons or
//! groups, 利用者登録) apply in the month before, each with a few ranked wishes; after the
//! application period the draw gives the slots, and what nobody won opens first-come (空き予約).
//!
//! **The draw can be re-run by anyone.** The seed is made when the round is made — before any
//! application — and its SHA-256 is shown from then on; it is revealed with the draw. The order
//! of the applications is the order of `SHA-256("{seed}:{application number}")` (hex, then the
//! number), which anyone can compute with `sha256sum`. Then, for the first wishes of all
//! applications in that order, then the second wishes, and so on: a wish wins when its slot has
//! a place left and, where the rules give one win per applicant, its application has not won
//! yet. A wish that does not win waits for its slot (補欠), in the order it was looked at.
//! `machi lottery verify` re-runs this from the published round ([`Published`]).
//!
//! The algorithm is written here by hand on purpose: a random-number crate's stream may change
//! between versions, and a city must be able to re-run a draw years later, with any tool.

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::digest::sha256_hex;
use crate::procedures::Localized;

/// A service's lottery: when applications for a month are taken (days of the month before),
/// how many wishes each may rank, whether an applicant wins at most once, and how many days
/// a winner has to confirm (本予約) before the slot goes to the next in line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LotteryRules {
    /// First day of the application period, in the month before the slots' month (1–28).
    pub apply_from_day: u32,
    /// Last day of the period (inclusive; 31 means the month's last day).
    pub apply_until_day: u32,
    /// How many ranked wishes one application may have (1–5).
    #[serde(default = "three")]
    pub wishes: u32,
    /// One win per applicant (the usual rule), else each wish may win.
    #[serde(default = "yes")]
    pub one_win: bool,
    /// Days a winner has to confirm the booking.
    pub confirm_days: u32,
    /// The booking is confirmed at the counter (paying the fee there), not online.
    #[serde(default)]
    pub confirm_at_counter: bool,
}

fn three() -> u32 {
    3
}

fn yes() -> bool {
    true
}

impl LotteryRules {
    pub fn problems(&self) -> Vec<Localized> {
        let mut problems = Vec::new();
        if !(1..=28).contains(&self.apply_from_day)
            || !(self.apply_from_day..=31).contains(&self.apply_until_day)
        {
            problems.push(Localized::new(
                "抽選の申込期間は 1 ≦ apply_from_day ≦ 28、apply_from_day ≦ apply_until_day ≦ 31 です",
                "lottery: 1 ≤ apply_from_day ≤ 28 and apply_from_day ≤ apply_until_day ≤ 31",
            ));
        }
        if !(1..=5).contains(&self.wishes) {
            problems.push(Localized::new(
                "抽選の希望数（wishes）は1〜5です",
                "lottery: wishes must be 1 to 5",
            ));
        }
        if !(1..=30).contains(&self.confirm_days) {
            problems.push(Localized::new(
                "当選の確定期限（confirm_days）は1〜30日です",
                "lottery: confirm_days must be 1 to 30",
            ));
        }
        problems
    }

    /// When applications for the slots of `month` (its first day) are taken: from the start of
    /// the first day to the end of the last day (exclusive), local time.
    pub fn period(&self, month: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
        let before = first_of_month_before(month);
        let last_day = (month - Duration::days(1)).day();
        let day = |d: u32| before + Duration::days(i64::from(d.min(last_day)) - 1);
        (
            day(self.apply_from_day).and_time(NaiveTime::MIN),
            (day(self.apply_until_day) + Duration::days(1)).and_time(NaiveTime::MIN),
        )
    }

    /// The month whose applications are taken at `now`, if any.
    pub fn month_applying(&self, now: NaiveDateTime) -> Option<NaiveDate> {
        let month = next_month(first_of_month(now.date()));
        let (opens, closes) = self.period(month);
        (opens <= now && now < closes).then_some(month)
    }

    /// The month whose application period is now or next.
    pub fn next_month_to_apply(&self, now: NaiveDateTime) -> NaiveDate {
        let month = next_month(first_of_month(now.date()));
        if now < self.period(month).1 {
            month
        } else {
            next_month(month)
        }
    }

    /// Whether the slots of `date` are still held for the lottery at `now` (its month's
    /// applications have not closed): they open first-come after the draw.
    pub fn holds(&self, date: NaiveDate, now: NaiveDateTime) -> bool {
        now < self.period(first_of_month(date)).1
    }
}

pub fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

fn next_month(first: NaiveDate) -> NaiveDate {
    first_of_month(first + Duration::days(32))
}

fn first_of_month_before(first: NaiveDate) -> NaiveDate {
    first_of_month(first - Duration::days(1))
}

/// A month as rounds are named: `2027-01`.
pub fn month_name(first: NaiveDate) -> String {
    first.format("%Y-%m").to_string()
}

/// The first day of a month named `2027-01`.
pub fn parse_month(name: &str) -> Option<NaiveDate> {
    let (year, month) = name.split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)
}

/// A slot wished for: which resource, starting when (local time).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Wish {
    pub resource: String,
    #[serde(with = "slot_time")]
    pub start: NaiveDateTime,
}

/// An application as the draw sees it: its number and its wishes, first wish first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub number: String,
    pub wishes: Vec<Wish>,
}

/// A win: which application got which slot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Win {
    pub application: String,
    pub resource: String,
    #[serde(with = "slot_time")]
    pub start: NaiveDateTime,
}

/// What a draw gives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Draw {
    /// The application numbers in draw order.
    pub order: Vec<String>,
    /// The wins, in the order they were given.
    pub wins: Vec<Win>,
    /// For each slot, the applications that wished for it and did not win it, next in line
    /// first.
    pub waitlists: BTreeMap<Wish, Vec<String>>,
}

/// A fresh seed: 32 random bytes as hex.
pub fn new_seed() -> String {
    (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// The commitment published before the draw: SHA-256 of the seed's text.
pub fn seed_sha256(seed: &str) -> String {
    sha256_hex(seed.as_bytes())
}

/// An application's place in the draw: `SHA-256("{seed}:{number}")`.
pub fn order_key(seed: &str, number: &str) -> String {
    sha256_hex(format!("{seed}:{number}").as_bytes())
}

/// Draws: see the module. `capacity` gives how many places each resource has in a slot.
pub fn draw(
    seed: &str,
    one_win: bool,
    capacity: &BTreeMap<String, u32>,
    applications: &[Application],
) -> Draw {
    let mut ordered: Vec<(String, &Application)> = applications
        .iter()
        .map(|a| (order_key(seed, &a.number), a))
        .collect();
    ordered.sort_by(|(ka, a), (kb, b)| ka.cmp(kb).then_with(|| a.number.cmp(&b.number)));
    let mut draw = Draw {
        order: ordered.iter().map(|(_, a)| a.number.clone()).collect(),
        ..Draw::default()
    };
    let mut taken: BTreeMap<&Wish, u32> = BTreeMap::new();
    let mut winners: HashSet<&str> = HashSet::new();
    let ranks = applications
        .iter()
        .map(|a| a.wishes.len())
        .max()
        .unwrap_or(0);
    for rank in 0..ranks {
        for (_, application) in &ordered {
            let Some(wish) = application.wishes.get(rank) else {
                continue;
            };
            let places = capacity.get(&wish.resource).copied().unwrap_or(0);
            let filled = taken.entry(wish).or_insert(0);
            let may_win = !(one_win && winners.contains(application.number.as_str()));
            if may_win && *filled < places {
                *filled += 1;
                winners.insert(&application.number);
                draw.wins.push(Win {
                    application: application.number.clone(),
                    resource: wish.resource.clone(),
                    start: wish.start,
                });
            } else {
                draw.waitlists
                    .entry(wish.clone())
                    .or_default()
                    .push(application.number.clone());
            }
        }
    }
    draw
}

/// What is published of a drawn round — enough to re-run the draw, and nothing personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub service: String,
    pub month: String,
    /// How the draw is made, in words (the module's description).
    pub method: String,
    pub seed_sha256: String,
    pub seed: String,
    pub one_win: bool,
    /// Places per slot of each resource.
    pub capacity: BTreeMap<String, u32>,
    pub applications: Vec<Application>,
    pub wins: Vec<Win>,
}

/// The draw's method as the published round states it.
pub const METHOD: &str =
    "order = applications sorted by hex SHA-256 of \"{seed}:{application number}\" \
(then by number); for wish rank 1, 2, …: in that order, a wish wins when its slot has a place \
left (capacity per resource) and, if one_win, its application has not won yet; \
seed_sha256 = hex SHA-256 of the seed text, published before the application period closed";

impl Published {
    /// Re-runs the draw; the number of applications and wins when it gives what was
    /// published, else what differs.
    pub fn verify(&self) -> Result<(usize, usize), Vec<String>> {
        let mut problems = Vec::new();
        if seed_sha256(&self.seed) != self.seed_sha256 {
            problems.push(format!(
                "the seed's SHA-256 is {}, not the published {}",
                seed_sha256(&self.seed),
                self.seed_sha256
            ));
        }
        let numbers: HashSet<&str> = self
            .applications
            .iter()
            .map(|a| a.number.as_str())
            .collect();
        if numbers.len() != self.applications.len() {
            problems.push("an application number is listed twice".into());
        }
        let drawn = draw(&self.seed, self.one_win, &self.capacity, &self.applications);
        let mut expected = drawn.wins.clone();
        let mut published = self.wins.clone();
        expected.sort();
        published.sort();
        for win in published.iter().filter(|w| !expected.contains(w)) {
            problems.push(format!(
                "published win {} {} {} is not what the draw gives",
                win.application, win.resource, win.start
            ));
        }
        for win in expected.iter().filter(|w| !published.contains(w)) {
            problems.push(format!(
                "the draw gives {} {} {}, which is not published",
                win.application, win.resource, win.start
            ));
        }
        if problems.is_empty() {
            Ok((self.applications.len(), self.wins.len()))
        } else {
            Err(problems)
        }
    }
}

/// Who is next in line for `slot` after a win was given back: the first on its waitlist that
/// is still in the lottery (`active`), has not had this slot before (`had`), and, under one
/// win per applicant, holds no win now (`holding`).
pub fn next_in_line<'a>(
    draw: &'a Draw,
    slot: &Wish,
    one_win: bool,
    active: &HashSet<String>,
    holding: &HashSet<String>,
    had: &HashSet<String>,
) -> Option<&'a str> {
    draw.waitlists
        .get(slot)?
        .iter()
        .map(String::as_str)
        .find(|n| active.contains(*n) && !had.contains(*n) && !(one_win && holding.contains(*n)))
}

/// `YYYY-MM-DDTHH:MM`, as slots are written everywhere.
mod slot_time {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    const FORMAT: &str = "%Y-%m-%dT%H:%M";

    pub fn serialize<S: Serializer>(time: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time.format(FORMAT).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let text = String::deserialize(d)?;
        NaiveDateTime::parse_from_str(&text, FORMAT).map_err(|_| {
            serde::de::Error::custom(format!("'{text}' is not a time YYYY-MM-DDTHH:MM"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn wish(resource: &str, start: &str) -> Wish {
        Wish {
            resource: resource.into(),
            start: at(start),
        }
    }

    fn rules() -> LotteryRules {
        LotteryRules {
            apply_from_day: 1,
            apply_until_day: 10,
            wishes: 3,
            one_win: true,
            confirm_days: 7,
            confirm_at_counter: false,
        }
    }

    #[test]
    fn applications_for_a_month_are_taken_in_the_month_before_and_its_slots_open_after() {
        let rules = rules();
        let january = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        assert_eq!(
            rules.period(january),
            (at("2026-12-01 00:00"), at("2026-12-11 00:00"))
        );
        assert_eq!(rules.month_applying(at("2026-12-06 10:00")), Some(january));
        assert_eq!(rules.month_applying(at("2026-12-11 00:00")), None);
        assert_eq!(rules.next_month_to_apply(at("2026-12-20 10:00")).month(), 2);
        assert!(rules.holds(january + Duration::days(20), at("2026-12-10 23:59")));
        assert!(!rules.holds(january + Duration::days(20), at("2026-12-11 00:00")));
        let to_the_end = LotteryRules {
            apply_until_day: 31,
            ..rules
        };
        let march = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        assert_eq!(to_the_end.period(march).1, at("2027-03-01 00:00"));
        assert_eq!(parse_month("2027-03"), Some(march));
        assert_eq!(parse_month("2027-3"), None);
    }

    fn applications(count: usize) -> Vec<Application> {
        let slots = [
            wish("arena-1", "2027-01-09 09:00"),
            wish("arena-1", "2027-01-09 11:00"),
            wish("arena-2", "2027-01-09 09:00"),
        ];
        (0..count)
            .map(|i| Application {
                number: format!("L-{i:04}"),
                wishes: (0..3).map(|k| slots[(i + k) % 3].clone()).collect(),
            })
            .collect()
    }

    fn capacity() -> BTreeMap<String, u32> {
        BTreeMap::from([("arena-1".into(), 1), ("arena-2".into(), 1)])
    }

    #[test]
    fn the_draw_gives_one_win_per_applicant_and_is_the_same_from_the_same_seed() {
        let applications = applications(10);
        let seed = "5eed".repeat(16);
        let first = draw(&seed, true, &capacity(), &applications);
        assert_eq!(first, draw(&seed, true, &capacity(), &applications));
        assert_eq!(first.wins.len(), 3, "three slots of one place each");
        let winners: HashSet<&str> = first.wins.iter().map(|w| w.application.as_str()).collect();
        assert_eq!(winners.len(), 3, "one win per applicant");
        let other = draw(&"0".repeat(64), true, &capacity(), &applications);
        assert_ne!(first.order, other.order, "another seed, another order");
        // Each slot's waitlist holds everyone who wished for it and did not get it.
        let waiting: usize = first.waitlists.values().map(Vec::len).sum();
        assert_eq!(waiting, 10 * 3 - 3);
        // Without the rule, one applicant alone takes all three of its wishes; with it, one.
        let alone = &applications[..1];
        assert_eq!(draw(&seed, false, &capacity(), alone).wins.len(), 3);
        assert_eq!(draw(&seed, true, &capacity(), alone).wins.len(), 1);
    }

    #[test]
    fn a_published_round_verifies_and_a_changed_one_does_not() {
        let applications = applications(6);
        let seed = new_seed();
        let drawn = draw(&seed, true, &capacity(), &applications);
        let mut published = Published {
            service: "taiikukan".into(),
            month: "2027-01".into(),
            method: METHOD.into(),
            seed_sha256: seed_sha256(&seed),
            seed,
            one_win: true,
            capacity: capacity(),
            applications,
            wins: drawn.wins.clone(),
        };
        assert_eq!(published.verify(), Ok((6, 3)));
        let loser = drawn.order.last().unwrap().clone();
        published.wins[0].application = loser;
        assert_eq!(published.verify().unwrap_err().len(), 2);
        published.wins = drawn.wins;
        published.seed = new_seed();
        assert!(published.verify().is_err());
    }

    #[test]
    fn the_next_in_line_is_still_applying_and_holds_no_win() {
        let applications = applications(6);
        let drawn = draw("abc", true, &capacity(), &applications);
        let slot = wish("arena-1", "2027-01-09 09:00");
        let line = drawn.waitlists[&slot].clone();
        let active: HashSet<String> = line.iter().cloned().collect();
        let holding: HashSet<String> = drawn.wins.iter().map(|w| w.application.clone()).collect();
        let expected = line.iter().find(|n| !holding.contains(*n)).unwrap();
        let none = HashSet::new();
        assert_eq!(
            next_in_line(&drawn, &slot, true, &active, &holding, &none),
            Some(expected.as_str())
        );
        let had = HashSet::from([expected.clone()]);
        assert_ne!(
            next_in_line(&drawn, &slot, true, &active, &holding, &had),
            Some(expected.as_str())
        );
    }
}
