//! Live KPIs: figures machi computes from its own data, to which a plan's KPI can be bound
//! (`binding:` in the plan file). Their values are kept per month so that trends survive.

use super::Plan;
use crate::procedures::Localized;

/// A figure machi computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Share of the procedures in the catalog (手続棚卸) that can be applied for online.
    OnlineProcedureShare,
    /// Share of the month's applications made online rather than at the counter.
    OnlineApplicationShare,
    /// オンライン利用率 of the whole 手続棚卸, weighted by each procedure's yearly volume.
    OnlineUseRate,
    /// Median days from submission to a final decision, for applications decided that month.
    MedianProcessingDays,
    /// Confirmed subscribers of notices, all channels.
    NoticeSubscribers,
    /// Published open datasets.
    OpenDatasets,
    /// Share of the national recommended dataset categories with a published dataset.
    OpenDataCoverage,
    /// Share of the month's bookings made online (or won in a lottery) rather than by counter
    /// staff.
    OnlineBookingShare,
    /// Share of the places in the month's slots (every service, every resource) that are
    /// booked.
    BookingUtilisation,
}

pub const ALL_METRICS: [Metric; 9] = [
    Metric::OnlineProcedureShare,
    Metric::OnlineApplicationShare,
    Metric::OnlineUseRate,
    Metric::MedianProcessingDays,
    Metric::NoticeSubscribers,
    Metric::OpenDatasets,
    Metric::OpenDataCoverage,
    Metric::OnlineBookingShare,
    Metric::BookingUtilisation,
];

impl Metric {
    /// The name a plan file binds to.
    pub fn key(self) -> &'static str {
        match self {
            Metric::OnlineProcedureShare => "online_procedure_share",
            Metric::OnlineApplicationShare => "online_application_share",
            Metric::OnlineUseRate => "online_use_rate",
            Metric::MedianProcessingDays => "median_processing_days",
            Metric::NoticeSubscribers => "notice_subscribers",
            Metric::OpenDatasets => "open_datasets",
            Metric::OpenDataCoverage => "open_data_coverage",
            Metric::OnlineBookingShare => "online_booking_share",
            Metric::BookingUtilisation => "booking_utilisation",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        ALL_METRICS.into_iter().find(|m| m.key() == key)
    }

    pub fn label(self) -> Localized {
        let (ja, en) = match self {
            Metric::OnlineProcedureShare => (
                "オンラインで申請できる手続の割合",
                "Share of procedures available online",
            ),
            Metric::OnlineApplicationShare => (
                "オンラインで行われた申請の割合",
                "Share of applications made online",
            ),
            Metric::OnlineUseRate => (
                "手続のオンライン利用率（件数加重）",
                "Online use of procedures (weighted by volume)",
            ),
            Metric::MedianProcessingDays => ("処理日数の中央値", "Median processing days"),
            Metric::NoticeSubscribers => ("お知らせの配信登録者数", "Notice subscribers"),
            Metric::OpenDatasets => ("公開しているオープンデータの数", "Published open datasets"),
            Metric::OpenDataCoverage => (
                "推奨データセットの公開率",
                "Coverage of the recommended dataset list",
            ),
            Metric::OnlineBookingShare => {
                ("ネットで受けた予約の割合", "Share of bookings made online")
            }
            Metric::BookingUtilisation => ("予約枠の利用率", "Share of booking places used"),
        };
        Localized::new(ja, en)
    }

    pub fn unit(self) -> &'static str {
        match self {
            Metric::OnlineProcedureShare
            | Metric::OnlineApplicationShare
            | Metric::OnlineUseRate
            | Metric::OpenDataCoverage
            | Metric::OnlineBookingShare
            | Metric::BookingUtilisation => "%",
            Metric::OpenDatasets => "件",
            Metric::MedianProcessingDays => "日",
            Metric::NoticeSubscribers => "人",
        }
    }
}

/// The figures a plan's KPIs are bound to, each once, in document order.
pub fn bound_metrics(plan: &Plan) -> Vec<Metric> {
    let mut metrics = Vec::new();
    for (_, node) in plan.walk() {
        for metric in node
            .kpis
            .iter()
            .filter_map(|k| k.binding.as_deref().and_then(Metric::parse))
        {
            if !metrics.contains(&metric) {
                metrics.push(metric);
            }
        }
    }
    metrics
}

/// A share in percent with one decimal, none when there is nothing to divide by.
pub fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// The median of a list of values (the mean of the middle two for an even count).
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_arithmetic_holds() {
        for metric in ALL_METRICS {
            assert_eq!(Metric::parse(metric.key()), Some(metric));
        }
        assert_eq!(Metric::parse("open_datasets"), Some(Metric::OpenDatasets));
        assert_eq!(Metric::parse("datasets"), None);
        assert_eq!(percent(1, 3), Some(33.3));
        assert_eq!(percent(0, 0), None);
        assert_eq!(median(vec![5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
    }
}
