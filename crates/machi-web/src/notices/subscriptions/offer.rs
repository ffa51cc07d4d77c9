//! What the subscription forms offer to choose from — the city's categories and its 町字 — and
//! the check that the areas chosen are the city's.

use machi_core::areas::Area;
use machi_core::notices::{Category, Problem};
use machi_core::subscriptions::Choices;

use crate::kit::{PageError, Ui};
use crate::AppState;

/// What a city offers residents to choose from: its categories and its 町字.
pub(super) struct Offer {
    pub(super) categories: Vec<Category>,
    pub(super) areas: Vec<Area>,
}

pub(super) async fn offer(
    state: &AppState,
    city: &machi_store::Tenant,
) -> Result<Offer, PageError> {
    Ok(Offer {
        categories: state.store.notice_categories(&city.id).await?,
        areas: state.store.areas(&city.id).await?,
    })
}

/// The categories of `offer` as checkboxes: (id, name, ticked).
pub(super) fn category_choices(
    ui: Ui,
    offer: &Offer,
    chosen: &[String],
) -> Vec<(String, String, bool)> {
    offer
        .categories
        .iter()
        .map(|c| {
            (
                c.id.clone(),
                ui.l(&c.label).to_string(),
                chosen.contains(&c.id),
            )
        })
        .collect()
}

/// The choices' areas the city's 町字 list does not have, as a problem of the form.
pub(super) async fn check_areas(
    state: &AppState,
    city: &machi_store::Tenant,
    choices: &Choices,
) -> Result<Option<Problem>, PageError> {
    let unknown = state.store.unknown_areas(&city.id, &choices.areas).await?;
    Ok(
        (!unknown.is_empty())
            .then(|| ("areas", crate::kit::areas::unknown_areas_message(&unknown))),
    )
}
