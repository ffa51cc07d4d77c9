//! 申請 (applications): what a resident submitted, and where it stands.

pub mod search;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::procedures::Localized;

/// Where an application stands in the city's workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 受付: received, nobody has looked at it yet.
    Received,
    /// 審査中.
    InReview,
    /// 補正依頼: the resident is asked to correct something.
    CorrectionRequested,
    /// 再提出.
    Resubmitted,
    /// 承認.
    Approved,
    /// 却下.
    Rejected,
    /// 完了.
    Completed,
}

pub const ALL_STATUSES: [Status; 7] = [
    Status::Received,
    Status::InReview,
    Status::CorrectionRequested,
    Status::Resubmitted,
    Status::Approved,
    Status::Rejected,
    Status::Completed,
];

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::InReview => "in_review",
            Status::CorrectionRequested => "correction_requested",
            Status::Resubmitted => "resubmitted",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Completed => "completed",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        ALL_STATUSES.into_iter().find(|s| s.as_str() == input)
    }

    /// Whether work on the application is still going on (it can be overdue).
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Rejected | Status::Completed)
    }

    /// Whether a decision is still awaited from the department, so that it can be overdue: not
    /// once decided, and not while a correction is with the resident (the clock stops).
    pub fn awaits_decision(self) -> bool {
        matches!(
            self,
            Status::Received | Status::InReview | Status::Resubmitted
        )
    }

    /// A 処分 (decision) on the application, made along the procedure's 決裁ルート.
    pub fn is_decision(self) -> bool {
        matches!(self, Status::Approved | Status::Rejected)
    }

    /// A decision against the applicant (却下, 不許可, 不支給 …): 行政手続法 第8条 requires its
    /// reasons, and 行政不服審査法 第82条 the 教示 of how to appeal.
    pub fn is_refusal(self) -> bool {
        self == Status::Rejected
    }

    /// What the resident reads on the status page.
    pub fn label(self) -> Localized {
        let (ja, en) = match self {
            Status::Received => ("受付済み", "Received"),
            Status::InReview => ("審査中", "In review"),
            Status::CorrectionRequested => ("補正のお願い", "Correction requested"),
            Status::Resubmitted => ("再提出済み", "Resubmitted"),
            Status::Approved => ("承認", "Approved"),
            Status::Rejected => ("却下", "Rejected"),
            Status::Completed => ("完了", "Completed"),
        };
        Localized::new(ja, en)
    }

    /// What happens next, as the status page tells the resident.
    pub fn next_step(self) -> Localized {
        let (ja, en) = match self {
            Status::Received => (
                "担当課が内容を確認します。結果や、内容の補正をお願いするときは、このページ（メールアドレスを入力した方にはメールでも）でお知らせします。",
                "The department will check your application. This page (and e-mail, if you gave an address) will tell you the decision, or if anything needs correcting.",
            ),
            Status::InReview => (
                "担当課が審査しています。確認したいことがあるときは、担当課から連絡します。",
                "The department is reviewing your application. It will contact you if it needs to check anything.",
            ),
            Status::CorrectionRequested => (
                "担当課からのメッセージを読み、「内容を修正する」から直して再提出してください。再提出されるまで審査は止まっています。",
                "Read the department's message, then correct your application with the button below and send it again. The review waits until you do.",
            ),
            Status::Resubmitted => (
                "再提出された内容を担当課が確認します。",
                "The department will check your corrected application.",
            ),
            Status::Approved => (
                "申請は承認されました。受け取り方法などは、担当課からのメッセージをご確認ください。",
                "Your application was approved. See the department's message for how to receive what you applied for.",
            ),
            Status::Rejected => (
                "申請は認められませんでした。理由は担当課からのメッセージをご覧ください。",
                "Your application was not approved. The department's message gives the reason.",
            ),
            Status::Completed => (
                "この手続は完了しました。",
                "This procedure is complete.",
            ),
        };
        Localized::new(ja, en)
    }
}

