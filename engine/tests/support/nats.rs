//! A three-node NATS JetStream cluster on loopback (DESIGN §10): the real `nats-server`
//! (`$NATS_SERVER`, else `nats-server` on the PATH; `.ci/run` installs the pinned wheel), each
//! node with `sync_interval: always`, stopped when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One node.
pub struct Node {
    /// Its client port.
    pub port: u16,
    /// Its monitoring port, for `/healthz`.
    monitor: u16,
    /// The process.
    child: Child,
    /// Its config file, for a restart.
    config: PathBuf,
}

/// The cluster.
pub struct NatsCluster {
    /// Its nodes.
    pub nodes: Vec<Node>,
    /// Holds the configs and JetStream stores.
    _dir: tempfile::TempDir,
    /// One cluster at a time in a test binary: six processes per test on two cores are
    /// enough, and free ports picked by parallel tests could collide.
    _one_at_a_time: std::sync::MutexGuard<'static, ()>,
}

/// What [`NatsCluster::_one_at_a_time`] holds.
static CLUSTERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A free loopback port, below the kernel's ephemeral range (32768 and up), so that no port the
/// kernel hands out meanwhile (to a test server on `:0`, or to a client connection) can take
/// it between this check and the server's bind.
fn free_port() -> u16 {
    loop {
        let port = fastrand::u16(20_000..32_000);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn server_binary() -> String {
    std::env::var("NATS_SERVER").unwrap_or_else(|_| "nats-server".to_owned())
}

impl NatsCluster {
    /// Starts `count` nodes as one cluster and waits until JetStream answers on each.
    pub fn start(count: usize) -> NatsCluster {
        NatsCluster::start_with(count, "")
    }

    /// [`NatsCluster::start`], each node's config ending with `extra` (e.g. a `tls` block).
    pub fn start_with(count: usize, extra: &str) -> NatsCluster {
        // A test that failed while holding it leaves it poisoned; the next one may go on.
        let one_at_a_time = CLUSTERS.lock().unwrap_or_else(|e| e.into_inner());
        // A node that cannot bind a port it was given never becomes healthy: the cluster is
        // started again on other ports, at most three times.
        let mut logs = String::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("temp dir");
            let nodes = start_nodes(dir.path(), count, extra);
            if nodes
                .iter()
                .all(|node| node.wait_healthy(Duration::from_secs(30)))
            {
                return NatsCluster {
                    nodes,
                    _dir: dir,
                    _one_at_a_time: one_at_a_time,
                };
            }
            for (i, mut node) in nodes.into_iter().enumerate() {
                let _ = node.child.kill();
                let _ = node.child.wait();
                let log = std::fs::read_to_string(dir.path().join(format!("n{i}.log")));
                logs.push_str(&format!("n{i}: {}\n", log.unwrap_or_default()));
            }
        }
        panic!("no healthy nats cluster in three tries:\n{logs}");
    }

    /// Every node's URL, comma-separated: what `--cluster` takes.
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("nats://127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Sends `signal` (`-KILL`, `-STOP`, `-CONT`) to node `i`.
    pub fn signal(&mut self, i: usize, signal: &str) {
        super::send_signal(&self.nodes[i].child, signal);
        if signal == "-KILL" {
            self.nodes[i].child.wait().expect("wait");
        }
    }

    /// The node leading stream `stream` now, as the first live node's monitoring endpoint
    /// reports it (`/jsz`); `None` while it has no leader.
    pub fn stream_leader(&self, stream: &str, live: usize) -> Option<usize> {
        // Right after an election, or while a node catches up, `/jsz` may not name a leader
        // yet: asked again for up to 10 s.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let leader = self.leader_now(stream, live);
            if leader.is_some() || Instant::now() > deadline {
                return leader;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The leader `/jsz` of node `live` names for `stream` now, if any.
    fn leader_now(&self, stream: &str, live: usize) -> Option<usize> {
        let body = self.nodes[live].get("/jsz?streams=true")?;
        let jsz: serde_json::Value = serde_json::from_str(&body).ok()?;
        let leader = jsz["account_details"]
            .as_array()?
            .iter()
            .flat_map(|account| {
                account["stream_detail"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .find(|detail| detail["name"] == stream)?["cluster"]["leader"]
            .as_str()?
            .to_owned();
        leader.strip_prefix('n')?.parse().ok()
    }

    /// Starts node `i` again (after a SIGKILL), with its store.
    pub fn restart(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        node.child = spawn(&node.config);
        assert!(
            node.wait_healthy(Duration::from_secs(30)),
            "restarted node not healthy"
        );
    }
}

/// Starts `count` nodes routed to each other, with their configs (each ending with `extra`),
/// stores and logs in `dir`.
fn start_nodes(dir: &std::path::Path, count: usize, extra: &str) -> Vec<Node> {
    let mut taken = std::collections::BTreeSet::new();
    let mut port = || loop {
        let port = free_port();
        if taken.insert(port) {
            return port;
        }
    };
    let ports: Vec<(u16, u16, u16)> = (0..count).map(|_| (port(), port(), port())).collect();
    (0..count)
        .map(|i| {
            let (client, route, monitor) = ports[i];
            let routes: Vec<String> = ports
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, (_, r, _))| format!("\"nats-route://127.0.0.1:{r}\""))
                .collect();
            let store = dir.join(format!("n{i}"));
            let config = dir.join(format!("n{i}.conf"));
            std::fs::write(
                &config,
                format!(
                    "server_name: n{i}\nlisten: \"127.0.0.1:{client}\"\nhttp: \"127.0.0.1:{monitor}\"\n\
                     jetstream {{ store_dir: \"{}\", sync_interval: always }}\n\
                     cluster {{ name: c1, listen: \"127.0.0.1:{route}\", routes: [{}] }}\n{extra}\n",
                    store.display(),
                    routes.join(", ")
                ),
            )
            .expect("write nats config");
            Node {
                port: client,
                monitor,
                child: spawn(&config),
                config,
            }
        })
        .collect()
}

/// Starts `nats-server -c config`, its output in the `.log` beside the config.
fn spawn(config: &PathBuf) -> Child {
    let log = std::fs::File::create(config.with_extension("log")).expect("nats log");
    Command::new(server_binary())
        .arg("-c")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {} failed: {e}; set NATS_SERVER", server_binary()))
}

impl Node {
    /// The body of a 200 answer to `GET path` on the monitoring port.
    fn get(&self, path: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.monitor)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
            .ok()?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply).ok()?;
        let ok = reply.starts_with("HTTP/1.0 200") || reply.starts_with("HTTP/1.1 200");
        let (_, body) = reply.split_once("\r\n\r\n")?;
        ok.then(|| body.to_owned())
    }

    /// Waits until the node's `/healthz` says JetStream is up (it has a meta leader); whether
    /// it did within `within`.
    fn wait_healthy(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while self.get("/healthz").is_none() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        true
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
    }
}
