//! A local SMTP server for tests: speaks enough RFC 5321 for a real client (lettre) to deliver,
//! and keeps every message it accepted so a test can read what arrived.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One delivered message: the envelope and the raw content (headers and body).
#[derive(Debug, Clone)]
pub struct Delivered {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Delivered {
    /// The decoded subject and plain-text body (parsed by mail-parser, as a mail client would).
    pub fn subject_and_text(&self) -> (String, String) {
        let message = mail_parser::MessageParser::default()
            .parse(self.data.as_bytes())
            .expect("a parsable message");
        (
            message.subject().unwrap_or_default().to_string(),
            message.body_text(0).unwrap_or_default().to_string(),
        )
    }
}

pub struct SmtpSink {
    pub url: String,
    pub messages: Arc<Mutex<Vec<Delivered>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = session(socket, store).await;
                });
            }
        });
        Self {
            url,
            messages,
            task,
        }
    }

    /// Waits (up to 20 s) until `count` messages have arrived.
    /// Delivery workers that send this city's e-mail here.
    pub fn workers(&self, store: &machi_store::Store) -> machi_work::delivery::Workers {
        let mut settings = machi_work::delivery::DeliverySettings::new("http://127.0.0.1:8080");
        settings.smtp_url = Some(self.url.clone());
        settings.mail_from = "no-reply@demo.test".into();
        settings.mail_per_second = 1000;
        machi_work::delivery::spawn(store.clone(), settings)
    }

    pub async fn wait_for(&self, count: usize) -> Vec<Delivered> {
        for _ in 0..200 {
            let got = self.messages.lock().unwrap().clone();
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "expected {count} e-mails, got {}",
            self.messages.lock().unwrap().len()
        );
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

async fn session(
    socket: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Delivered>>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write
                .write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if upper.starts_with("HELO") {
            write.write_all(b"250 sink.test\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&command);
            to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&command));
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                // Undo dot-stuffing (RFC 5321 4.5.2).
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            store.lock().unwrap().push(Delivered {
                from: from.clone(),
                to: to.clone(),
                data,
            });
            write.write_all(b"250 OK queued\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            write.write_all(b"250 OK\r\n").await?;
        } else {
            write.write_all(b"502 not implemented\r\n").await?;
        }
    }
}

fn address(command: &str) -> String {
    command
        .split_once(':')
        .map(|(_, rest)| rest.trim())
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_matches(['<', '>'])
        .to_string()
}
