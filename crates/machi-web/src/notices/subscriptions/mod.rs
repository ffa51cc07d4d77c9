//! えらべる化 for residents: subscribe to the notices that concern them without an account.
//!
//! - E-mail: double opt-in. The confirmation link opens a page with a button (a POST), so a
//!   mail scanner that follows links cannot confirm or unsubscribe anyone.
//! - Browser notifications: the page's script asks the browser for a push subscription with
//!   the city's VAPID key and posts it to `/api/v1/subscriptions`.
//! - Webhooks (for schools, 自治会, media): the address must answer a signed challenge first.
//! - LINE: following the city's official account subscribes (see `notices::line`).
//!
//! Every message carries the subscription's manage link; `POST …/unsubscribe` is the RFC 8058
//! one-click address, which needs no cookie, no CSRF token and no confirmation.

use askama::Template;

use crate::kit::areas::AreaPicker;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use machi_core::notices::Problem;
use machi_core::procedures::Localized;
use machi_core::subscriptions::{Channel, Choices};
use machi_store::mail::OutgoingMail;
use machi_store::subscriptions::{NewSubscription, Subscribed, Subscription};
use serde::Deserialize;

use crate::kit::{
    city_name, form_status, render, see_other, ActionPage, ApiError, City, PageError, SiteUrl, Ui,
};
use crate::AppState;

mod offer;
pub(crate) mod push;
mod verify;

use offer::{category_choices, check_areas, offer, Offer};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/subscribe", get(subscribe_page).post(subscribe))
        .route("/subscriptions/{id}", get(manage).post(change))
        .route(
            "/subscriptions/{id}/confirm",
            get(confirm_page).post(confirm),
        )
        .route(
            "/subscriptions/{id}/unsubscribe",
            get(unsubscribe_page).post(unsubscribe),
        )
        .route("/sw.js", get(push::service_worker))
        .route("/static/subscribe.js", get(push::subscribe_script))
}

pub(crate) fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/subscriptions", post(push::subscribe_browser))
        .route("/subscriptions/vapid-key", get(push::vapid_public_key))
}

#[derive(Template)]
#[template(path = "subscribe.html")]
struct SubscribePage {
    ui: Ui,
    city: String,
    back: String,
    categories: Vec<(String, String, bool)>,
    picker: AreaPicker,
    channel: String,
    email: String,
    webhook_url: String,
    line: bool,
    errors: Vec<(String, String)>,
}

/// The subscribe form as sent.
#[derive(Debug, Default)]
struct Typed {
    categories: Vec<String>,
    areas: String,
    channel: String,
    email: String,
    webhook_url: String,
}

impl Typed {
    fn read(pairs: &[(String, String)]) -> Self {
        let field = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        Self {
            categories: pairs
                .iter()
                .filter(|(k, _)| k == "category")
                .map(|(_, v)| v.clone())
                .collect(),
            areas: crate::kit::areas::sent_areas(pairs),
            channel: field("channel"),
            email: field("email"),
            webhook_url: field("webhook_url"),
        }
    }

    fn choices(&self) -> Choices {
        Choices::read(&self.categories, &self.areas)
    }
}

/// Problems as the page lists them: the field's id and the message in the page's language.
fn shown(ui: Ui, problems: Vec<Problem>) -> Vec<(String, String)> {
    problems
        .into_iter()
        .map(|(field, message)| (field.to_string(), ui.l(&message).to_string()))
        .collect()
}

fn subscribe_form(
    ui: Ui,
    city: &machi_store::Tenant,
    state: &AppState,
    typed: &Typed,
    errors: Vec<Problem>,
    offer: &Offer,
) -> Response {
    let page = SubscribePage {
        ui,
        city: city_name(ui, city),
        back: "/subscribe".into(),
        categories: category_choices(ui, offer, &typed.categories),
        picker: AreaPicker::new(
            "areas",
            &offer.areas,
            &typed.choices().areas,
            typed.areas.clone(),
        ),
        channel: if typed.channel.is_empty() {
            "email".into()
        } else {
            typed.channel.clone()
        },
        email: typed.email.clone(),
        webhook_url: typed.webhook_url.clone(),
        line: state.line.is_some(),
        errors: shown(ui, errors),
    };
    (form_status(&page.errors), render(&page)).into_response()
}

async fn subscribe_page(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
) -> Result<Response, PageError> {
    let typed = Typed {
        categories: vec!["bousai".into()],
        ..Typed::default()
    };
    let offer = offer(&state, &city).await?;
    Ok(subscribe_form(
        ui,
        &city,
        &state,
        &typed,
        Vec::new(),
        &offer,
    ))
}

