//! `machi lottery verify`: re-runs a facility lottery's draw from what the city published —
//! the seed, its hash published before applications closed, the applications and the wins —
//! and says whether the same wins come out. Anyone can run it against any city running machi.

use anyhow::Context;
use machi_core::reservations::lottery::Published;

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The round as published: a file, or the address of
    /// `/api/v1/services/{id}/lotteries/{month}`.
    source: String,
}

pub async fn verify(args: &VerifyArgs) -> anyhow::Result<()> {
    let text = if args.source.starts_with("https://") || args.source.starts_with("http://") {
        reqwest::get(&args.source)
            .await?
            .error_for_status()?
            .text()
            .await?
    } else {
        std::fs::read_to_string(&args.source).with_context(|| format!("reading {}", args.source))?
    };
    let value: serde_json::Value = serde_json::from_str(&text).context("the round is not JSON")?;
    // The API wraps the published round; a file may hold it bare.
    let published = match value.get("published") {
        Some(serde_json::Value::Null) => anyhow::bail!("the round is not drawn yet"),
        Some(published) => published.clone(),
        None => value,
    };
    let published: Published =
        serde_json::from_value(published).context("not a published lottery round")?;
    match published.verify() {
        Ok((applications, wins)) => {
            println!(
                "{} {}: the seed matches the hash published before the draw ({}); \
                 re-running the draw over {applications} applications gives the same {wins} wins",
                published.service, published.month, published.seed_sha256
            );
            Ok(())
        }
        Err(problems) => {
            for problem in &problems {
                println!("MISMATCH: {problem}");
            }
            anyhow::bail!(
                "{} {}: the published draw does not reproduce ({} problems)",
                published.service,
                published.month,
                problems.len()
            )
        }
    }
}
