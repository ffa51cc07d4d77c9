//! `machi`: a self-hostable digital city hall in one binary.
//!
//! Every setting has a flag, a `MACHI_*` environment variable and a default, so `machi serve`
//! starts with nothing configured: SQLite in `./machi-data`, listening on 127.0.0.1:8080.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

/// mimalloc: many small allocations per request on two busy threads; glibc malloc's locking
/// and consolidation showed up at the top of the intake profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "bench")]
mod bench;
mod demo;
mod imports;
mod lottery;
mod opendata;
mod settings;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use machi_core::procedures::{parse_catalog, CatalogFormat};
use machi_store::users::NewUser;
use machi_store::{Store, Tenant};
use settings::Settings;

#[derive(Parser)]
#[command(
    name = "machi",
    version,
    about = "machi: a digital city hall in one binary"
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the web server (resident pages, API, health and metrics).
    Serve {
        /// Loads the fictional demo city (デモ市) and its catalog if the city has no procedures yet.
        #[arg(long)]
        demo: bool,
    },
    /// Runs the database migrations and exits.
    Migrate,
    /// Imports data from a file.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Manages staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Prints the effective settings (secrets masked).
    Config,
    /// Checks the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Writes an online, consistent backup of the database and its files into a new directory
    /// (SQLite: a snapshot and the attachments; PostgreSQL: pg_dump of machi's schema).
    Backup {
        /// The directory to make (it must not exist).
        dir: std::path::PathBuf,
    },
    /// Restores a backup into a fresh data directory or an empty PostgreSQL database, then
    /// brings it up to this version's schema.
    Restore {
        /// A directory written by `machi backup`.
        dir: std::path::PathBuf,
    },
    /// Open data: checks a CSV against a standard dataset.
    #[command(subcommand)]
    Opendata(OpendataCommand),
    /// Facility lotteries (抽選).
    #[command(subcommand)]
    Lottery(LotteryCommand),
    /// Measures intake and the staff inbox beside their baselines (see BENCHMARKS.md; built
    /// with `--features bench`).
    #[cfg(feature = "bench")]
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum OpendataCommand {
    /// Checks a CSV (UTF-8 or Shift_JIS) against a standard dataset; errors and warnings by
    /// line and column; fails when there are errors.
    Check(opendata::CheckArgs),
}

#[cfg(feature = "bench")]
#[derive(Subcommand)]
enum BenchCommand {
    /// Durable applications per second and p50/p99 latency, on SQLite and PostgreSQL.
    Intake(bench::BenchArgs),
    /// The staff inbox at a million applications: p50/p99 per query, on SQLite and PostgreSQL.
    Inbox(bench::inbox::InboxArgs),
    /// An emergency notice to 300,000 subscribers by webhook and e-mail, beside a plain HTTP
    /// load tool against the same receiver.
    Alert(bench::alert::AlertArgs),
    /// CKAN package_search over 10,000 datasets: p50/p99 per query beside raw SQLite.
    Catalog(bench::catalog::CatalogArgs),
    /// Search over 100,000 documents: build, query p50/p99 and time for a change to be
    /// found, beside raw tantivy on the same documents.
    Search(bench::search::SearchArgs),
    /// A 9:00 opening: 10,000 people book 200 slots at once (exactly 200 booked, none twice).
    Booking(bench::booking::BookingArgs),
    /// The open-data datastore at a million rows: ingest rows/s and filtered search p50/p99,
    /// beside the same lookup as raw SQLite.
    Datastore(bench::datastore::DatastoreArgs),
}

#[cfg(feature = "bench")]
async fn run_bench(settings: &Settings, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Intake(args) => bench::run(settings, args).await,
        BenchCommand::Inbox(args) => bench::inbox::run(settings, args).await,
        BenchCommand::Alert(args) => bench::alert::run(settings, args).await,
        BenchCommand::Catalog(args) => bench::catalog::run(args).await,
        BenchCommand::Search(args) => bench::search::run(args).await,
        BenchCommand::Booking(args) => bench::booking::run(args).await,
        BenchCommand::Datastore(args) => bench::datastore::run(settings, args).await,
    }
}