async fn subscribe(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    SiteUrl(base): SiteUrl,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let typed = Typed::read(&pairs);
    let choices = typed.choices();
    let offer = offer(&state, &city).await?;
    let mut errors = choices.check(&offer.categories).err().unwrap_or_default();
    errors.extend(check_areas(&state, &city, &choices).await?);
    let channel =
        Channel::parse(&typed.channel).filter(|c| matches!(c, Channel::Email | Channel::Webhook));
    match channel {
        Some(Channel::Email) if typed.email.parse::<lettre::Address>().is_err() => errors.push((
            "email",
            Localized::new(
                "メールアドレスを正しく入力してください(例: taro@example.jp)",
                "enter a valid e-mail address (e.g. taro@example.jp)",
            ),
        )),
        Some(Channel::Webhook) => {
            if let Err(problem) = verify::check_address(&typed.webhook_url) {
                errors.push(("webhook_url", problem));
            }
        }
        Some(_) => {}
        None => errors.push((
            "channel",
            Localized::new(
                "受け取り方法を選んでください",
                "choose how to receive notices",
            ),
        )),
    }
    if !errors.is_empty() {
        return Ok(subscribe_form(ui, &city, &state, &typed, errors, &offer));
    }
    let new = NewSubscription {
        channel: channel.unwrap_or(Channel::Email),
        address: if channel == Some(Channel::Webhook) {
            typed.webhook_url.clone()
        } else {
            typed.email.to_lowercase()
        },
        secret: String::new(),
        choices,
        language: ui.code().into(),
        confirmed: false,
    };
    if new.channel == Channel::Webhook {
        return match verify::subscribe_webhook(&state, &city, ui, new, &base).await? {
            verify::Registered::Done(page) => Ok(page),
            verify::Registered::Refused(why) => Ok(subscribe_form(
                ui,
                &city,
                &state,
                &typed,
                vec![("webhook_url", why)],
                &offer,
            )),
        };
    }
    let city_label = city_name(ui, &city);
    state
        .store
        .subscribe(&city.id, &new, |outcome| {
            Some(opt_in_mail(ui, &city_label, &base, &new.address, outcome))
        })
        .await?;
    // The same page whether the address was new or not: it tells nobody who subscribes.
    Ok(message_page(
        ui,
        &city,
        ui.t("確認メールを送りました", "Check your e-mail"),
        &format!(
            "{}{}",
            new.address,
            ui.t(
                " あてに確認のメールを送りました。メールのリンクを開き、「登録する」を押すと配信が始まります(リンクの有効期限はありません。心当たりのないメールは破棄してください)。",
                ": we sent you an e-mail. Open its link and press \"Subscribe\" to start receiving notices."
            )
        ),
        None,
    ))
}

/// The opt-in mail, or for an address already subscribed, its manage link.
fn opt_in_mail(ui: Ui, city: &str, base: &str, to: &str, outcome: &Subscribed) -> OutgoingMail {
    let (subject, body) = match outcome {
        Subscribed::Existing(existing) if existing.confirmed => (
            ui.t("お知らせ配信の設定", "Your notice subscription"),
            format!(
                "{}\n\n{base}/subscriptions/{}\n",
                ui.t(
                    "このアドレスはすでに登録されています。受け取る内容の変更・配信停止はこちらから:",
                    "This address is already subscribed. Change what you receive or unsubscribe here:"
                ),
                existing.id
            ),
        ),
        Subscribed::Existing(subscription) | Subscribed::Created(subscription) => (
            ui.t("お知らせ配信の登録確認", "Confirm your notice subscription"),
            format!(
                "{}\n\n{base}/subscriptions/{}/confirm\n\n{}\n",
                ui.t(
                    "お知らせのメール配信を始めるには、次のリンクを開いて「登録する」を押してください。",
                    "To start receiving notices by e-mail, open this link and press \"Subscribe\":"
                ),
                subscription.id,
                ui.t(
                    "お心当たりのない場合は、このメールを破棄してください。登録はされません。",
                    "If you did not ask for this, ignore this e-mail: nothing is sent without it."
                ),
            ),
        ),
    };
    OutgoingMail {
        recipient: to.to_string(),
        subject: format!("[{city}] {subject}"),
        body,
    }
}

#[derive(Template)]
#[template(path = "subscription_message.html")]
struct MessagePage {
    ui: Ui,
    city: String,
    back: String,
    heading: String,
    text: String,
    /// A secret to show once (a webhook's signing secret).
    secret: Option<String>,
}

pub(crate) fn message_page(
    ui: Ui,
    city: &machi_store::Tenant,
    heading: &str,
    text: &str,
    secret: Option<String>,
) -> Response {
    render(&MessagePage {
        ui,
        city: city_name(ui, city),
        back: "/subscribe".into(),
        heading: heading.into(),
        text: text.into(),
        secret,
    })
}

#[derive(Template)]
#[template(path = "subscription.html")]
struct ManagePage {
    ui: Ui,
    city: String,
    back: String,
    id: String,
    channel: String,
    address: String,
    confirmed: bool,
    categories: Vec<(String, String, bool)>,
    picker: AreaPicker,
    saved: bool,
    errors: Vec<(String, String)>,
}

async fn found(
    state: &AppState,
    city: &machi_store::Tenant,
    ui: Ui,
    id: &str,
) -> Result<Subscription, PageError> {
    state
        .store
        .subscription(&city.id, id)
        .await?
        .ok_or_else(|| {
            PageError::from(ApiError::not_found(ui.t(
                "この配信登録はありません(配信を停止した場合を含みます)。",
                "There is no such subscription (it may have been cancelled).",
            )))
        })
}

