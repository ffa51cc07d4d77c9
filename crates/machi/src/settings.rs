//! Settings: one declarative struct; each field is a `--flag`, a `MACHI_*` variable and a
//! default, with its `--help` line. Nothing is required to start.

use std::path::PathBuf;

use clap::Args;
use machi_web::PublicUrl;

/// machi's settings.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(
        long,
        env = "MACHI_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub addr: String,
    /// Directory for the SQLite database and attachments.
    #[arg(
        long,
        env = "MACHI_DATA_DIR",
        default_value = "./machi-data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB (default: SQLite in the data dir).
    #[arg(long, env = "MACHI_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Id of the city (tenant) this instance serves and imports into.
    #[arg(long, env = "MACHI_CITY", default_value = "demo", global = true)]
    pub city: String,
    /// The city's name in Japanese.
    #[arg(long, env = "MACHI_CITY_NAME", default_value = "デモ市", global = true)]
    pub city_name: String,
    /// The city's name in English.
    #[arg(
        long,
        env = "MACHI_CITY_NAME_EN",
        default_value = "Demo City",
        global = true
    )]
    pub city_name_en: String,
    /// Host name that selects this city when several share one deployment (e.g.
    /// suita.machi.example); a host that is no city's and not the public URL's is answered 421.
    #[arg(long, env = "MACHI_CITY_HOST", global = true)]
    pub city_host: Option<String>,
    /// The city's 地方公共団体コード (6 digits with the check digit, e.g. 272230), carried in
    /// its CAP alerts' <geocode> with the 町字 codes (`--demo` uses 279994).
    #[arg(long, env = "MACHI_CITY_CODE", global = true)]
    pub city_code: Option<String>,
    /// The <sender> of the city's CAP alerts (e.g. bousai@city.example.lg.jp); default: the
    /// host name of the public URL.
    #[arg(long, env = "MACHI_CAP_SENDER", global = true)]
    pub cap_sender: Option<String>,
    /// SMTP server for e-mail to applicants, in lettre's URL form: smtp://host:25 (plain, a
    /// relay inside the city's network), smtp://user:pass@host:587?tls=required (STARTTLS) or
    /// smtps://host. Without it, e-mail waits in the outbox.
    #[arg(long, env = "MACHI_SMTP_URL", global = true)]
    pub smtp_url: Option<String>,
    /// Sender address of e-mail to applicants.
    #[arg(
        long,
        env = "MACHI_MAIL_FROM",
        default_value = "no-reply@machi.example",
        global = true
    )]
    pub mail_from: String,
    /// E-mails sent per second at most (what the SMTP relay accepts).
    #[arg(
        long,
        env = "MACHI_MAIL_PER_SECOND",
        default_value_t = 200,
        global = true
    )]
    pub mail_per_second: u32,
    /// The address residents reach the site at, for links in e-mail, LINE and push messages
    /// (default: http:// and the address machi listens on).
    #[arg(long, env = "MACHI_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Channel access token of the city's LINE official account (Messaging API); without it,
    /// LINE deliveries wait in the outbox.
    #[arg(long, env = "MACHI_LINE_CHANNEL_TOKEN", global = true)]
    pub line_channel_token: Option<String>,
    /// Channel secret of that LINE account (verifies the follow and unfollow events LINE sends
    /// to /line/webhook).
    #[arg(long, env = "MACHI_LINE_CHANNEL_SECRET", global = true)]
    pub line_channel_secret: Option<String>,
    /// The LINE Messaging API's address (only tests change it).
    #[arg(
        long,
        env = "MACHI_LINE_API_URL",
        default_value = "https://api.line.me",
        global = true
    )]
    pub line_api_url: String,
    /// Webhook requests in flight at once, to all receivers together.
    #[arg(
        long,
        env = "MACHI_WEBHOOK_CONCURRENCY",
        default_value_t = 64,
        global = true
    )]
    pub webhook_concurrency: usize,
    /// Allow webhooks and push endpoints in private networks or on this machine, over http too
    /// (refused by default: the subscribe form is public, and machi must not be made to post
    /// into the city's own network).
    #[arg(long, env = "MACHI_WEBHOOK_ALLOW_PRIVATE", global = true)]
    pub webhook_allow_private: bool,
    /// OpenID Connect provider residents may sign in with (its issuer URL, e.g. the national
    /// デジタル認証アプリ's); without it, residents sign in by e-mailed link only.
    #[arg(long, env = "MACHI_OIDC_ISSUER", global = true)]
    pub oidc_issuer: Option<String>,
    /// Client id registered at that provider.
    #[arg(long, env = "MACHI_OIDC_CLIENT_ID", global = true)]
    pub oidc_client_id: Option<String>,
    /// Client secret, if the provider issued one (public clients use PKCE only).
    #[arg(long, env = "MACHI_OIDC_CLIENT_SECRET", global = true)]
    pub oidc_client_secret: Option<String>,
    /// What the sign-in button calls the provider.
    #[arg(
        long,
        env = "MACHI_OIDC_NAME",
        default_value = "OpenID Connect",
        global = true
    )]
    pub oidc_name: String,
    /// Turns on the test payment provider, with which an applicant marks their own fee paid
    /// (for trying machi out; `serve --demo` turns it on too). Without a provider, residents
    /// are told to pay fees at the counter.
    #[arg(long, env = "MACHI_PAYMENTS_TEST_PROVIDER", global = true)]
    pub payments_test_provider: bool,
    /// The bearer token Prometheus sends to scrape `/metrics`; without it `/metrics` is not
    /// served (its counters would tell anyone which routes are used and how often).
    #[arg(long, env = "MACHI_METRICS_TOKEN", global = true)]
    pub metrics_token: Option<String>,
    /// Reverse proxies (addresses or networks, comma-separated, e.g. `10.0.0.0/8`) whose
    /// `X-Forwarded-For` names the client; from anyone else the header is ignored, so a client
    /// cannot pick the address its sign-in e-mails are counted against.
    #[arg(
        long,
        env = "MACHI_TRUSTED_PROXY",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxy: Vec<ipnet::IpNet>,
    /// Log filter (tracing EnvFilter syntax), e.g. "info" or "machi_store=debug".
    #[arg(long, env = "MACHI_LOG", default_value = "info", global = true)]
    pub log: String,
    /// Log format: text or json.
    #[arg(long, env = "MACHI_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: String,
}

