//! 手数料のオンライン支払い: the resident's side of paying a fee (start, come back), the
//! provider's webhook, and the interface every payment provider implements. The built-in
//! [`test_provider`] walks the same redirect-and-webhook flow a real provider does.

mod booking;
mod reconcile;
pub(crate) mod test_provider;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use machi_core::payments::{PaymentState, ProviderOutcome};
use machi_store::payments::{Payable, Payment, PaymentStart};
use serde::Deserialize;

use crate::kit::{city_name, no_store, render, ApiError, City, PageError, SiteUrl, Ui};
use crate::AppState;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What machi asks a provider to collect.
pub(crate) struct Order<'a> {
    pub tenant: &'a str,
    /// machi's payment id, the provider's order reference.
    pub payment_id: &'a str,
    pub amount_yen: i64,
    pub description: &'a str,
    /// Where the provider sends the browser back.
    pub return_url: String,
    /// Where the provider posts its notifications.
    pub webhook_url: String,
}

/// The provider's checkout for an order.
pub(crate) struct Checkout {
    pub provider_ref: String,
    pub redirect_url: String,
}

/// A verified notification from a provider.
pub(crate) struct WebhookEvent {
    pub event_id: String,
    pub tenant: String,
    pub payment_id: String,
    pub outcome: ProviderOutcome,
}

/// A payment provider (決済代行事業者). Real providers are reached over HTTPS; each one maps
/// its own API onto these three calls.
pub(crate) trait PaymentProvider: Send + Sync {
    fn name(&self) -> &'static str;
    /// Opens a checkout; the browser is sent to `redirect_url`. Must be idempotent per
    /// `payment_id` (the provider's idempotency key), so that two clicks racing each other
    /// get one checkout, never two charges.
    fn start<'a>(&'a self, order: Order<'a>) -> BoxFuture<'a, Result<Checkout, ApiError>>;
    /// Where to send the browser to continue a checkout that is still open.
    fn checkout_url(&self, provider_ref: &str) -> String;
    /// Asks the provider where a checkout stands (server to server).
    fn status<'a>(
        &'a self,
        provider_ref: &'a str,
    ) -> BoxFuture<'a, Result<ProviderOutcome, ApiError>>;
    /// Checks a webhook's signature and reads it; anything unsigned or stale is refused.
    fn verify_webhook<'a>(
        &'a self,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<WebhookEvent, ApiError>>;
}

/// The resident's side of paying, the provider's webhook and the test provider.
pub(crate) fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/payments/start", post(start))
        .route("/payments/{id}/return", get(come_back))
        .route("/api/v1/payments/webhooks/{provider}", post(webhook))
        .merge(test_provider::routes())
}

/// Fee reconciliation, behind the staff guard.
pub(crate) fn staff_routes() -> Router<AppState> {
    Router::new().route("/staff/payments", get(reconcile::reconcile))
}

/// The pay button's form: an application's receipt number and access code, or a booking's
/// number and the code from its confirmation e-mail.
#[derive(Deserialize)]
pub(crate) struct StartForm {
    #[serde(default)]
    receipt_number: String,
    #[serde(default)]
    access_code: String,
    #[serde(default)]
    booking_number: String,
    #[serde(default)]
    code: String,
}

/// What the resident is about to pay: for what, how much, and how the provider describes it.
struct Charge {
    booking: bool,
    number: String,
    amount_yen: i64,
    description: String,
}

impl Charge {
    fn payable(&self) -> Payable<'_> {
        if self.booking {
            Payable::Booking(&self.number)
        } else {
            Payable::Application(&self.number)
        }
    }
}

/// 支払う: opens (or resumes) the payment of an application's fee, or a booking's, at the
/// provider.
async fn start(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    SiteUrl(base): SiteUrl,
    headers: HeaderMap,
    Form(form): Form<StartForm>,
) -> Result<Response, PageError> {
    open_checkout(&state, &city, ui, &headers, &base, &form)
        .await
        .map_err(PageError::from)
}

async fn open_checkout(
    state: &AppState,
    city: &machi_store::Tenant,
    ui: Ui,
    headers: &HeaderMap,
    base: &str,
    form: &StartForm,
) -> Result<Response, ApiError> {
    crate::kit::check_origin(headers)?;
    let charge = if form.booking_number.is_empty() {
        application_fee(state, city, ui, form).await?
    } else {
        booking::booking_fee(state, city, ui, &form.booking_number, &form.code).await?
    };
    let provider = provider(state)?;
    let started = state
        .store
        .start_payment(
            &city.id,
            charge.payable(),
            charge.amount_yen,
            provider.name(),
        )
        .await?;
    let payment = match started {
        PaymentStart::Paid(paid) => return Ok(to_return_page(&paid)),
        PaymentStart::Pending(Payment {
            provider_ref: Some(provider_ref),
            ..
        }) => return Ok(crate::kit::see_other(&provider.checkout_url(&provider_ref))),
        PaymentStart::Pending(payment) | PaymentStart::New(payment) => payment,
    };
    let checkout = provider
        .start(Order {
            tenant: &city.id,
            payment_id: &payment.id,
            amount_yen: charge.amount_yen,
            description: &charge.description,
            return_url: format!("{base}/payments/{}/return", payment.id),
            webhook_url: format!("{base}/api/v1/payments/webhooks/{}", provider.name()),
        })
        .await?;
    state
        .store
        .set_provider_ref(&city.id, &payment.id, &checkout.provider_ref)
        .await?;
    Ok(crate::kit::see_other(&checkout.redirect_url))
}

