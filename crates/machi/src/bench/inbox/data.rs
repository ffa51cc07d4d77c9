//! The million applications of `machi bench inbox`: the demo catalog's departments with
//! realistic shares, statuses by age, assignees and answers, inserted in large transactions.

use anyhow::{anyhow, Context};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use machi_core::applications::Status;
use machi_core::procedures::{parse_catalog, CatalogFormat};
use machi_core::receipt::ReceiptNumber;
use machi_store::review::{Assignee, InboxQuery};
use machi_store::{Backend, Store};
use sqlx::any::AnyArguments;
use sqlx::Arguments;

use super::{
    Role, DEPARTMENT_SHARES, PAGE, ROWS_PER_STATEMENT, ROWS_PER_TRANSACTION, STAFF_PER_DEPARTMENT,
    TENANT,
};

/// A department of the demo catalog: its share of applications and its procedures (with the
/// form version applications point at), most used first.
pub(super) struct Department {
    pub(super) code: String,
    share: f64,
    procedures: Vec<(String, i64)>,
}

/// The demo city as the generator sees it.
pub(super) struct City {
    departments: Vec<Department>,
}

impl City {
    /// Departments and procedures (those with a form) of the demo catalog, biggest first.
    pub(super) fn from_demo_catalog() -> anyhow::Result<Self> {
        let catalog = parse_catalog(crate::demo::DEMO_CATALOG, CatalogFormat::Yaml)?;
        let mut departments: Vec<Department> = Vec::new();
        for procedure in &catalog {
            let Some(form) = &procedure.form else {
                continue;
            };
            let code = &procedure.department.code;
            let entry = (procedure.id.clone(), form.version);
            match departments.iter_mut().find(|d| &d.code == code) {
                Some(department) => department.procedures.push(entry),
                None => departments.push(Department {
                    code: code.clone(),
                    share: DEPARTMENT_SHARES
                        .iter()
                        .find(|(c, _)| c == code)
                        .map_or(1.0, |(_, share)| *share),
                    procedures: vec![entry],
                }),
            }
        }
        departments.sort_by(|a, b| b.share.total_cmp(&a.share));
        anyhow::ensure!(
            !departments.is_empty(),
            "the demo catalog has no procedure with a form"
        );
        Ok(Self { departments })
    }

    pub(super) fn largest(&self) -> &Department {
        &self.departments[0]
    }

    /// The inbox pages to time, with how each counts against the target.
    pub(super) async fn queries(
        &self,
        store: &Store,
    ) -> anyhow::Result<Vec<(String, InboxQuery, Role)>> {
        let department = self.largest();
        let base = InboxQuery {
            department: department.code.clone(),
            limit: PAGE,
            ..Default::default()
        };
        let rare = department
            .procedures
            .last()
            .map(|(id, _)| id.clone())
            .unwrap_or_default();
        let mut deep = base.clone();
        for _ in 0..20 {
            let page = store.inbox(TENANT, &deep).await?;
            deep.after = page.last().map(|item| item.cursor());
        }
        // An application of about two years ago, to look for by e-mail address and receipt.
        let mut old = base.clone();
        old.oldest_first = true;
        old.limit = 1;
        old.after = Some(format!("{}|", sample_time(0.33)));
        let found = store.inbox(TENANT, &old).await?;
        let receipt = found
            .first()
            .map(|item| item.receipt_number.clone())
            .context("no application to search for")?;
        let answers = store
            .answers_of(TENANT, std::slice::from_ref(&receipt))
            .await?;
        let answer = |field: &str| {
            answers
                .get(&receipt)
                .and_then(|(_, answers)| answers.get(field))
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .with_context(|| format!("the sample application has no {field}"))
        };
        let (mail, phone) = (answer("mail")?, answer("denwa")?);
        let code = &department.code;
        let mut queries = vec![
            (
                format!("first page, {code} (largest department), newest first"),
                base.clone(),
                Role::Unfiltered,
            ),
            (
                "status = in_review".into(),
                InboxQuery {
                    status: Some(Status::InReview),
                    ..base.clone()
                },
                Role::Filtered,
            ),
            (
                format!("status = in_review + procedure = {rare} (rarest)"),
                InboxQuery {
                    status: Some(Status::InReview),
                    procedure: Some(rare.clone()),
                    ..base.clone()
                },
                Role::Filtered,
            ),
            (
                format!("status = completed + procedure = {rare} (rarest)"),
                InboxQuery {
                    status: Some(Status::Completed),
                    procedure: Some(rare),
                    ..base.clone()
                },
                Role::Filtered,
            ),
            (
                "overdue only".into(),
                InboxQuery {
                    overdue: true,
                    ..base.clone()
                },
                Role::Filtered,
            ),
            (
                "assignee = one member of staff".into(),
                InboxQuery {
                    assignee: Assignee::Person(staff_email(code, 2)),
                    ..base.clone()
                },
                Role::Filtered,
            ),
            (
                "oldest first".into(),
                InboxQuery {
                    oldest_first: true,
                    ..base.clone()
                },
                Role::Unfiltered,
            ),
            ("deep page (after 20 pages)".into(), deep, Role::Unfiltered),
            (
                "search: receipt number (1 match)".into(),
                InboxQuery {
                    text: receipt,
                    ..base.clone()
                },
                Role::Filtered,
            ),
        ];
        let searches = [
            ("e-mail address (1 match)", mail),
            ("phone number (1 match)", phone.clone()),
            (
                "phone number without hyphens (1 match)",
                phone.replace('-', ""),
            ),
            (
                "last four digits of a phone number",
                phone[phone.len() - 4..].to_string(),
            ),
            ("full name, 佐藤 花子 (1 in 64)", "佐藤 花子".into()),
            ("family name in kana, サトウ (1 in 8)", "サトウ".into()),
            ("町 and 丁目, 中央町3丁目 (1 in 100)", "中央町3丁目".into()),
            ("a name nobody has (0 matches)", "存在 しない".into()),
        ];
        // A common name in a page the filters make rare: the most the index has to read.
        let rarest = department
            .procedures
            .last()
            .map(|(id, _)| id.clone())
            .unwrap_or_default();
        queries.push((
            format!("search in the answers: サトウ + status = in_review + procedure = {rarest}"),
            InboxQuery {
                text: "サトウ".into(),
                status: Some(Status::InReview),
                procedure: Some(rarest),
                ..base.clone()
            },
            Role::Answers,
        ));
        for (label, text) in searches {
            queries.push((
                format!("search in the answers: {label}"),
                InboxQuery {
                    text,
                    ..base.clone()
                },
                Role::Answers,
            ));
        }
        Ok(queries)
    }
}

