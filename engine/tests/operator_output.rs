//! What an operator reads (issue 12, DESIGN §9): a start failure is one line of causes with no
//! backtrace; the log has no colour codes when it is not a terminal; a failed authentication is
//! one line naming the key and the client, never the secret; every admin change is one line.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_numpool");

#[test]
fn a_start_failure_is_one_line_without_a_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("snapshot-00000000000000000001.np"), b"x").unwrap();
    let out = Command::new(BIN)
        .args([
            "serve",
            "--resp",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("numpool: opening the data directory"),
        "{stderr}"
    );
    assert!(
        lines[0].contains("shorter than its header"),
        "the cause is kept: {stderr}"
    );
    assert!(!stderr.contains("backtrace"), "{stderr}");
}

#[test]
fn the_log_names_failed_auth_and_admin_changes_without_secrets_or_colours() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .args([
            "serve",
            "--demo",
            "--resp",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = stdout
        .find_map(|l| l.ok().filter(|l| l.starts_with("numpool ready")))
        .unwrap();
    assert!(ready.ends_with("state: in memory only"), "{ready}");
    let resp = ready
        .split_whitespace()
        .find_map(|p| p.strip_prefix("resp="))
        .unwrap()
        .to_owned();
    let mut s = TcpStream::connect(resp).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"AUTH demo0001 not-the-secret\r\nQUIT\r\n")
        .unwrap();
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).unwrap();
    assert!(reply.starts_with(b"-WRONGPASS"));
    std::thread::sleep(Duration::from_millis(200));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes off a terminal: {log}"
    );
    assert!(!log.contains("not-the-secret"), "{log}");
    let failed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("RESP authentication failed"))
        .collect();
    assert_eq!(failed.len(), 1, "{log}");
    assert!(
        failed[0].contains("\"demo0001\"") && failed[0].contains("127.0.0.1:"),
        "{log}"
    );
    // The demo seeding is admin changes: its inventory and each of its four pools.
    assert_eq!(
        log.matches("inventory numbers upserted").count(),
        1,
        "{log}"
    );
    assert_eq!(log.matches("pool created").count(), 4, "{log}");
}
