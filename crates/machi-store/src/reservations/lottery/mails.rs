//! The lottery's e-mails, queued in the transaction of what they tell: an application taken,
//! a win (当選, with the link that confirms it), a draw not won, a win released.

use machi_core::reservations::lottery::Wish;
use machi_core::reservations::{Booker, Service};
use machi_core::wareki::format_wareki;

use super::{CityLinks, LotteryApplication};
use crate::mail::OutgoingMail;
use crate::reservations::{Booking, Registration};

fn wish_line(service: &Service, rank: usize, wish: &Wish) -> String {
    let place = service
        .resource(&wish.resource)
        .map_or(wish.resource.as_str(), |r| r.name.ja.as_str());
    format!(
        "第{}希望: {} {} {}\n",
        rank + 1,
        format_wareki(wish.start.date()),
        wish.start.format("%H:%M"),
        place
    )
}

pub(super) fn applied(
    links: &CityLinks<'_>,
    service: &Service,
    registration: &Registration,
    application: &LotteryApplication,
    replaced: bool,
) -> OutgoingMail {
    let what = if replaced { "変更" } else { "受付" };
    let wishes: String = application
        .wishes
        .iter()
        .enumerate()
        .map(|(rank, wish)| wish_line(service, rank, wish))
        .collect();
    OutgoingMail {
        recipient: registration.contact.email.clone(),
        subject: format!(
            "【{}】{}の抽選申込を{}しました（{}）",
            links.city_name, service.name.ja, what, application.number
        ),
        body: format!(
            "{} 様\n\n{}（{}分）の抽選申込を{}しました。\n\n申込番号: {}\n登録番号: {}\n{}\n\
             申込期間中は、同じ登録番号でもう一度申し込むと希望を変えられます。\n\
             抽選の結果は、申込期間が終わったあとメールでお知らせします。\n\
             抽選の方法と結果: {}/reservations/{}/lottery\n\n{}\n",
            registration.name,
            service.name.ja,
            application.month,
            what,
            application.number,
            registration.number,
            wishes,
            links.base,
            service.id,
            links.city_name
        ),
    }
}

pub(super) fn won(
    links: &CityLinks<'_>,
    service: &Service,
    booking: &Booking,
    cancel_code: &str,
) -> OutgoingMail {
    let confirm_by = booking
        .confirm_by
        .map(|by| format!("{} {}", format_wareki(by.date()), by.format("%H:%M")))
        .unwrap_or_default();
    let how = if service
        .lottery
        .as_ref()
        .is_some_and(|rules| rules.confirm_at_counter)
    {
        "期限までに窓口で本予約の手続（使用料のお支払い）をしてください。"
    } else {
        "期限までに、次のページで「本予約にする」を押してください。"
    };
    let (place, _) = service.place_and_meeting(&booking.resource_id, &booking.number);
    OutgoingMail {
        recipient: booking.booker.email.clone(),
        subject: format!(
            "【{}】{}の抽選に当選しました（予約番号 {}）",
            links.city_name, service.name.ja, booking.number
        ),
        body: format!(
            "{} 様\n\n抽選の結果、次の枠に当選しました（仮予約）。\n\n予約番号: {}\n日時: {} {}–{}\n\
             場所: {}\n確定の期限: {}\n\n{}\n{}/bookings/{}?code={}\n\n\
             期限までに確定がないときは、次に待っている方にお譲りします。\n\n{}\n",
            booking.booker.name,
            booking.number,
            format_wareki(booking.starts.date()),
            booking.starts.format("%H:%M"),
            booking.ends.format("%H:%M"),
            place,
            confirm_by,
            how,
            links.base,
            booking.number,
            cancel_code,
            links.city_name
        ),
    }
}

pub(super) fn not_won(
    links: &CityLinks<'_>,
    service: &Service,
    month: &str,
    application: &str,
    contact: &Booker,
) -> OutgoingMail {
    OutgoingMail {
        recipient: contact.email.clone(),
        subject: format!(
            "【{}】{}（{}分）の抽選結果（申込番号 {}）",
            links.city_name, service.name.ja, month, application
        ),
        body: format!(
            "{} 様\n\n残念ながら、今回の抽選ではご希望の枠に当選しませんでした。\n\
             ご希望の枠に空きが出たときは、順番に繰り上げてメールでお知らせします。\n\
             空いている枠は、先着順で予約できます: {}/reservations/{}\n\n{}\n",
            contact.name, links.base, service.id, links.city_name
        ),
    }
}

pub(super) fn released(links: &CityLinks<'_>, booking: &Booking) -> OutgoingMail {
    OutgoingMail {
        recipient: booking.booker.email.clone(),
        subject: format!(
            "【{}】確定の期限が過ぎたため当選を取り消しました（予約番号 {}）",
            links.city_name, booking.number
        ),
        body: format!(
            "{} 様\n\n予約番号 {}（{} {}）は、確定の期限までに本予約の手続がなかったため、\
             取り消しました。\n\n{}\n",
            booking.booker.name,
            booking.number,
            format_wareki(booking.starts.date()),
            booking.starts.format("%H:%M"),
            links.city_name
        ),
    }
}
