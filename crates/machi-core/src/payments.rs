//! 手数料の支払い (fees): the payment state machine. A payment is marked paid only on the
//! provider's word — a signed webhook or the provider's own answer to a status query — never
//! because a browser came back to the return page. One application has at most one payment
//! that is pending or paid, so a resident cannot be charged twice.

use serde::{Deserialize, Serialize};

use crate::procedures::Localized;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Sent to the provider; the resident has not finished (or the provider has not said).
    Pending,
    /// The provider says the money was taken.
    Paid,
    /// The provider refused the payment (card declined…).
    Failed,
    /// The resident gave up at the provider's page.
    Cancelled,
}

/// What the provider reported about a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderOutcome {
    Succeeded,
    Failed,
    Cancelled,
    /// Not finished yet.
    Open,
}

impl PaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Pending => "pending",
            PaymentState::Paid => "paid",
            PaymentState::Failed => "failed",
            PaymentState::Cancelled => "cancelled",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        [
            PaymentState::Pending,
            PaymentState::Paid,
            PaymentState::Failed,
            PaymentState::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == input)
    }

    pub fn label(self) -> Localized {
        let (ja, en) = match self {
            PaymentState::Pending => ("支払い手続中", "Payment in progress"),
            PaymentState::Paid => ("支払い済み", "Paid"),
            PaymentState::Failed => ("支払いできませんでした", "Payment failed"),
            PaymentState::Cancelled => ("支払いを中止しました", "Payment cancelled"),
        };
        Localized::new(ja, en)
    }

    /// Whether this payment blocks starting another one (it may still take, or took, money).
    pub fn is_live(self) -> bool {
        matches!(self, PaymentState::Pending | PaymentState::Paid)
    }

    /// The state after the provider reports `outcome`, or `None` when nothing changes.
    ///
    /// The provider's word on money wins: a charge it reports as succeeded is paid even if the
    /// resident had cancelled on our side first (a late webhook), because the money was taken
    /// and must show up for reconciliation. Nothing moves a paid payment (duplicate or
    /// out-of-order webhooks are ignored); refunds are a separate, staff-made record.
    pub fn after(self, outcome: ProviderOutcome) -> Option<PaymentState> {
        match (self, outcome) {
            (PaymentState::Paid, _) => None,
            (_, ProviderOutcome::Succeeded) => Some(PaymentState::Paid),
            (PaymentState::Pending, ProviderOutcome::Failed) => Some(PaymentState::Failed),
            (PaymentState::Pending, ProviderOutcome::Cancelled) => Some(PaymentState::Cancelled),
            _ => None,
        }
    }
}

impl ProviderOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderOutcome::Succeeded => "succeeded",
            ProviderOutcome::Failed => "failed",
            ProviderOutcome::Cancelled => "cancelled",
            ProviderOutcome::Open => "open",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        [
            ProviderOutcome::Succeeded,
            ProviderOutcome::Failed,
            ProviderOutcome::Cancelled,
            ProviderOutcome::Open,
        ]
        .into_iter()
        .find(|s| s.as_str() == input)
    }
}

parsed_from_text!(PaymentState, "payment state");

parsed_from_text!(ProviderOutcome, "provider outcome");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_provider_makes_a_payment_paid_and_nothing_unpays_it() {
        use PaymentState::*;
        assert_eq!(Pending.after(ProviderOutcome::Succeeded), Some(Paid));
        assert_eq!(Pending.after(ProviderOutcome::Open), None);
        assert_eq!(Paid.after(ProviderOutcome::Failed), None);
        assert_eq!(
            Paid.after(ProviderOutcome::Succeeded),
            None,
            "a duplicate webhook changes nothing"
        );
        assert_eq!(
            Cancelled.after(ProviderOutcome::Succeeded),
            Some(Paid),
            "a late success still counts"
        );
        assert_eq!(Failed.after(ProviderOutcome::Cancelled), None);
        assert!(Pending.is_live() && Paid.is_live() && !Failed.is_live());
    }
}
