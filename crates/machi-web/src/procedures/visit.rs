//! 来庁予約 from a procedure: a procedure that asks for a visit (転入予約) leads the applicant
//! from the receipt and status pages to the booking of a slot at its counter, and shows the
//! slot once booked.

use machi_core::procedures::ProcedureDefinition;
use machi_core::receipt::AccessCode;
use machi_store::StoreError;

use crate::kit::Ui;
use crate::AppState;

/// The visit as the pages show it.
pub(super) struct Visit {
    pub service: String,
    /// Where to book it, while not booked (none when the page cannot prove the application).
    pub href: Option<String>,
    /// Booked: (when, booking number).
    pub booked: Option<(String, String)>,
}

/// The visit `definition` asks for, for application `receipt`; `code` (when the page has the
/// access code) makes the link that books it.
pub(super) async fn visit(
    state: &AppState,
    tenant: &str,
    ui: Ui,
    definition: &ProcedureDefinition,
    receipt: &str,
    code: Option<&AccessCode>,
) -> Result<Option<Visit>, StoreError> {
    let Some(service_id) = &definition.booking else {
        return Ok(None);
    };
    let Some(service) = state.store.service(tenant, service_id).await? else {
        return Ok(None);
    };
    let booked = state
        .store
        .booking_for_application(tenant, receipt)
        .await?
        .map(|b| {
            let when = format!(
                "{} {}–{}",
                machi_core::wareki::format_wareki(b.starts.date()),
                b.starts.format("%H:%M"),
                b.ends.format("%H:%M")
            );
            (when, b.number)
        });
    Ok(Some(Visit {
        service: ui.l(&service.name).to_string(),
        href: code.filter(|_| booked.is_none()).map(|code| {
            format!(
                "/reservations/{}?application={receipt}&key={}",
                service.id,
                code.booking_key()
            )
        }),
        booked,
    }))
}
