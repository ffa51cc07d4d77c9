//! The form for one system: new or edit, shown again with every problem at its field (422)
//! until it is right. The 管理番号 is fixed once a system exists.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Form;
use machi_core::assets::{AssetInput, Hosting, MigrationStatus, StandardBusiness, FIELDS};
use machi_core::procedures::{FieldError, Localized};
use machi_store::StoreError;

use super::{write_context, write_scope};
use crate::kit::{render, see_other, ApiError, Chrome, PageError, Signed};
use crate::AppState;

/// How a field is typed in.
enum Kind {
    Text,
    Long,
    Choice(Vec<(String, String)>),
}

struct Field {
    name: &'static str,
    label: String,
    hint: String,
    value: String,
    error: String,
    kind: Kind,
    readonly: bool,
}

impl Field {
    fn is_text(&self) -> bool {
        matches!(self.kind, Kind::Text)
    }
    fn is_long(&self) -> bool {
        matches!(self.kind, Kind::Long)
    }
    fn choices(&self) -> &[(String, String)] {
        match &self.kind {
            Kind::Choice(options) => options,
            _ => &[],
        }
    }
}

#[derive(Template)]
#[template(path = "staff_assets_form.html")]
struct FormPage {
    chrome: Chrome,
    action: String,
    heading: String,
    errors: Vec<(String, String)>,
    fields: Vec<Field>,
}

fn options(
    pairs: impl IntoIterator<Item = (String, String)>,
    blank: &str,
) -> Vec<(String, String)> {
    std::iter::once((String::new(), blank.to_string()))
        .chain(pairs)
        .collect()
}

/// The choices of a field, valued by the Japanese label (what the CSV uses too).
fn kind_of(name: &str, signed: &Signed, departments: &BTreeMap<String, String>) -> Kind {
    let ui = signed.ui;
    let labels = |list: Vec<Localized>| -> Vec<(String, String)> {
        list.into_iter()
            .map(|l| (l.ja.clone(), ui.l(&l).to_string()))
            .collect()
    };
    let levels = |max: u8| (1..=max).map(|l| (l.to_string(), l.to_string())).collect();
    match name {
        "department" => Kind::Choice(options(
            departments.iter().map(|(c, n)| (c.clone(), n.clone())),
            ui.t("選んでください", "Choose"),
        )),
        "hosting" => Kind::Choice(labels(Hosting::all().map(|h| h.label()).to_vec())),
        "migration" => Kind::Choice(labels(MigrationStatus::all().map(|s| s.label()).to_vec())),
        "standard_business" => Kind::Choice(options(
            StandardBusiness::all().map(|b| (b.label().to_string(), b.label().to_string())),
            ui.t("対象外", "Not one of the 20"),
        )),
        "confidentiality" => Kind::Choice(levels(3)),
        "integrity" | "availability" => Kind::Choice(levels(2)),
        "personal_data" => Kind::Choice(vec![
            ("なし".into(), ui.t("なし", "No").into()),
            ("あり".into(), ui.t("あり", "Yes").into()),
        ]),
        "purpose" | "measures" => Kind::Long,
        _ => Kind::Text,
    }
}

fn hint(name: &str, signed: &Signed) -> &'static str {
    let ui = signed.ui;
    match name {
        "id" => ui.t(
            "英数字・ハイフン（例: SYS-001）",
            "Letters, digits and '-' (e.g. SYS-001)",
        ),
        "contract_start" | "contract_end" | "end_of_life" => {
            ui.t("例: 2027-03-31 または 令和9年3月31日", "e.g. 2027-03-31")
        }
        "measures" => ui.t(
            "「計画ID:施策ID」を1行に1つ（例: kadoma-dx-plan:1-(1)）",
            "One 'plan-id:node-id' per line (e.g. kadoma-dx-plan:1-(1))",
        ),
        "confidentiality" => ui.t(
            "3が最も高い（個人情報を含むものは通常3）",
            "3 is the highest",
        ),
        _ => "",
    }
}

fn page(
    signed: &Signed,
    departments: &BTreeMap<String, String>,
    input: &AssetInput,
    errors: &[FieldError],
    existing: Option<&str>,
) -> FormPage {
    let mut values = input.clone();
    if let Some(code) = departments.iter().find(|(_, n)| **n == values.department) {
        values.department = code.0.clone();
    }
    values.measures = values.measures.replace("; ", "\n");
    let value_map = values_map(values);
    let fields = FIELDS
        .iter()
        .map(|(name, ja, en)| Field {
            name,
            label: signed.ui.t(ja, en).to_string(),
            hint: hint(name, signed).to_string(),
            value: value_map.get(name).cloned().unwrap_or_default(),
            error: errors
                .iter()
                .find(|e| e.field == *name)
                .map(|e| signed.ui.l(&e.message).to_string())
                .unwrap_or_default(),
            kind: kind_of(name, signed, departments),
            readonly: *name == "id" && existing.is_some(),
        })
        .collect();
    let ui = signed.ui;
    FormPage {
        chrome: signed.chrome("/staff/assets"),
        action: existing.map_or("/staff/assets".into(), |id| format!("/staff/assets/{id}")),
        heading: match existing {
            Some(id) => format!("{} {id}", ui.t("システムの編集", "Edit system")),
            None => ui.t("システムの登録", "Record a system").to_string(),
        },
        errors: errors
            .iter()
            .map(|e| (e.field.clone(), ui.l(&e.message).to_string()))
            .collect(),
        fields,
    }
}

