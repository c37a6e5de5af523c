//! Shared helpers of the server's black-box tests: start the real binary, talk HTTP/1.1 to it.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running server; killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub admin: String,
    pub stdout: BufReader<std::process::ChildStdout>,
    /// Everything the server wrote to standard error (its log), drained continuously so that
    /// a full pipe never blocks it.
    pub log: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nox-authenticator-server"))
}

/// Starts the server on free ports (public and admin) with `args`; `--store memory` unless
/// the arguments name a store.
pub fn start(args: &[&str]) -> Server {
    start_with(binary(), args)
}

pub fn start_with(mut command: Command, args: &[&str]) -> Server {
    command.args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"]);
    if !args.contains(&"--store") {
        command.args(["--store", "memory"]);
    }
    start_env(command, args)
}

/// Starts `command` with `args` and nothing added: the listeners and store come from the
/// environment the command carries (or the defaults).
pub fn start_env(mut command: Command, args: &[&str]) -> Server {
    let mut child = command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let log = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().unwrap();
    let drained = Arc::clone(&log);
    let drain = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let mut log = drained.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let mut drain = Some(drain);
    let mut read_addr = |prefix: &str| {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        if line.is_empty() {
            if let Some(drain) = drain.take() {
                let _ = drain.join();
            }
            panic!("the server did not start: {}", log.lock().unwrap());
        }
        line.trim()
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("unexpected line {line:?}"))
            .to_owned()
    };
    let addr = read_addr("listening on http://");
    let admin = read_addr("admin listening on http://");
    Server {
        child,
        addr,
        admin,
        stdout,
        log,
    }
}

/// A response: status, headers (names in lower case) and body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request on a new connection and reads the whole response.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    try_request(addr, method, path, headers, body).unwrap()
}

/// As [`request`], but a connection failure is an `Err` (the server may be down).
pub fn try_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    request_on(TcpStream::connect(addr)?, addr, method, path, headers, body)
}

/// As [`try_request`], on a connection already open (to `addr`, for the `host` header).
pub fn request_on(
    mut stream: TcpStream,
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

pub const JSON: (&str, &str) = ("content-type", "application/json");

/// The conformance vectors' configuration (callers with known keys).
pub fn vectors_config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors/config.json")
        .display()
        .to_string()
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "nox-server-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a config (JSON text) into `dir` and returns its path.
pub fn write_config(dir: &Path, json: &str) -> String {
    let path = dir.join("config.json");
    std::fs::write(&path, json).unwrap();
    path.display().to_string()
}

/// The PostgreSQL URL of the test cluster (`scripts/pg.sh`), or `None` when the run opted out
/// with `NOX_TEST_POSTGRES=skip`. Unset without the opt-out is a failure: CI must not skip.
pub fn postgres_url() -> Option<String> {
    match std::env::var("NOX_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("NOX_TEST_POSTGRES").as_deref() == Ok("skip") => {
            eprintln!("NOX_TEST_POSTGRES=skip: PostgreSQL cases not run");
            None
        }
        _ => panic!(
            "NOX_TEST_POSTGRES_URL is not set: run through scripts/test (which starts a \
             throwaway PostgreSQL), or set NOX_TEST_POSTGRES=skip to skip these cases"
        ),
    }
}
