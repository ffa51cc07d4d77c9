//! 町字 as stored: a city's towns and 丁目 (see `machi_core::areas`), and the areas a notice's
//! areas reach (the 町 a 丁目 lies in, the 丁目 in a 町).

use machi_core::areas::Area;
use sqlx::Row;

use crate::audit::AuditEntry;
use crate::sql::{Param, Sql};
use crate::{Result, Store};

/// Rows per INSERT: 6 parameters each, well under SQLite's 32,766.
const ROWS_PER_INSERT: usize = 500;

impl Store {
    /// Replaces the city's 町字 list with `areas`, all or nothing, audited.
    pub async fn replace_areas(&self, tenant: &str, areas: &[Area], actor: &str) -> Result<usize> {
        let mut tx = self.begin_audited(tenant).await?;
        sqlx::query("DELETE FROM areas WHERE tenant_id = $1")
            .bind(tenant)
            .execute(&mut *tx.tx)
            .await?;
        for (chunk_index, chunk) in areas.chunks(ROWS_PER_INSERT).enumerate() {
            let mut sql = Sql::new(
                self.backend(),
                "INSERT INTO areas (tenant_id, name, code, parent, kana, position) VALUES ",
            );
            for (i, area) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind_row(vec![
                    Param::Text(tenant.into()),
                    Param::Text(area.name.clone()),
                    Param::Text(area.code.clone()),
                    area.parent.clone().map_or(Param::NullText, Param::Text),
                    Param::Text(area.kana.clone()),
                    Param::Int((chunk_index * ROWS_PER_INSERT + i) as i64),
                ]);
            }
            sqlx::query_with(sql.text(), sql.arguments())
                .execute(&mut *tx.tx)
                .await?;
        }
        tx.append(&AuditEntry::new(
            actor,
            "areas.import",
            "areas",
            serde_json::json!({ "areas": areas.len() }),
        ))
        .await?;
        tx.commit().await?;
        Ok(areas.len())
    }

    /// The city's 町字 list in its order (empty when the city has none).
    pub async fn areas(&self, tenant: &str) -> Result<Vec<Area>> {
        let rows = sqlx::query(
            "SELECT name, code, parent, kana FROM areas WHERE tenant_id = $1 ORDER BY position",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(area_of).collect()
    }

    /// Of `names`, those the city's 町字 list does not have (none when the city has no list,
    /// and any area may be named).
    pub async fn unknown_areas(&self, tenant: &str, names: &[String]) -> Result<Vec<String>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let listed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM areas WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_one(&self.pool)
            .await?;
        if listed == 0 {
            return Ok(Vec::new());
        }
        let known = area_family(
            &mut *self.pool.acquire().await?,
            self.backend(),
            tenant,
            names,
        )
        .await?;
        Ok(names
            .iter()
            .filter(|name| !known.listed.contains(name))
            .cloned()
            .collect())
    }

    /// `names` with the areas they reach (see [`area_family`]).
    pub async fn areas_reached(&self, tenant: &str, names: &[String]) -> Result<Vec<String>> {
        let mut conn = self.pool.acquire().await?;
        Ok(area_family(&mut conn, self.backend(), tenant, names)
            .await?
            .reached)
    }
}

fn area_of(row: &sqlx::any::AnyRow) -> Result<Area> {
    Ok(Area {
        name: row.try_get("name")?,
        code: row.try_get("code")?,
        parent: row.try_get("parent")?,
        kana: row.try_get("kana")?,
    })
}

/// What the 町字 list says about some names.
pub(crate) struct Family {
    /// The names, the 町 each lies in and the 丁目 in each: whom a notice for them concerns.
    pub(crate) reached: Vec<String>,
    /// Those of the names the list has.
    pub(crate) listed: Vec<String>,
}

/// Looks `names` up in the city's 町字 list (one query, in the caller's transaction).
pub(crate) async fn area_family(
    conn: &mut sqlx::AnyConnection,
    backend: crate::connect::Backend,
    tenant: &str,
    names: &[String],
) -> Result<Family> {
    if names.is_empty() {
        return Ok(Family {
            reached: Vec::new(),
            listed: Vec::new(),
        });
    }
    let mut sql = Sql::new(
        backend,
        "SELECT name, code, parent, kana FROM areas WHERE tenant_id = ",
    );
    sql.bind(Param::Text(tenant.into()));
    sql.push(" AND (name IN (");
    push_list(&mut sql, names);
    sql.push(") OR parent IN (");
    push_list(&mut sql, names);
    sql.push("))");
    let rows = sqlx::query_with(sql.text(), sql.arguments())
        .fetch_all(&mut *conn)
        .await?;
    let areas: Vec<Area> = rows.iter().map(area_of).collect::<Result<_>>()?;
    Ok(Family {
        reached: machi_core::areas::family(&areas, names),
        listed: names
            .iter()
            .filter(|name| areas.iter().any(|a| &&a.name == name))
            .cloned()
            .collect(),
    })
}

fn push_list(sql: &mut Sql, names: &[String]) {
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(Param::Text(name.clone()));
    }
}
