//! A small SQL builder that writes each backend's own placeholders: `$n` for PostgreSQL and
//! plain `?` for SQLite.
//!
//! Written by hand because `sqlx::QueryBuilder<Any>` emits `?` for both, which PostgreSQL
//! rejects. SQLite could take `$n` too, but then every execution looks up each parameter's name
//! (`sqlite3_bind_parameter_name` was 4% of the intake profile with hundreds of parameters per
//! batch insert); anonymous `?` parameters are bound by position without that.

use sqlx::any::AnyArguments;
use sqlx::Arguments;

use crate::connect::Backend;

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    NullText,
    NullInt,
    NullFloat,
    NullBool,
}

impl Param {
    /// Adds the value to `args`, moving it (batch inserts bind millions of cells).
    pub(crate) fn add_to(self, args: &mut AnyArguments<'static>) {
        // Adding an owned String, i64, f64 or a typed NULL to AnyArguments cannot fail.
        let _ = match self {
            Param::Text(s) => args.add(s),
            Param::Int(i) => args.add(i),
            Param::Float(f) => args.add(f),
            Param::Bool(b) => args.add(b),
            Param::NullText => args.add(None::<String>),
            Param::NullInt => args.add(None::<i64>),
            Param::NullFloat => args.add(None::<f64>),
            Param::NullBool => args.add(None::<bool>),
        };
    }
}

/// SQL text with its parameters, in order.
#[derive(Debug)]
pub(crate) struct Sql {
    backend: Backend,
    text: String,
    params: Vec<Param>,
}

impl Sql {
    pub(crate) fn new(backend: Backend, text: &str) -> Self {
        Self {
            backend,
            text: text.to_string(),
            params: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `param`.
    pub(crate) fn bind(&mut self, param: Param) -> &mut Self {
        self.params.push(param);
        match self.backend {
            Backend::Postgres => self.text.push_str(&format!("${}", self.params.len())),
            Backend::Sqlite => self.text.push('?'),
        }
        self
    }

    /// Appends `(p1, p2, …)` for one row of a multi-row VALUES list.
    pub(crate) fn bind_row(&mut self, row: Vec<Param>) -> &mut Self {
        self.push("(");
        for (i, param) in row.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(param);
        }
        self.push(")")
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn arguments(&self) -> AnyArguments<'static> {
        let mut args = AnyArguments::default();
        for param in &self.params {
            param.clone().add_to(&mut args);
        }
        args
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_escape(input: &str) -> String {
    input
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order_on_postgres_and_anonymous_on_sqlite() {
        let mut sql = Sql::new(Backend::Postgres, "SELECT 1 WHERE a = ");
        sql.bind(Param::Int(1))
            .push(" AND b IN ")
            .bind_row(vec![Param::Text("x".into()), Param::NullText]);
        assert_eq!(sql.text(), "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
        let mut sql = Sql::new(Backend::Sqlite, "SELECT 1 WHERE a = ");
        sql.bind(Param::Int(1))
            .push(" AND b = ")
            .bind(Param::NullText);
        assert_eq!(sql.text(), "SELECT 1 WHERE a = ? AND b = ?");
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escape("100%_a\\"), "100\\%\\_a\\\\");
    }
}
