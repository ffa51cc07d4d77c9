//! CKAN 2.12's `filters` for `datastore_search` and `datastore_delete`: a dict ANDs its keys;
//! a field takes a value (`=`), a list of values (any of them), or operators
//! (`{"gte": 2010, "lt": 2020}`: `eq`, `in`, `gt`, `gte`, `lt`, `lte`); `$or` and `$and` take
//! lists of such dicts, nested up to 10 deep and 100 operations in all; a field whose name
//! starts with `$` is written `$$…`. Values are read in their field's type and bound, never
//! interpolated; the messages are CKAN's, under the parameter the filters came in.
//!
//! (A top-level list of dicts, CKAN's OR form, reaches here as `{"$or": [...]}`.)

use machi_core::opendata::ingest::{Cell, Field};
use serde_json::{Map, Value};

use super::search::filter_cell;
use super::{quote, DatastoreError, Result};
use crate::sql::{Param, Sql};

/// Operations a filter may hold in all, and how deep `$or`/`$and` may nest (CKAN's limits).
const MAX_OPERATIONS: usize = 100;
const MAX_DEPTH: usize = 10;

/// A comparison of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Eq,
    In,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Compare {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "eq" => Self::Eq,
            "in" => Self::In,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            _ => return None,
        })
    }

    fn sql(self) -> &'static str {
        match self {
            Self::Eq | Self::In => "=",
            Self::Gt => ">",
            Self::Gte => ">=",
            Self::Lt => "<",
            Self::Lte => "<=",
        }
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
enum Filter<'a> {
    Field {
        field: &'a Field,
        compare: Compare,
        /// One value, or the values of `in` (any of them).
        cells: Vec<Cell>,
    },
    All(Vec<Filter<'a>>),
    Any(Vec<Filter<'a>>),
}

struct Parser<'a> {
    all: &'a [Field],
    key: &'static str,
    operations: usize,
}

impl<'a> Parser<'a> {
    fn invalid(&self, message: impl Into<String>) -> DatastoreError {
        DatastoreError::invalid(self.key, message)
    }

    fn count(&mut self) -> Result<()> {
        self.operations += 1;
        if self.operations > MAX_OPERATIONS {
            return Err(self.invalid("Maximum number of filter operations exceeded"));
        }
        Ok(())
    }

