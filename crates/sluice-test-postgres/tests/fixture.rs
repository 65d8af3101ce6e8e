//! The private PostgreSQL server: started, used through PostgreSQL's own client, restarted, dropped; and
//! the shared one gone soon after its test process ends, however it ends.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sluice_test_postgres::PrivatePostgres;

/// Set in the child process the exit tests start; its value says how the child ends.
const CHILD_MODE: &str = "SLUICE_TEST_POSTGRES_CHILD";

/// What the child prints once its shared server is up.
const CHILD_MARKER: &str = "shared-postgres";

/// `psql -h 127.0.0.1 -p <port> -U postgres -d <database> -c <sql>`: its unaligned, tuples-only output.
fn psql(server: &PrivatePostgres, url: &str, sql: &str) -> Result<String, String> {
    let database = url
        .rsplit('/')
        .next()
        .expect("a URL ends with the database name");
    let output = Command::new(server.program("psql"))
        .args([
            "-X",
            "-w",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
        ])
        .arg("-p")
        .arg(server.port().to_string())
        .arg("-d")
        .arg(database)
        .arg("-c")
        .arg(sql)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("could not run psql: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

fn port_is_open(port: u16) -> bool {
    TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(1)).is_ok()
}

#[test]
fn a_server_of_its_own_serves_databases_survives_a_restart_and_goes_when_dropped() {
    let started = Instant::now();
    let server = PrivatePostgres::start().unwrap_or_else(|message| panic!("{message}"));
    eprintln!(
        "started in {:?} on port {}",
        started.elapsed(),
        server.port()
    );
    let port = server.port();
    let dir = server.directory().to_owned();
    assert!(dir.join("data").join("PG_VERSION").is_file());

    let first = server.new_database();
    let second = server.new_database();
    assert_ne!(first, second);
    for url in [&first, &second] {
        assert!(
            url.starts_with(&format!("postgres://postgres@127.0.0.1:{port}/")),
            "{url}"
        );
        assert_eq!(psql(&server, url, "select 1").unwrap(), "1");
    }
    assert_eq!(
        psql(&server, &first, "show max_connections").unwrap(),
        "200"
    );
    assert_eq!(psql(&server, &first, "show fsync").unwrap(), "on");
    assert_eq!(
        psql(&server, &first, "show listen_addresses").unwrap(),
        "127.0.0.1"
    );
    psql(
        &server,
        &first,
        "create table kept (v text); insert into kept values ('committed')",
    )
    .unwrap();

    let restarted = Instant::now();
    server.restart();
    eprintln!("restarted in {:?}", restarted.elapsed());
    assert_eq!(server.port(), port);
    assert_eq!(
        psql(&server, &first, "select v from kept").unwrap(),
        "committed"
    );
    assert_eq!(psql(&server, &second, "select 1").unwrap(), "1");

    let dropped = Instant::now();
    drop(server);
    eprintln!("dropped in {:?}", dropped.elapsed());
    assert!(!port_is_open(port), "port {port} still open");
    assert!(!dir.exists(), "{} still there", dir.display());
}

#[test]
fn two_servers_run_side_by_side() {
    let one = PrivatePostgres::start().unwrap_or_else(|message| panic!("{message}"));
    let two = PrivatePostgres::start().unwrap_or_else(|message| panic!("{message}"));
    assert_ne!(one.port(), two.port());
    assert_ne!(one.directory(), two.directory());
    let on_one = one.new_database();
    assert_eq!(psql(&one, &on_one, "select 1").unwrap(), "1");
    // Database names are unique across servers as well, so this one does not exist on the other server.
    assert!(psql(&two, &on_one, "select 1").is_err());
}

#[test]
fn the_shared_server_is_started_once() {
    let server = PrivatePostgres::shared();
    assert!(std::ptr::eq(server, PrivatePostgres::shared()));
    let url = server.new_database();
    assert_eq!(psql(server, &url, "select 1").unwrap(), "1");
}

/// Not a test by itself: the child process of the two tests below, which uses the shared server, prints
/// where it is and then returns (`exit`) or waits to be killed (`hang`).
#[test]
#[ignore = "run as a child process by the tests of the shared server's end"]
fn child_using_the_shared_server() {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return;
    };
    let server = PrivatePostgres::shared();
    let url = server.new_database();
    assert_eq!(psql(server, &url, "select 1").unwrap(), "1");
    let pid_file =
        std::fs::read_to_string(server.directory().join("data").join("postmaster.pid")).unwrap();
    let postmaster = pid_file.lines().next().unwrap();
    println!(
        "{CHILD_MARKER} {} {postmaster} {}",
        server.port(),
        server.directory().display()
    );
    if mode == "hang" {
        loop {
            std::thread::sleep(Duration::from_secs(60));
        }
    }
}

