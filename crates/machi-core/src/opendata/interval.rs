//! PostgreSQL's `interval`, read as PostgreSQL reads it (`1 day 02:00:00`, `2 hours 30 mins`,
//! `@ 3 days ago`, ISO 8601 `P1Y2M3DT4H5M6S`) and written as PostgreSQL writes it
//! (`1 year 2 mons 3 days 04:05:06`), so that equal intervals are equal text.
//!
//! Written by hand: the crates that read intervals read one of the two syntaxes, and none
//! writes PostgreSQL's output form.

/// An interval as PostgreSQL keeps it: months, days and microseconds, each with its sign.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Interval {
    months: i64,
    days: i64,
    micros: i64,
}

const MICROS_PER_SECOND: f64 = 1_000_000.0;

/// The interval's canonical text, or `None` when the text is no interval.
pub fn normalise(text: &str) -> Option<String> {
    let text = text.trim();
    let interval = match text.strip_prefix(['P', 'p']) {
        Some(iso) => iso_8601(iso)?,
        None => verbose(text)?,
    };
    Some(interval.to_text())
}

impl Interval {
    /// Adds `amount` of `unit` (a PostgreSQL unit name or abbreviation).
    fn add(&mut self, amount: f64, unit: &str) -> Option<()> {
        let unit = unit.to_ascii_lowercase();
        let seconds = |s: f64| (amount * s * MICROS_PER_SECOND).round() as i64;
        match unit.as_str() {
            "millennium" | "millennia" | "millenniums" => {
                self.months += (amount * 12_000.0).round() as i64
            }
            "century" | "centuries" => self.months += (amount * 1200.0).round() as i64,
            "decade" | "decades" => self.months += (amount * 120.0).round() as i64,
            "y" | "yr" | "yrs" | "year" | "years" => self.months += (amount * 12.0).round() as i64,
            "mon" | "mons" | "month" | "months" => self.months += amount.round() as i64,
            "w" | "week" | "weeks" => self.days += (amount * 7.0).round() as i64,
            "d" | "day" | "days" => self.days += amount.round() as i64,
            "h" | "hr" | "hrs" | "hour" | "hours" => self.micros += seconds(3600.0),
            "m" | "min" | "mins" | "minute" | "minutes" => self.micros += seconds(60.0),
            "" | "s" | "sec" | "secs" | "second" | "seconds" => self.micros += seconds(1.0),
            "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => {
                self.micros += seconds(0.001)
            }
            _ => return None,
        }
        Some(())
    }

    fn negate(self) -> Self {
        Self {
            months: -self.months,
            days: -self.days,
            micros: -self.micros,
        }
    }

    /// PostgreSQL's `postgres` output style.
    fn to_text(self) -> String {
        let mut parts = Vec::new();
        let (years, months) = (self.months / 12, self.months % 12);
        for (value, one, many) in [
            (years, "year", "years"),
            (months, "mon", "mons"),
            (self.days, "day", "days"),
        ] {
            if value != 0 {
                parts.push(format!("{value} {}", if value == 1 { one } else { many }));
            }
        }
        if self.micros != 0 || parts.is_empty() {
            let sign = if self.micros < 0 { "-" } else { "" };
            let micros = self.micros.unsigned_abs();
            let seconds = micros / 1_000_000;
            let mut clock = format!(
                "{sign}{:02}:{:02}:{:02}",
                seconds / 3600,
                seconds / 60 % 60,
                seconds % 60
            );
            if !micros.is_multiple_of(1_000_000) {
                let fraction = format!("{:06}", micros % 1_000_000);
                clock.push('.');
                clock.push_str(fraction.trim_end_matches('0'));
            }
            parts.push(clock);
        }
        parts.join(" ")
    }
}

