//! 手数料の支払い: payments as machi keeps them, the provider's notifications (each applied
//! once), and the books of the built-in test provider. The state machine itself is
//! [`machi_core::payments::PaymentState`].

use machi_core::payments::{PaymentState, ProviderOutcome};
use machi_core::procedures::Localized;
use serde_json::json;
use sqlx::Row;

use crate::audit::{AuditEntry, AuditedTx};
use crate::sessions::random_token;
use crate::{now_text, Result, Store, StoreError};

/// What a payment pays for: an application's fee (手数料) or a booking's (使用料).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Payable<'a> {
    /// The application with this receipt number.
    Application(&'a str),
    /// The booking with this number.
    Booking(&'a str),
}

impl Payable<'_> {
    /// The number of the application or booking.
    pub fn number(&self) -> &str {
        match self {
            Payable::Application(number) | Payable::Booking(number) => number,
        }
    }

    /// The payments column that names it.
    fn column(&self) -> &'static str {
        match self {
            Payable::Application(_) => "receipt_number",
            Payable::Booking(_) => "booking_number",
        }
    }
}

/// One payment of one application or booking.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Payment {
    pub id: String,
    pub receipt_number: Option<String>,
    pub booking_number: Option<String>,
    pub amount_yen: i64,
    pub provider: String,
    pub provider_ref: Option<String>,
    #[sqlx(try_from = "String")]
    pub state: PaymentState,
    pub created_at: crate::Time,
    pub updated_at: crate::Time,
    pub paid_at: Option<crate::Time>,
}

impl Payment {
    /// What the payment pays for.
    pub fn payable(&self) -> Payable<'_> {
        match (&self.receipt_number, &self.booking_number) {
            (Some(receipt), _) => Payable::Application(receipt),
            (None, Some(booking)) => Payable::Booking(booking),
            // The table's CHECK constraint rules this out.
            (None, None) => Payable::Application(""),
        }
    }
}

/// What asking to pay came to.
#[derive(Debug, Clone)]
pub enum PaymentStart {
    /// A new payment, to be sent to the provider.
    New(Payment),
    /// One is already waiting at the provider: continue it rather than charge again.
    Pending(Payment),
    /// Already paid: nothing to do.
    Paid(Payment),
}

/// A payment with what it pays for, for reconciliation.
#[derive(Debug, Clone)]
pub struct PaymentLine {
    pub payment: Payment,
    /// The application's procedure, or the booking's service.
    pub procedure_id: String,
    pub department_code: String,
    /// The booking's state (a booking's fee): a cancelled booking's payment is refunded.
    pub booking_state: Option<String>,
    /// The day the booking is for (`YYYY-MM-DD`, JST).
    pub booking_day: Option<String>,
}

/// A charge in the test provider's books.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TestCharge {
    pub session_id: String,
    pub order_id: String,
    pub tenant_id: String,
    pub amount_yen: i64,
    pub description: String,
    pub return_url: String,
    pub webhook_url: String,
    #[sqlx(try_from = "String")]
    pub outcome: ProviderOutcome,
}

const PAYMENT_COLUMNS: &str = "id, receipt_number, booking_number, amount_yen, provider, provider_ref, state, created_at, updated_at, paid_at";

