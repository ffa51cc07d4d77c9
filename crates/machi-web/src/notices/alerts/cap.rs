//! 警報 as CAP 1.2 (OASIS Common Alerting Protocol, `urn:oasis:names:tc:emergency:cap:1.2`):
//! one notice becomes one `<alert>` with an `<info>` per language, and the current alerts an
//! Atom feed in the "CAP feed" form that alerting hubs poll.
//!
//! Policy: a message, once out, never changes under the same identifier. The first message of
//! a notice is named after the minute it was published in; an edit made later is a new message
//! (`Update`) that names the first in `<references>`. Every text is escaped by quick-xml, and
//! characters XML 1.0 cannot carry are dropped, so staff input never breaks the document.

use std::borrow::Cow;
use std::io;

use chrono::{DateTime, Duration, Timelike, Utc};
use machi_core::notices::{category_label, Category};

mod grading;

use grading::{cap_category, evacuation_grade, grading};
use machi_store::notices::Notice;
use machi_store::Tenant;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

/// The CAP 1.2 namespace.
pub(crate) const CAP_NS: &str = "urn:oasis:names:tc:emergency:cap:1.2";
const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

/// An edit this soon after publication is the same message: creating a notice stamps
/// `updated_at` a moment after `publish_at`, and the staff form keeps times to the minute.
const SAME_MESSAGE: Duration = Duration::seconds(60);

/// Who issues an alert and where its pages are.
pub(crate) struct Origin<'a> {
    pub city: &'a Tenant,
    /// CAP `<sender>`: a host name, so no spaces, commas, `<` or `&`.
    pub sender: String,
    /// The absolute base of links (`https://city.example`).
    pub base: String,
    /// The city's 地方公共団体コード (6 digits), for `<geocode>`.
    pub city_code: Option<String>,
    /// The 町字 codes of the city's areas by name (see `machi_core::areas`).
    pub area_codes: std::collections::HashMap<String, String>,
    /// The city's categories of notices, with the CAP category of each.
    pub categories: Vec<Category>,
}

/// One CAP message about one notice.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Message {
    pub notice_id: String,
    pub identifier: String,
    pub sender: String,
    /// CAP dateTime: JST, whole seconds, `+09:00`.
    pub sent: String,
    /// Alert, Update, or Cancel (a 解除 of what was issued).
    pub kind: &'static str,
    /// The first message of the notice (identifier, sent) when this one updates or cancels it.
    pub updates: Option<(String, String)>,
    pub infos: Vec<Info>,
}

/// One `<info>`: the alert in one language.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Info {
    pub language: &'static str,
    pub categories: Vec<&'static str>,
    pub event: String,
    /// What residents should do: Evacuate, Prepare, Shelter, AllClear (避難情報 only).
    pub response_types: Vec<&'static str>,
    pub urgency: &'static str,
    pub severity: &'static str,
    pub certainty: &'static str,
    pub expires: Option<String>,
    pub sender_name: String,
    pub headline: String,
    pub description: Option<String>,
    pub web: String,
    pub area_desc: String,
    /// (valueName, value): the city's 地方公共団体コード and the 町字 codes of the areas.
    pub geocodes: Vec<(&'static str, String)>,
}

use machi_core::wareki::jst;

