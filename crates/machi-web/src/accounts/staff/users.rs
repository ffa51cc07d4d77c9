//! 職員アカウントの管理 (administrators only): list, create, change role or department,
//! disable. Every change is audited; disabling ends the account's sessions at once.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Form;
use machi_core::staff::{Role, ALL_ROLES};
use machi_store::audit::AuditEntry;
use machi_store::users::{NewUser, UserChange};
use serde::Deserialize;
use serde_json::json;

use crate::kit::{render, see_other, ApiError, Chrome, PageError, Signed};
use crate::AppState;

/// Shortest password an administrator may set.
pub(crate) const MIN_PASSWORD: usize = 12;

struct UserRow {
    email: String,
    name: String,
    role_value: String,
    department: String,
    disabled: bool,
}

#[derive(Template)]
#[template(path = "staff_users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<UserRow>,
    roles: Vec<(String, String)>,
    departments: Vec<(String, String)>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    signed.require(signed.role().manages_accounts())?;
    let ui = signed.ui;
    let users = state.store.users(&signed.city.id).await?;
    let departments = state.store.departments(&signed.city.id).await?;
    Ok(render(&UsersPage {
        chrome: signed.chrome("/staff/users"),
        users: users
            .into_iter()
            .map(|u| UserRow {
                role_value: u.role.as_str().to_string(),
                department: u.department_code.unwrap_or_default(),
                disabled: u.disabled,
                name: u.display_name,
                email: u.email,
            })
            .collect(),
        roles: ALL_ROLES
            .iter()
            .map(|r| (r.as_str().to_string(), ui.l(&r.label()).to_string()))
            .collect(),
        departments: departments
            .into_iter()
            .map(|d| {
                (
                    d.code.clone(),
                    format!("{} ({})", ui.name(&d.ja, &d.en), d.code),
                )
            })
            .collect(),
    }))
}

#[derive(Deserialize)]
pub(super) struct CreateForm {
    email: String,
    name: String,
    role: String,
    #[serde(default)]
    department: String,
    password: String,
}

fn bad(detail: impl Into<String>) -> PageError {
    PageError::from(ApiError::bad_request(detail))
}

pub(super) async fn create(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<CreateForm>,
) -> Result<Response, PageError> {
    signed.require(signed.role().manages_accounts())?;
    let email = form.email.trim().to_lowercase();
    if !email.contains('@') || email.len() > 254 {
        return Err(bad(signed.ui.t(
            "メールアドレスが正しくありません。",
            "The e-mail address is not valid.",
        )));
    }
    if form.password.chars().count() < MIN_PASSWORD {
        return Err(bad(format!(
            "{} {MIN_PASSWORD}",
            signed.ui.t(
                "パスワードが短すぎます。最小文字数:",
                "The password is too short. Fewest characters:"
            )
        )));
    }
    let department = form.department.trim();
    state
        .store
        .create_user(
            &NewUser {
                tenant_id: &signed.city.id,
                email: &email,
                display_name: form.name.trim(),
                role: &form.role,
                department_code: (!department.is_empty()).then_some(department),
            },
            &form.password,
        )
        .await?;
    signed
        .audit(
            &state,
            "user.create",
            &email,
            json!({ "role": form.role, "department": department }),
        )
        .await?;
    Ok(see_other("/staff/users"))
}

#[derive(Deserialize)]
pub(super) struct ChangeForm {
    role: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    disabled: Option<String>,
}

pub(super) async fn change(
    State(state): State<AppState>,
    signed: Signed,
    Path(email): Path<String>,
    Form(form): Form<ChangeForm>,
) -> Result<Response, PageError> {
    signed.require(signed.role().manages_accounts())?;
    let role = Role::parse(&form.role).ok_or_else(|| {
        PageError::from(
            ApiError::bad_request(format!("unknown role '{}'", form.role))
                .with_ja("役割を選んでください。"),
        )
    })?;
    if email == signed.email() && (role != Role::Admin || form.disabled.is_some()) {
        return Err(bad(signed.ui.t(
            "自分自身の管理者権限は外せません（別の管理者に依頼してください）。",
            "You cannot remove your own administrator rights; ask another administrator.",
        )));
    }
    let department = form.department.trim();
    let change = UserChange {
        role,
        department_code: (!department.is_empty()).then_some(department),
        disabled: form.disabled.is_some(),
    };
    let audit = AuditEntry::new(
        signed.email(),
        "user.change",
        &email,
        json!({ "role": role.as_str(), "department": department, "disabled": change.disabled }),
    );
    let found = state
        .store
        .change_user(&signed.city.id, &email, &change, &audit)
        .await?;
    if !found {
        return Err(PageError::from(
            ApiError::not_found("no such account").with_ja("このアカウントはありません。"),
        ));
    }
    Ok(see_other("/staff/users"))
}