impl Store {
    /// Starts a payment for an application or booking, unless one is paid or still waiting
    /// (then that one is returned): the audited transaction serialises two clicks of the pay
    /// button.
    pub async fn start_payment(
        &self,
        tenant: &str,
        payable: Payable<'_>,
        amount_yen: i64,
        provider: &str,
    ) -> Result<PaymentStart> {
        let mut tx = self.begin_audited(tenant).await?;
        let live = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE tenant_id = $1 AND {} = $2 \
             AND state IN ('pending', 'paid') ORDER BY created_at DESC",
            payable.column()
        ))
        .bind(tenant)
        .bind(payable.number())
        .fetch_all(&mut *tx.tx)
        .await?;
        let live: Vec<Payment> = live.iter().map(crate::typed).collect::<Result<_>>()?;
        if let Some(paid) = live.iter().find(|p| p.state == PaymentState::Paid) {
            return Ok(PaymentStart::Paid(paid.clone()));
        }
        if let Some(pending) = live.into_iter().next() {
            return Ok(PaymentStart::Pending(pending));
        }
        let now = crate::Time::now();
        let mut payment = Payment {
            id: format!("pay_{}", &random_token()[..24]),
            receipt_number: None,
            booking_number: None,
            amount_yen,
            provider: provider.to_string(),
            provider_ref: None,
            state: PaymentState::Pending,
            created_at: now,
            updated_at: now,
            paid_at: None,
        };
        match payable {
            Payable::Application(number) => payment.receipt_number = Some(number.to_string()),
            Payable::Booking(number) => payment.booking_number = Some(number.to_string()),
        }
        sqlx::query(
            "INSERT INTO payments (tenant_id, id, receipt_number, booking_number, amount_yen, provider, state, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tenant)
        .bind(&payment.id)
        .bind(&payment.receipt_number)
        .bind(&payment.booking_number)
        .bind(payment.amount_yen)
        .bind(&payment.provider)
        .bind(payment.state.as_str())
        .bind(payment.created_at)
        .bind(payment.updated_at)
        .execute(&mut *tx.tx)
        .await?;
        tx.append(&AuditEntry::new(
            "resident",
            "payment.start",
            payable.number(),
            json!({ "payment": payment.id, "amount_yen": amount_yen, "provider": provider }),
        ))
        .await?;
        tx.commit().await?;
        Ok(PaymentStart::New(payment))
    }

    /// Notes the provider's id for the payment (its checkout session).
    pub async fn set_provider_ref(&self, tenant: &str, id: &str, provider_ref: &str) -> Result<()> {
        sqlx::query("UPDATE payments SET provider_ref = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(provider_ref)
            .bind(tenant)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn payment(&self, tenant: &str, id: &str) -> Result<Option<Payment>> {
        let row = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(crate::typed).transpose()
    }

    /// Every payment of an application or booking, oldest first.
    pub async fn payments_of(&self, tenant: &str, payable: Payable<'_>) -> Result<Vec<Payment>> {
        let rows = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE tenant_id = $1 AND {} = $2 ORDER BY created_at",
            payable.column()
        ))
        .bind(tenant)
        .bind(payable.number())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(crate::typed).collect()
    }

    /// Applies what the provider said about a payment. With an `event_id` (a webhook), the
    /// same notification is applied once however often it arrives. Returns the new state when
    /// it changed.
    pub async fn record_provider_outcome(
        &self,
        tenant: &str,
        payment_id: &str,
        outcome: ProviderOutcome,
        event_id: Option<&str>,
    ) -> Result<Option<PaymentState>> {
        let mut tx = self.begin_audited(tenant).await?;
        let row = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant)
        .bind(payment_id)
        .fetch_optional(&mut *tx.tx)
        .await?;
        let Some(payment) = row.as_ref().map(crate::typed::<Payment>).transpose()? else {
            return Err(StoreError::not_found(
                "この支払いはありません。",
                format!("no payment {payment_id}"),
            ));
        };
        if let Some(event_id) = event_id {
            let fresh = sqlx::query(
                "INSERT INTO payment_events (provider, event_id, tenant_id, payment_id, outcome, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (provider, event_id) DO NOTHING",
            )
            .bind(&payment.provider)
            .bind(event_id)
            .bind(tenant)
            .bind(payment_id)
            .bind(outcome.as_str())
            .bind(now_text())
            .execute(&mut *tx.tx)
            .await?;
            if fresh.rows_affected() == 0 {
                return Ok(None);
            }
        }
        let Some(next) = payment.state.after(outcome) else {
            tx.commit().await?;
            return Ok(None);
        };
        move_payment(&mut tx, tenant, &payment, next).await?;
        tx.commit().await?;
        Ok(Some(next))
    }

    /// Payments of a city between two times (stored text form), newest first, with their
    /// applications' procedure (or bookings' service) and department.
    pub async fn payment_lines(
        &self,
        tenant: &str,
        department: Option<&str>,
        from: &str,
        until: &str,
    ) -> Result<Vec<PaymentLine>> {
        let rows = sqlx::query(
            "SELECT p.id, p.receipt_number, p.booking_number, p.amount_yen, p.provider, p.provider_ref, \
             p.state, p.created_at, p.updated_at, p.paid_at, \
             COALESCE(a.procedure_id, b.service_id, '') AS what, \
             COALESCE(a.department_code, s.department_code, '') AS department_code, \
             b.state AS booking_state, b.starts_at AS booking_starts FROM payments p \
             LEFT JOIN applications a ON a.tenant_id = p.tenant_id AND a.receipt_number = p.receipt_number \
             LEFT JOIN bookings b ON b.tenant_id = p.tenant_id AND b.number = p.booking_number \
             LEFT JOIN services s ON s.tenant_id = b.tenant_id AND s.id = b.service_id \
             WHERE p.tenant_id = $1 AND ($2 = '' OR COALESCE(a.department_code, s.department_code) = $2) \
             AND p.created_at >= $3 AND p.created_at < $4 ORDER BY p.created_at DESC LIMIT 5000",
        )
        .bind(tenant)
        .bind(department.unwrap_or_default())
        .bind(from)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PaymentLine {
                    payment: crate::typed(row)?,
                    procedure_id: row.try_get("what")?,
                    department_code: row.try_get("department_code")?,
                    booking_state: row.try_get("booking_state")?,
                    booking_day: row
                        .try_get::<Option<String>, _>("booking_starts")?
                        .map(|starts| starts.chars().take(10).collect()),
                })
            })
            .collect()
    }
}