fn staff_email(department: &str, n: usize) -> String {
    format!("{department}.{n}@demo.machi.example")
}

/// The start of the three years the applications span.
fn span_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::days(3 * 365)
}

/// The stored time at `fraction` of the span (0 = three years ago).
fn sample_time(fraction: f64) -> String {
    let now = Utc::now();
    let start = span_start(now);
    let offset = (now - start).num_seconds() as f64 * fraction;
    format_time(start + chrono::Duration::seconds(offset as i64))
}

/// As the store writes times: UTC, fixed width.
fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// splitmix64: deterministic, fast, and enough for picking departments and statuses.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An index drawn with the given weights.
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let mut x = self.unit() * weights.iter().sum::<f64>();
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// Zipf-like: the first of `n` is the most likely.
    fn zipf(&mut self, n: usize) -> usize {
        let weights: Vec<f64> = (1..=n).map(|k| 1.0 / k as f64).collect();
        self.weighted(&weights)
    }
}

/// Status weights, in `ALL_STATUSES` order, by age: recent applications are still open, old
/// ones almost all done, with a few stuck (those are the overdue ones).
fn status_weights(age_days: i64) -> [f64; 7] {
    match age_days {
        ..14 => [40.0, 35.0, 10.0, 5.0, 5.0, 0.0, 5.0],
        14..60 => [5.0, 15.0, 5.0, 3.0, 12.0, 5.0, 55.0],
        _ => [0.05, 0.3, 0.3, 0.05, 0.8, 5.5, 93.0],
    }
}

/// Family names with their kana: the eight most common in Japan, so a family name alone
/// matches one application in eight (the hardest search for an index).
const FAMILY_NAMES: [(&str, &str); 8] = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
];
const GIVEN_NAMES: [(&str, &str); 8] = [
    ("花子", "ハナコ"),
    ("太郎", "タロウ"),
    ("陽菜", "ヒナ"),
    ("蓮", "レン"),
    ("結衣", "ユイ"),
    ("大翔", "ヒロト"),
    ("美咲", "ミサキ"),
    ("健太", "ケンタ"),
];
/// 町 of the city's addresses (each with 1–5 丁目).
const TOWNS: [&str; 20] = [
    "中央町",
    "本町",
    "栄町",
    "旭町",
    "緑町",
    "桜町",
    "若葉町",
    "東町",
    "西町",
    "南町",
    "北町",
    "大手町",
    "新町",
    "元町",
    "宮前町",
    "浜町",
    "松原町",
    "錦町",
    "寿町",
    "春日町",
];

const INSERT_COLUMNS: &str = "INSERT INTO applications (tenant_id, receipt_number, procedure_id, \
     form_version, status, answers, access_code_sha256, made_via, request_sha256, submitted_at, \
     updated_at, department_code, due_at, assignee) VALUES ";
const COLUMNS: usize = 14;

/// Applications in the order they were submitted, evenly over three years ending now.
struct Generator<'a> {
    city: &'a City,
    rng: Rng,
    now: DateTime<Utc>,
    start: DateTime<Utc>,
    step_us: f64,
    index: usize,
    day: Option<NaiveDate>,
    sequence: u64,
    jst: FixedOffset,
}

