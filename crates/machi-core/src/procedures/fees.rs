//! 手数料: what an application costs — an amount per unit of an answer (「1通300円」), reduced or
//! waived by the procedure's 減免 rules — and how the resident reads it before paying.

use serde::{Deserialize, Serialize};

use super::{Localized, ProcedureDefinition};

/// 減免: the fee is reduced when an answer has a value (a 手数料条例's exemption, such as
/// certificates for 生活保護 procedures). The first rule that matches applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeExemption {
    /// The question whose answer grants it.
    pub answer: String,
    /// The answer that grants it (`true` for a checkbox when unset).
    #[serde(default = "yes")]
    pub equals: serde_json::Value,
    /// How much of the fee is waived, 1–100 (100: 全額免除, 50: 半額).
    pub percent: u8,
    /// Why, as the resident and the receipt read it.
    pub label: Localized,
}

fn yes() -> serde_json::Value {
    serde_json::Value::Bool(true)
}

/// The fee of one application, and how it is made up.
#[derive(Debug, Clone, PartialEq)]
pub struct Fee {
    /// Per unit (per copy), in yen.
    pub each: i64,
    pub units: i64,
    /// The exemption that applies, if any.
    pub exemption: Option<FeeExemption>,
    /// What is to be paid, in yen (0 when wholly waived).
    pub total: i64,
}

impl Fee {
    /// 「600円（300円×2通、減免: … 50%）」: the total with how it is made up.
    pub fn text(&self) -> Localized {
        let mut parts_ja = Vec::new();
        let mut parts_en = Vec::new();
        if self.units > 1 {
            parts_ja.push(format!("{}円×{}通", self.each, self.units));
            parts_en.push(format!("¥{} × {}", self.each, self.units));
        }
        if let Some(exemption) = &self.exemption {
            let how_ja = if exemption.percent >= 100 {
                "全額免除".to_string()
            } else {
                format!("{}%減額", exemption.percent)
            };
            parts_ja.push(format!("減免: {} {how_ja}", exemption.label.ja));
            parts_en.push(format!(
                "{}: {}% off",
                exemption.label.get("en"),
                exemption.percent
            ));
        }
        let with = |total: String, parts: Vec<String>, open: &str, close: &str, sep: &str| {
            if parts.is_empty() {
                total
            } else {
                format!("{total}{open}{}{close}", parts.join(sep))
            }
        };
        Localized::new(
            with(format!("{}円", self.total), parts_ja, "（", "）", "、"),
            with(format!("¥{}", self.total), parts_en, " (", ")", "; "),
        )
    }
}

impl ProcedureDefinition {
    /// The fee of an application with `answers`: [`Self::fee_yen`] times the answer
    /// [`Self::fee_per`] names (1 when there is no such answer), less the first 減免 that
    /// applies; `None` when the procedure has no fee.
    pub fn fee(&self, answers: &serde_json::Map<String, serde_json::Value>) -> Option<Fee> {
        let each = self.fee_yen.filter(|fee| *fee > 0)?;
        let units = self
            .fee_per
            .as_ref()
            .and_then(|name| answers.get(name))
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(1)
            .max(1);
        let gross = each.saturating_mul(units);
        let exemption = self
            .fee_exemptions
            .iter()
            .find(|e| answers.get(&e.answer) == Some(&e.equals))
            .cloned();
        let waived = exemption.as_ref().map_or(0, |e| {
            gross.saturating_mul(i64::from(e.percent.min(100))) / 100
        });
        Some(Fee {
            each,
            units,
            exemption,
            total: gross - waived,
        })
    }

    /// The fee as the catalog states it (「1通300円」「無料」); `None` when no fee is stated.
    pub fn fee_label(&self) -> Option<Localized> {
        let yen = self.fee_yen?;
        let per = self.fee_per.is_some();
        Some(match (yen, per) {
            (0, _) => Localized::new("無料", "Free"),
            (yen, true) => Localized::new(format!("1通{yen}円"), format!("¥{yen} each")),
            (yen, false) => Localized::new(format!("{yen}円"), format!("¥{yen}")),
        })
    }