impl Settings {
    /// `--database-url`, or the SQLite database in the data directory.
    pub fn database_url_or_default(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/machi.db", self.data_dir.display()))
    }

    /// The OpenID Connect provider, when both issuer and client id are set.
    pub fn oidc(&self) -> Option<machi_web::OidcSettings> {
        Some(machi_web::OidcSettings {
            issuer: self.oidc_issuer.clone()?,
            client_id: self.oidc_client_id.clone()?,
            client_secret: self.oidc_client_secret.clone(),
            name: self.oidc_name.clone(),
        })
    }

    /// Where and how messages to residents are sent, with links to `public_url`.
    pub fn delivery(&self, public_url: &PublicUrl) -> machi_work::delivery::DeliverySettings {
        let mut delivery = machi_work::delivery::DeliverySettings::new(&public_url.base());
        delivery.smtp_url = self.smtp_url.clone();
        delivery.mail_from = self.mail_from.clone();
        delivery.mail_per_second = self.mail_per_second;
        delivery.webhook_concurrency = self.webhook_concurrency;
        delivery.allow_private = self.webhook_allow_private;
        delivery.line = self.line();
        delivery
    }

    /// The address residents reach a server listening on `bound` at: `--public-url`, or
    /// http:// and the port really bound (`--addr 127.0.0.1:0` would otherwise give links to
    /// port 0).
    pub fn public_url(&self, bound: std::net::SocketAddr) -> anyhow::Result<PublicUrl> {
        let url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"));
        PublicUrl::parse(&url).map_err(|e| anyhow::anyhow!("--public-url: {e}"))
    }

    /// The city's 地方公共団体コード, checked (the demo city's under `--demo` when none is set).
    pub fn city_code(&self, demo: bool) -> anyhow::Result<Option<String>> {
        match &self.city_code {
            Some(code) if machi_core::areas::is_city_code(code) => Ok(Some(code.clone())),
            Some(code) => anyhow::bail!(
                "--city-code {code}: not a 地方公共団体コード (6 digits, the last a check digit)"
            ),
            None => Ok(demo.then(|| "279994".to_string())),
        }
    }

    /// The LINE official account, when its token and secret are both set.
    pub fn line(&self) -> Option<machi_work::delivery::LineSettings> {
        Some(machi_work::delivery::LineSettings {
            api_url: self.line_api_url.clone(),
            channel_token: self.line_channel_token.clone()?,
            channel_secret: self.line_channel_secret.clone()?,
        })
    }

    /// The effective settings, with the password of a database URL masked.
    pub fn describe(&self) -> String {
        let database = match &self.database_url {
            Some(url) => mask_url_password(url),
            None => format!("sqlite://{}/machi.db (default)", self.data_dir.display()),
        };
        [
            format!("addr         = {}", self.addr),
            format!("data_dir     = {}", self.data_dir.display()),
            format!("database_url = {database}"),
            format!(
                "city         = {} ({} / {})",
                self.city, self.city_name, self.city_name_en
            ),
            format!(
                "city_host    = {}",
                self.city_host.as_deref().unwrap_or("(any host)")
            ),
            format!(
                "smtp_url     = {}",
                self.smtp_url
                    .as_deref()
                    .map(mask_url_password)
                    .unwrap_or_else(|| "(none: e-mail waits in the outbox)".into())
            ),
            format!(
                "mail_from    = {} (at most {}/s)",
                self.mail_from, self.mail_per_second
            ),
            format!(
                "public_url   = {}",
                self.public_url
                    .as_deref()
                    .unwrap_or("(http:// and the address listened on)")
            ),
            format!(
                "line         = {}",
                if self.line().is_some() {
                    self.line_api_url.as_str()
                } else {
                    "(none: LINE deliveries wait in the outbox)"
                }
            ),
            format!(
                "oidc         = {}",
                self.oidc_issuer
                    .as_deref()
                    .map_or("(none)".to_string(), |issuer| format!(
                        "{issuer} client {} ({})",
                        self.oidc_client_id.as_deref().unwrap_or("?"),
                        if self.oidc_client_secret.is_some() {
                            "secret set"
                        } else {
                            "public client"
                        }
                    ))
            ),
            format!("log          = {} ({})", self.log, self.log_format),
        ]
        .join("\n")
    }
}

/// Replaces the password in `scheme://user:password@host` with `***`.
fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

pub fn init_tracing(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if settings.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_masked() {
        assert_eq!(
            mask_url_password("postgres://machi:s3cret@db/machi"),
            "postgres://machi:***@db/machi"
        );
        assert_eq!(
            mask_url_password("postgres://machi@db/machi"),
            "postgres://machi@db/machi"
        );
    }
}
