//! The e-mail that tells an applicant their application arrived (the form promises
//! 「受付や審査の状況をお知らせします」): the receipt number, what happens next and when, the fee,
//! and a link to the status page with the receipt number filled in. The access code is never in
//! it: the link asks for the code the receipt page showed, so a forwarded or intercepted mail
//! opens nothing.

use machi_core::procedures::display::applicant_email;
use machi_core::procedures::CompiledForm;
use machi_store::mail::OutgoingMail;
use machi_store::{ProcedureRecord, Tenant, RECEIPT_PLACEHOLDER};
use serde_json::{Map, Value};

/// The acknowledgement of an application with `answers`, if the applicant gave an address.
pub(super) fn acknowledgement(
    site: &str,
    city: &Tenant,
    procedure: &ProcedureRecord,
    form: &CompiledForm,
    answers: &Map<String, Value>,
) -> Option<OutgoingMail> {
    let recipient = applicant_email(form, answers)?;
    let definition = &procedure.definition;
    let receipt = RECEIPT_PLACEHOLDER;
    let department = &definition.department;
    let department_en = if department.en.is_empty() {
        &department.ja
    } else {
        &department.en
    };
    let name_en = definition.name.get("en");
    let city_en = if city.name_en.is_empty() {
        &city.name_ja
    } else {
        &city.name_en
    };
    let (days_ja, days_en) = match definition.processing_days {
        Some(days) => (
            format!("結果が出るまでの標準的な期間（標準処理期間）は{days}日です。"),
            format!("A decision usually takes {days} days."),
        ),
        None => (String::new(), String::new()),
    };
    let (fee_ja, fee_en) = match definition.fee(answers) {
        Some(fee) if fee.total > 0 => {
            let text = fee.text();
            (
                format!("\n手数料は{}です。お支払いがまだの場合は、申請状況のページからお支払いください。\n", text.ja),
                format!("\nThe fee is {}. If you have not paid it yet, you can from the status page.\n", text.get("en")),
            )
        }
        Some(fee) => {
            let text = fee.text();
            (
                format!("\n手数料: {}\n", text.ja),
                format!("\nFee: {}\n", text.get("en")),
            )
        }
        None => (String::new(), String::new()),
    };
    let status_link = format!("{site}/status?receipt_number={receipt}");
    let body = format!(
        "{city_ja}です。次の申請を受け付けました。\n\n\
         手続：{name_ja}\n受付番号：{receipt}\n\n\
         これから{department_ja}が内容を確認します。{days_ja}\n\
         審査の結果や、内容の補正をお願いするときは、このアドレスにメールでお知らせします。\n{fee_ja}\n\
         申請状況は次のページで確認できます。申請完了画面に表示された確認コードを入力してください。\n\
         {status_link}\n\n\
         このメールは送信専用です。心当たりがない場合は、{city_ja}{department_ja}にお問い合わせください。\n\n\
         ---\n\
         {city_en} has received your application.\n\n\
         Procedure: {name_en}\nReceipt number: {receipt}\n\n\
         The {department_en} will now check it. {days_en}\n\
         We will e-mail you at this address with the decision, or if anything needs correcting.\n{fee_en}\n\
         You can check it on this page with the access code shown when you applied:\n\
         {status_link}\n\n\
         This address does not take replies. If you did not apply, please contact the {department_en}, {city_en}.\n",
        city_ja = city.name_ja,
        name_ja = definition.name.ja,
        department_ja = department.ja,
    );
    Some(OutgoingMail {
        recipient,
        subject: format!(
            "【{}】申請を受け付けました（受付番号 {receipt}）",
            city.name_ja
        ),
        body,
    })
}
