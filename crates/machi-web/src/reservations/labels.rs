//! How services, days and times read on the booking pages and in the e-mails: 令和の日付,
//! a time's span, a service's facts, who may book.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use machi_core::reservations::{Service, ServiceKind};

use crate::kit::Ui;

pub(super) fn kind_label(ui: Ui, kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::Counter => ui.t("窓口の予約", "Counter appointments"),
        ServiceKind::Consultation => ui.t("相談の予約", "Consultations"),
        ServiceKind::Facility => ui.t("施設の予約", "Facilities"),
    }
}

/// A date as residents read it: 令和8年12月7日（月）.
pub(super) fn day_label(ui: Ui, date: NaiveDate) -> String {
    const JA: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];
    if ui.en {
        date.format("%a %-d %b %Y").to_string()
    } else {
        let weekday = JA[date.weekday().num_days_from_monday() as usize];
        format!("{}（{weekday}）", machi_core::wareki::format_wareki(date))
    }
}

pub(super) fn service_facts(ui: Ui, service: &Service) -> Vec<(String, String)> {
    let mut facts = vec![
        (
            ui.t("担当", "Department").to_string(),
            ui.name(&service.department.ja, &service.department.en)
                .to_string(),
        ),
        (
            ui.t("1回の時間", "Length").to_string(),
            format!("{}{}", service.slot_minutes, ui.t("分", " minutes")),
        ),
        (
            ui.t("予約できる期間", "Can be booked").to_string(),
            if ui.en {
                format!(
                    "from {} days to {} day(s) ahead",
                    service.window.latest_days, service.window.earliest_days
                )
            } else {
                format!(
                    "{}日前から{}日前まで",
                    service.window.latest_days, service.window.earliest_days
                )
            },
        ),
        (
            ui.t("取消・変更", "Cancel or change").to_string(),
            if ui.en {
                format!("online until {} hours before", service.cancel_until_hours)
            } else {
                format!("開始の{}時間前までネットで", service.cancel_until_hours)
            },
        ),
    ];
    if let Some(fee) = service.fee_yen {
        facts.push((
            ui.t("料金", "Fee").to_string(),
            format!("{}{}", crate::kit::thousands(fee), ui.t("円", " yen")),
        ));
    }
    facts.push((
        ui.t("予約できる方", "Who may book").to_string(),
        eligibility_label(ui, service.eligibility).to_string(),
    ));
    if service.meeting_url.is_some() {
        facts.push((
            ui.t("方法", "How").to_string(),
            ui.t(
                "ビデオ通話（予約した方にだけリンクをお知らせします）",
                "Video call (the link is given only to you)",
            )
            .to_string(),
        ));
    }
    facts
}

pub(super) fn eligibility_label(
    ui: Ui,
    eligibility: machi_core::reservations::Eligibility,
) -> &'static str {
    use machi_core::reservations::Eligibility;
    match eligibility {
        Eligibility::Anyone => ui.t("どなたでも", "Anyone"),
        Eligibility::Residents => ui.t(
            "市内にお住まいの方（利用者登録が必要）",
            "Residents of the city (registration needed)",
        ),
        Eligibility::RegisteredGroups => ui.t(
            "市に登録した団体（利用者登録が必要）",
            "Groups registered with the city",
        ),
    }
}

pub(super) fn when_label(ui: Ui, starts: NaiveDateTime, service: &Service) -> String {
    let ends = starts + Duration::minutes(i64::from(service.slot_minutes));
    format!(
        "{} {}–{}",
        day_label(ui, starts.date()),
        starts.format("%H:%M"),
        ends.format("%H:%M")
    )
}
