//! The real `sluice` binary on `postgres` storage, each test on a fresh database of a private
//! PostgreSQL server: two processes on one database serve the same queues and messages; `sluice
//! migrate` and its `--check` exit codes; a server refuses a schema newer than its own; and a
//! database that goes away makes requests answer `503 ServiceUnavailable` (which SDKs retry), in
//! bounded time, until it is back.
//!
//! Losing the database is played by a small TCP relay between the server and PostgreSQL that the
//! test can cut: closing every connection and refusing new ones (a database stopped), or taking new
//! ones and never answering (a database that hangs); one test also restarts PostgreSQL itself.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use common::{
    assert_service_error, create, free_port, http_request, raw_exchange_blocking,
    single_shot_client, wait_listening, TempDir,
};
use sluice_test_postgres::PrivatePostgres;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Bound on a server becoming ready, or exiting when it must.
const START_DEADLINE: Duration = Duration::from_secs(30);
/// Bound on one request, kept by the client so that a hung server fails the test.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Bound on a request refused for want of a database: the server waits at most 3 s for a
/// connection, and a send asks the store twice (its caller's access key, then the send).
const REFUSAL_DEADLINE: Duration = Duration::from_secs(9);
/// Bound on the server serving again once the database is back.
const RECOVERY_DEADLINE: Duration = Duration::from_secs(30);
const PASSWORD: &str = "not-a-real-secret-0451";

/// A `sluice` process; killed when dropped.
struct Node {
    child: Child,
    endpoint: String,
    admin: SocketAddr,
    log: PathBuf,
}

impl Node {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn client(&self) -> Client {
        single_shot_client(&self.endpoint, REQUEST_TIMEOUT)
    }

    /// `/health/ready` on the admin listener: its status.
    async fn readiness(&self) -> u16 {
        let admin = self.admin;
        tokio::task::spawn_blocking(move || {
            let request = http_request("GET", "/health/ready", &admin.to_string(), &[], b"");
            raw_exchange_blocking(admin, &request).map_or(0, |response| response.status)
        })
        .await
        .unwrap()
    }

