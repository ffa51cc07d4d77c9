//! The kit: what every room of machi-web needs and no room owns. Errors and responses
//! (problem+json and the error page from one [`ApiError`]), rendering, downloads and redirects,
//! security (Origin/CSRF, constant-time comparison, cookies), the public URL from
//! configuration, staff and resident sessions, form and file reading, the city and language of
//! a request, times in JST, and operations (health, metrics, request ids, security headers).
//!
//! Rooms import the kit and the lower crates (machi-core, machi-store), never each other; what
//! two rooms share moves here when it is about HTTP, or down when it is about the city's work.

pub(crate) mod areas;
pub(crate) mod download;
pub(crate) mod emergency;
pub(crate) mod form;
pub(crate) mod i18n;
pub(crate) mod markdown;
pub(crate) mod numbers;
pub(crate) mod ops;
pub(crate) mod page;
pub(crate) mod problem;
pub(crate) mod push;
pub(crate) mod resident;
pub(crate) mod search;
pub(crate) mod security;
pub(crate) mod site;
pub(crate) mod staff;
pub(crate) mod tenant;
pub(crate) mod texts;
pub(crate) mod time;
pub(crate) mod url;

pub(crate) use download::{attachment, named_download, percent_encode, percent_encode_except};
pub(crate) use form::{clean_filename, read_form, Upload};
pub(crate) use i18n::{cookie, Text, Ui};
pub(crate) use markdown::render_markdown;
pub(crate) use numbers::thousands;
pub(crate) use page::{
    city_name, form_status, local_path, no_store, render, see_other, ActionPage, PageError,
};
pub(crate) use problem::{idempotency_key, without_control_chars, ApiError, Problem};
pub(crate) use search::search_words;
pub(crate) use security::{
    bearer_token, check_origin, constant_time_eq, cookie_header, is_https, is_json, seal,
    staff_cookie, unseal, ClientAddr,
};
pub(crate) use staff::{Chrome, Signed, MULTIPART_LIMIT};
pub(crate) use tenant::City;
pub(crate) use time::{jst_day, jst_stored, jst_text};
pub use url::PublicUrl;
pub(crate) use url::SiteUrl;
