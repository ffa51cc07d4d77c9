//! The slots a service offers: on its days (開庁日, or a facility's days), within its hours, cut
//! into its slot length, within its booking window as seen from now (JST).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde::Serialize;

use super::{Days, Service};
use crate::calendar::Calendar;
use crate::procedures::Localized;

/// One bookable time of one resource (local date and times).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slot {
    pub resource: String,
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Slot {
    pub fn starts(&self) -> NaiveDateTime {
        self.date.and_time(self.start)
    }
}

/// A service's slots as seen at `now` (JST) on the city's calendar.
pub struct SlotQuery<'a> {
    pub service: &'a Service,
    pub calendar: &'a Calendar,
    pub now: NaiveDateTime,
}

/// Most days one request for slots may span.
pub const MAX_DAYS_ASKED: i64 = 62;

impl SlotQuery<'_> {
    /// Whether the service opens on `date`.
    pub fn opens_on(&self, date: NaiveDate) -> bool {
        match self.service.days {
            Days::CityOffices => self.calendar.is_open(date),
            Days::Facility => {
                let year_end = matches!((date.month(), date.day()), (12, 29..=31) | (1, 1..=3));
                !year_end
                    && !self
                        .service
                        .closed_weekdays
                        .iter()
                        .any(|d| d.weekday() == date.weekday())
            }
        }
    }

    /// The first and last dates that can be booked now.
    pub fn window(&self) -> (NaiveDate, NaiveDate) {
        let today = self.now.date();
        let days = |n: u32| today + Duration::days(i64::from(n));
        (
            days(self.service.window.earliest_days),
            days(self.service.window.latest_days),
        )
    }

    /// The start times of a day, in order.
    fn starts(&self) -> Vec<(NaiveTime, NaiveTime)> {
        let length = Duration::minutes(i64::from(self.service.slot_minutes.max(1)));
        let mut starts = Vec::new();
        for hours in &self.service.hours {
            let mut at = hours.from;
            loop {
                let (end, past_midnight) = at.overflowing_add_signed(length);
                if past_midnight != 0 || end > hours.to {
                    break;
                }
                starts.push((at, end));
                at = end;
            }
        }
        starts
    }

    /// Every slot of every resource from `from` to `to` (inclusive) that can be booked now.
    pub fn slots(&self, from: NaiveDate, to: NaiveDate) -> Vec<Slot> {
        let (first, last) = self.window();
        let from = from.max(first);
        let to = to.min(last).min(from + Duration::days(MAX_DAYS_ASKED));
        let mut slots = self.service_slots(from, to);
        slots.retain(|slot| slot.starts() > self.now && !self.held_for_lottery(slot.date));
        slots
    }

    /// Every slot the service has from `from` to `to` (inclusive, at most [`MAX_DAYS_ASKED`]),
    /// whether or not it can be booked now: on the days it opens, within its hours.
    pub fn service_slots(&self, from: NaiveDate, to: NaiveDate) -> Vec<Slot> {
        let to = to.min(from + Duration::days(MAX_DAYS_ASKED));
        let starts = self.starts();
        let mut slots = Vec::new();
        let mut date = from;
        while date <= to {
            if self.opens_on(date) {
                for (start, end) in &starts {
                    slots.extend(self.service.resources.iter().map(|r| Slot {
                        resource: r.id.clone(),
                        date,
                        start: *start,
                        end: *end,
                    }));
                }
            }
            date += Duration::days(1);
        }
        slots
    }

    /// Whether the slots of `date` wait for the service's lottery (see [`LotteryRules::holds`]).
    pub fn held_for_lottery(&self, date: NaiveDate) -> bool {
        self.service
            .lottery
            .as_ref()
            .is_some_and(|rules| rules.holds(date, self.now))
    }

    /// The slot of `resource` starting at `start`, if it can be booked now; else why not.
    pub fn bookable(&self, resource: &str, start: NaiveDateTime) -> Result<Slot, Localized> {
        let slot = self.slot_of(resource, start)?;
        if let Some(rules) = self
            .service
            .lottery
            .as_ref()
            .filter(|_| self.held_for_lottery(slot.date))
        {
            let month = crate::reservations::lottery::first_of_month(slot.date);
            let (_, closes) = rules.period(month);
            return Err(Localized::new(
                format!(
                    "{}年{}月の枠は抽選です。先着順の予約は {} から受け付けます",
                    month.year(),
                    month.month(),
                    closes.format("%Y-%m-%d")
                ),
                format!(
                    "the slots of {} go by lottery; first-come booking opens on {}",
                    month.format("%Y-%m"),
                    closes.format("%Y-%m-%d")
                ),
            ));
        }
        let (first, last) = self.window();
        if slot.date < first || slot.date > last || start <= self.now {
            return Err(Localized::new(
                format!("予約できるのは {first} から {last} までの枠です"),
                format!("slots can be booked from {first} to {last}"),
            ));
        }
        Ok(slot)
    }

    /// The slot of `resource` starting at `start` if the service has one (a resource of the
    /// service, on its grid, on a day it opens), whether or not it can be booked now.
    pub fn slot_of(&self, resource: &str, start: NaiveDateTime) -> Result<Slot, Localized> {
        if self.service.resource(resource).is_none() {
            return Err(Localized::new(
                format!("「{resource}」はこのサービスにありません"),
                format!("'{resource}' is not a resource of this service"),
            ));
        }
        let date = start.date();
        let Some((from, end)) = self
            .starts()
            .into_iter()
            .find(|(from, _)| *from == start.time())
        else {
            return Err(Localized::new(
                "その時刻に始まる予約枠はありません",
                "no slot starts at that time",
            ));
        };
        if !self.opens_on(date) {
            return Err(Localized::new(
                format!("{date} は休みの日です（開庁日・開館日ではありません）"),
                format!("{date} is a closed day"),
            ));
        }
        Ok(Slot {
            resource: resource.to_string(),
            date,
            start: from,
            end,
        })
    }

    /// Whether a booking starting at `start` may still be cancelled or changed online.
    pub fn can_cancel(&self, start: NaiveDateTime) -> bool {
        self.now + Duration::hours(i64::from(self.service.cancel_until_hours)) <= start
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reservations::parse_services;

    fn service() -> Service {
        let yaml = r#"
services:
  - id: tennyu
    department: {code: shimin, ja: 市民課}
    name: {ja: 転入手続の窓口}
    kind: counter
    hours: [{from: "09:00", to: "12:00"}, {from: "13:00", to: "14:00"}]
    slot_minutes: 30
    window: {earliest_days: 1, latest_days: 14}
    cancel_until_hours: 24
    resources:
      - {id: counter-1, name: {ja: 1番窓口}}
      - {id: counter-2, name: {ja: 2番窓口}, capacity: 2}
"#;
        parse_services(yaml.as_bytes()).unwrap().remove(0)
    }

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn slots_follow_the_hours_the_window_and_the_city_offices_days() {
        let service = service();
        // 2026-12-04 is a Friday; the city is closed on Tuesday the 8th.
        let holiday = NaiveDate::from_ymd_opt(2026, 12, 8).unwrap();
        let calendar = Calendar::new([holiday]);
        let query = SlotQuery {
            service: &service,
            calendar: &calendar,
            now: at("2026-12-04 10:00"),
        };
        let slots = query.slots(
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        );
        let dates: std::collections::BTreeSet<NaiveDate> = slots.iter().map(|s| s.date).collect();
        // From tomorrow (Saturday, closed) to 14 days ahead; not weekends, not the closure.
        let expected: Vec<u32> = vec![7, 9, 10, 11, 14, 15, 16, 17, 18];
        assert_eq!(dates.iter().map(|d| d.day()).collect::<Vec<_>>(), expected);
        // 6 morning and 2 afternoon slots a day, for each of the two counters.
        assert_eq!(slots.len(), expected.len() * 8 * 2);
        assert!(query.bookable("counter-1", at("2026-12-07 09:30")).is_ok());
        for (resource, start) in [
            ("counter-1", "2026-12-07 09:15"), // not on the grid
            ("counter-1", "2026-12-07 12:00"), // lunch
            ("counter-1", "2026-12-08 09:00"), // closure
            ("counter-1", "2026-12-05 09:00"), // Saturday
            ("counter-1", "2026-12-04 11:00"), // today: before the window
            ("counter-1", "2026-12-21 09:00"), // after the window
            ("counter-9", "2026-12-07 09:00"), // no such counter
        ] {
            assert!(query.bookable(resource, at(start)).is_err(), "{start}");
        }
        assert!(query.can_cancel(at("2026-12-05 10:00")));
        assert!(!query.can_cancel(at("2026-12-05 09:59")));
    }

    #[test]
    fn a_facility_opens_on_weekends_but_not_on_its_closed_weekday_or_at_the_year_end() {
        let mut service = service();
        service.days = Days::Facility;
        service.closed_weekdays = vec![crate::reservations::DayOfWeek::Mon];
        service.window.latest_days = 40;
        let calendar = Calendar::default();
        let query = SlotQuery {
            service: &service,
            calendar: &calendar,
            now: at("2026-12-24 10:00"),
        };
        let dates: std::collections::BTreeSet<NaiveDate> = query
            .slots(
                NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(),
                NaiveDate::from_ymd_opt(2027, 1, 6).unwrap(),
            )
            .iter()
            .map(|s| s.date)
            .collect();
        let days: Vec<(u32, u32)> = dates.iter().map(|d| (d.month(), d.day())).collect();
        // 12/25 (Fri), 26 (Sat), 27 (Sun); 28 is a Monday; 12/29–1/3 closed; 1/4 is a Monday.
        assert_eq!(days, [(12, 25), (12, 26), (12, 27), (1, 5), (1, 6)]);
    }

    #[test]
    fn a_lottery_month_is_not_first_come_until_its_applications_close() {
        let mut service = service();
        service.window.latest_days = 60;
        service.lottery = Some(crate::reservations::LotteryRules {
            apply_from_day: 1,
            apply_until_day: 10,
            wishes: 3,
            one_win: true,
            confirm_days: 7,
            confirm_at_counter: false,
        });
        let calendar = Calendar::default();
        let during = SlotQuery {
            service: &service,
            calendar: &calendar,
            now: at("2026-12-04 10:00"),
        };
        let january = NaiveDate::from_ymd_opt(2027, 1, 12).unwrap();
        let months: std::collections::BTreeSet<u32> = during
            .slots(january - Duration::days(40), january)
            .iter()
            .map(|s| s.date.month())
            .collect();
        assert_eq!(months.into_iter().collect::<Vec<_>>(), [12]);
        let why = during
            .bookable("counter-1", at("2027-01-12 09:00"))
            .unwrap_err();
        assert!(why.ja.contains("抽選"), "{why:?}");
        let after = SlotQuery {
            now: at("2026-12-11 00:00"),
            ..during
        };
        assert!(after.bookable("counter-1", at("2027-01-12 09:00")).is_ok());
        // February's slots wait for February's round (applications in January).
        assert!(after.bookable("counter-1", at("2027-02-01 09:00")).is_err());
    }

    #[test]
    fn a_service_with_problems_is_refused_with_each_named() {
        let yaml = r#"
services:
  - id: Bad_Id
    department: {code: shimin, ja: 市民課}
    name: {ja: ""}
    kind: facility
    hours: [{from: "12:00", to: "09:00"}]
    slot_minutes: 30
    window: {earliest_days: 10, latest_days: 2}
    cancel_until_hours: 0
    meeting_url: "http://example.jp/room"
    resources: []
"#;
        let errors = parse_services(yaml.as_bytes()).unwrap_err().0;
        assert_eq!(errors.len(), 6, "{errors:?}");
        let bad_time = "services:\n  - id: x\n    hours: [{from: \"9時\", to: \"10:00\"}]\n";
        let error = parse_services(bad_time.as_bytes()).unwrap_err().0;
        assert!(error[0].message.contains("9時"), "{error:?}");
    }
}