    /// Waits (bounded) until the admin listener says `status`.
    async fn await_readiness(&self, status: u16) {
        let deadline = Instant::now() + RECOVERY_DEADLINE;
        while self.readiness().await != status {
            assert!(
                Instant::now() < deadline,
                "/health/ready not {status} after {RECOVERY_DEADLINE:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What every node of a test shares: a scratch directory (the working directory of its processes,
/// which must stay without a data directory), the master key in it, and their logs.
struct Cluster {
    dir: TempDir,
    key: PathBuf,
}

impl Cluster {
    fn new(label: &str) -> Cluster {
        let dir = TempDir::new(label);
        let key = dir.path().join("master-key");
        std::fs::write(&key, [7u8; 32]).unwrap();
        Cluster { dir, key }
    }

    /// `sluice` with `args`, run from the scratch directory with no SLUICE_* variable of its own.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
        command.args(args).current_dir(self.dir.path());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SLUICE_") {
                command.env_remove(name);
            }
        }
        command.stdin(Stdio::null());
        command
    }

    /// Runs `sluice` with `args` to its end (bounded: it must not wait on anything).
    fn run(&self, args: &[&str]) -> Output {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sluice");
        let deadline = Instant::now() + START_DEADLINE;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("sluice {args:?} still running after {START_DEADLINE:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    }

    /// `sluice --storage postgres` on `url`, its API and admin listeners on ports the kernel chooses.
    fn node_arguments<'a>(&'a self, url: &'a str) -> [&'a str; 10] {
        [
            "--bind",
            "127.0.0.1:0",
            "--admin-bind",
            "127.0.0.1:0",
            "--storage",
            "postgres",
            "--database-url",
            url,
            "--master-key-file",
            self.key.to_str().unwrap(),
        ]
    }

    /// Starts a node on `url` and waits (bounded) until it listens and is ready.
    async fn start(&self, label: &str, url: &str) -> Node {
        let log = self.dir.path().join(format!("{label}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut child = self
            .command(&self.node_arguments(url))
            .env("RUST_LOG", "info")
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("spawn sluice");
        let listening = wait_listening(&mut child, &log, START_DEADLINE).await;
        let node = match listening {
            Ok(listening) => Node {
                child,
                endpoint: listening.endpoint(),
                admin: listening.admin.expect("the admin listener's address"),
                log,
            },
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{e}");
            }
        };
        let deadline = Instant::now() + START_DEADLINE;
        while node.readiness().await != 200 {
            assert!(
                Instant::now() < deadline,
                "sluice not ready after {START_DEADLINE:?}:\n{}",
                node.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        node
    }
}

/// A database URL of the shared test server, with a password (the test server trusts every local
/// connection, so it is never checked) that must never show in a log.
fn fresh_database() -> String {
    with_password(&PrivatePostgres::shared().new_database())
}

fn with_password(url: &str) -> String {
    url.replacen("postgres@", &format!("postgres:{PASSWORD}@"), 1)
}

/// The URL of the same database through `port`.
fn via_port(url: &str, port: u16) -> String {
    let (head, tail) = url.rsplit_once(':').expect("a port in the URL");
    let (_, database) = tail.split_once('/').expect("a database in the URL");
    format!("{head}:{port}/{database}")
}

/// Runs one statement with `psql` on the shared test server's database of `url`.
fn psql(url: &str, statement: &str) {
    let server = PrivatePostgres::shared();
    let database = url.rsplit('/').next().unwrap();
    let output = Command::new(server.program("psql"))
        .args(["-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1"])
        .args([
            "-p",
            &server.port().to_string(),
            "-d",
            database,
            "-c",
            statement,
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run psql");
    assert!(output.status.success(), "psql: {output:?}");
}

async fn send(client: &Client, url: &str, body: &str) {
    client
        .send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("send {body}: {e:?}"));
}

/// Receives what is there (up to 10 messages, no wait) and deletes it; their bodies.
async fn take_all(client: &Client, url: &str) -> Vec<String> {
    let received = client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap_or_else(|e| panic!("receive: {e:?}"));
    let mut bodies = Vec::new();
    for message in received.messages() {
        client
            .delete_message()
            .queue_url(url)
            .receipt_handle(message.receipt_handle().unwrap())
            .send()
            .await
            .unwrap_or_else(|e| panic!("delete: {e:?}"));
        bodies.push(message.body().unwrap_or_default().to_string());
    }
    bodies.sort();
    bodies
}

/// A database at schema version 1, as earlier builds left it, is brought to version 2 when a node
/// starts, and keeps its queues and messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_at_schema_version_1_is_migrated_with_its_messages() {
    let cluster = Cluster::new("pg-upgrade");
    let url = fresh_database();
    let queue = {
        let node = cluster.start("before", &url).await;
        let client = node.client();
        let queue = create(&client, "kept").await;
        send(&client, &queue, "sent before the upgrade").await;
        queue
    };
    // What version 2 added, taken away again.
    psql(
        &url,
        "ALTER TABLE messages DROP COLUMN dead_letter_moved_at, \
         DROP COLUMN dead_letter_receive_count; \
         DELETE FROM sluice_schema WHERE version = 2",
    );
    let behind = cluster.run(&["migrate", "--check", "--database-url", &url]);
    assert_eq!(behind.status.code(), Some(1), "{behind:?}");

    let node = cluster.start("after", &url).await;
    assert_eq!(
        take_all(&node.client(), &queue).await,
        ["sent before the upgrade"]
    );
    let current = cluster.run(&["migrate", "--check", "--database-url", &url]);
    assert_eq!(current.status.code(), Some(0), "{current:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_database_serve_the_same_queues_and_messages() {
    let cluster = Cluster::new("pg-nodes");
    let url = fresh_database();
    let first = cluster.start("first", &url).await;
    let second = cluster.start("second", &url).await;
    let (a, b) = (first.client(), second.client());

    let queue = create(&a, "shared").await;
    let seen = b
        .get_queue_url()
        .queue_name("shared")
        .send()
        .await
        .expect("the second node sees the queue");
    assert_eq!(
        seen.queue_url().unwrap().rsplit_once('/').unwrap().1,
        "shared"
    );
    let queue_b = seen.queue_url().unwrap().to_string();

    send(&a, &queue, "from the first").await;
    assert_eq!(take_all(&b, &queue_b).await, ["from the first"]);
    assert!(
        take_all(&a, &queue).await.is_empty(),
        "deleted on the second node"
    );

    send(&b, &queue_b, "from the second").await;
    send(&b, &queue_b, "and another").await;
    assert_eq!(
        take_all(&a, &queue).await,
        ["and another", "from the second"]
    );

    // Nothing was kept on the nodes' disk, and the password never showed.
    assert!(!cluster.dir.path().join("sluice-data").exists());
    for node in [&first, &second] {
        let log = node.log();
        assert!(!log.contains(PASSWORD), "{log}");
        assert!(log.contains("postgres:***@127.0.0.1"), "{log}");
    }
}

#[test]
fn migrate_check_tells_fresh_current_and_newer_schemas_apart() {
    let cluster = Cluster::new("pg-migrate");
    let url = fresh_database();
    let code = |output: &Output| output.status.code();

    let fresh = cluster.run(&["migrate", "--check", "--database-url", &url]);
    assert_eq!(code(&fresh), Some(1), "{fresh:?}");
    assert!(String::from_utf8_lossy(&fresh.stdout).contains("run sluice migrate"));

    let migrated = cluster.run(&["migrate", "--database-url", &url]);
    assert_eq!(code(&migrated), Some(0), "{migrated:?}");
    let said = String::from_utf8_lossy(&migrated.stdout).to_string();
    assert!(said.contains("schema version 2"), "{said}");
    assert!(
        !said.contains(PASSWORD) && said.contains("postgres:***@"),
        "{said}"
    );
    let again = cluster.run(&["migrate", "--database-url", &url]);
    assert_eq!(
        code(&again),
        Some(0),
        "migrating twice is harmless: {again:?}"
    );

    let current = cluster.run(&["migrate", "--check", "--database-url", &url]);
    assert_eq!(code(&current), Some(0), "{current:?}");

    psql(&url, "INSERT INTO sluice_schema (version) VALUES (3)");
    let newer = cluster.run(&["migrate", "--check", "--database-url", &url]);
    assert_eq!(code(&newer), Some(2), "{newer:?}");
    assert!(String::from_utf8_lossy(&newer.stdout).contains("newer than this build"));
    let refused = cluster.run(&["migrate", "--database-url", &url]);
    assert_eq!(code(&refused), Some(1), "{refused:?}");

    let served = cluster.run(&cluster.node_arguments(&url));
    assert!(
        !served.status.success(),
        "sluice served a newer schema: {served:?}"
    );
    let log = String::from_utf8_lossy(&served.stderr).to_string()
        + &String::from_utf8_lossy(&served.stdout);
    assert!(
        log.contains("schema version 3, newer than this build's 2"),
        "{log}"
    );
    assert!(!log.contains(PASSWORD), "{log}");

    let unreachable = format!("postgres://postgres:{PASSWORD}@127.0.0.1:{}/x", free_port());
    let unasked = cluster.run(&["migrate", "--check", "--database-url", &unreachable]);
    assert_eq!(code(&unasked), Some(3), "{unasked:?}");
    assert!(!String::from_utf8_lossy(&unasked.stderr).contains(PASSWORD));
}

#[test]
fn postgres_storage_is_refused_without_a_database_or_a_shared_master_key() {
    let cluster = Cluster::new("pg-config");
    let url = format!("postgres://postgres:{PASSWORD}@127.0.0.1:1/x");
    for (args, says) in [
        (vec!["--storage", "postgres"], "--database-url"),
        (
            vec!["--storage", "postgres", "--database-url", &url],
            "--master-key-file",
        ),
        (vec!["--database-url", &url], "--storage postgres"),
        (vec!["migrate", "--check"], "--database-url"),
    ] {
        let output = cluster.run(&args);
        let said = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}: {said}");
        assert!(said.contains(says), "{args:?}: {said}");
        assert!(!said.contains(PASSWORD), "{args:?}: {said}");
    }
    assert!(!cluster.dir.path().join("sluice-data").exists());
}

/// How the relay treats connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    Up,
    /// Every connection closed, new ones closed at once: a database stopped.
    Refusing,
    /// Every connection closed, new ones taken and never answered: a database that hangs.
    Silent,
}

/// A TCP relay on 127.0.0.1 to `upstream`, which the test can cut and restore.
struct Relay {
    port: u16,
    link: watch::Sender<Link>,
}

impl Relay {
    async fn start(upstream: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (link, watching) = watch::channel(Link::Up);
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                tokio::spawn(relay(inbound, upstream, watching.clone()));
            }
        });
        Relay { port, link }
    }

    fn set(&self, link: Link) {
        self.link.send_replace(link);
    }
}

/// Serves one connection as the link says, until the link changes (then it is closed).
async fn relay(mut inbound: TcpStream, upstream: u16, mut link: watch::Receiver<Link>) {
    let now = *link.borrow_and_update();
    match now {
        Link::Refusing => {}
        Link::Silent => {
            let _ = link.changed().await;
        }
        Link::Up => {
            let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                return;
            };
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                _ = link.changed() => {}
            }
        }
    }
}

