//! A small SQL builder that numbers `$n` placeholders.
//!
//! Written by hand because `sqlx::QueryBuilder<Any>` emits `?`, which PostgreSQL rejects;
//! `$n` works on both backends.

use sqlx::any::AnyArguments;
use sqlx::Arguments;

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
    NullText,
}

/// SQL text with its parameters, in order.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    text: String,
    params: Vec<Param>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Self {
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
        self.text.push_str(&format!("${}", self.params.len()));
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
            // Adding an owned String, i64 or Option<String> to AnyArguments cannot fail.
            let _ = match param {
                Param::Text(s) => args.add(s.clone()),
                Param::Int(i) => args.add(*i),
                Param::NullText => args.add(None::<String>),
            };
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
    fn placeholders_are_numbered_in_order() {
        let mut sql = Sql::new("SELECT 1 WHERE a = ");
        sql.bind(Param::Int(1))
            .push(" AND b IN ")
            .bind_row(vec![Param::Text("x".into()), Param::NullText]);
        assert_eq!(sql.text(), "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escape("100%_a\\"), "100\\%\\_a\\\\");
    }
}
