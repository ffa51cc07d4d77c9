//! 利用者登録 as stored: a person or group registered by staff, with its number and the code
//! printed on its card (stored hashed), and the digest of who the person is (one registration
//! per person in a city).

use machi_core::digest::sha256_hex;
use machi_core::reservations::{Booker, Registrant, RegistrationKind};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::audit::AuditEntry;
use crate::{now_text, Result, Store, StoreError};

/// A registered person or group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// 登録番号, `U-1234-5678`.
    pub number: String,
    pub kind: RegistrationKind,
    pub name: String,
    /// The person, or the group's representative.
    pub contact: Booker,
    pub in_city: bool,
    /// The 減免 kinds staff confirmed.
    pub reductions: Vec<String>,
    pub created_at: String,
}

const COLUMNS: &str =
    "number, kind, name, representative, email, phone, in_city, created_at, reductions";

fn registration_from_row(row: &AnyRow) -> Result<Registration> {
    let kind: String = row.try_get("kind")?;
    Ok(Registration {
        number: row.try_get("number")?,
        kind: RegistrationKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("registration kind '{kind}'")))?,
        name: row.try_get("name")?,
        contact: Booker {
            name: row.try_get("representative")?,
            email: row.try_get("email")?,
            phone: row.try_get("phone")?,
            note: String::new(),
        },
        in_city: row.try_get::<i64, _>("in_city")? != 0,
        reductions: serde_json::from_str(&row.try_get::<String, _>("reductions")?)
            .map_err(|e| StoreError::Corrupt(format!("registration reductions: {e}")))?,
        created_at: row.try_get("created_at")?,
    })
}

fn new_registration_number() -> String {
    let n = rand::random::<u32>() % 100_000_000;
    format!("U-{:04}-{:04}", n / 10_000, n % 10_000)
}

impl Store {
    /// Registers a person or group; returns it with the code for its card (shown once). The
    /// same person registered already is refused, naming the registration they have.
    pub async fn register_facility_user(
        &self,
        tenant: &str,
        registrant: &Registrant,
        actor: &str,
    ) -> Result<(Registration, String)> {
        let identity = registrant.identity_sha256(tenant);
        if let Some(number) = self.registration_of_identity(tenant, &identity).await? {
            return Err(already_registered(&number));
        }
        let code = crate::sessions::random_token()[..16].to_string();
        let registration = Registration {
            number: new_registration_number(),
            kind: registrant.kind,
            name: registrant.name.clone(),
            contact: registrant.contact.clone(),
            in_city: registrant.in_city,
            reductions: registrant.reductions.clone(),
            created_at: now_text(),
        };
        let mut audited = self.begin_audited(tenant).await?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO facility_registrations (tenant_id, {COLUMNS}, identity_sha256, \
             code_sha256, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             $13) \
             ON CONFLICT DO NOTHING"
        ))
        .bind(tenant)
        .bind(&registration.number)
        .bind(registration.kind.as_str())
        .bind(&registration.name)
        .bind(&registration.contact.name)
        .bind(&registration.contact.email)
        .bind(&registration.contact.phone)
        .bind(i64::from(registration.in_city))
        .bind(&registration.created_at)
        .bind(serde_json::to_string(&registration.reductions).unwrap_or_else(|_| "[]".into()))
        .bind(&identity)
        .bind(sha256_hex(code.as_bytes()))
        .bind(actor)
        .execute(&mut *audited.tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            // Registered at the same moment at another counter (or a number clash: try again).
            drop(audited);
            let number = self.registration_of_identity(tenant, &identity).await?;
            return Err(number.map_or_else(
                || StoreError::NotStored("registration number clash; try again".into()),
                |n| already_registered(&n),
            ));
        }
        audited
            .append(&AuditEntry::new(
                actor,
                "registration.create",
                &format!("registration:{}", registration.number),
                json!({"kind": registration.kind.as_str(), "in_city": registration.in_city,
                       "reductions": registration.reductions}),
            ))
            .await?;
        audited.commit().await?;
        Ok((registration, code))
    }

    async fn registration_of_identity(
        &self,
        tenant: &str,
        identity: &str,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT number FROM facility_registrations WHERE tenant_id = $1 AND identity_sha256 = $2",
        )
        .bind(tenant)
        .bind(identity)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The registration `number` when `code` is its card's code.
    pub async fn registration_with_code(
        &self,
        tenant: &str,
        number: &str,
        code: &str,
    ) -> Result<Option<Registration>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM facility_registrations WHERE tenant_id = $1 AND number = $2 \
             AND code_sha256 = $3"
        ))
        .bind(tenant)
        .bind(number.trim())
        .bind(sha256_hex(code.trim().as_bytes()))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(registration_from_row).transpose()
    }

    pub async fn registration(&self, tenant: &str, number: &str) -> Result<Option<Registration>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM facility_registrations WHERE tenant_id = $1 AND number = $2"
        ))
        .bind(tenant)
        .bind(number)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(registration_from_row).transpose()
    }

    /// The city's registrations, newest first (at most 1,000).
    pub async fn registrations(&self, tenant: &str) -> Result<Vec<Registration>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM facility_registrations WHERE tenant_id = $1 \
             ORDER BY created_at DESC, number LIMIT 1000"
        ))
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(registration_from_row).collect()
    }
}

fn already_registered(number: &str) -> StoreError {
    StoreError::conflict(
        format!("この方はすでに登録されています（登録番号 {number}）"),
        format!("this person is registered already (number {number})"),
    )
}
