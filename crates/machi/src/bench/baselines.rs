//! The two baselines `machi bench intake` is compared with, measured in the same run.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::{Json, Router};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::ConnectOptions;

use super::load::Report;

/// An axum server that answers a posted JSON body with itself: the HTTP ceiling.
pub async fn spawn_echo() -> anyhow::Result<SocketAddr> {
    let app = Router::new().route(
        "/echo",
        post(|Json(body): Json<serde_json::Value>| async move { Json(body) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// Inserts one row per transaction into SQLite in WAL with synchronous=FULL, as a naive
/// durable intake would: the storage ceiling without group commit.
pub async fn naive_sqlite_inserts(body: &str, duration: Duration) -> anyhow::Result<Report> {
    let dir = std::env::temp_dir().join(format!("machi-bench-naive-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut connection = SqliteConnectOptions::new()
        .filename(dir.join("naive.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .connect()
        .await?;
    sqlx::query("CREATE TABLE applications (id INTEGER PRIMARY KEY, answers TEXT NOT NULL)")
        .execute(&mut connection)
        .await?;
    let started = Instant::now();
    let mut latencies_us = Vec::new();
    while started.elapsed() < duration {
        let at = Instant::now();
        sqlx::query("INSERT INTO applications (answers) VALUES ($1)")
            .bind(body)
            .execute(&mut connection)
            .await?;
        latencies_us.push(at.elapsed().as_micros() as u64);
    }
    let elapsed = started.elapsed();
    drop(connection);
    let _ = std::fs::remove_dir_all(&dir);
    latencies_us.sort_unstable();
    Ok(Report {
        completed: latencies_us.len(),
        errors: 0,
        elapsed,
        latencies_us,
    })
}