impl<'a> Generator<'a> {
    fn new(city: &'a City, rows: usize) -> anyhow::Result<Self> {
        let now = Utc::now();
        let start = span_start(now);
        let span_us = (now - start).num_microseconds().unwrap_or(0) as f64;
        Ok(Self {
            city,
            rng: Rng(20_240_401),
            now,
            start,
            step_us: span_us / rows.max(1) as f64,
            index: 0,
            day: None,
            sequence: 0,
            jst: machi_core::wareki::jst(),
        })
    }

    /// Binds the next application's columns, in the order of [`INSERT_COLUMNS`].
    fn bind_next(&mut self, args: &mut AnyArguments<'static>) -> anyhow::Result<()> {
        let rng = &mut self.rng;
        let offset = self.step_us * (self.index as f64 + 0.9 * rng.unit());
        self.index += 1;
        let submitted = self.start + chrono::Duration::microseconds(offset as i64);
        let day = submitted.with_timezone(&self.jst).date_naive();
        if self.day != Some(day) {
            self.day = Some(day);
            self.sequence = 0;
        }
        self.sequence += 1;
        let shares: Vec<f64> = self.city.departments.iter().map(|d| d.share).collect();
        let department = &self.city.departments[rng.weighted(&shares)];
        let (procedure_id, form_version) =
            department.procedures[rng.zipf(department.procedures.len())].clone();
        let age_days = (self.now - submitted).num_days();
        let status =
            machi_core::applications::ALL_STATUSES[rng.weighted(&status_weights(age_days))];
        let updated = match status {
            Status::Received => submitted,
            _ => (submitted + chrono::Duration::days((rng.unit() * 20.0) as i64)).min(self.now),
        };
        let assignee = (status != Status::Received && rng.unit() < 0.85)
            .then(|| staff_email(&department.code, rng.zipf(STAFF_PER_DEPARTMENT)));
        let family = FAMILY_NAMES[rng.next() as usize % FAMILY_NAMES.len()];
        let given = GIVEN_NAMES[rng.next() as usize % GIVEN_NAMES.len()];
        let town = TOWNS[rng.next() as usize % TOWNS.len()];
        let n = self.index;
        let answers = serde_json::json!({
            "shimei": format!("{} {}", family.0, given.0),
            "furigana": format!("{}\u{3000}{}", family.1, given.1),
            "denwa": format!("090-{:04}-{:04}", (n / 10_000) % 10_000, n % 10_000),
            "mail": format!("resident{n}@example.jp"),
            "yuubin": "150-0001",
            "jusho": format!(
                "大阪府デモ市{town}{}丁目{}番{}号",
                1 + rng.next() % 5,
                1 + rng.next() % 30,
                1 + rng.next() % 20
            ),
        });
        let digest = format!("{:016x}{:032x}", rng.next(), n);
        let made_via = if rng.unit() < 0.2 {
            "counter"
        } else {
            "online"
        };
        let error = |e: sqlx::error::BoxDynError| anyhow!("binding a parameter: {e}");
        let receipt = ReceiptNumber::new(day, self.sequence).to_string();
        for text in [TENANT.to_string(), receipt, procedure_id] {
            args.add(text).map_err(error)?;
        }
        args.add(form_version).map_err(error)?;
        for text in [
            status.as_str().to_string(),
            answers.to_string(),
            digest.clone(),
            made_via.to_string(),
            digest,
            format_time(submitted),
            format_time(updated),
            department.code.clone(),
            format_time(submitted + chrono::Duration::days(14)),
        ] {
            args.add(text).map_err(error)?;
        }
        args.add(assignee).map_err(error)?;
        Ok(())
    }
}

/// Inserts `rows` applications, `ROWS_PER_STATEMENT` per statement and `ROWS_PER_TRANSACTION`
/// per commit.
pub(super) async fn load(store: &Store, city: &City, rows: usize) -> anyhow::Result<()> {
    let mut generator = Generator::new(city, rows)?;
    let backend = store.backend();
    let mut done = 0;
    while done < rows {
        let in_transaction = ROWS_PER_TRANSACTION.min(rows - done);
        let mut tx = store.pool().begin().await?;
        let mut written = 0;
        while written < in_transaction {
            let count = ROWS_PER_STATEMENT.min(in_transaction - written);
            let sql = insert_statement(backend, count);
            let mut arguments = AnyArguments::default();
            for _ in 0..count {
                generator.bind_next(&mut arguments)?;
            }
            sqlx::query_with(&sql, arguments).execute(&mut *tx).await?;
            written += count;
        }
        tx.commit().await?;
        done += in_transaction;
        if done % 200_000 == 0 {
            eprintln!("  {done}");
        }
    }
    Ok(())
}

/// `INSERT … VALUES (…), (…)` for `count` rows with each backend's placeholders.
fn insert_statement(backend: Backend, count: usize) -> String {
    let mut sql = String::from(INSERT_COLUMNS);
    let mut n = 0;
    for row in 0..count {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..COLUMNS {
            if column > 0 {
                sql.push_str(", ");
            }
            n += 1;
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${n}")),
            }
        }
        sql.push(')');
    }
    sql
}
