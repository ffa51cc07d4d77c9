//! 施設の使用料: a booking's fee paid online, found with the booking's number and the code from
//! its confirmation e-mail. Paying a lottery win confirms it (本予約).

use machi_store::StoreError;

use super::Charge;
use crate::kit::{ApiError, Ui};
use crate::AppState;

/// The fee of the booking `number`, when the code is its own and the fee can be paid now.
pub(super) async fn booking_fee(
    state: &AppState,
    city: &machi_store::Tenant,
    ui: Ui,
    number: &str,
    code: &str,
) -> Result<Charge, ApiError> {
    let not_found = || {
        ApiError::not_found(ui.t(
            "その番号とコードの予約はありません。",
            "There is no booking with that number and code.",
        ))
    };
    if code.is_empty() {
        return Err(not_found());
    }
    let booking = state
        .store
        .booking_with_code(&city.id, number, code)
        .await?
        .ok_or_else(not_found)?;
    let service = state
        .store
        .service(&city.id, &booking.service_id)
        .await?
        .ok_or_else(not_found)?;
    if let Some(why) = booking.why_not_payable_online(&service) {
        return Err(StoreError::conflict(why.ja, why.en).into());
    }
    Ok(Charge {
        booking: true,
        number: booking.number.clone(),
        amount_yen: booking.fee(&service).unwrap_or_default(),
        description: format!(
            "{} 使用料（予約番号 {}・{}）",
            service.name.ja, booking.number, city.name_ja
        ),
    })
}
