//! テスト決済: a payment provider built into machi for demos and tests. It plays an outside
//! company: its own books (`test_provider_charges`), its own checkout page, and webhooks sent
//! over HTTP with an HMAC-SHA256 signature, like the real ones (Stripe-style
//! `t=<unix time>,v1=<hex>` over `"<t>.<body>"`). Its checkout can succeed, fail or be
//! cancelled, and its webhook can come on time, late, twice or never, so every path of the
//! payment state machine can be walked in a browser.

use std::time::Duration;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use hmac::{Hmac, Mac};
use machi_core::payments::ProviderOutcome;
use machi_store::payments::TestCharge;
use machi_store::sessions::random_token;
use machi_store::Store;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{BoxFuture, Checkout, Order, PaymentProvider, WebhookEvent};
use crate::kit::{render, ApiError, City, PageError, Ui};
use crate::AppState;

pub(crate) const NAME: &str = "test";
pub(crate) const SIGNATURE_HEADER: &str = "machi-test-signature";
/// How old a signed webhook may be before it is refused (replays).
const TOLERANCE_SECONDS: i64 = 300;
/// How late a "late" webhook comes.
const LATE: Duration = Duration::from_secs(2);

pub(crate) struct TestProvider {
    store: Store,
    secret: tokio::sync::OnceCell<String>,
    client: reqwest::Client,
}

/// The body of a webhook.
#[derive(Debug, Serialize, Deserialize)]
struct Notification {
    event_id: String,
    session_id: String,
    order_id: String,
    tenant: String,
    outcome: String,
}

impl TestProvider {
    pub(crate) fn new(store: Store) -> Self {
        Self {
            store,
            secret: tokio::sync::OnceCell::new(),
            client: reqwest::Client::new(),
        }
    }

    async fn secret(&self) -> Result<&str, ApiError> {
        self.secret
            .get_or_try_init(|| self.store.secret("test-payments"))
            .await
            .map(String::as_str)
            .map_err(ApiError::from)
    }

    /// The signature header for a body sent at `time` (the scheme machi's own webhooks use).
    async fn sign(&self, time: i64, body: &[u8]) -> Result<String, ApiError> {
        Ok(machi_core::subscriptions::webhook_signature(
            self.secret().await?,
            time,
            body,
        ))
    }

    /// Sends one notification, retrying a few times as providers do.
    async fn notify(&self, charge: &TestCharge, event_id: &str, outcome: ProviderOutcome) {
        let notification = Notification {
            event_id: event_id.to_string(),
            session_id: charge.session_id.clone(),
            order_id: charge.order_id.clone(),
            tenant: charge.tenant_id.clone(),
            outcome: outcome.as_str().to_string(),
        };
        let Ok(body) = serde_json::to_vec(&notification) else {
            return;
        };
        for attempt in 0..4u32 {
            let time = chrono::Utc::now().timestamp();
            let Ok(signature) = self.sign(time, &body).await else {
                return;
            };
            let sent = self
                .client
                .post(&charge.webhook_url)
                .header("content-type", "application/json")
                .header(SIGNATURE_HEADER, signature)
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => return,
                Ok(response) => {
                    tracing::warn!(status = %response.status(), "test provider: webhook refused")
                }
                Err(error) => tracing::warn!(%error, "test provider: webhook not delivered"),
            }
            tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
        }
    }
}

fn mac(secret: &str) -> Result<Hmac<Sha256>, ApiError> {
    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(ApiError::internal)
}

fn checkout_path(session_id: &str) -> String {
    format!("/test-pay/{session_id}")
}