    /// A dict: every key must hold.
    fn dict(&mut self, map: &Map<String, Value>, depth: usize) -> Result<Filter<'a>> {
        if map.len() >= MAX_OPERATIONS {
            return Err(self.invalid("Maximum number of filter operations exceeded"));
        }
        let mut each = Vec::with_capacity(map.len());
        for (key, value) in map {
            each.push(match key.strip_prefix('$') {
                Some(rest) if !rest.starts_with('$') => self.operator(key, value, depth)?,
                Some(escaped) => self.field(escaped, value)?,
                None => self.field(key, value)?,
            });
        }
        Ok(joined(each, Filter::All))
    }

    /// `$or` / `$and` over a list of dicts.
    fn operator(&mut self, key: &str, value: &Value, depth: usize) -> Result<Filter<'a>> {
        if depth + 1 >= MAX_DEPTH {
            return Err(self.invalid("Maximum nesting depth for filter operations reached"));
        }
        if key != "$or" && key != "$and" {
            return Err(self.invalid(format!(
                "Unknown operators (must be one of $or, $and): {key}"
            )));
        }
        let members: Vec<&Map<String, Value>> = value
            .as_array()
            .map(|items| items.iter().filter_map(Value::as_object).collect())
            .filter(|dicts: &Vec<_>| Some(dicts.len()) == value.as_array().map(Vec::len))
            .ok_or_else(|| {
                self.invalid(format!(
                    "Filter operations must be defined as a list of dicts: {value}"
                ))
            })?;
        self.count()?;
        let parsed = members
            .into_iter()
            .map(|member| self.dict(member, depth + 1))
            .collect::<Result<Vec<_>>>()?;
        Ok(if key == "$or" {
            Filter::Any(parsed)
        } else {
            Filter::All(parsed)
        })
    }

    /// One field's condition: a value, a list of values, or a dict of comparisons.
    fn field(&mut self, name: &str, value: &Value) -> Result<Filter<'a>> {
        let field = self
            .all
            .iter()
            .find(|f| f.id == name)
            .ok_or_else(|| self.invalid(format!("Unknown field: {name}")))?;
        match value {
            Value::Object(comparisons) if comparisons.is_empty() => Err(self.invalid(format!(
                "Filter operations must be defined as a list of dicts: {value}"
            ))),
            Value::Object(comparisons) => {
                let mut each = Vec::new();
                for (name, value) in comparisons {
                    let compare = Compare::parse(name)
                        .ok_or_else(|| self.invalid(format!("Unknown filter operation: {name}")))?;
                    each.push(self.compare(field, compare, value)?);
                }
                Ok(joined(each, Filter::All))
            }
            Value::Array(items) => {
                let (dicts, values): (Vec<&Value>, Vec<&Value>) =
                    items.iter().partition(|item| item.is_object());
                let mut each = Vec::new();
                for dict in dicts {
                    each.push(self.field(name, dict)?);
                }
                if !values.is_empty() || each.is_empty() {
                    let list = Value::Array(values.into_iter().cloned().collect());
                    each.push(self.compare(field, Compare::In, &list)?);
                }
                Ok(joined(each, Filter::Any))
            }
            value => self.compare(field, Compare::Eq, value),
        }
    }

    fn compare(&mut self, field: &'a Field, compare: Compare, value: &Value) -> Result<Filter<'a>> {
        self.count()?;
        let values: Vec<&Value> = match (compare, value) {
            (Compare::In, Value::Array(items)) => items.iter().collect(),
            (Compare::In, _) => return Err(self.invalid("in takes a list of values")),
            (_, value) => vec![value],
        };
        let cells = values
            .into_iter()
            .map(|v| filter_cell(field, v, self.key))
            .collect::<Result<Vec<_>>>()?;
        Ok(Filter::Field {
            field,
            compare,
            cells,
        })
    }
}

/// One filter as it is, several joined by `join`.
fn joined<'a>(mut each: Vec<Filter<'a>>, join: fn(Vec<Filter<'a>>) -> Filter<'a>) -> Filter<'a> {
    if each.len() == 1 {
        each.remove(0)
    } else {
        join(each)
    }
}

/// Appends the condition `filters` make (given in the parameter `key`) to `sql`; `None` when
/// there are none.
pub(super) fn push_filters(
    sql: &mut Sql,
    all: &[Field],
    filters: &Map<String, Value>,
    key: &'static str,
) -> Result<bool> {
    if filters.is_empty() {
        return Ok(false);
    }
    let mut parser = Parser {
        all,
        key,
        operations: 0,
    };
    let filter = parser.dict(filters, 0)?;
    push(sql, &filter);
    Ok(true)
}

fn push(sql: &mut Sql, filter: &Filter<'_>) {
    match filter {
        Filter::All(each) | Filter::Any(each) if each.is_empty() => {
            sql.push(if matches!(filter, Filter::All(_)) {
                "1 = 1"
            } else {
                "1 = 0"
            });
        }
        Filter::All(each) | Filter::Any(each) => {
            let join = if matches!(filter, Filter::All(_)) {
                " AND "
            } else {
                " OR "
            };
            sql.push("(");
            for (i, one) in each.iter().enumerate() {
                if i > 0 {
                    sql.push(join);
                }
                push(sql, one);
            }
            sql.push(")");
        }
        Filter::Field {
            field,
            compare,
            cells,
        } => push_compare(sql, field, *compare, cells),
    }
}