/// The 教示 of a refusal (行政不服審査法 第82条): to whom, where and by when the applicant may
/// ask for a review. A city's own wording replaces it where the city sets one.
pub fn appeal_notice(city_ja: &str, city_en: &str) -> Localized {
    Localized::new(
        format!(
            "この処分に不服がある場合は、この処分があったことを知った日の翌日から起算して3か月以内に、{city_ja}長に対して審査請求をすることができます（行政不服審査法）。ただし、処分があった日の翌日から起算して1年を経過したときは、審査請求をすることができません。"
        ),
        format!(
            "If you disagree with this decision, you may ask the Mayor of {city_en} to review it (a request for administrative review) within three months of the day after you learned of it, and in any case within one year of the day after the decision."
        ),
    )
}

/// Which status may follow which, for one procedure. Procedures without their own use
/// [`Workflow::standard`]: received → in review → correction requested → resubmitted →
/// approved / rejected → completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    pub transitions: BTreeMap<Status, Vec<Status>>,
}

impl Workflow {
    pub fn standard() -> Self {
        use Status::*;
        let transitions = [
            (Received, vec![InReview, CorrectionRequested, Rejected]),
            (InReview, vec![CorrectionRequested, Approved, Rejected]),
            (CorrectionRequested, vec![Resubmitted, InReview, Rejected]),
            (
                Resubmitted,
                vec![InReview, CorrectionRequested, Approved, Rejected],
            ),
            (Approved, vec![Completed]),
        ];
        Self {
            transitions: transitions.into_iter().collect(),
        }
    }

    /// The statuses staff may move an application to from `from`.
    pub fn next(&self, from: Status) -> &[Status] {
        self.transitions.get(&from).map_or(&[], Vec::as_slice)
    }

    pub fn allows(&self, from: Status, to: Status) -> bool {
        self.next(from).contains(&to)
    }

    /// Problems with a procedure's own workflow: it must start at "received", every status
    /// it names must be reachable, and every path must be able to end (completed or rejected).
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.next(Status::Received).is_empty() {
            problems.push("workflow: 'received' must lead somewhere".to_string());
        }
        let reachable = self.reachable_from(Status::Received);
        for status in self.transitions.keys() {
            if !reachable.contains(status) {
                problems.push(format!(
                    "workflow: '{}' cannot be reached from 'received'",
                    status.as_str()
                ));
            }
        }
        for status in &reachable {
            let ends = self.reachable_from(*status);
            if !ends.iter().any(|s| !s.is_open()) {
                problems.push(format!(
                    "workflow: from '{}' no path leads to 'completed' or 'rejected'",
                    status.as_str()
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    fn reachable_from(&self, start: Status) -> Vec<Status> {
        let mut seen = vec![start];
        let mut index = 0;
        while index < seen.len() {
            for next in self.next(seen[index]) {
                if !seen.contains(next) {
                    seen.push(*next);
                }
            }
            index += 1;
        }
        seen
    }
}

impl Default for Workflow {
    fn default() -> Self {
        Self::standard()
    }
}

parsed_from_text!(Status, "status");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_workflow_is_sound_and_ends() {
        let workflow = Workflow::standard();
        assert_eq!(workflow.check(), Ok(()));
        assert!(workflow.allows(Status::Received, Status::InReview));
        assert!(!workflow.allows(Status::Received, Status::Completed));
        assert!(workflow.next(Status::Completed).is_empty());
    }

    #[test]
    fn a_workflow_that_cannot_end_is_refused() {
        let workflow: Workflow = serde_json::from_str(
            r#"{"transitions": {"received": ["in_review"], "in_review": ["received"]}}"#,
        )
        .unwrap();
        let problems = workflow.check().unwrap_err();
        assert!(problems[0].contains("no path leads"), "{problems:?}");
        let short: Workflow =
            serde_json::from_str(r#"{"transitions": {"received": ["completed"]}}"#).unwrap();
        assert_eq!(short.check(), Ok(()));
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in [
            Status::Received,
            Status::CorrectionRequested,
            Status::Completed,
        ] {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("lost"), None);
    }
}
