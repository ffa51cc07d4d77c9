//! 郵便番号 → 住所: the national postcode table behind the forms' address lookup.

use machi_core::postcodes::PostcodeArea;
use sqlx::Row;

use crate::sql::{Param, Sql};
use crate::{Result, Store};

/// Rows per INSERT: 5 parameters each, well under SQLite's 32,766.
const ROWS_PER_INSERT: usize = 500;

impl Store {
    /// Replaces the postcode table with `areas`, all or nothing.
    pub async fn import_postcodes(&self, areas: &[PostcodeArea]) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM postcodes")
            .execute(&mut *tx)
            .await?;
        let mut seq: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
        for chunk in areas.chunks(ROWS_PER_INSERT) {
            let mut sql = Sql::new(
                self.backend(),
                "INSERT INTO postcodes (postcode, seq, prefecture, city, town) VALUES ",
            );
            for (i, area) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                let n = seq.entry(area.postcode.as_str()).or_insert(0);
                *n += 1;
                sql.bind_row(vec![
                    Param::Text(area.postcode.clone()),
                    Param::Int(*n),
                    Param::Text(area.prefecture.clone()),
                    Param::Text(area.city.clone()),
                    Param::Text(area.town.clone()),
                ]);
            }
            sqlx::query_with(sql.text(), sql.arguments())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(areas.len())
    }

    /// The areas a postcode (seven digits) names, in the file's order.
    pub async fn postcode_areas(&self, postcode: &str) -> Result<Vec<PostcodeArea>> {
        let rows = sqlx::query(
            "SELECT prefecture, city, town FROM postcodes WHERE postcode = $1 ORDER BY seq",
        )
        .bind(postcode)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PostcodeArea {
                    postcode: postcode.to_string(),
                    prefecture: row.try_get("prefecture")?,
                    city: row.try_get("city")?,
                    town: row.try_get("town")?,
                })
            })
            .collect()
    }

    /// How many postcode rows the table has (the demo fills an empty one).
    pub async fn postcode_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM postcodes")
            .fetch_one(&self.pool)
            .await?)
    }
}