fn values_map(i: AssetInput) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("id", i.id),
        ("name", i.name),
        ("department", i.department),
        ("purpose", i.purpose),
        ("vendor", i.vendor),
        ("contract_start", i.contract_start),
        ("contract_end", i.contract_end),
        ("yearly_cost", i.yearly_cost),
        ("hosting", i.hosting),
        ("confidentiality", i.confidentiality),
        ("integrity", i.integrity),
        ("availability", i.availability),
        ("personal_data", i.personal_data),
        ("standard_business", i.standard_business),
        ("migration", i.migration),
        ("end_of_life", i.end_of_life),
        ("measures", i.measures),
    ])
}

fn shown_again(page: FormPage) -> Response {
    let status = crate::kit::form_status(&page.errors);
    (status, render(&page)).into_response()
}

pub(super) async fn new_form(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    let scope = write_scope(&signed)?;
    let context = write_context(&state, &signed, scope.as_deref()).await?;
    let input = AssetInput {
        department: scope.unwrap_or_default(),
        hosting: Hosting::OnPremises.label().ja,
        personal_data: "なし".into(),
        migration: MigrationStatus::NotApplicable.label().ja,
        ..Default::default()
    };
    Ok(render(&page(
        &signed,
        &context.departments,
        &input,
        &[],
        None,
    )))
}

pub(super) async fn edit_form(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let scope = write_scope(&signed)?;
    let asset = existing(&state, &signed, &id).await?;
    if let Some(own) = &scope {
        signed.require(asset.department == *own)?;
    }
    let context = write_context(&state, &signed, scope.as_deref()).await?;
    let input = asset.to_input(&context.departments);
    Ok(render(&page(
        &signed,
        &context.departments,
        &input,
        &[],
        Some(&id),
    )))
}

async fn existing(
    state: &AppState,
    signed: &Signed,
    id: &str,
) -> Result<machi_core::assets::Asset, PageError> {
    state
        .store
        .asset(&signed.city.id, id)
        .await?
        .ok_or_else(|| {
            PageError::from(ApiError::not_found(signed.ui.t(
                "その管理番号のシステムはありません。",
                "There is no system with that id.",
            )))
        })
}

pub(super) async fn create(
    State(state): State<AppState>,
    signed: Signed,
    Form(input): Form<AssetInput>,
) -> Result<Response, PageError> {
    save(&state, &signed, input, None).await
}

pub(super) async fn update(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(mut input): Form<AssetInput>,
) -> Result<Response, PageError> {
    let asset = existing(&state, &signed, &id).await?;
    if !signed.role().edits_all_assets() {
        signed.require_department(&asset.department)?;
    }
    input.id = id.clone();
    save(&state, &signed, input, Some(&id)).await
}

async fn save(
    state: &AppState,
    signed: &Signed,
    input: AssetInput,
    existing: Option<&str>,
) -> Result<Response, PageError> {
    let scope = write_scope(signed)?;
    let context = write_context(state, signed, scope.as_deref()).await?;
    let mut asset = match input.parse(&context) {
        Ok(asset) => asset,
        Err(errors) => {
            return Ok(shown_again(page(
                signed,
                &context.departments,
                &input,
                &errors,
                existing,
            )))
        }
    };
    if existing.is_none() {
        let taken = state
            .store
            .asset(&signed.city.id, &asset.id)
            .await?
            .is_some();
        if taken {
            let error = FieldError::new(
                "id",
                Localized::new(
                    format!(
                        "管理番号「{}」は既に登録されています（一覧から編集してください）",
                        asset.id
                    ),
                    format!(
                        "Asset id '{}' is already recorded; edit it from the list",
                        asset.id
                    ),
                ),
            );
            return Ok(shown_again(page(
                signed,
                &context.departments,
                &input,
                &[error],
                None,
            )));
        }
    }
    asset.measures.sort();
    let saved = state
        .store
        .save_assets(
            &signed.city.id,
            &[asset],
            signed.email(),
            scope.as_deref(),
            None,
        )
        .await;
    match saved {
        Ok(_) => Ok(see_other("/staff/assets")),
        Err(StoreError::NotStored(_)) => Err(PageError::from(ApiError::forbidden(signed.ui.t(
            "他の課のシステムは変更できません。",
            "You may only change your own department's systems.",
        )))),
        Err(error) => Err(PageError::from(error)),
    }
}