/// Moves a payment to its next state, with the resident-visible note and the audit entry.
async fn move_payment(
    tx: &mut AuditedTx<'_>,
    tenant: &str,
    payment: &Payment,
    next: PaymentState,
) -> Result<()> {
    let now = now_text();
    sqlx::query(
        "UPDATE payments SET state = $1, updated_at = $2, paid_at = CASE WHEN $1 = 'paid' THEN $2 ELSE paid_at END \
         WHERE tenant_id = $3 AND id = $4",
    )
    .bind(next.as_str())
    .bind(&now)
    .bind(tenant)
    .bind(&payment.id)
    .execute(&mut *tx.tx)
    .await?;
    if next == PaymentState::Paid {
        match payment.payable() {
            Payable::Application(receipt) => {
                note_fee_received(tx, tenant, payment, receipt).await?
            }
            Payable::Booking(number) => {
                crate::reservations::fee_paid(&mut tx.tx, tenant, number, &now).await?
            }
        }
    }
    tx.append(&AuditEntry::new(
        &format!("provider:{}", payment.provider),
        &format!("payment.{}", next.as_str()),
        payment.payable().number(),
        json!({ "payment": payment.id, "amount_yen": payment.amount_yen, "from": payment.state.as_str() }),
    ))
    .await
}

/// Tells the applicant, on the application's history, that the fee arrived.
async fn note_fee_received(
    tx: &mut AuditedTx<'_>,
    tenant: &str,
    payment: &Payment,
    receipt: &str,
) -> Result<()> {
    let status: String = sqlx::query_scalar(
        "SELECT status FROM applications WHERE tenant_id = $1 AND receipt_number = $2",
    )
    .bind(tenant)
    .bind(receipt)
    .fetch_one(&mut *tx.tx)
    .await?;
    let note = Localized::new(
        format!("手数料 {} 円のお支払いを確認しました。", payment.amount_yen),
        format!("We received your fee of {} yen.", payment.amount_yen),
    );
    crate::review::insert_event(
        tx,
        tenant,
        receipt,
        &status,
        "message",
        &note,
        &format!("provider:{}", payment.provider),
    )
    .await
}

impl Store {
    /// The test provider opens a checkout session for an order, or returns the session the
    /// order already has (an idempotent create, as real providers offer with idempotency keys).
    pub async fn test_provider_open(&self, charge: &TestCharge) -> Result<String> {
        sqlx::query(
            "INSERT INTO test_provider_charges (session_id, order_id, tenant_id, amount_yen, description, return_url, \
             webhook_url, outcome, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(&charge.session_id)
        .bind(&charge.order_id)
        .bind(&charge.tenant_id)
        .bind(charge.amount_yen)
        .bind(&charge.description)
        .bind(&charge.return_url)
        .bind(&charge.webhook_url)
        .bind(charge.outcome.as_str())
        .bind(now_text())
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT session_id FROM test_provider_charges WHERE order_id = $1")
                .bind(&charge.order_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn test_provider_charge(&self, session_id: &str) -> Result<Option<TestCharge>> {
        let row = sqlx::query(
            "SELECT session_id, order_id, tenant_id, amount_yen, description, return_url, webhook_url, outcome \
             FROM test_provider_charges WHERE session_id = $1",
        )
        .bind(session_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(crate::typed).transpose()
    }

    /// The test provider settles a session once; a second answer for the same session is
    /// refused, as a real provider would.
    pub async fn test_provider_settle(
        &self,
        session_id: &str,
        outcome: ProviderOutcome,
    ) -> Result<bool> {
        let settled = sqlx::query(
            "UPDATE test_provider_charges SET outcome = $1 WHERE session_id = $2 AND outcome = 'open'",
        )
        .bind(outcome.as_str())
        .bind(session_id)
        .execute(&self.pool)
        .await?;
        Ok(settled.rows_affected() == 1)
    }
}
