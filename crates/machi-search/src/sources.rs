//! What the things a city has look like to the search, in Japanese and in English.

use machi_core::procedures::ProcedureDefinition;

use crate::{Document, English, Kind};

/// A procedure: its plain title, keywords and life events, legal name and reading, summary
/// and documents; its yearly volume for ranking.
pub fn procedure(p: &ProcedureDefinition) -> Document {
    let mut keywords = p.keywords.clone();
    keywords.extend(p.life_events.iter().map(|e| e.label().ja));
    let mut body = vec![p.summary.ja.clone()];
    body.extend(p.documents.iter().map(|d| d.ja.clone()));
    let mut body_en = vec![p.summary.en.clone()];
    body_en.extend(p.documents.iter().map(|d| d.en.clone()));
    body_en.extend(p.life_events.iter().map(|e| e.label().en));
    Document {
        kind: Kind::Procedure,
        id: p.id.clone(),
        title: p.name.ja.clone(),
        plain_title: p
            .plain_title
            .as_ref()
            .map(|t| t.ja.clone())
            .unwrap_or_default(),
        keywords,
        reading: p.kana.clone(),
        body: body.join("\n"),
        english: English {
            title: p.name.en.clone(),
            plain_title: p
                .plain_title
                .as_ref()
                .map(|t| t.en.clone())
                .unwrap_or_default(),
            body: body_en.join("\n"),
        },
        popularity: p.yearly_volume.unwrap_or(0),
    }
}

/// An FAQ entry: its question as the title, its keywords, its answer as the body.
pub fn faq(entry: &machi_core::faq::FaqEntry) -> Document {
    Document {
        kind: Kind::Faq,
        id: entry.id.clone(),
        title: entry.question.ja.clone(),
        plain_title: String::new(),
        keywords: entry.keywords.clone(),
        reading: String::new(),
        body: entry.answer.ja.clone(),
        english: English {
            title: entry.question.en.clone(),
            plain_title: String::new(),
            body: entry.answer.en.clone(),
        },
        popularity: 0,
    }
}

/// A notice: its title, the names of its categories and its areas as keywords, its text.
pub fn notice(
    id: &str,
    draft: &machi_core::notices::NoticeDraft,
    category_names: &[machi_core::procedures::Localized],
) -> Document {
    let mut keywords: Vec<String> = category_names.iter().map(|c| c.ja.clone()).collect();
    keywords.extend(draft.areas.iter().cloned());
    let categories_en: Vec<&str> = category_names.iter().map(|c| c.en.as_str()).collect();
    Document {
        kind: Kind::Notice,
        id: id.to_string(),
        title: draft.title.ja.clone(),
        plain_title: String::new(),
        keywords,
        reading: String::new(),
        body: draft.body.ja.clone(),
        english: English {
            title: draft.title.en.clone(),
            plain_title: String::new(),
            body: format!("{}\n{}", categories_en.join(" "), draft.body.en),
        },
        popularity: 0,
    }
}

/// An open dataset: its title, tags and groups as keywords, its description and the names of
/// its resources (e.g. 「AED設置場所一覧.csv」).
pub fn dataset(
    id: &str,
    input: &machi_core::opendata::catalog::DatasetInput,
    resource_names: &[String],
) -> Document {
    let mut keywords = input.tags.clone();
    keywords.extend(input.groups.iter().cloned());
    Document {
        kind: Kind::Dataset,
        id: id.to_string(),
        title: input.title_ja.clone(),
        plain_title: String::new(),
        keywords,
        reading: String::new(),
        body: format!("{}\n{}", input.notes_ja, resource_names.join("\n")),
        english: English {
            title: input.title_en.clone(),
            plain_title: String::new(),
            body: input.notes_en.clone(),
        },
        popularity: 0,
    }
}