impl PaymentProvider for TestProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn start<'a>(&'a self, order: Order<'a>) -> BoxFuture<'a, Result<Checkout, ApiError>> {
        Box::pin(async move {
            let session_id = self
                .store
                .test_provider_open(&TestCharge {
                    session_id: format!("cs_test_{}", &random_token()[..32]),
                    order_id: order.payment_id.to_string(),
                    tenant_id: order.tenant.to_string(),
                    amount_yen: order.amount_yen,
                    description: order.description.to_string(),
                    return_url: order.return_url,
                    webhook_url: order.webhook_url,
                    outcome: ProviderOutcome::Open,
                })
                .await?;
            Ok(Checkout {
                redirect_url: checkout_path(&session_id),
                provider_ref: session_id,
            })
        })
    }

    fn checkout_url(&self, provider_ref: &str) -> String {
        checkout_path(provider_ref)
    }

    fn status<'a>(
        &'a self,
        provider_ref: &'a str,
    ) -> BoxFuture<'a, Result<ProviderOutcome, ApiError>> {
        Box::pin(async move {
            Ok(self
                .store
                .test_provider_charge(provider_ref)
                .await?
                .map_or(ProviderOutcome::Open, |c| c.outcome))
        })
    }

    fn verify_webhook<'a>(
        &'a self,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<WebhookEvent, ApiError>> {
        Box::pin(async move {
            let refused = |why: &str| {
                ApiError::new(
                    axum::http::StatusCode::UNAUTHORIZED,
                    "bad-signature",
                    "Bad signature",
                    format!("webhook refused: {why}"),
                )
            };
            let header = headers
                .get(SIGNATURE_HEADER)
                .and_then(|h| h.to_str().ok())
                .ok_or_else(|| refused("no signature"))?;
            let (mut time, mut signature) = (None, None);
            for part in header.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", value)) => time = value.parse::<i64>().ok(),
                    Some(("v1", value)) => signature = hex::decode(value).ok(),
                    _ => {}
                }
            }
            let (Some(time), Some(signature)) = (time, signature) else {
                return Err(refused("malformed signature header"));
            };
            if (chrono::Utc::now().timestamp() - time).abs() > TOLERANCE_SECONDS {
                return Err(refused("too old"));
            }
            let mut mac = mac(self.secret().await?)?;
            mac.update(format!("{time}.").as_bytes());
            mac.update(body);
            mac.verify_slice(&signature)
                .map_err(|_| refused("signature does not match"))?;
            let notification: Notification = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("webhook body: {e}")))?;
            let outcome = ProviderOutcome::parse(&notification.outcome)
                .ok_or_else(|| ApiError::bad_request("unknown outcome"))?;
            Ok(WebhookEvent {
                event_id: notification.event_id,
                tenant: notification.tenant,
                payment_id: notification.order_id,
                outcome,
            })
        })
    }
}

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/test-pay/{session}", get(checkout).post(settle))
}

#[derive(Template)]
#[template(path = "test_checkout.html")]
struct CheckoutPage {
    ui: Ui,
    city: String,
    back: String,
    session: String,
    amount: String,
    description: String,
    open: bool,
    return_url: String,
}

async fn charge_of(state: &AppState, session: &str) -> Result<TestCharge, PageError> {
    // Off unless the test provider is the deployment's: its pages settle payments at will.
    if state.payments.as_ref().map(|p| p.name()) != Some(NAME) {
        return Err(ApiError::not_found("no such page").into());
    }
    state
        .store
        .test_provider_charge(session)
        .await?
        .ok_or_else(|| {
            PageError::from(
                ApiError::not_found("no such checkout session")
                    .with_ja("この決済画面はありません。"),
            )
        })
}

async fn checkout(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(session): Path<String>,
) -> Result<Response, PageError> {
    let charge = charge_of(&state, &session).await?;
    Ok(crate::kit::no_store(render(&CheckoutPage {
        ui,
        city: crate::kit::city_name(ui, &city),
        back: checkout_path(&session),
        amount: charge.amount_yen.to_string(),
        description: charge.description,
        open: charge.outcome == ProviderOutcome::Open,
        return_url: charge.return_url,
        session,
    })))
}

#[derive(Deserialize)]
struct SettleForm {
    /// succeeded, failed or cancelled.
    outcome: String,
    /// on_time, late, twice or never.
    #[serde(default)]
    webhook: String,
}

/// The resident's choice at the test checkout: settle once, notify machi as asked, and send
/// the browser back.
async fn settle(
    State(state): State<AppState>,
    Path(session): Path<String>,
    Form(form): Form<SettleForm>,
) -> Result<Response, PageError> {
    let charge = charge_of(&state, &session).await?;
    let outcome = ProviderOutcome::parse(&form.outcome)
        .filter(|o| *o != ProviderOutcome::Open)
        .ok_or_else(|| {
            PageError::from(
                ApiError::bad_request("choose pay, fail or cancel")
                    .with_ja("支払う・失敗・取り消しのどれかを選んでください。"),
            )
        })?;
    let settled = state.store.test_provider_settle(&session, outcome).await?;
    if settled {
        let provider = TestProvider::new(state.store.clone());
        let event_id = format!("evt_{}", &random_token()[..24]);
        let mode = form.webhook;
        tokio::spawn(async move {
            match mode.as_str() {
                "never" => {}
                "late" => {
                    tokio::time::sleep(LATE).await;
                    provider.notify(&charge, &event_id, outcome).await;
                }
                "twice" => {
                    provider.notify(&charge, &event_id, outcome).await;
                    provider.notify(&charge, &event_id, outcome).await;
                }
                _ => provider.notify(&charge, &event_id, outcome).await,
            }
        });
    }
    let charge = charge_of(&state, &session).await?;
    Ok(crate::kit::see_other(&charge.return_url))
}
