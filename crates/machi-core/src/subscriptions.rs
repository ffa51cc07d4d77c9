//! えらべる化: a resident chooses which notices reach them (categories and areas) and how
//! (a channel). No account is needed; the subscription itself is the only record.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::notices::{check_categories, problems_or_ok, read_areas, Category, Problem, Urgency};
use crate::procedures::Localized;

/// How a notice reaches a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// E-mail over SMTP, confirmed by double opt-in.
    Email,
    /// Web Push (RFC 8030) with VAPID (RFC 8292) and an encrypted payload (RFC 8291).
    WebPush,
    /// The city's LINE official account (Messaging API push and multicast).
    Line,
    /// An HTTPS POST signed with HMAC-SHA256, for organisations (schools, 自治会, media).
    Webhook,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Email,
        Channel::WebPush,
        Channel::Line,
        Channel::Webhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::WebPush => "webpush",
            Channel::Line => "line",
            Channel::Webhook => "webhook",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == input)
    }

    pub fn label(self) -> Localized {
        let (ja, en) = match self {
            Channel::Email => ("メール", "E-mail"),
            Channel::WebPush => ("ブラウザ通知", "Browser notifications"),
            Channel::Line => ("LINE", "LINE"),
            Channel::Webhook => ("Webhook", "Webhook"),
        };
        Localized::new(ja, en)
    }
}

/// Queue order of a delivery: lower goes first, so an emergency jumps every queue.
pub fn priority(urgency: Urgency) -> i64 {
    match urgency {
        Urgency::Emergency => 0,
        Urgency::Important => 2,
        Urgency::Normal => 3,
    }
}

/// Queue order of a message to one person (status change, sign-in link): after emergencies,
/// before bulk notices, so a sign-in link is not stuck behind a newsletter.
pub const DIRECT_PRIORITY: i64 = 1;

/// What a subscriber wants to hear about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Choices {
    pub categories: Vec<String>,
    /// 町丁目; empty means the whole city.
    pub areas: Vec<String>,
}

/// Most areas one subscription may list (a district's 町丁目, not the whole city one by one).
const MAX_AREAS: usize = 30;

impl Choices {
    /// Reads the categories ticked and the areas typed, without repeats.
    pub fn read(categories: &[String], areas: &str) -> Self {
        let mut choices = Choices::default();
        for category in categories {
            if !choices.categories.contains(category) {
                choices.categories.push(category.clone());
            }
        }
        choices.areas = read_areas(areas);
        choices
    }

    /// Problems that keep the choices from being saved, each naming the field; `known` are
    /// the city's categories.
    pub fn check(&self, known: &[Category]) -> Result<(), Vec<Problem>> {
        let mut problems = Vec::new();
        check_categories(
            &self.categories,
            known,
            Localized::new(
                "受け取る分類を1つ以上選んでください",
                "choose at least one category",
            ),
            &mut problems,
        );
        if self.areas.len() > MAX_AREAS {
            problems.push((
                "areas",
                Localized::new(
                    "地域は30か所までです(空欄なら市内全域)",
                    "at most 30 areas (leave it empty for the whole city)",
                ),
            ));
        }
        if self
            .areas
            .iter()
            .any(|a| a.chars().count() > 40 || a.contains('|'))
        {
            problems.push((
                "areas",
                Localized::new("地域名が正しくありません", "an area name is not valid"),
            ));
        }
        problems_or_ok(problems)
    }
}

/// What a browser's push subscription gives besides its endpoint (RFC 8291), kept as the
/// subscription's secret so that the worker can encrypt for that browser.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrowserKeys {
    /// The browser's P-256 public key, uncompressed, base64url.
    pub p256dh: String,
    /// The 16-byte authentication secret, base64url.
    pub auth: String,
}

/// A LINE official account's Messaging API channel.
#[derive(Debug, Clone)]
pub struct LineSettings {
    /// `https://api.line.me` (another address only for tests).
    pub api_url: String,
    /// The channel access token (long-lived or v2.1).
    pub channel_token: String,
    /// The channel secret, which signs the webhook events LINE sends us (follow, unfollow).
    pub channel_secret: String,
}

/// The `Machi-Signature` header value for `body` sent at `timestamp`: `t=<unix seconds>,v1=<hex
/// HMAC-SHA256 of "<t>.<body>">`. The payment test provider signs its webhooks the same way.
pub fn webhook_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

parsed_from_text!(Channel, "channel");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_are_split_cleaned_and_deduplicated() {
        let choices = Choices::read(
            &["bousai".into(), "bousai".into()],
            "北町、 南町,北町\n１丁目",
        );
        assert_eq!(choices.categories, vec!["bousai"]);
        assert_eq!(choices.areas, vec!["北町", "南町", "1丁目"]);
        assert_eq!(choices.check(&crate::notices::default_categories()), Ok(()));
    }

    #[test]
    fn choices_need_a_known_category() {
        assert_eq!(
            Choices::read(&[], "")
                .check(&crate::notices::default_categories())
                .unwrap_err()[0]
                .0,
            "categories"
        );
        assert!(Choices::read(&["weather".into()], "")
            .check(&crate::notices::default_categories())
            .is_err());
        assert!(Choices::read(&["gomi".into()], "a|b")
            .check(&crate::notices::default_categories())
            .is_err());
    }

    #[test]
    fn emergencies_go_first() {
        assert!(priority(Urgency::Emergency) < DIRECT_PRIORITY);
        assert!(DIRECT_PRIORITY < priority(Urgency::Important));
        assert!(priority(Urgency::Important) < priority(Urgency::Normal));
        assert_eq!(Channel::parse("webpush"), Some(Channel::WebPush));
    }

    #[test]
    fn the_signature_covers_the_time_and_the_body() {
        let a = webhook_signature("secret", 1_700_000_000, b"{}");
        assert!(a.starts_with("t=1700000000,v1="));
        assert_eq!(a.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(a, webhook_signature("secret", 1_700_000_001, b"{}"));
        assert_ne!(a, webhook_signature("secret", 1_700_000_000, b"{ }"));
        assert_ne!(a, webhook_signature("other", 1_700_000_000, b"{}"));
    }
}
