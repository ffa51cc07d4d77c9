//! Who books, and what they tell the city: checked the same way on the page and in the API.

use crate::procedures::Localized;

/// The person booking (or the group's contact).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Booker {
    pub name: String,
    pub email: String,
    pub phone: String,
    /// What the resident wants to talk about, or what the room is for.
    pub note: String,
}

impl Booker {
    /// The booker as typed, width-folded and trimmed, or each field's problem (field name,
    /// message). The e-mail is required: the booking's confirmation and its cancel link go
    /// there.
    pub fn checked(
        name: &str,
        email: &str,
        phone: &str,
        note: &str,
    ) -> Result<Self, Vec<(&'static str, Localized)>> {
        Self::check(name, email, phone, note, true)
    }

    /// A visitor booked by counter staff: the e-mail may be left out (the visitor gets the
    /// booking number on paper), but one given must be valid.
    pub fn checked_at_counter(
        name: &str,
        email: &str,
        phone: &str,
        note: &str,
    ) -> Result<Self, Vec<(&'static str, Localized)>> {
        Self::check(name, email, phone, note, false)
    }

    fn check(
        name: &str,
        email: &str,
        phone: &str,
        note: &str,
        email_required: bool,
    ) -> Result<Self, Vec<(&'static str, Localized)>> {
        let clean = |text: &str| crate::text::strip_control_chars(text.trim());
        let booker = Self {
            name: clean(name),
            email: crate::text::fold_width(&clean(email)),
            phone: crate::text::fold_digits_and_dashes(&clean(phone)),
            note: crate::text::strip_control_chars(note.trim()),
        };
        let mut problems = Vec::new();
        let name_length = booker.name.chars().count();
        if name_length == 0 || name_length > 100 {
            problems.push((
                "name",
                Localized::new(
                    "お名前を100文字以内で入力してください",
                    "enter your name, at most 100 characters",
                ),
            ));
        }
        let email_ok = booker.email.len() <= 254
            && !booker.email.contains(char::is_whitespace)
            && booker
                .email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
        if !email_ok && (email_required || !booker.email.is_empty()) {
            problems.push((
                "email",
                Localized::new(
                    "メールアドレスを正しく入力してください（予約の確認と取消の案内を送ります）",
                    "enter a valid e-mail address (the confirmation and cancel link go there)",
                ),
            ));
        }
        let phone_ok = booker.phone.is_empty()
            || (booker.phone.len() <= 20
                && booker.phone.starts_with('0')
                && booker.phone.chars().all(|c| c.is_ascii_digit() || c == '-'));
        if !phone_ok {
            problems.push((
                "phone",
                Localized::new(
                    "電話番号は 06-1234-5678 のように数字とハイフンで入力してください",
                    "enter the phone number in digits and hyphens, like 06-1234-5678",
                ),
            ));
        }
        if booker.note.chars().count() > 500 {
            problems.push((
                "note",
                Localized::new(
                    "ご用件は500文字以内で入力してください",
                    "the note can be at most 500 characters",
                ),
            ));
        }
        if problems.is_empty() {
            Ok(booker)
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Booker;

    #[test]
    fn a_booker_is_folded_and_checked_field_by_field() {
        let booker = Booker::checked(
            " 山田 花子 ",
            "ｈａｎａｋｏ@example.jp",
            "０６ー１２３４ー５６７８",
            "",
        )
        .unwrap();
        assert_eq!(booker.email, "hanako@example.jp");
        assert_eq!(booker.phone, "06-1234-5678");
        let problems =
            Booker::checked("", "not-an-address", "phone", &"あ".repeat(501)).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["name", "email", "phone", "note"]);
    }
}
