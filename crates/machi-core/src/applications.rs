//! 申請 (applications): what a resident submitted, and where it stands.

use serde::{Deserialize, Serialize};

use crate::procedures::Localized;

/// Where an application stands in the city's workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
        [
            Status::Received,
            Status::InReview,
            Status::CorrectionRequested,
            Status::Resubmitted,
            Status::Approved,
            Status::Rejected,
            Status::Completed,
        ]
        .into_iter()
        .find(|s| s.as_str() == input)
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