/// An application's fee, found with its receipt number and access code.
async fn application_fee(
    state: &AppState,
    city: &machi_store::Tenant,
    ui: Ui,
    form: &StartForm,
) -> Result<Charge, ApiError> {
    let view = state
        .store
        .application_by_access_code(&city.id, &form.receipt_number, &form.access_code)
        .await?;
    let record = state
        .procedures
        .get(&state.store, &city.id, &view.procedure_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found("no such procedure").with_ja("この手続はありません。")
        })?;
    let amount_yen = record.definition.fee_for(&view.answers).ok_or_else(|| {
        ApiError::bad_request(ui.t(
            "この申請にお支払いいただく手数料はありません。",
            "There is no fee to pay for this application.",
        ))
    })?;
    Ok(Charge {
        booking: false,
        number: view.receipt_number,
        amount_yen,
        description: format!("{}（{}）", record.definition.name.ja, city.name_ja),
    })
}

fn to_return_page(payment: &Payment) -> Response {
    crate::kit::see_other(&format!("/payments/{}/return", payment.id))
}

#[derive(Template)]
#[template(path = "payment_result.html")]
struct ResultPage {
    ui: Ui,
    city: String,
    back: String,
    /// A booking's fee (予約番号), not an application's (受付番号).
    booking: bool,
    number: String,
    amount: String,
    state: String,
    paid: bool,
    pending: bool,
}

/// The page the provider sends the browser back to. The browser's arrival proves nothing: if
/// the provider has not notified us yet, we ask it ourselves before saying "paid".
async fn come_back(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let payment = confirmed_payment(&state, &city, ui, &id).await?;
    let page = ResultPage {
        ui,
        city: city_name(ui, &city),
        back: format!("/payments/{id}/return"),
        booking: matches!(payment.payable(), Payable::Booking(_)),
        number: payment.payable().number().to_string(),
        amount: payment.amount_yen.to_string(),
        state: ui.l(&payment.state.label()).to_string(),
        paid: payment.state == PaymentState::Paid,
        pending: payment.state == PaymentState::Pending,
    };
    Ok(no_store(render(&page)))
}

/// The payment as the provider last said; a pending one is asked about first.
async fn confirmed_payment(
    state: &AppState,
    city: &machi_store::Tenant,
    ui: Ui,
    id: &str,
) -> Result<Payment, ApiError> {
    let not_found =
        || ApiError::not_found(ui.t("この支払いはありません。", "There is no such payment."));
    let payment = state
        .store
        .payment(&city.id, id)
        .await?
        .ok_or_else(not_found)?;
    let Some(provider_ref) = payment
        .provider_ref
        .as_deref()
        .filter(|_| payment.state == PaymentState::Pending)
    else {
        return Ok(payment);
    };
    let outcome = provider(state)?.status(provider_ref).await?;
    state
        .store
        .record_provider_outcome(&city.id, &payment.id, outcome, None)
        .await?;
    state
        .store
        .payment(&city.id, id)
        .await?
        .ok_or_else(not_found)
}

/// A provider's notification: verified, then applied once.
async fn webhook(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(configured) = state.payments.as_ref().filter(|p| p.name() == provider) else {
        return Err(ApiError::not_found("no such payment provider"));
    };
    let event = configured.verify_webhook(&headers, &body).await?;
    let changed = state
        .store
        .record_provider_outcome(
            &event.tenant,
            &event.payment_id,
            event.outcome,
            Some(&event.event_id),
        )
        .await?;
    metrics::counter!("machi_payment_webhooks_total").increment(1);
    tracing::info!(payment = %event.payment_id, outcome = event.outcome.as_str(), changed = ?changed, "payment webhook");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The test provider (`--payments-test-provider`, or the demo): the applicant chooses the
/// outcome of their own payment.
pub(crate) fn test_provider(store: machi_store::Store) -> Arc<dyn PaymentProvider> {
    Arc::new(test_provider::TestProvider::new(store))
}

/// The deployment's payment provider, or the refusal a resident sees without one.
pub(crate) fn provider(state: &AppState) -> Result<&Arc<dyn PaymentProvider>, ApiError> {
    state.payments.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "payments-unavailable",
            "Online payment unavailable",
            "This city does not take fees online; pay at the counter with your receipt number.",
        )
        .with_ja("この市ではオンラインでのお支払いを受け付けていません。受付番号をお伝えのうえ、窓口でお支払いください。")
    })
}
