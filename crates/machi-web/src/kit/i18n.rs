//! Page language: Japanese by default, English on request. The choice is kept in a cookie
//! set by `/lang/{ja|en}`, so every link and form works without carrying it along.

use axum::extract::FromRequestParts;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use machi_core::procedures::Localized;
use serde::Serialize;
use utoipa::ToSchema;

/// The language a page is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ui {
    pub en: bool,
}

impl Ui {
    /// Picks the Japanese or English text.
    pub fn t<'a>(&self, ja: &'a str, en: &'a str) -> &'a str {
        if self.en {
            en
        } else {
            ja
        }
    }

    /// Picks from localized data, falling back to Japanese.
    pub fn l<'a>(&self, text: &'a Localized) -> &'a str {
        self.name(&text.ja, &text.en)
    }

    /// Picks between a Japanese and an English name, falling back to Japanese when there is no
    /// English one (the same rule as [`Localized::get`], for names stored as two fields).
    pub fn name<'a>(&self, ja: &'a str, en: &'a str) -> &'a str {
        if self.en && !en.is_empty() {
            en
        } else {
            ja
        }
    }

    pub fn code(&self) -> &'static str {
        if self.en {
            "en"
        } else {
            "ja"
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ui {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let en = cookie(&parts.headers, "lang") == Some("en");
        Ok(Ui { en })
    }
}

/// The value of the cookie `name`, if the request has it.
pub(crate) fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Text in Japanese and English.
#[derive(Debug, Serialize, ToSchema)]
pub struct Text {
    pub ja: String,
    pub en: String,
}

impl From<&Localized> for Text {
    fn from(l: &Localized) -> Self {
        Self {
            ja: l.ja.clone(),
            en: l.en.clone(),
        }
    }
}