/// CAP's dateTime form: local time with its offset, whole seconds, never `Z`.
pub(crate) fn cap_time(time: DateTime<Utc>) -> String {
    time.with_timezone(&jst())
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn identifier(origin: &Origin, notice: &Notice, version: DateTime<Utc>) -> String {
    format!(
        "urn:machi:{}:alert:{}:{}",
        origin.city.id,
        notice.id,
        version.format("%Y%m%dT%H%M%SZ")
    )
}

/// The message that stands for a notice now; `None` if its stored times are unreadable.
pub(crate) fn message(notice: &Notice, origin: &Origin) -> Option<Message> {
    let publish = notice.publish_at.utc();
    let updated = notice.updated_at.utc();
    let first = publish.with_second(0).and_then(|t| t.with_nanosecond(0))?;
    let (version, updates) = if updated > publish + SAME_MESSAGE {
        let version = updated.with_nanosecond(0)?;
        let original = (identifier(origin, notice, first), cap_time(first));
        (version, Some(original))
    } else {
        (first, None)
    };
    let expires = notice.expires_at.map(|time| cap_time(time.utc()));
    let mut infos = vec![info(notice, origin, false, expires.clone())];
    if !notice.draft.title.en.trim().is_empty() {
        infos.push(info(notice, origin, true, expires));
    }
    // A 解除 cancels what was issued; a notice written as lifted from the start is an alert of
    // its own (there is nothing earlier to name).
    let lifted = notice.draft.evacuation.is_some_and(|e| e.lifted);
    let kind = match (&updates, lifted) {
        (Some(_), true) => "Cancel",
        (Some(_), false) => "Update",
        (None, _) => "Alert",
    };
    Some(Message {
        notice_id: notice.id.clone(),
        identifier: identifier(origin, notice, version),
        sender: origin.sender.clone(),
        sent: cap_time(version),
        kind,
        updates,
        infos,
    })
}

fn info(notice: &Notice, origin: &Origin, en: bool, expires: Option<String>) -> Info {
    let draft = &notice.draft;
    let pick = |ja: &str, en_text: &str| {
        if en && !en_text.is_empty() {
            en_text.to_string()
        } else {
            ja.to_string()
        }
    };
    let mut ids: Vec<&str> = Vec::new();
    let mut categories: Vec<&'static str> = Vec::new();
    for id in &draft.categories {
        if !ids.contains(&id.as_str()) {
            ids.push(id);
        }
        let cap = cap_category(&origin.categories, id);
        if !categories.contains(&cap) {
            categories.push(cap);
        }
    }
    if categories.is_empty() {
        categories.push("Other");
    }
    let event = ids
        .iter()
        .filter_map(|c| category_label(&origin.categories, c))
        .map(|l| pick(&l.ja, &l.en))
        .collect::<Vec<_>>()
        .join(if en { ", " } else { "、" });
    let (mut urgency, mut severity, mut certainty) = grading(draft.urgency);
    let mut response_types = Vec::new();
    let mut event = event;
    if let Some(evacuation) = draft.evacuation {
        let grade = evacuation_grade(evacuation);
        (urgency, severity, certainty) = (grade.urgency, grade.severity, grade.certainty);
        response_types = grade.response_types;
        let label = evacuation.label();
        event = pick(&label.ja, &label.en);
    }
    let body = if en { &draft.body.en } else { &draft.body.ja };
    let description = Some(plain_text(body)).filter(|d| !d.is_empty());
    let area_desc = if draft.areas.is_empty() {
        pick(&origin.city.name_ja, &origin.city.name_en)
    } else {
        draft.areas.join(if en { ", " } else { "、" })
    };
    let mut geocodes: Vec<(&'static str, String)> = Vec::new();
    if let Some(code) = &origin.city_code {
        geocodes.push(("地方公共団体コード", code.clone()));
        for area in &draft.areas {
            if let Some(area_code) = origin.area_codes.get(area).filter(|c| !c.is_empty()) {
                // The 町字 as the アドレス・ベース・レジストリ names it nationally: city and 町字ID.
                geocodes.push(("町字ID", format!("{code}{area_code}")));
            }
        }
    }
    Info {
        language: if en { "en-US" } else { "ja-JP" },
        categories,
        event,
        response_types,
        urgency,
        severity,
        certainty,
        expires,
        sender_name: pick(&origin.city.name_ja, &origin.city.name_en),
        headline: pick(&draft.title.ja, &draft.title.en),
        description,
        web: format!("{}/notices/{}", origin.base, notice.id),
        area_desc,
        geocodes,
    }
}

/// The text of a Markdown body for CAP's plain-text `<description>`: blocks on their own
/// lines, list items with ・, a web link's address after its text, HTML dropped (and the text
/// of an inline script or style with it).
pub(crate) fn plain_text(markdown: &str) -> String {
    use pulldown_cmark::{Event, Tag, TagEnd};
    let mut out = String::new();
    let mut links: Vec<String> = Vec::new();
    let mut in_script = false;
    for event in pulldown_cmark::Parser::new(markdown) {
        match event {
            Event::InlineHtml(html) => {
                let tag = html.to_ascii_lowercase();
                if tag.starts_with("<script") || tag.starts_with("<style") {
                    in_script = true;
                } else if tag.starts_with("</script") || tag.starts_with("</style") {
                    in_script = false;
                }
            }
            Event::Text(text) | Event::Code(text) if !in_script => out.push_str(&text),
            Event::SoftBreak | Event::HardBreak => out.push('\n'),
            Event::Start(Tag::Item) => out.push('・'),
            Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                let url = links.pop().unwrap_or_default();
                if url.starts_with("https://") || url.starts_with("http://") {
                    out.push_str(&format!(" ({url})"));
                }
            }
            Event::End(TagEnd::Item | TagEnd::TableRow) => out.push('\n'),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_)
                | TagEnd::List(_)
                | TagEnd::Table,
            ) => out.push_str("\n\n"),
            _ => {}
        }
    }
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    let mut text = String::new();
    let mut blank = 0;
    for line in lines {
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !text.is_empty() {
            text.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        text.push_str(line);
    }
    text
}