/// One SendMessage that must fail, in bounded time, with 503 ServiceUnavailable.
async fn assert_unavailable(client: &Client, queue: &str) {
    let started = Instant::now();
    let refused = client
        .send_message()
        .queue_url(queue)
        .message_body("while the database is away")
        .send()
        .await
        .expect_err("no database, no send");
    assert_service_error(
        &refused,
        503,
        "ServiceUnavailable",
        Some("The request has failed due to a temporary failure of the server."),
    );
    assert!(
        started.elapsed() < REFUSAL_DEADLINE,
        "refused only after {:?}",
        started.elapsed()
    );
}

/// Sends `body` until it is accepted (bounded); every failure on the way must be a 503.
async fn send_once_back(client: &Client, queue: &str, body: &str) {
    let deadline = Instant::now() + RECOVERY_DEADLINE;
    loop {
        match client
            .send_message()
            .queue_url(queue)
            .message_body(body)
            .send()
            .await
        {
            Ok(_) => return,
            Err(e) => {
                assert_service_error(&e, 503, "ServiceUnavailable", None);
                assert!(Instant::now() < deadline, "still refused: {e:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_answers_service_unavailable_until_it_is_back() {
    let cluster = Cluster::new("pg-lost");
    let direct = fresh_database();
    let relay = Relay::start(PrivatePostgres::shared().port()).await;
    let node = cluster.start("node", &via_port(&direct, relay.port)).await;
    let client = node.client();
    let queue = create(&client, "steady").await;
    send(&client, &queue, "before").await;

    relay.set(Link::Refusing);
    assert_unavailable(&client, &queue).await;
    assert_unavailable(&client, &queue).await;
    node.await_readiness(503).await;

    // A database that takes connections and never answers holds no request beyond the wait.
    relay.set(Link::Silent);
    assert_unavailable(&client, &queue).await;
    node.await_readiness(503).await;

    relay.set(Link::Up);
    send_once_back(&client, &queue, "after").await;
    node.await_readiness(200).await;
    assert_eq!(take_all(&client, &queue).await, ["after", "before"]);
    let log = node.log();
    assert!(log.contains("database unreachable"), "{log}");
    assert!(log.contains("database reachable again"), "{log}");
    assert!(!log.contains(PASSWORD), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_loses_nothing_and_breaks_no_request_for_good() {
    let cluster = Cluster::new("pg-restart");
    // A server of its own: restarting the shared one would disturb the other tests.
    let server = tokio::task::spawn_blocking(PrivatePostgres::start)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("a private PostgreSQL: {e}"));
    let url = with_password(&server.new_database());
    let node = cluster.start("node", &url).await;
    let client = node.client();
    let queue = create(&client, "restarted").await;
    send(&client, &queue, "before").await;

    let server = tokio::task::spawn_blocking(move || {
        server.restart();
        server
    })
    .await
    .unwrap();
    // Connections the restart broke are replaced; a request that met one answered 503 at worst.
    send_once_back(&client, &queue, "after").await;
    assert_eq!(take_all(&client, &queue).await, ["after", "before"]);
    node.await_readiness(200).await;
    drop(node);
    drop(server);
}
