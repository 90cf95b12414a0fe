//! Storage faults under a running server (DESIGN §6, "Failures are loud"): after a failed write
//! or fsync nothing that depends on it is acknowledged; those requests and every later change
//! get `-ERR STORAGE …` on RESP and `503 #storage-unavailable` on REST; `/healthz` answers 503
//! naming the fault; sticky hits keep working; once the disk is writable again numpool resumes
//! by itself; after a restart what was acknowledged is there and what was refused is not. And a
//! data directory has one server at a time.
//!
//! The disk-full and read-only tests mount file systems (a 16 MiB tmpfs; a loop-mounted ext4
//! whose error handling turns it read-only), so they need root: `#[ignore]`d in
//! `cargo test --workspace`, run by `.ci/power_loss.sh` with `--ignored`.

mod crashkit;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crashkit::{inventory_number, Api};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{Numpool, KEY, SECRET};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// The predictable pool of these tests.
const POOL: &str = "faults";
/// Recipients mapped before the fault: their PICKs are sticky hits during it.
const MAPPED_BEFORE: u64 = 50;
/// How long the load runs against a fault.
const UNDER_FAULT: Duration = Duration::from_millis(1_500);
/// How soon numpool must notice a deleted journal, and resume once the disk is writable.
const NOTICE_WITHIN: Duration = Duration::from_secs(3);
const RESUME_WITHIN: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root (mounts a tmpfs): run .ci/power_loss.sh"]
async fn a_full_disk_refuses_changes_then_resumes_when_space_is_freed() {
    let work = tempfile::tempdir().expect("work dir");
    let mnt = Mount::tmpfs(&work.path().join("mnt"), "16m");
    let data = mnt.path.join("data");
    let (server, mapped) = seeded(&data).await;
    let mut seen = Seen::default();
    load(&server, &mut seen, Duration::from_millis(300)).await;
    assert!(
        seen.refused() == 0,
        "refusals before the disk filled: {seen:?}"
    );

    let filler = mnt.path.join("filler");
    fill(&filler);
    let before = seen.clone();
    load(&server, &mut seen, UNDER_FAULT).await;
    seen.assert_refused_since(&before, "the disk filled");
    assert_healthz_names_fault(&server, &["space", "enospc", "full"]).await;
    assert_sticky_hits(&server, &mapped).await;

    std::fs::remove_file(&filler).expect("free the space");
    let freed = Instant::now();
    let before = seen.clone();
    while seen.numbers.len() == before.numbers.len() {
        assert!(
            freed.elapsed() < RESUME_WITHIN,
            "space freed {RESUME_WITHIN:?} ago and every change is still refused: {seen:?}"
        );
        load(&server, &mut seen, Duration::from_millis(200)).await;
    }
    println!("resumed {:?} after the space was freed", freed.elapsed());
    let before = seen.clone();
    load(&server, &mut seen, Duration::from_millis(300)).await;
    assert_eq!(
        seen.refused(),
        before.refused(),
        "refusals after resuming: {seen:?}"
    );
    let (status, body) = healthz(&server).await;
    assert_eq!(status, StatusCode::OK, "/healthz after resuming: {body}");

    assert_eq!(server.kill().code(), None, "numpool died before the kill");
    let server = restart(&data);
    seen.check(&server, &mapped).await;
    let status = server.terminate();
    assert!(status.success(), "SIGTERM after the fault: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root (mounts an ext4 loop image): run .ci/power_loss.sh"]
async fn a_read_only_file_system_refuses_changes_and_keeps_sticky_hits() {
    let work = tempfile::tempdir().expect("work dir");
    let image = work.path().join("ext4.img");
    let mut mnt = Mount::ext4(&image, &work.path().join("mnt"));
    let data = mnt.path.join("data");
    let (server, mapped) = seeded(&data).await;
    let mut seen = Seen::default();
    load(&server, &mut seen, Duration::from_millis(300)).await;

    // What ext4 does on an I/O error with errors=remount-ro: the file system goes read-only
    // under the open journal (a plain `remount,ro` is refused while files are open to write).
    mnt.ext4_error();
    let before = seen.clone();
    load(&server, &mut seen, UNDER_FAULT).await;
    seen.assert_refused_since(&before, "the file system turned read-only");
    assert_healthz_names_fault(&server, &["read-only", "read only", "erofs"]).await;
    assert_sticky_hits(&server, &mapped).await;

    // This file system stays read-only until it is checked and mounted again (the operator's
    // repair); numpool may exit or keep refusing meanwhile, but it must start on the result.
    let _ = server.kill();
    mnt.repair();
    let server = restart(&data);
    seen.check(&server, &mapped).await;
    let status = server.terminate();
    assert!(status.success(), "SIGTERM after the repair: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_deleted_under_the_server_is_a_storage_fault() {
    let work = tempfile::tempdir().expect("work dir");
    let data = work.path().join("data");
    let (server, mapped) = seeded(&data).await;
    let mut seen = Seen::default();
    load(&server, &mut seen, Duration::from_millis(300)).await;

    let journals: Vec<PathBuf> = std::fs::read_dir(&data)
        .expect("data dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("journal-")
        })
        .collect();
    assert!(
        !journals.is_empty(),
        "no journal file in {}",
        data.display()
    );
    for journal in &journals {
        std::fs::remove_file(journal).expect("delete the journal");
    }
    let deleted = Instant::now();
    // Changes keep coming: each is acknowledged (into a journal that exists) or refused.
    let mut noticed = None;
    let mut resumed = None;
    while resumed.is_none() && deleted.elapsed() < NOTICE_WITHIN + RESUME_WITHIN {
        let acknowledged = seen.numbers.len();
        load(&server, &mut seen, Duration::from_millis(100)).await;
        let (status, body) = healthz(&server).await;
        // A fault numpool ends within a second can come and go between two looks at
        // `/healthz`; the fault counter keeps it.
        let counted = storage_faults(&server).await > 0;
        if (status == StatusCode::SERVICE_UNAVAILABLE || counted) && noticed.is_none() {
            noticed = Some((deleted.elapsed(), body));
        } else if noticed.is_some() && seen.numbers.len() > acknowledged {
            resumed = Some(deleted.elapsed());
        }
    }
    assert_eq!(server.kill().code(), None, "numpool died before the kill");
    let server = restart(&data);
    seen.check(&server, &mapped).await;
    let (noticed_after, body) = noticed.unwrap_or_else(|| {
        panic!(
            "the journal was deleted {:?} ago and /healthz still answers 200: the deletion went \
             unnoticed ({seen:?})",
            deleted.elapsed()
        )
    });
    assert!(
        noticed_after < NOTICE_WITHIN,
        "the deleted journal was noticed only after {noticed_after:?}"
    );
    println!("deleted journal noticed after {noticed_after:?}: {body}; resumed after {resumed:?}");
    assert!(
        resumed.is_some(),
        "numpool did not resume within {RESUME_WITHIN:?} of noticing the deleted journal"
    );
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_the_data_directory_is_refused() {
    let work = tempfile::tempdir().expect("work dir");
    let data = work.path().join("data");
    let (first, mapped) = seeded(&data).await;
    let started = Instant::now();
    let mut second = Command::new(env!("CARGO_BIN_EXE_numpool"))
        .current_dir(work.path())
        .arg("serve")
        .arg("--config")
        .arg(first.config())
        .arg("--data-dir")
        .arg(&data)
        .args(["--resp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn a second numpool");
    let status = loop {
        if let Some(status) = second.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(5) {
            let _ = second.kill();
            let _ = second.wait();
            panic!("a second numpool on the same data directory still runs after 5 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        !status.success(),
        "the second numpool exited {status}: {stderr}"
    );
    let pid = first.pid().to_string();
    assert!(
        stderr.contains(&pid),
        "the second numpool's error does not name the holder's pid {pid}: {stderr}"
    );

    // The first one is unharmed, and its lock does not outlive a SIGKILL.
    let mut seen = Seen::default();
    load(&first, &mut seen, Duration::from_millis(300)).await;
    assert_eq!(seen.refused(), 0, "the first numpool refuses: {seen:?}");
    let _ = first.kill();
    let server = restart(&data);
    seen.check(&server, &mapped).await;
    server.terminate();
}

/// A server on `data` (`--fsync always`, no periodic snapshot) with a predictable pool of ten
/// numbers and `MAPPED_BEFORE` recipients mapped; those mappings.
async fn seeded(data: &Path) -> (Numpool, BTreeMap<u64, u64>) {
    let server = restart(data);
    let api = Api::of(&server);
    let numbers: Vec<String> = (0..10).map(|i| inventory_number(i).to_string()).collect();
    let owned =
        json!({ "numbers": numbers.iter().map(|n| json!({ "number": n })).collect::<Vec<_>>() });
    assert!(
        api.change(Method::POST, "/numbers", Some(owned), &[201])
            .await
    );
    let pool = json!({ "pool_id": POOL, "fallback": "Pool",
        "localized_sender_preferred": false, "predictable_sender_preferred": true });
    assert!(api.change(Method::POST, "/pools", Some(pool), &[201]).await);
    let add = json!({ "numbers": numbers });
    let path = format!("/pools/{POOL}/numbers");
    assert!(api.change(Method::POST, &path, Some(add), &[201]).await);
    let mut con = Raw::connect(server.resp).await;
    let recipients: Vec<u64> = (0..MAPPED_BEFORE).map(|i| 447_911_000_000 + i).collect();
    let mapped = recipients
        .iter()
        .zip(con.picks(&recipients).await)
        .map(|(&to, reply)| match reply {
            Reply::Bulk(Some(sender)) => (to, crashkit::digits(&sender)),
            other => panic!("PICK {to} before any fault: {other:?}"),
        })
        .collect();
    (server, mapped)
}

/// `numpool serve` on `data` as `seeded` starts it.
fn restart(data: &Path) -> Numpool {
    crashkit::start(data, "always", 3_600)
}

/// What the load saw: changes acknowledged and refused with a storage error.
#[derive(Clone, Debug, Default)]
struct Seen {
    /// Inventory numbers whose upsert was acknowledged, and refused.
    numbers: BTreeSet<u64>,
    refused_numbers: BTreeSet<u64>,
    /// Recipients whose new mapping was acknowledged (with it), and refused.
    mappings: BTreeMap<u64, u64>,
    refused_mappings: BTreeSet<u64>,
    /// The next fresh inventory number and recipient.
    next: u64,
}

impl Seen {
    fn refused(&self) -> usize {
        self.refused_numbers.len() + self.refused_mappings.len()
    }

    /// Both kinds of change were refused since `before`.
    fn assert_refused_since(&self, before: &Seen, fault: &str) {
        assert!(
            self.refused_numbers.len() > before.refused_numbers.len()
                && self.refused_mappings.len() > before.refused_mappings.len(),
            "after {fault}, {} admin changes and {} new mappings were acknowledged and {} and {} \
             refused: both kinds must be refused",
            self.numbers.len() - before.numbers.len(),
            self.mappings.len() - before.mappings.len(),
            self.refused_numbers.len() - before.refused_numbers.len(),
            self.refused_mappings.len() - before.refused_mappings.len(),
        );
    }

    /// After a restart: everything acknowledged is there, nothing refused is.
    async fn check(&self, server: &Numpool, mapped_before: &BTreeMap<u64, u64>) {
        let api = Api::of(server);
        let inventory: BTreeSet<u64> = api
            .list("/numbers", "numbers")
            .await
            .iter()
            .map(|n| crashkit::digits(n["number"].as_str().expect("number")))
            .collect();
        let lost: Vec<_> = self.numbers.difference(&inventory).collect();
        assert!(
            lost.is_empty(),
            "{} of {} acknowledged numbers lost, e.g. {:?}",
            lost.len(),
            self.numbers.len(),
            &lost[..lost.len().min(5)]
        );
        let back: Vec<_> = self.refused_numbers.intersection(&inventory).collect();
        assert!(
            back.is_empty(),
            "{} refused numbers present, e.g. {:?}",
            back.len(),
            &back[..back.len().min(5)]
        );
        let mut con = crashkit::resp(server).await;
        let mappings: Vec<(u64, u64)> = mapped_before
            .iter()
            .chain(&self.mappings)
            .map(|(&to, &s)| (to, s))
            .collect();
        let found = crashkit::sticky_get(&mut con, POOL, mappings.iter().map(|m| m.0)).await;
        let lost: Vec<_> = mappings
            .iter()
            .zip(found)
            .filter(|((_, sender), found)| *found != Some(*sender))
            .collect();
        assert!(
            lost.is_empty(),
            "{} of {} acknowledged mappings lost or changed, e.g. {:?}",
            lost.len(),
            mappings.len(),
            &lost[..lost.len().min(5)]
        );
        let refused: Vec<u64> = self.refused_mappings.iter().copied().collect();
        let found = crashkit::sticky_get(&mut con, POOL, refused.iter().copied()).await;
        let present: Vec<_> = refused
            .iter()
            .zip(found)
            .filter(|(_, f)| f.is_some())
            .collect();
        assert!(
            present.is_empty(),
            "{} refused mappings present, e.g. {:?}",
            present.len(),
            &present[..present.len().min(5)]
        );
    }
}

/// Admin changes (one fresh inventory number each) and pipelined PICKs of fresh recipients at
/// once for `time`; each answer must be an acknowledgement or a storage refusal.
async fn load(server: &Numpool, seen: &mut Seen, time: Duration) {
    let until = Instant::now() + time;
    let first = seen.next;
    seen.next += 1_000_000;
    let api = Api::of(server);
    let admin = async {
        let (mut numbers, mut refused) = (BTreeSet::new(), BTreeSet::new());
        for i in first.. {
            if Instant::now() > until {
                break;
            }
            let number = inventory_number(100_000 + i);
            let body = json!({ "numbers": [{ "number": number.to_string() }] });
            let (status, reply) = api
                .send(Method::POST, "/numbers", Some(body))
                .await
                .expect("an answer to POST /numbers");
            if status == StatusCode::CREATED {
                numbers.insert(number);
            } else {
                assert_storage_problem(status, &reply, "POST /numbers");
                refused.insert(number);
            }
        }
        (numbers, refused)
    };
    let picks = async {
        let mut con = Raw::connect(server.resp).await;
        let (mut mapped, mut refused) = (BTreeMap::new(), BTreeSet::new());
        let mut next = 447_912_000_000 + first;
        while Instant::now() < until {
            let recipients: Vec<u64> = (next..next + 16).collect();
            next += 16;
            for (to, reply) in recipients.iter().zip(con.picks(&recipients).await) {
                match reply {
                    Reply::Bulk(Some(sender)) => {
                        mapped.insert(*to, crashkit::digits(&sender));
                    }
                    Reply::Error(e) if e.starts_with("ERR STORAGE") => {
                        refused.insert(*to);
                    }
                    other => panic!("PICK {to}: {other:?}, neither a sender nor -ERR STORAGE"),
                }
            }
        }
        (mapped, refused)
    };
    let ((numbers, refused_numbers), (mappings, refused_mappings)) = tokio::join!(admin, picks);
    seen.numbers.extend(numbers);
    seen.refused_numbers.extend(refused_numbers);
    seen.mappings.extend(mappings);
    seen.refused_mappings.extend(refused_mappings);
}

fn assert_storage_problem(status: StatusCode, reply: &Value, what: &str) {
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {status} {reply}, neither acknowledged nor 503 #storage-unavailable"
    );
    let kind = reply["type"].as_str().unwrap_or_default();
    assert!(
        kind.ends_with("#storage-unavailable"),
        "{what}: 503 whose problem type is not #storage-unavailable: {reply}"
    );
}

async fn healthz(server: &Numpool) -> (StatusCode, String) {
    let response = reqwest::get(format!("{}/healthz", server.base_url()))
        .await
        .expect("/healthz");
    let status = response.status();
    (status, response.text().await.unwrap_or_default())
}

/// `numpool_storage_faults_total` from `/metrics`.
async fn storage_faults(server: &Numpool) -> u64 {
    let text = reqwest::get(format!("{}/metrics", server.base_url()))
        .await
        .expect("/metrics")
        .text()
        .await
        .unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("numpool_storage_faults_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("numpool_storage_faults_total in /metrics")
}

/// `/healthz` answers 503 with a body naming the fault (any of `words`, case-insensitive).
async fn assert_healthz_names_fault(server: &Numpool, words: &[&str]) {
    let (status, body) = healthz(server).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "/healthz during the fault: {body}"
    );
    let lower = body.to_lowercase();
    assert!(
        words.iter().any(|w| lower.contains(w)),
        "/healthz does not name the fault (one of {words:?}): {body}"
    );
}

/// PICKs of recipients mapped before the fault still get their senders.
async fn assert_sticky_hits(server: &Numpool, mapped: &BTreeMap<u64, u64>) {
    let mut con = Raw::connect(server.resp).await;
    let recipients: Vec<u64> = mapped.keys().copied().collect();
    for (to, reply) in recipients.iter().zip(con.picks(&recipients).await) {
        let expected = mapped[to].to_string();
        assert!(
            matches!(&reply, Reply::Bulk(Some(s)) if *s == expected),
            "sticky hit PICK {to} during the fault: {reply:?}, expected {expected}"
        );
    }
}

/// Fills the file system holding `filler` until it has no space left.
fn fill(filler: &Path) {
    let mut file = std::fs::File::create(filler).expect("filler");
    let block = vec![0xa5u8; 64 * 1024];
    loop {
        match file.write(&block) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling {}: {e}", filler.display()),
        }
    }
    // The last partial block, byte by byte in halves.
    let mut size = 32 * 1024;
    while size > 0 {
        if file.write(&block[..size]).is_err() {
            size /= 2;
        }
    }
}

/// A file system the test mounted; unmounted on drop.
struct Mount {
    path: PathBuf,
    /// The ext4 image, for the read-only test.
    image: Option<PathBuf>,
}

impl Mount {
    fn tmpfs(path: &Path, size: &str) -> Mount {
        std::fs::create_dir_all(path).expect("mount point");
        run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                &p(path),
            ],
        );
        Mount {
            path: path.to_owned(),
            image: None,
        }
    }

    fn ext4(image: &Path, path: &Path) -> Mount {
        std::fs::create_dir_all(path).expect("mount point");
        std::fs::File::create(image)
            .and_then(|f| f.set_len(32 << 20))
            .expect("ext4 image");
        run("mkfs.ext4", &["-q", "-F", &p(image)]);
        let mount = Mount {
            path: path.to_owned(),
            image: Some(image.to_owned()),
        };
        mount.mount_ext4();
        mount
    }

    fn mount_ext4(&self) {
        let image = p(self.image.as_ref().expect("ext4 image"));
        run(
            "mount",
            &["-o", "loop,errors=remount-ro", &image, &p(&self.path)],
        );
    }

    /// An ext4 error (`/sys/fs/ext4/<dev>/trigger_fs_error`): with errors=remount-ro, the file
    /// system turns read-only at once.
    fn ext4_error(&mut self) {
        let source = Command::new("findmnt")
            .args(["-n", "-o", "SOURCE", &p(&self.path)])
            .output()
            .expect("findmnt");
        let source = String::from_utf8(source.stdout).expect("utf-8");
        let device = Path::new(source.trim()).file_name().expect("device name");
        let trigger = Path::new("/sys/fs/ext4")
            .join(device)
            .join("trigger_fs_error");
        std::fs::write(&trigger, "numpool storage-fault test")
            .unwrap_or_else(|e| panic!("{}: {e}", trigger.display()));
    }

    /// Unmounts, checks and mounts the ext4 image again, read-write.
    fn repair(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Command::new("umount")
            .arg(&self.path)
            .status()
            .unwrap()
            .success()
        {
            assert!(
                Instant::now() < deadline,
                "cannot unmount {}",
                self.path.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let image = p(self.image.as_ref().expect("ext4 image"));
        let status = Command::new("e2fsck")
            .args(["-f", "-y", &image])
            .status()
            .expect("e2fsck");
        assert!(status.code().is_some_and(|c| c <= 2), "e2fsck: {status}");
        self.mount_ext4();
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn p(path: &Path) -> String {
    path.to_str().expect("utf-8 path").to_owned()
}

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        status.success(),
        "{program} {args:?}: {status} (run as root: .ci/power_loss.sh)"
    );
}

/// A RESP connection that reads each reply of a pipeline on its own (an error reply does not
/// hide the others).
struct Raw {
    stream: BufReader<tokio::net::TcpStream>,
}

#[derive(Debug)]
enum Reply {
    Bulk(Option<String>),
    Status(String),
    Error(String),
    Integer,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connect RESP");
        let mut raw = Raw {
            stream: BufReader::new(stream),
        };
        let auth = raw
            .pipeline(&[vec!["AUTH".into(), KEY.into(), SECRET.into()]])
            .await;
        assert!(
            matches!(&auth[0], Reply::Status(s) if s == "OK"),
            "AUTH: {auth:?}"
        );
        raw
    }

    async fn picks(&mut self, recipients: &[u64]) -> Vec<Reply> {
        let commands: Vec<Vec<String>> = recipients
            .iter()
            .map(|to| vec!["PICK".into(), POOL.into(), to.to_string()])
            .collect();
        self.pipeline(&commands).await
    }

    async fn pipeline(&mut self, commands: &[Vec<String>]) -> Vec<Reply> {
        let mut out = Vec::new();
        for command in commands {
            out.extend(format!("*{}\r\n", command.len()).bytes());
            for arg in command {
                out.extend(format!("${}\r\n{arg}\r\n", arg.len()).bytes());
            }
        }
        let io = async {
            self.stream.get_mut().write_all(&out).await?;
            let mut replies = Vec::new();
            for _ in commands {
                replies.push(self.reply().await?);
            }
            std::io::Result::Ok(replies)
        };
        tokio::time::timeout(Duration::from_secs(30), io)
            .await
            .expect("RESP replies within 30 s")
            .expect("RESP connection")
    }

    async fn reply(&mut self) -> std::io::Result<Reply> {
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let line = line.trim_end_matches("\r\n");
        let (kind, rest) = line.split_at(1.min(line.len()));
        Ok(match kind {
            "+" => Reply::Status(rest.to_owned()),
            "-" => Reply::Error(rest.to_owned()),
            ":" => Reply::Integer,
            "$" if rest == "-1" => Reply::Bulk(None),
            "$" => {
                let mut body = vec![0; rest.parse::<usize>().expect("bulk length") + 2];
                self.stream.read_exact(&mut body).await?;
                body.truncate(body.len() - 2);
                Reply::Bulk(Some(String::from_utf8(body).expect("utf-8 bulk")))
            }
            _ => panic!("unexpected RESP reply {line:?}"),
        })
    }
}
