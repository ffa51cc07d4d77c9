//! The far ends `machi bench alert` delivers to: a webhook receiver and an SMTP server, each
//! counting what arrived, when the last one did, and repeats (by delivery id or Message-ID).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What a sink has seen.
#[derive(Default)]
struct Tally {
    count: usize,
    ids: HashSet<String>,
    repeats: usize,
    last: Option<Instant>,
}

impl Tally {
    fn arrived(&mut self, id: Option<String>) {
        self.count += 1;
        self.last = Some(Instant::now());
        if let Some(id) = id {
            if !self.ids.insert(id) {
                self.repeats += 1;
            }
        }
    }
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Tally>>);

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&mut Tally) -> T) -> T {
        let mut tally = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut tally)
    }

    fn count(&self) -> usize {
        self.with(|t| t.count)
    }

    fn repeats(&self) -> usize {
        self.with(|t| t.repeats)
    }

    fn reset(&self) {
        self.with(|t| *t = Tally::default());
    }

    fn last_since(&self, start: Instant) -> Option<Duration> {
        self.with(|t| t.last.map(|last| last.saturating_duration_since(start)))
    }
}

/// Accepts every POST to `/hook` with 204, counting `Machi-Delivery` ids.
pub struct WebhookSink {
    pub addr: SocketAddr,
    tally: Shared,
}

impl WebhookSink {
    pub async fn start() -> anyhow::Result<Self> {
        let tally = Shared::default();
        let seen = tally.clone();
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap| {
                let seen = seen.clone();
                async move {
                    let id = headers
                        .get("machi-delivery")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    seen.with(|t| t.arrived(id));
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, tally })
    }

    pub fn count(&self) -> usize {
        self.tally.count()
    }

    pub fn repeats(&self) -> usize {
        self.tally.repeats()
    }

    pub fn reset(&self) {
        self.tally.reset()
    }

    pub fn last_since(&self, start: Instant) -> Option<Duration> {
        self.tally.last_since(start)
    }
}

/// An SMTP server that accepts every message (RFC 5321's happy path, with PIPELINING-free
/// replies, which is what lettre speaks), counting Message-IDs.
pub struct SmtpSink {
    pub addr: SocketAddr,
    tally: Shared,
}

impl SmtpSink {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let tally = Shared::default();
        let seen = tally.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let _ = session(socket, seen).await;
                });
            }
        });
        Ok(Self { addr, tally })
    }

    pub fn count(&self) -> usize {
        self.tally.count()
    }

    pub fn reset(&self) {
        self.tally.reset()
    }

    pub fn last_since(&self, start: Instant) -> Option<Duration> {
        self.tally.last_since(start)
    }
}

async fn session(socket: tokio::net::TcpStream, seen: Shared) -> std::io::Result<()> {
    // Replies are small writes answered by the next command: without this, delayed ACKs
    // hold every exchange for tens of milliseconds.
    socket.set_nodelay(true)?;
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut message_id = None;
    let mut in_data = false;
    while let Some(line) = lines.next_line().await? {
        if in_data {
            if line == "." {
                in_data = false;
                seen.with(|t| t.arrived(message_id.take()));
                write.write_all(b"250 OK\r\n").await?;
            } else if let Some(id) = line.strip_prefix("Message-ID: ") {
                message_id = Some(id.to_string());
            }
            continue;
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
            "DATA" => {
                in_data = true;
                b"354 go ahead\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
    Ok(())
}