/// `(f = $1 OR f = $2 OR f IS NULL)` for `eq`/`in` (an empty list matches nothing, as
/// CKAN's `IN ()` would; `null` is the empty cell), `f > $1` and the like for the rest (never
/// true for `null`).
fn push_compare(sql: &mut Sql, field: &Field, compare: Compare, cells: &[Cell]) {
    let column = quote(&field.id);
    sql.push("(");
    if cells.is_empty() {
        sql.push("1 = 0");
    }
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        let op = compare.sql();
        match cell {
            Cell::Null if op == "=" => sql.push(&format!("{column} IS NULL")),
            Cell::Null => sql.push("1 = 0"),
            Cell::Int(v) => sql.push(&format!("{column} {op} ")).bind(Param::Int(*v)),
            Cell::Numeric(v) => sql.push(&format!("{column} {op} ")).bind(Param::Float(*v)),
            Cell::Bool(v) => sql.push(&format!("{column} {op} ")).bind(Param::Bool(*v)),
            Cell::Text(v) => sql
                .push(&format!("{column} {op} "))
                .bind(Param::Text(v.clone())),
        };
    }
    sql.push(")");
}

#[cfg(test)]
mod tests {
    use machi_core::opendata::types::ColumnType;
    use serde_json::json;

    use super::*;
    use crate::Backend;

    fn fields() -> Vec<Field> {
        vec![
            Field {
                id: "year".into(),
                kind: ColumnType::Int4,
            },
            Field {
                id: "city".into(),
                kind: ColumnType::Text,
            },
            Field {
                id: "$AUD".into(),
                kind: ColumnType::Float8,
            },
        ]
    }

    fn sql_of(filters: Value) -> Result<String> {
        let all = fields();
        let mut sql = Sql::new(Backend::Postgres, "");
        push_filters(&mut sql, &all, filters.as_object().unwrap(), "filters")?;
        Ok(sql.text().to_string())
    }

    fn message(filters: Value) -> String {
        sql_of(filters).unwrap_err().to_string()
    }

    #[test]
    fn operators_become_bound_comparisons() {
        assert_eq!(sql_of(json!({"year": 2010})).unwrap(), "(\"year\" = $1)");
        assert_eq!(
            sql_of(json!({"year": {"gte": 2010, "lt": 2020}})).unwrap(),
            "((\"year\" >= $1) AND (\"year\" < $2))"
        );
        assert_eq!(
            sql_of(json!({"year": [2005, {"gte": 2010}]})).unwrap(),
            "((\"year\" >= $1) OR (\"year\" = $2))"
        );
        assert_eq!(
            sql_of(json!({"$or": [{"city": "堺市"}, {"year": {"lt": 2000}, "city": "吹田市"}]}))
                .unwrap(),
            "((\"city\" = $1) OR ((\"city\" = $2) AND (\"year\" < $3)))"
        );
        assert_eq!(
            sql_of(json!({"$$AUD": {"gt": 1.5}})).unwrap(),
            "(\"$AUD\" > $1)"
        );
        assert_eq!(sql_of(json!({"year": []})).unwrap(), "(1 = 0)");
        assert_eq!(sql_of(json!({"year": null})).unwrap(), "(\"year\" IS NULL)");
    }

    #[test]
    fn bad_filters_get_ckan_s_messages() {
        assert!(message(json!({"色": 1})).contains("Unknown field: 色"));
        assert!(message(json!({"$not": [{"year": 1}]})).contains("Unknown operators"));
        assert!(message(json!({"$or": {"year": 1}})).contains("list of dicts"));
        assert!(message(json!({"year": {"ne": 1}})).contains("Unknown filter operation: ne"));
        assert!(message(json!({"year": {"gt": "多い"}})).contains("not of type"));
        let mut deep = json!({"year": 1});
        for _ in 0..10 {
            deep = json!({"$and": [deep]});
        }
        assert!(message(deep).contains("Maximum nesting depth"));
        let many: Vec<Value> = (0..101).map(|i| json!({"year": i})).collect();
        assert!(message(json!({"$or": many})).contains("Maximum number of filter operations"));
    }
}