struct ChildServer {
    port: u16,
    postmaster: u32,
    dir: PathBuf,
}

impl ChildServer {
    fn parse(line: &str) -> Option<ChildServer> {
        // The harness may have printed "test <name> ... " on the same line before it.
        let rest = line[line.find(CHILD_MARKER)? + CHILD_MARKER.len()..].trim_start();
        let mut fields = rest.splitn(3, ' ');
        Some(ChildServer {
            port: fields.next()?.parse().ok()?,
            postmaster: fields.next()?.parse().ok()?,
            dir: PathBuf::from(fields.next()?),
        })
    }

    /// What is left of it: empty once everything is gone.
    fn remains(&self) -> Vec<String> {
        let mut remains = Vec::new();
        if self.dir.exists() {
            remains.push(format!("directory {}", self.dir.display()));
        }
        if port_is_open(self.port) {
            remains.push(format!("port {} open", self.port));
        }
        for (pid, parent, command) in live_processes() {
            if pid == self.postmaster || parent == self.postmaster {
                remains.push(format!(
                    "process {pid} ({command}), the postmaster or its child"
                ));
            } else if command.contains(self.dir.to_str().unwrap()) {
                remains.push(format!("process {pid} ({command})"));
            }
        }
        remains
    }

    fn assert_gone_soon(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let started = Instant::now();
        loop {
            let remains = self.remains();
            if remains.is_empty() {
                eprintln!("gone {:?} after the child process", started.elapsed());
                return;
            }
            if Instant::now() > deadline {
                panic!("10 s after the test process ended, its server remains: {remains:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Every process that is not a zombie: its id, its parent's and its command line.
fn live_processes() -> Vec<(u32, u32, String)> {
    let mut processes = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(|value| value.trim().to_owned())
                .unwrap_or_default()
        };
        if field("State:").starts_with('Z') {
            continue;
        }
        let parent = field("PPid:").parse().unwrap_or(0);
        let command = std::fs::read(entry.path().join("cmdline"))
            .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
            .unwrap_or_default();
        processes.push((pid, parent, command));
    }
    processes
}

fn child_command(mode: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "child_using_the_shared_server",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_MODE, mode)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    command
}

#[test]
fn the_shared_server_goes_when_its_test_process_exits() {
    let output = child_command("exit").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child failed: {stdout}");
    let server = stdout
        .lines()
        .find_map(ChildServer::parse)
        .unwrap_or_else(|| panic!("the child did not say where its server was: {stdout}"));
    server.assert_gone_soon();
}

#[test]
fn the_shared_server_goes_when_its_test_process_is_killed() {
    let mut child = child_command("hang").spawn().unwrap();
    // Its output is read on a thread of its own, so that a child that never says where its server is
    // fails the test instead of hanging it.
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut said = String::new();
    let server = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(line) => {
                if let Some(server) = ChildServer::parse(&line) {
                    break server;
                }
                said.push_str(&line);
                said.push('\n');
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the child did not say where its server was: {said}");
            }
        }
    };
    assert!(server
        .remains()
        .iter()
        .any(|what| what.starts_with("directory")));
    assert!(port_is_open(server.port));
    // SIGKILL: no destructor, no exit handler runs.
    child.kill().unwrap();
    child.wait().unwrap();
    server.assert_gone_soon();
}

#[test]
fn client_programs_are_found() {
    let server = PrivatePostgres::shared();
    for name in ["psql", "createdb", "pg_isready"] {
        let program = server.program(name);
        assert!(program.is_file(), "{} missing", program.display());
    }
    let ready = Command::new(server.program("pg_isready"))
        .args(["-h", "127.0.0.1", "-p"])
        .arg(server.port().to_string())
        .output()
        .unwrap();
    assert!(
        ready.status.success(),
        "{}",
        String::from_utf8_lossy(&ready.stdout)
    );
    assert!(Path::new(server.directory()).is_dir());
}