    /// What is to be paid for an application with `answers`, in yen; `None` when nothing is
    /// (no fee, or wholly waived).
    pub fn fee_for(&self, answers: &serde_json::Map<String, serde_json::Value>) -> Option<i64> {
        self.fee(answers)
            .map(|fee| fee.total)
            .filter(|total| *total > 0)
    }

    /// Problems with the fee rules: a per-unit answer that is no whole number, an exemption on
    /// an answer the form does not ask or outside 1–100 %.
    pub(super) fn fee_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.fee_yen.is_some_and(|fee| fee < 0) {
            problems.push("fee_yen: must be 0 or more".into());
        }
        let property = |name: &str| {
            self.form
                .as_ref()
                .and_then(|form| form.schema.pointer(&format!("/properties/{name}")))
        };
        if let Some(per) = &self.fee_per {
            if property(per).and_then(|p| p.get("type")) != Some(&serde_json::json!("integer")) {
                problems.push(format!(
                    "fee_per: '{per}' must be a whole-number question of the form"
                ));
            }
        }
        for (index, exemption) in self.fee_exemptions.iter().enumerate() {
            if property(&exemption.answer).is_none() {
                problems.push(format!(
                    "fee_exemptions[{index}].answer: '{}' is not a question of the form",
                    exemption.answer
                ));
            }
            if !(1..=100).contains(&exemption.percent) {
                problems.push(format!("fee_exemptions[{index}].percent: must be 1 to 100"));
            }
            if exemption.label.ja.trim().is_empty() {
                problems.push(format!(
                    "fee_exemptions[{index}].label: the Japanese reason is required"
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_catalog, CatalogFormat};
    use super::*;

    fn juminhyo() -> ProcedureDefinition {
        let catalog = parse_catalog(
            include_bytes!("../../../machi/demo/procedures.yaml"),
            CatalogFormat::Yaml,
        )
        .unwrap();
        catalog.into_iter().find(|p| p.id == "juminhyo").unwrap()
    }

    fn answers(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_fee_per_copy_multiplies_and_must_name_a_whole_number_question() {
        let mut juminhyo = juminhyo();
        let three = answers(serde_json::json!({ "copies": 3, "purpose": "work" }));
        assert_eq!(juminhyo.fee_for(&three), Some(900));
        assert_eq!(
            juminhyo.fee(&three).unwrap().text().ja,
            "900円（300円×3通）"
        );
        assert_eq!(juminhyo.fee_for(&serde_json::Map::new()), Some(300));
        assert_eq!(juminhyo.fee_label().unwrap().ja, "1通300円");
        assert_eq!(juminhyo.check(), Ok(()));
        juminhyo.fee_per = Some("address".into());
        assert!(juminhyo.check().unwrap_err()[0].starts_with("fee_per"));
        juminhyo.fee_yen = Some(0);
        assert_eq!(juminhyo.fee_for(&three), None, "free stays free");
    }

    #[test]
    fn an_exemption_waives_the_fee_and_says_why() {
        let mut juminhyo = juminhyo();
        let welfare = answers(serde_json::json!({ "copies": 2, "purpose": "welfare" }));
        let fee = juminhyo.fee(&welfare).unwrap();
        assert_eq!(fee.total, 0);
        assert_eq!(juminhyo.fee_for(&welfare), None, "nothing to pay");
        assert!(fee.text().ja.contains("全額免除"), "{}", fee.text().ja);
        juminhyo.fee_exemptions[0].percent = 50;
        assert_eq!(juminhyo.fee_for(&welfare), Some(300));
        assert!(juminhyo
            .fee(&welfare)
            .unwrap()
            .text()
            .ja
            .starts_with("300円（300円×2通、減免: "));
        juminhyo.fee_exemptions[0].answer = "nothing".into();
        juminhyo.fee_exemptions[0].percent = 0;
        let problems = juminhyo.check().unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