/// Drops what XML 1.0 cannot carry (most C0 controls, U+FFFE, U+FFFF); escaping is the writer's.
fn xml_chars(text: &str) -> Cow<'_, str> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
    };
    if text.chars().all(allowed) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|c| allowed(*c)).collect())
    }
}

fn element<W: io::Write>(w: &mut Writer<W>, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(&xml_chars(text)))?;
    Ok(())
}

/// Writes `<alert>` (with `prefix` "cap:" inside an Atom feed that declares it).
fn write_alert<W: io::Write>(w: &mut Writer<W>, message: &Message, prefix: &str) -> io::Result<()> {
    let name = |local: &str| format!("{prefix}{local}");
    let mut alert = w.create_element(name("alert"));
    if prefix.is_empty() {
        alert = alert.with_attribute(("xmlns", CAP_NS));
    }
    alert.write_inner_content(|w| {
        element(w, &name("identifier"), &message.identifier)?;
        element(w, &name("sender"), &message.sender)?;
        element(w, &name("sent"), &message.sent)?;
        element(w, &name("status"), "Actual")?;
        element(w, &name("msgType"), message.kind)?;
        element(w, &name("scope"), "Public")?;
        if let Some((identifier, sent)) = &message.updates {
            let reference = format!("{},{identifier},{sent}", message.sender);
            element(w, &name("references"), &reference)?;
        }
        for info in &message.infos {
            write_info(w, info, prefix)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Writes one `<info>`, its elements in the order the CAP 1.2 schema's sequence demands.
fn write_info<W: io::Write>(w: &mut Writer<W>, info: &Info, prefix: &str) -> io::Result<()> {
    let name = |local: &str| format!("{prefix}{local}");
    w.create_element(name("info")).write_inner_content(|w| {
        element(w, &name("language"), info.language)?;
        for category in &info.categories {
            element(w, &name("category"), category)?;
        }
        element(w, &name("event"), &info.event)?;
        for response in &info.response_types {
            element(w, &name("responseType"), response)?;
        }
        element(w, &name("urgency"), info.urgency)?;
        element(w, &name("severity"), info.severity)?;
        element(w, &name("certainty"), info.certainty)?;
        if let Some(expires) = &info.expires {
            element(w, &name("expires"), expires)?;
        }
        element(w, &name("senderName"), &info.sender_name)?;
        element(w, &name("headline"), &info.headline)?;
        if let Some(description) = &info.description {
            element(w, &name("description"), description)?;
        }
        element(w, &name("web"), &info.web)?;
        w.create_element(name("area")).write_inner_content(|w| {
            element(w, &name("areaDesc"), &info.area_desc)?;
            for (value_name, value) in &info.geocodes {
                w.create_element(name("geocode")).write_inner_content(|w| {
                    element(w, &name("valueName"), value_name)?;
                    element(w, &name("value"), value)
                })?;
            }
            Ok(())
        })?;
        Ok(())
    })?;
    Ok(())
}

fn declaration<W: io::Write>(w: &mut Writer<W>) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
}

fn into_string(w: Writer<Vec<u8>>) -> io::Result<String> {
    String::from_utf8(w.into_inner()).map_err(io::Error::other)
}

/// A standalone CAP document.
pub(crate) fn document(message: &Message) -> io::Result<String> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    declaration(&mut w)?;
    write_alert(&mut w, message, "")?;
    into_string(w)
}

/// What the Atom feed says about itself.
pub(crate) struct FeedHead {
    pub id: String,
    pub title: String,
    pub author: String,
    /// The feed's own address.
    pub self_href: String,
    /// The page people read the same notices on.
    pub page_href: String,
}

/// The CAP feed: Atom 1.0, one entry per current message. An entry's `alternate` link is the
/// standalone CAP document (what hubs fetch) and the entry carries the same `<cap:alert>`
/// as a foreign element of the entry (RFC 4287 §6.4). It is not put in `<content>`: readers
/// such as feed-rs reject a `<content>` with an inline XML child.
pub(crate) fn atom_feed(head: &FeedHead, messages: &[Message], base: &str) -> io::Result<String> {
    // Every `sent` has the same offset, so the greatest text is the latest time.
    let updated = messages
        .iter()
        .map(|m| m.sent.clone())
        .max()
        .unwrap_or_else(|| cap_time(Utc::now()));
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    declaration(&mut w)?;
    w.create_element("feed")
        .with_attribute(("xmlns", ATOM_NS))
        .with_attribute(("xmlns:cap", CAP_NS))
        .with_attribute(("xml:lang", "ja"))
        .write_inner_content(|w| {
            element(w, "id", &head.id)?;
            element(w, "title", &head.title)?;
            element(w, "updated", &updated)?;
            w.create_element("author")
                .write_inner_content(|w| element(w, "name", &head.author))?;
            link(w, "self", "application/atom+xml", &head.self_href)?;
            link(w, "alternate", "text/html", &head.page_href)?;
            for message in messages {
                write_entry(w, message, base)?;
            }
            Ok(())
        })?;
    into_string(w)
}

fn link<W: io::Write>(w: &mut Writer<W>, rel: &str, kind: &str, href: &str) -> io::Result<()> {
    w.create_element("link")
        .with_attribute(("rel", rel))
        .with_attribute(("type", kind))
        .with_attribute(("href", xml_chars(href).as_ref()))
        .write_empty()?;
    Ok(())
}

fn write_entry<W: io::Write>(w: &mut Writer<W>, message: &Message, base: &str) -> io::Result<()> {
    let Some(first) = message.infos.first() else {
        return Ok(());
    };
    w.create_element("entry").write_inner_content(|w| {
        element(w, "id", &message.identifier)?;
        element(w, "title", &first.headline)?;
        element(w, "updated", &message.sent)?;
        let summary = first.description.as_deref().unwrap_or(&first.headline);
        element(w, "summary", summary)?;
        let cap = format!("{base}/alerts/{}.cap", message.notice_id);
        link(w, "alternate", "application/cap+xml", &cap)?;
        link(w, "related", "text/html", &first.web)?;
        write_alert(w, message, "cap:")
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use machi_core::notices::{NoticeDraft, Urgency};
    use machi_core::procedures::Localized;

    fn city() -> Tenant {
        Tenant {
            id: "demo".into(),
            name_ja: "デモ市".into(),
            name_en: "Demo City".into(),
            host: None,
        }
    }

    fn notice(urgency: Urgency, publish_at: &str, updated_at: &str) -> Notice {
        Notice {
            id: "n1".into(),
            department_code: "kikikanri".into(),
            draft: NoticeDraft {
                title: Localized::new("避難指示 <北町> & 南町", "Evacuation order"),
                body: Localized::new("**北町小学校**へ\n\n- 水\n- 薬\u{0}", ""),
                categories: vec!["bousai".into(), "douro".into(), "bousai".into()],
                areas: vec!["北町".into(), "南町".into()],
                urgency,
                evacuation: None,
            },
            publish_at: machi_store::Time::parse(publish_at).unwrap(),
            expires_at: machi_store::Time::parse("2026-05-02T00:00:00.000000Z"),
            updated_at: machi_store::Time::parse(updated_at).unwrap(),
        }
    }

    fn origin(city: &Tenant) -> Origin<'_> {
        Origin {
            city,
            sender: "city.example".into(),
            base: "https://city.example".into(),
            city_code: Some("279994".into()),
            area_codes: [("北町".to_string(), "0005000".to_string())].into(),
            categories: machi_core::notices::default_categories(),
        }
    }

    #[test]
    fn a_fresh_emergency_is_an_alert_named_after_its_minute_in_japan_time() {
        let city = city();
        let n = notice(
            Urgency::Emergency,
            "2026-05-01T03:04:05.123456Z",
            "2026-05-01T03:04:05.200000Z",
        );
        let m = message(&n, &origin(&city)).unwrap();
        assert_eq!(m.identifier, "urn:machi:demo:alert:n1:20260501T030400Z");
        assert_eq!(m.sent, "2026-05-01T12:04:00+09:00");
        assert_eq!(m.updates, None);
        let ja = &m.infos[0];
        assert_eq!(ja.categories, ["Safety", "Transport"]);
        assert_eq!(
            (ja.urgency, ja.severity, ja.certainty),
            ("Immediate", "Severe", "Observed")
        );
        assert_eq!(ja.event, "防災、道路・交通");
        assert_eq!(ja.area_desc, "北町、南町");
        assert_eq!(ja.expires.as_deref(), Some("2026-05-02T09:00:00+09:00"));
        // The NUL is still here: it is dropped when written (see the escaping test).
        assert_eq!(
            ja.description.as_deref(),
            Some("北町小学校へ\n\n・水\n・薬\u{0}")
        );
        assert_eq!(m.infos[1].language, "en-US");
        assert_eq!(
            m.infos[1].description, None,
            "no English text, no description"
        );
    }

    #[test]
    fn an_edit_after_publication_is_an_update_that_references_the_first_message() {
        let city = city();
        let n = notice(
            Urgency::Important,
            "2026-05-01T03:04:00.000000Z",
            "2026-05-01T03:30:09.500000Z",
        );
        let m = message(&n, &origin(&city)).unwrap();
        assert_eq!(m.identifier, "urn:machi:demo:alert:n1:20260501T033009Z");
        assert_eq!(m.sent, "2026-05-01T12:30:09+09:00");
        assert_eq!(
            m.updates,
            Some((
                "urn:machi:demo:alert:n1:20260501T030400Z".into(),
                "2026-05-01T12:04:00+09:00".into()
            ))
        );
        let xml = document(&m).unwrap();
        assert!(xml.contains("<msgType>Update</msgType>"), "{xml}");
        assert!(xml.contains(
            "<references>city.example,urn:machi:demo:alert:n1:20260501T030400Z,2026-05-01T12:04:00+09:00</references>"
        ));
        assert_eq!(m.infos[0].certainty, "Likely");
    }

    #[test]
    fn text_is_escaped_and_characters_xml_cannot_carry_are_dropped() {
        let city = city();
        let n = notice(
            Urgency::Emergency,
            "2026-05-01T03:04:05.000000Z",
            "2026-05-01T03:04:05.000000Z",
        );
        let xml = document(&message(&n, &origin(&city)).unwrap()).unwrap();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(xml.contains("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">"));
        assert!(xml.contains("避難指示 &lt;北町&gt; &amp; 南町"), "{xml}");
        assert!(!xml.contains('\u{0}'));
    }

    #[test]
    fn plain_text_keeps_link_addresses_and_drops_scripts() {
        assert_eq!(
            plain_text("詳しくは[市のページ](https://city.example/a)へ。<script>alert(1)</script>\n\n# 持ち物"),
            "詳しくは市のページ (https://city.example/a)へ。\n\n持ち物"
        );
    }
}
