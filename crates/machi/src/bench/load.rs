//! A minimal HTTP/1.1 keep-alive load generator for `machi bench`.
//!
//! Written by hand because the benchmark shares two cores with the server it measures: a
//! general client (reqwest/hyper) spends several times the CPU per request of writing a
//! pre-built request and reading back one Content-Length response, and that CPU would be taken
//! from the server and skew the comparison with the echo ceiling.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A request to send over and over.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub bytes: Arc<Vec<u8>>,
    /// Status code every answer must have.
    pub expect_status: u16,
}

impl Target {
    pub fn post_json(addr: SocketAddr, path: &str, body: &str, expect_status: u16) -> Self {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        Self {
            addr,
            bytes: Arc::new(request.into_bytes()),
            expect_status,
        }
    }
}

/// What a load run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub completed: usize,
    pub errors: usize,
    pub elapsed: Duration,
    /// Latencies in microseconds, sorted.
    pub latencies_us: Vec<u64>,
}

impl Report {
    pub fn rate(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[index] as f64 / 1000.0
    }
}

struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    async fn open(addr: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buffer: Vec::with_capacity(8192),
        })
    }

    /// Sends one request and reads one response; returns its status code.
    async fn exchange(&mut self, request: &[u8]) -> std::io::Result<u16> {
        self.stream.write_all(request).await?;
        self.buffer.clear();
        loop {
            if let Some((status, total)) = parse_response(&self.buffer)? {
                if self.buffer.len() >= total {
                    return Ok(status);
                }
            }
            let mut chunk = [0u8; 8192];
            let read = self.stream.read(&mut chunk).await?;
            if read == 0 {
                return Err(std::io::Error::other("connection closed"));
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }
}

/// Status and total length of a response once its head has arrived.
fn parse_response(buffer: &[u8]) -> std::io::Result<Option<(u16, usize)>> {
    let Some(head_end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buffer[..head_end]).map_err(std::io::Error::other)?;
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .ok_or_else(|| std::io::Error::other("response without Content-Length"))?;
    Ok(Some((status, head_end + 4 + length)))
}

/// Closed loop: `connections` clients send back-to-back for `duration` (the peak rate).
pub async fn closed_loop(target: &Target, connections: usize, duration: Duration) -> Report {
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let target = target.clone();
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let Ok(mut connection) = Connection::open(target.addr).await else {
                return (latencies, 1);
            };
            while Instant::now() < deadline {
                let sent = Instant::now();
                match connection.exchange(&target.bytes).await {
                    Ok(status) if status == target.expect_status => {
                        latencies.push(sent.elapsed().as_micros() as u64)
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        });
    }
    collect(workers, started).await
}

/// Open loop: requests are scheduled at `rate` per second for `duration`, spread over
/// `connections`; latency counts from the scheduled time, so queueing is not hidden.
pub async fn open_loop(
    target: &Target,
    rate: f64,
    connections: usize,
    duration: Duration,
) -> Report {
    let started = Instant::now() + Duration::from_millis(50);
    let per_connection = rate / connections as f64;
    let interval = Duration::from_secs_f64(1.0 / per_connection);
    let count = (per_connection * duration.as_secs_f64()) as u64;
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..connections {
        let target = target.clone();
        let offset = interval.mul_f64(worker as f64 / connections as f64);
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let Ok(mut connection) = Connection::open(target.addr).await else {
                return (latencies, 1);
            };
            for i in 0..count {
                let scheduled = started + offset + interval.mul_f64(i as f64);
                tokio::time::sleep_until(scheduled.into()).await;
                match connection.exchange(&target.bytes).await {
                    Ok(status) if status == target.expect_status => {
                        latencies.push(scheduled.elapsed().as_micros() as u64)
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        });
    }
    collect(workers, started).await
}

async fn collect(mut workers: tokio::task::JoinSet<(Vec<u64>, usize)>, started: Instant) -> Report {
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    while let Some(result) = workers.join_next().await {
        if let Ok((latencies, failed)) = result {
            latencies_us.extend(latencies);
            errors += failed;
        }
    }
    let elapsed = started.elapsed();
    latencies_us.sort_unstable();
    Report {
        completed: latencies_us.len(),
        errors,
        elapsed,
        latencies_us,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_complete_only_with_their_whole_body() {
        let head = b"HTTP/1.1 201 Created\r\ncontent-length: 5\r\n\r\nabc";
        assert_eq!(parse_response(head).unwrap(), Some((201, head.len() + 2)));
        assert_eq!(parse_response(b"HTTP/1.1 200 OK\r\n").unwrap(), None);
    }
}