#[derive(Subcommand)]
enum LotteryCommand {
    /// Re-runs a drawn round from its published seed and applications; fails unless it gives
    /// the published wins and the seed matches the hash published before the draw.
    Verify(lottery::VerifyArgs),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walks the hash chain of the city's audit log; fails if any entry was edited or removed.
    Verify,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Imports a procedure catalog (CSV in UTF-8 or Shift_JIS, JSON or YAML); all or nothing.
    Procedures {
        /// The catalog file (.csv, .json, .yaml or .yml).
        file: std::path::PathBuf,
    },
    /// Replaces the city's life-event bundles (`bundles:` in YAML or JSON); all or nothing.
    LifeEvents {
        /// The bundle file (.yaml, .yml or .json).
        file: std::path::PathBuf,
    },
    /// Replaces the postcode table behind the forms' address lookup with the national postcode
    /// file (Japan Post's KEN_ALL.CSV, Shift_JIS or UTF-8, unzipped); all or nothing. The
    /// table is shared by every city of the deployment.
    Postcodes {
        /// The postcode file (KEN_ALL.CSV).
        file: std::path::PathBuf,
    },
    /// Replaces the national holidays behind 開庁日 with the Cabinet Office's list
    /// (`syukujitsu.csv` from 内閣府, Shift_JIS or UTF-8); all or nothing. Shared by every city;
    /// each city's own closures are kept (staff edit them at /staff/calendar).
    Calendar {
        /// The holiday list (syukujitsu.csv).
        file: std::path::PathBuf,
    },
    /// Replaces the city's 町字 (towns and their 丁目), the areas notices and subscriptions
    /// name: デジタル庁's アドレス・ベース・レジストリ 町字マスター CSV, or a CSV with 町名 and 丁目
    /// columns (UTF-8 or Shift_JIS); all or nothing.
    Areas {
        /// The 町字 list (.csv).
        file: std::path::PathBuf,
    },
    /// Replaces the city's よくある質問 with a CSV (UTF-8 or Shift_JIS; columns 番号, 担当課コード,
    /// 担当課, 質問, 回答, 関連手続, キーワード, or their English names); all or nothing.
    Faq {
        /// The FAQ spreadsheet (.csv).
        file: std::path::PathBuf,
    },
    /// Adds or replaces the services residents book (counters, consultations, facilities) from
    /// a YAML file like `demo/services.yaml`; all or nothing.
    Services {
        /// The services file (.yaml).
        file: std::path::PathBuf,
    },
    /// Imports an ICT/DX plan (`machi-plan/1` YAML, see docs/plan-format.md); a plan with the
    /// same id is replaced as a revision (progress is kept by measure id); all or nothing.
    Plan {
        /// The plan file (.yaml or .yml).
        file: std::path::PathBuf,
        /// Why the plan is revised, kept in its revision history (required to replace a plan).
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Creates a staff account; the password is read from MACHI_USER_PASSWORD or standard input.
    Create {
        #[arg(long)]
        email: String,
        /// admin, manager, staff, counter, auditor or cio.
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: Option<String>,
        /// Department code the user belongs to.
        #[arg(long)]
        department: Option<String>,
    },
    /// Makes an API token for a staff account (for the CKAN API's write actions and scripts);
    /// the token is printed once and acts with the account's role and department.
    Token {
        #[arg(long)]
        email: String,
        /// What the token is for (shown in the audit log).
        #[arg(long)]
        name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    settings::init_tracing(&cli.settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("machi: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("machi: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    match cli.command {
        Command::Config => {
            println!("{}", settings.describe());
            Ok(())
        }
        Command::Opendata(OpendataCommand::Check(args)) => opendata::run(&args),
        Command::Lottery(LotteryCommand::Verify(args)) => lottery::verify(&args).await,
        #[cfg(feature = "bench")]
        Command::Bench(command) => run_bench(&settings, command).await,
        Command::Audit(AuditCommand::Verify) => {
            let store = open_store(&settings).await?;
            let report = store.verify_audit(&settings.city).await;
            store.close().await;
            let report = report?;
            println!(
                "{}: {} audit entries, head {}",
                settings.city, report.entries, report.head_sha256
            );
            for problem in &report.problems {
                println!("BROKEN: {problem}");
            }
            anyhow::ensure!(
                report.problems.is_empty(),
                "the audit log of {} has been tampered with ({} problems)",
                settings.city,
                report.problems.len()
            );
            println!("the chain is intact");
            Ok(())
        }
        Command::Backup { dir } => {
            let url = settings.database_url_or_default();
            let manifest = machi_store::backup::backup(
                &url,
                &settings.data_dir,
                &dir,
                env!("CARGO_PKG_VERSION"),
            )
            .await
            .context("the backup was not made")?;
            println!(
                "backed up {} ({} files, migration {}) into {}",
                manifest.backend,
                manifest.files.len(),
                manifest.migration,
                dir.display()
            );
            Ok(())
        }
        Command::Restore { dir } => {
            let url = settings.database_url_or_default();
            let manifest = machi_store::backup::restore(&dir, &url, &settings.data_dir)
                .await
                .context("nothing was restored")?;
            println!(
                "restored the {} backup of {} ({} files)",
                manifest.backend,
                manifest.created_at,
                manifest.files.len()
            );
            Ok(())
        }
        Command::Migrate => {
            let store = open_store(&settings).await?;
            println!("migrations are up to date ({})", store.backend().as_str());
            store.close().await;
            Ok(())
        }
        Command::Serve { demo } => {
            let store = open_store(&settings).await?;
            if demo {
                demo::load(&store, &settings.city).await?;
                demo::postcodes(&store).await?;
                demo::areas(&store, &settings.city).await?;
                demo::faq(&store, &settings.city).await?;
                demo::staff_accounts(&store, &settings.city).await?;
                demo::plans(&store, &settings.city).await?;
                demo::assets(&store, &settings.city).await?;
                demo::opendata(&store, &settings.city).await?;
                demo::services(&store, &settings.city).await?;
            }
            serve(&settings, store, demo).await
        }
        Command::Import(ImportCommand::LifeEvents { file }) => {
            let store = open_store(&settings).await?;
            let result = import_life_events(&store, &settings.city, &file).await;
            store.close().await;
            result
        }
        Command::Import(ImportCommand::Postcodes { file }) => {
            let store = open_store(&settings).await?;
            let result = imports::postcodes(&store, &file).await;
            store.close().await;
            result
        }
        Command::Import(ImportCommand::Calendar { file }) => {
            let store = open_store(&settings).await?;
            let result = imports::calendar(&store, &file).await;
            store.close().await;
            result
        }
        Command::Import(ImportCommand::Faq { file }) => {
            let store = open_store(&settings).await?;
            let result = imports::faq(&store, &settings.city, &file).await;
            store.close().await;
            result
        }
        Command::Import(ImportCommand::Services { file }) => {
            let store = open_store(&settings).await?;
            let result = imports::services(&store, &settings.city, &file).await;
            store.close().await;
            result
        }
        Command::Import(ImportCommand::Areas { file }) => {
            let store = open_store(&settings).await?;
            let result = imports::areas(&store, &settings.city, &file).await;
            store.close().await;
            result
        }
        Command::Import(ImportCommand::Plan { file, reason }) => {
            let store = open_store(&settings).await?;
            let result = import_plan(&store, &settings.city, &file, reason.as_deref()).await;
            store.close().await;
            result
        }
        Command::Import(ImportCommand::Procedures { file }) => {
            let store = open_store(&settings).await?;
            let result = import_procedures(&store, &settings.city, &file).await;
            store.close().await;
            result
        }
        Command::User(UserCommand::Token { email, name }) => {
            let store = open_store(&settings).await?;
            let made = store.create_api_token(&settings.city, &email, &name).await;
            store.close().await;
            let (id, token) = made.with_context(|| format!("no token for {email}"))?;
            println!("API token {id} for {email} (shown once; keep it secret):\n{token}");
            Ok(())
        }
        Command::User(UserCommand::Create {
            email,
            role,
            name,
            department,
        }) => {
            let store = open_store(&settings).await?;
            let password = read_password()?;
            let user = NewUser {
                tenant_id: &settings.city,
                email: &email,
                display_name: name.as_deref().unwrap_or(&email),
                role: &role,
                department_code: department.as_deref(),
            };
            store.create_user(&user, &password).await?;
            println!("created {role} account {email}");
            store.close().await;
            Ok(())
        }
    }
}

/// Opens the store and makes sure the configured city exists.
async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::open(settings.database_url.as_deref(), settings.data_dir.clone())
        .await
        .context("cannot open the database")?;
    store
        .ensure_tenant(&Tenant {
            id: settings.city.clone(),
            name_ja: settings.city_name.clone(),
            name_en: settings.city_name_en.clone(),
            host: settings.city_host.clone(),
        })
        .await?;
    Ok(store)
}

async fn import_procedures(
    store: &Store,
    city: &str,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let format = CatalogFormat::from_path(&name)
        .with_context(|| format!("{name}: use a .csv, .json, .yaml or .yml file"))?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {name}"))?;
    let started = std::time::Instant::now();
    let procedures =
        parse_catalog(&bytes, format).with_context(|| format!("{name} was not imported"))?;
    let summary = store
        .import_catalog(city, &procedures)
        .await
        .with_context(|| format!("{name} was not imported"))?;
    println!(
        "imported {} procedures ({} new form versions) from {name} in {:.2} s",
        summary.procedures,
        summary.forms_added,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn import_life_events(
    store: &Store,
    city: &str,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {name}"))?;
    let yaml = !name.ends_with(".json");
    let bundles = machi_core::life_events::parse_bundles(&bytes, yaml)
        .map_err(|e| anyhow::anyhow!("{name} was not imported: {e}"))?;
    let count = store
        .import_bundles(city, &bundles)
        .await
        .with_context(|| format!("{name} was not imported"))?;
    println!("imported {count} life-event bundles from {name}");
    Ok(())
}

async fn import_plan(
    store: &Store,
    city: &str,
    file: &std::path::Path,
    reason: Option<&str>,
) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {name}"))?;
    // Every problem on its own line with its path, so a city fixes its file in one pass.
    let plan = machi_core::plans::parse_plan(&bytes).map_err(|problems| {
        anyhow::anyhow!(
            "{name} was not imported; {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        )
    })?;
    let exists = store.plan(city, &plan.plan.id).await?.is_some();
    let reason = match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(reason) => reason,
        None if exists => anyhow::bail!(
            "{name} was not imported: plan {} exists; give --reason for the revision",
            plan.plan.id
        ),
        None => "初版の取込",
    };
    let summary = store
        .import_plan(city, &plan, "machi import plan", reason)
        .await
        .with_context(|| format!("{name} was not imported"))?;
    println!(
        "imported plan {} ({}): {} nodes, {} measures from {name}",
        summary.id, summary.title, summary.node_count, summary.measure_count
    );
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    let password = match std::env::var("MACHI_USER_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            eprintln!("password (min 12 characters), then Enter:");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    anyhow::ensure!(
        password.chars().count() >= 12,
        "the password must have at least 12 characters"
    );
    Ok(password)
}

async fn serve(settings: &Settings, store: Store, demo: bool) -> anyhow::Result<()> {
    let test_payments = demo || settings.payments_test_provider;
    if test_payments {
        tracing::warn!(
            "the test payment provider is on: applicants can mark their own fees paid; \
             never run a city's real service like this"
        );
    }
    let city_code = settings.city_code(demo)?;
    let tenants = store.tenants().await?;
    let listener = tokio::net::TcpListener::bind(&settings.addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.addr))?;
    let local = listener.local_addr()?;
    let public_url = settings.public_url(local)?;
    let app = machi_web::router(
        machi_web::AppState::new(store.clone(), tenants, public_url.clone())
            .with_oidc(settings.oidc())
            .with_line(settings.line())
            .with_private_webhooks(settings.webhook_allow_private)
            .with_metrics_token(settings.metrics_token.clone())
            .with_trusted_proxies(settings.trusted_proxy.clone())
            .with_test_payments(test_payments)
            .with_mail(settings.smtp_url.is_some())
            .with_cap_sender(settings.cap_sender.clone())
            .with_city_code(&settings.city, city_code),
    );
    let workers = machi_work::delivery::spawn(store.clone(), settings.delivery(&public_url));
    let snapshots = tokio::spawn(machi_work::snapshot_metrics_hourly(store.clone()));
    println!(
        "machi is serving {} on http://{local}/ ({})",
        settings.city_name,
        store.backend().as_str()
    );
    tracing::info!(addr = %local, backend = store.backend().as_str(), "serving");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    // The batches in hand are sent and recorded before the database closes, so a restart
    // neither loses nor repeats a delivery.
    workers.shutdown().await;
    // A snapshot is a few single-row writes, so stopping between them loses nothing.
    snapshots.abort();
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