/// `1 day 02:00:00`, `2 hours 30 mins`, `@ 3 days ago`, `-1 day`, `90 seconds`, `01:30`.
fn verbose(text: &str) -> Option<Interval> {
    let text = text.strip_prefix('@').unwrap_or(text).trim();
    let (text, ago) = match text.strip_suffix("ago") {
        Some(rest) => (rest.trim(), true),
        None => (text, false),
    };
    let mut interval = Interval::default();
    let mut tokens = text.split_whitespace().peekable();
    let mut any = false;
    while let Some(token) = tokens.next() {
        any = true;
        if token.contains(':') {
            interval.micros += clock(token)?;
            continue;
        }
        let (number, unit) = split_number(token);
        let amount: f64 = number.parse().ok()?;
        let unit = match unit {
            "" => match tokens.peek() {
                Some(next) if !next.contains(':') && next.parse::<f64>().is_err() => {
                    tokens.next().unwrap_or_default()
                }
                _ => "",
            },
            unit => unit,
        };
        interval.add(amount, unit)?;
    }
    any.then_some(if ago { interval.negate() } else { interval })
}

/// `5days` → (`5`, `days`); `5` → (`5`, ``).
fn split_number(token: &str) -> (&str, &str) {
    let end = token
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || *c == '.' || (*i == 0 && matches!(c, '-' | '+'))))
        .map_or(token.len(), |(i, _)| i);
    (&token[..end], &token[end..])
}

/// `HH:MM[:SS[.f]]` with an optional sign, in microseconds.
fn clock(token: &str) -> Option<i64> {
    let (negative, token) = match token.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, token.strip_prefix('+').unwrap_or(token)),
    };
    let parts: Vec<&str> = token.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let hours: u64 = parts[0].parse().ok()?;
    let minutes: u64 = parts[1].parse().ok()?;
    let seconds: f64 = parts.get(2).map_or(Some(0.0), |s| s.parse().ok())?;
    if minutes >= 60 || !(0.0..60.0).contains(&seconds) {
        return None;
    }
    let micros = ((hours * 3600 + minutes * 60) as f64 + seconds) * MICROS_PER_SECOND;
    let micros = micros.round() as i64;
    Some(if negative { -micros } else { micros })
}

/// ISO 8601 `nYnMnWnD` then `T` and `nHnMnS` (after the leading `P`).
fn iso_8601(text: &str) -> Option<Interval> {
    let (date, time) = match text.split_once(['T', 't']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut interval = Interval::default();
    let mut any = false;
    for (part, in_time) in [(date, false), (time.unwrap_or(""), true)] {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == '-' {
                number.push(c);
                continue;
            }
            let amount: f64 = number.parse().ok()?;
            number.clear();
            let unit = match (c.to_ascii_uppercase(), in_time) {
                ('Y', false) => "year",
                ('M', false) => "month",
                ('W', false) => "week",
                ('D', false) => "day",
                ('H', true) => "hour",
                ('M', true) => "minute",
                ('S', true) => "second",
                _ => return None,
            };
            interval.add(amount, unit)?;
            any = true;
        }
        if !number.is_empty() {
            return None;
        }
    }
    any.then_some(interval)
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn intervals_are_written_as_postgres_writes_them() {
        for (given, written) in [
            ("1 day 02:00:00", "1 day 02:00:00"),
            ("2 hours 30 mins", "02:30:00"),
            ("P1Y2M3DT4H5M6S", "1 year 2 mons 3 days 04:05:06"),
            ("PT90M", "01:30:00"),
            ("@ 3 days ago", "-3 days"),
            ("14 months", "1 year 2 mons"),
            ("1.5 seconds", "00:00:01.5"),
            ("00:00:00", "00:00:00"),
            ("2 weeks", "14 days"),
            ("-01:00", "-01:00:00"),
            ("5 days", "5 days"),
        ] {
            assert_eq!(normalise(given).as_deref(), Some(written), "{given}");
        }
        for wrong in ["", "soon", "P", "1 fortnight", "25:61", "P1H"] {
            assert_eq!(normalise(wrong), None, "{wrong}");
        }
    }
}