fn manage_page(
    ui: Ui,
    city: &machi_store::Tenant,
    subscription: &Subscription,
    typed: Option<&Typed>,
    saved: bool,
    errors: Vec<Problem>,
    offer: &Offer,
) -> Response {
    let chosen = |id: &str| match typed {
        Some(typed) => typed.categories.iter().any(|c| c == id),
        None => subscription.choices.categories.iter().any(|c| c == id),
    };
    let page = ManagePage {
        ui,
        city: city_name(ui, city),
        back: format!("/subscriptions/{}", subscription.id),
        id: subscription.id.clone(),
        channel: ui.l(&subscription.channel.label()).to_string(),
        address: shown_address(subscription),
        confirmed: subscription.confirmed,
        categories: offer
            .categories
            .iter()
            .map(|c| (c.id.clone(), ui.l(&c.label).to_string(), chosen(&c.id)))
            .collect(),
        picker: match typed {
            Some(typed) => AreaPicker::new(
                "areas",
                &offer.areas,
                &typed.choices().areas,
                typed.areas.clone(),
            ),
            None => AreaPicker::new(
                "areas",
                &offer.areas,
                &subscription.choices.areas,
                subscription.choices.areas.join("、"),
            ),
        },
        saved,
        errors: shown(ui, errors),
    };
    (form_status(&page.errors), render(&page)).into_response()
}

/// The address as the manage page shows it: e-mail and webhooks in full (their owner has the
/// link), a push endpoint or LINE id only as what it is.
fn shown_address(subscription: &Subscription) -> String {
    match subscription.channel {
        Channel::Email | Channel::Webhook => subscription.address.clone(),
        Channel::WebPush => subscription
            .address
            .split('/')
            .nth(2)
            .unwrap_or_default()
            .to_string(),
        Channel::Line => "LINE".into(),
    }
}

#[derive(Deserialize)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

async fn manage(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<SavedQuery>,
) -> Result<Response, PageError> {
    let subscription = found(&state, &city, ui, &id).await?;
    let offer = offer(&state, &city).await?;
    Ok(manage_page(
        ui,
        &city,
        &subscription,
        None,
        query.saved.is_some(),
        Vec::new(),
        &offer,
    ))
}

async fn change(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let subscription = found(&state, &city, ui, &id).await?;
    let typed = Typed::read(&pairs);
    let choices = typed.choices();
    let offer = offer(&state, &city).await?;
    let mut errors = choices.check(&offer.categories).err().unwrap_or_default();
    errors.extend(check_areas(&state, &city, &choices).await?);
    if !errors.is_empty() {
        return Ok(manage_page(
            ui,
            &city,
            &subscription,
            Some(&typed),
            false,
            errors,
            &offer,
        ));
    }
    state
        .store
        .change_subscription(&city.id, &id, &choices)
        .await?;
    Ok(see_other(&format!("/subscriptions/{id}?saved=1")))
}

async fn confirm_page(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let subscription = found(&state, &city, ui, &id).await?;
    Ok(render(&ActionPage {
        ui,
        city: city_name(ui, &city),
        back: format!("/subscriptions/{id}/confirm"),
        heading: ui.t("配信の登録", "Confirm your subscription").into(),
        text: format!(
            "{} {}",
            subscription.address,
            ui.t(
                "へのお知らせ配信を登録します。",
                "will receive the notices chosen."
            )
        ),
        action: format!("/subscriptions/{id}/confirm"),
        button: ui.t("登録する", "Subscribe").into(),
    }))
}

async fn confirm(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    found(&state, &city, ui, &id).await?;
    state.store.confirm_subscription(&city.id, &id).await?;
    Ok(see_other(&format!("/subscriptions/{id}?saved=1")))
}

async fn unsubscribe_page(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    found(&state, &city, ui, &id).await?;
    Ok(render(&ActionPage {
        ui,
        city: city_name(ui, &city),
        back: format!("/subscriptions/{id}/unsubscribe"),
        heading: ui.t("配信の停止", "Unsubscribe").into(),
        text: ui
            .t(
                "このお知らせ配信を停止します。登録の情報は削除されます。",
                "This ends the subscription and deletes it.",
            )
            .into(),
        action: format!("/subscriptions/{id}/unsubscribe"),
        button: ui.t("配信を停止する", "Unsubscribe").into(),
    }))
}

/// One-click unsubscribe (RFC 8058) and the manage page's button. A mail provider posts
/// `List-Unsubscribe=One-Click` and reads only the status; a person gets a page.
async fn unsubscribe(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    body: String,
) -> Result<Response, PageError> {
    state.store.unsubscribe(&city.id, &id).await?;
    if body.trim() == "List-Unsubscribe=One-Click" {
        return Ok((StatusCode::OK, "unsubscribed\n").into_response());
    }
    Ok(message_page(
        ui,
        &city,
        ui.t("配信を停止しました", "You are unsubscribed"),
        ui.t(
            "お知らせの配信を停止し、登録を削除しました。もう一度受け取るには、改めて登録してください。",
            "No more notices will be sent, and the subscription is deleted. Subscribe again at any time.",
        ),
        None,
    ))
}
