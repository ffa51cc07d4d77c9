//! Wording a city may set for itself where the law leaves it to the city, read with machi's
//! default (with the city's name) where it set none.

use machi_core::procedures::Localized;
use machi_store::Tenant;

use crate::AppState;

/// The key of the 教示 of a refusal (行政不服審査法 第82条).
pub(crate) const APPEAL_NOTICE: &str = "appeal_notice";

/// machi's default 教示 for `city`.
pub(crate) fn default_appeal_notice(city: &Tenant) -> Localized {
    let en = if city.name_en.is_empty() {
        &city.name_ja
    } else {
        &city.name_en
    };
    machi_core::applications::appeal_notice(&city.name_ja, en)
}

/// The 教示 of a refusal in `city`: its own wording, or machi's default.
pub(crate) async fn appeal_notice(state: &AppState, city: &Tenant) -> Localized {
    match state.store.city_text(&city.id, APPEAL_NOTICE).await {
        Ok(Some(own)) => own,
        Ok(None) => default_appeal_notice(city),
        Err(error) => {
            tracing::warn!(%error, "the city's 教示 could not be read; the default is used");
            default_appeal_notice(city)
        }
    }
}
