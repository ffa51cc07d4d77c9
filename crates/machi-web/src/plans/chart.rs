//! KPI charts drawn as SVG on the server: no script, they print, and they work in every
//! browser. Each chart is an image with a title and a description that states the latest
//! value and the target; the page puts a data table beside it with every value, so that
//! screen-reader users get the figures rather than a picture of them.
//!
//! Written by hand: a line chart with a target line is a few dozen elements, and the chart
//! crates of Rust (plotters and friends) draw through backends meant for files and pull in
//! font rendering that a web page does not need.

use std::fmt::Write;

/// What a point of the series is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointKind {
    /// 基準値.
    Baseline,
    /// 実績値, from the document or recorded in machi.
    Actual,
    /// A monthly value machi computed (live KPI).
    Live,
}

/// One value on the time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Sorts the axis: `YYYY-MM` (a fiscal year's value sits at its March).
    pub key: String,
    /// What the axis and the table say (`2024年度`, `2026-11`).
    pub label: String,
    pub value: f64,
    pub kind: PointKind,
}

/// A chart's data: its series in time order and the target, if any.
pub struct Series<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub unit: &'a str,
    pub points: &'a [Point],
    pub target: Option<(f64, &'a str)>,
}

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 48.0;

/// A number as the chart writes it: no trailing `.0`, at most two decimals.
pub fn number(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        let text = format!("{rounded:.2}");
        text.trim_end_matches('0').to_string()
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The value range drawn: from zero (or below, for negative values) to a little above the
/// largest value or the target, so the target line is never on the frame.
fn range(series: &Series) -> (f64, f64) {
    let values = series
        .points
        .iter()
        .map(|p| p.value)
        .chain(series.target.map(|t| t.0));
    let (low, high) = values.fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let high = if high <= low { low + 1.0 } else { high };
    (low, high + (high - low) * 0.1)
}

/// The SVG of a KPI chart; `description` is what a screen reader says for the image.
pub fn svg(series: &Series, description: &str) -> String {
    let (low, high) = range(series);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let y = |v: f64| TOP + plot_h - (v - low) / (high - low) * plot_h;
    let n = series.points.len().max(1) as f64;
    let x = |i: usize| LEFT + plot_w * (i as f64 + 0.5) / n;
    let id = escape(series.id);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="kpi-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(series.title),
        escape(description)
    );
    // Axes and three gridlines with their values.
    for step in 0..=2 {
        let value = low + (high - low) * f64::from(step) / 2.0;
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#bbb" stroke-width="1"/><text x="{}" y="{:.1}" text-anchor="end" font-size="12" fill="#333">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(value) + 4.0,
            escape(&format!("{}{}", number(value), series.unit)),
            y = y(value),
        );
    }
    if let Some((target, label)) = series.target {
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#a40000" stroke-width="2" stroke-dasharray="6 4"/><text x="{}" y="{:.1}" text-anchor="end" font-size="12" fill="#a40000">{}</text>"##,
            WIDTH - RIGHT,
            WIDTH - RIGHT,
            y(target) - 6.0,
            escape(label),
            y = y(target),
        );
    }
    let path: Vec<String> = series
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.value)))
        .collect();
    if path.len() > 1 {
        let _ = write!(
            out,
            r##"<polyline points="{}" fill="none" stroke="#1a4f8b" stroke-width="3"/>"##,
            path.join(" ")
        );
    }
    for (i, point) in series.points.iter().enumerate() {
        // Shapes as well as colours tell baseline, actual and live values apart.
        let (fill, shape) = match point.kind {
            PointKind::Baseline => ("#fff", "square"),
            PointKind::Actual => ("#1a4f8b", "circle"),
            PointKind::Live => ("#0b6e3a", "diamond"),
        };
        let (cx, cy) = (x(i), y(point.value));
        let _ = match shape {
            "square" => write!(
                out,
                r##"<rect x="{:.1}" y="{:.1}" width="10" height="10" fill="{fill}" stroke="#1a4f8b" stroke-width="2"/>"##,
                cx - 5.0,
                cy - 5.0
            ),
            "diamond" => write!(
                out,
                r##"<polygon points="{cx:.1},{:.1} {:.1},{cy:.1} {cx:.1},{:.1} {:.1},{cy:.1}" fill="{fill}"/>"##,
                cy - 7.0,
                cx + 7.0,
                cy + 7.0,
                cx - 7.0
            ),
            _ => write!(
                out,
                r##"<circle cx="{cx:.1}" cy="{cy:.1}" r="5" fill="{fill}"/>"##
            ),
        };
        let _ = write!(
            out,
            r##"<text x="{cx:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="#333">{}</text>"##,
            HEIGHT - BOTTOM + 18.0,
            escape(&point.label)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(key: &str, value: f64, kind: PointKind) -> Point {
        Point {
            key: key.into(),
            label: key.into(),
            value,
            kind,
        }
    }

    #[test]
    fn the_chart_is_an_image_with_title_description_points_and_target() {
        let points = [
            point("2022", 6.0, PointKind::Baseline),
            point("2023", 30.0, PointKind::Actual),
            point("2026-11", 45.5, PointKind::Live),
        ];
        let svg = svg(
            &Series {
                id: "k<1>",
                title: "オンライン化率",
                unit: "%",
                points: &points,
                target: Some((100.0, "目標 100%")),
            },
            "最新 45.5%、目標 100%",
        );
        assert!(svg.starts_with("<svg "));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(r#"aria-labelledby="k&lt;1&gt;-title k&lt;1&gt;-desc""#));
        assert!(svg.contains("<title id=\"k&lt;1&gt;-title\">オンライン化率</title>"));
        assert!(svg.contains("<desc id=\"k&lt;1&gt;-desc\">最新 45.5%、目標 100%</desc>"));
        assert_eq!(svg.matches("<rect").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert_eq!(svg.matches("<polygon").count(), 1);
        assert!(svg.contains("stroke-dasharray"));
        assert!(svg.contains("<polyline"));
        // The target sits inside the frame: the top of the range is above it.
        assert!(svg.contains(">110%</text>"), "{svg}");
    }

    #[test]
    fn numbers_lose_trailing_zeros() {
        assert_eq!(number(83.333), "83.33");
        assert_eq!(number(100.0), "100");
        assert_eq!(number(2.5), "2.5");
    }
}
