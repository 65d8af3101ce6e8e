//! Identities survive `kill -9`: the real `sluice` binary in `sigv4` mode makes users and access keys
//! through the IAM API while it is killed at random moments and restarted on the same data directory.
//! After each restart, every user whose CreateUser was answered with a 200 is still there, and every key
//! whose CreateAccessKey was answered (and not deleted since) still signs requests; a key whose
//! DeleteAccessKey was answered is refused. Requests in flight at a kill may fail and count as neither.
//! The kill times come from a seeded PRNG; set `SLUICE_CRASH_SEED` to repeat a run.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::*;

const ACCOUNT: &str = "111122223333";
const ROOT: SigningKey<'static> = (
    "AKIACRASHROOT0000001",
    "crash-root-secret-0123456789abcdefghijkl",
    None,
);
const ROUNDS: usize = 4;
const TEST_DEADLINE: Duration = Duration::from_secs(60);
const READY_DEADLINE: Duration = Duration::from_secs(15);

struct Server {
    child: Child,
    addr: std::net::SocketAddr,
    host: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn call(
    server: &Server,
    key: SigningKey<'_>,
    service: &str,
    params: &[(&str, &str)],
) -> Result<RawResponse, String> {
    let body = query_body(service, params);
    try_raw(
        server.addr,
        signed_query_post(&server.host, service, key, &body, SystemTime::now()),
    )
    .await
}

/// Starts `sluice --bind 127.0.0.1:0` on the data directory, its output in `<data_dir>.<label>.log`, and
/// waits (bounded) until it listens.
async fn start(data_dir: &Path, config: &Path, label: &str) -> Server {
    let log = data_dir.with_extension(format!("{label}.log"));
    let file = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["--bind", "127.0.0.1:0", "--admin-bind", "none"])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--config")
        .arg(config)
        .env_remove("SLUICE_STORAGE")
        .env_remove("SLUICE_AUTH")
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .expect("spawn sluice");
    let listening = wait_listening(&mut child, &log, READY_DEADLINE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Server {
        child,
        addr: listening.api,
        host: listening.api.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_keys_acknowledged_before_a_kill_survive_it() {
    tokio::time::timeout(TEST_DEADLINE, rounds())
        .await
        .expect("within the deadline");
}

async fn rounds() {
    let dir = TempDir::new("identity-crash");
    let data_dir = dir.path().join("data");
    let config = dir.path().join("sluice.toml");
    std::fs::write(
        &config,
        format!(
            "auth = \"sigv4\"\n\n[[accounts]]\nid = \"{ACCOUNT}\"\naccess-key-id = \"{}\"\nsecret-access-key = \"{}\"\n",
            ROOT.0, ROOT.1
        ),
    )
    .unwrap();
    let seed = std::env::var("SLUICE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x1D_C4A5);
    let mut rng = SplitMix64::new(seed);
    let mut users: Vec<String> = Vec::new();
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut deleted: Vec<(String, String)> = Vec::new();
    let mut next = 0;
    for round in 0..ROUNDS {
        let server = start(&data_dir, &config, &format!("round{round}")).await;
        check(&server, &users, &keys, &deleted, round, seed).await;
        // Load until a kill at a random moment: make users and keys, delete some keys.
        let load = Duration::from_millis(rng.range(100, 800));
        let began = Instant::now();
        while began.elapsed() < load {
            next += 1;
            let name = format!("u{next}");
            match call(
                &server,
                ROOT,
                "iam",
                &[("Action", "CreateUser"), ("UserName", &name)],
            )
            .await
            {
                Ok(r) if r.status == 200 => users.push(name.clone()),
                _ => continue,
            }
            if let Ok(r) = call(
                &server,
                ROOT,
                "iam",
                &[("Action", "CreateAccessKey"), ("UserName", &name)],
            )
            .await
            {
                if r.status == 200 {
                    let text = r.text();
                    let key = (
                        xml_element(&text, "AccessKeyId").unwrap(),
                        xml_element(&text, "SecretAccessKey").unwrap(),
                    );
                    if rng.range(0, 4) == 0 {
                        let params = [
                            ("Action", "DeleteAccessKey"),
                            ("UserName", name.as_str()),
                            ("AccessKeyId", key.0.as_str()),
                        ];
                        if call(&server, ROOT, "iam", &params)
                            .await
                            .is_ok_and(|r| r.status == 200)
                        {
                            deleted.push(key);
                            continue;
                        }
                    }
                    keys.push(key);
                }
            }
        }
        drop(server);
    }
    let server = start(&data_dir, &config, "last").await;
    check(&server, &users, &keys, &deleted, ROUNDS, seed).await;
    assert!(
        keys.len() >= 10,
        "too little was acknowledged to test anything: {} keys",
        keys.len()
    );
}

async fn check(
    server: &Server,
    users: &[String],
    keys: &[(String, String)],
    deleted: &[(String, String)],
    round: usize,
    seed: u64,
) {
    for name in users {
        let r = call(
            server,
            ROOT,
            "iam",
            &[("Action", "GetUser"), ("UserName", name)],
        )
        .await
        .unwrap();
        assert_eq!(
            r.status,
            200,
            "round {round}, seed {seed}: user {name} lost: {}",
            r.text()
        );
    }
    for (id, secret) in keys {
        let status = caller_status(server, id, secret).await;
        assert_eq!(status, 200, "round {round}, seed {seed}: key {id} lost");
    }
    for (id, secret) in deleted {
        let status = caller_status(server, id, secret).await;
        assert_eq!(
            status, 403,
            "round {round}, seed {seed}: deleted key {id} still works"
        );
    }
}

/// The status of a GetCallerIdentity signed with this key.
async fn caller_status(server: &Server, id: &str, secret: &str) -> u16 {
    call(
        server,
        (id, secret, None),
        "sts",
        &[("Action", "GetCallerIdentity")],
    )
    .await
    .unwrap()
    .status
}
