//! A PostgreSQL server of its own for a test run, needing nothing but PostgreSQL's binaries: `initdb` in a
//! temporary directory, the server on a free port of 127.0.0.1 (and a Unix socket inside that directory),
//! no system service and no fixed port.
//!
//! PostgreSQL refuses to run as root: when the test process is root, the server's programs run as the
//! `postgres` OS user (through `runuser`, else `setpriv`) and the temporary directory belongs to it.
//!
//! Every server is watched by a small shell process holding the read end of a pipe whose write end only
//! this process holds. When the [`PrivatePostgres`] is dropped, or when the test process ends in any way
//! (a normal exit, a panic, `kill -9`), the pipe closes and the watchdog stops the server
//! (`pg_ctl stop -m immediate`) and deletes its directory. That is what stops the [`PrivatePostgres::shared`]
//! server, which lives in a static and so is never dropped.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The database superuser `initdb` creates, and the OS user the server runs as when the tests run as root.
const USER: &str = "postgres";

/// How long the server may take to start (and to stop), in seconds.
const TIMEOUT_SECONDS: u64 = 30;

/// How many times a start is tried on another free port, when the one picked was taken in between.
const PORT_ATTEMPTS: usize = 5;

/// Databases and directories are numbered across the whole process, so their names never repeat.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The watchdog: waits until its standard input reaches end of file (this process closed the pipe or
/// ended), then runs the stop command it was given and deletes the directory. It ignores the signals a
/// terminal sends to its foreground jobs (it also runs in a process group of its own).
const WATCHDOG_SCRIPT: &str = r#"trap '' HUP INT QUIT PIPE
dir=$1
shift
while read -r line; do :; done
"$@" >/dev/null 2>&1
rm -rf -- "$dir"
"#;

/// A PostgreSQL server of its own for a test run: initdb in a temporary directory, a free port on 127.0.0.1,
/// stopped (immediate shutdown) and deleted when dropped.
pub struct PrivatePostgres {
    bin_dir: PathBuf,
    run_as: RunAs,
    /// The temporary directory: holds `data/` (the cluster), `server.log` and the Unix socket.
    dir: PathBuf,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    /// `None` once dropped.
    watchdog: Option<Child>,
}

/// How the server's own programs (`initdb`, `pg_ctl`) are run.
enum RunAs {
    /// As this process's user (it is not root).
    Myself,
    /// As `postgres`, through `runuser -u postgres --`.
    Runuser(PathBuf),
    /// As `postgres`, through `setpriv` (where there is no `runuser`).
    Setpriv {
        setpriv: PathBuf,
        uid: u32,
        gid: u32,
    },
}

impl PrivatePostgres {
    /// Starts one, or Err with a message saying what is missing (e.g. "initdb not found; install Debian's
    /// postgresql package").
    pub fn start() -> Result<PrivatePostgres, String> {
        let bin_dir = find_bin_dir()?;
        let (run_as, owner) = run_as()?;
        let dir = make_directory(owner)?;
        let data = dir.join("data");
        let log = dir.join("server.log");
        let mut server = PrivatePostgres {
            bin_dir,
            run_as,
            dir,
            data,
            log,
            port: 0,
            watchdog: None,
        };
        // From here on, dropping `server` (an error below included) stops and deletes whatever was made.
        server.watchdog = Some(server.spawn_watchdog()?);
        server.init_cluster()?;
        for attempt in 1..=PORT_ATTEMPTS {
            server.port = free_port()?;
            // So that the log tells only of this attempt (it does not exist before the first).
            let _ = fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&server.log);
            match server.start_server() {
                Ok(()) => return Ok(server),
                // Another process took the port between our probe and the server's bind: try another.
                Err(_) if attempt < PORT_ATTEMPTS && server.port_was_taken() => continue,
                Err(message) => return Err(message),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// The shared instance of this test binary, started on first use and stopped (by its watchdog) when the
    /// test process ends. Panics, with the reason, when no server can be started.
    pub fn shared() -> &'static PrivatePostgres {
        static SHARED: OnceLock<Result<PrivatePostgres, String>> = OnceLock::new();
        match SHARED.get_or_init(PrivatePostgres::start) {
            Ok(server) => server,
            Err(message) => panic!("could not start the tests' PostgreSQL server: {message}"),
        }
    }

    /// The server's TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temporary directory the server lives in (its cluster in `data/`, its log in `server.log`);
    /// deleted with the server.
    pub fn directory(&self) -> &Path {
        &self.dir
    }

    /// The path of one of PostgreSQL's client programs (`psql`, `createdb`, `pg_isready`, ...): the one
    /// beside the server's `initdb` when there is one, else the one on PATH.
    pub fn program(&self, name: &str) -> PathBuf {
        let beside = self.bin_dir.join(name);
        if is_executable(&beside) {
            return beside;
        }
        find_on_path(name).unwrap_or(beside)
    }

    /// A new empty database (unique name) and its URL: `postgres://postgres@127.0.0.1:<port>/<name>`.
    /// Panics when it cannot be created.
    pub fn new_database(&self) -> String {
        let name = format!(
            "sluice_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let createdb = self.program("createdb");
        let mut command = Command::new(&createdb);
        command
            .args(["--no-password", "-h", "127.0.0.1", "-U", USER, "-p"])
            .arg(self.port.to_string())
            .arg(&name);
        scrub(&mut command);
        match run(&mut command) {
            Ok(_) => format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port),
            Err(message) => panic!("could not create database {name}: {message}"),
        }
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`), and starts it again on the
    /// same port and data directory: for tests of what survives a database restart. Connections open at
    /// the time are broken. Panics when the server does not come back.
    pub fn restart(&self) {
        if let Err(message) = self.stop_server() {
            panic!(
                "could not stop the PostgreSQL server on port {}: {message}",
                self.port
            );
        }
        if let Err(message) = self.start_server() {
            panic!(
                "could not restart the PostgreSQL server on port {}: {message}",
                self.port
            );
        }
    }

    /// The command running one of the server's own programs, as the user the server runs as.
    fn server_command(&self, program: &str) -> Command {
        let program = self.bin_dir.join(program);
        let mut command = match &self.run_as {
            RunAs::Myself => Command::new(program),
            RunAs::Runuser(runuser) => {
                let mut command = Command::new(runuser);
                command.args(["-u", USER, "--"]).arg(program);
                command
            }
            RunAs::Setpriv { setpriv, uid, gid } => {
                let mut command = Command::new(setpriv);
                command
                    .arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .args(["--init-groups", "--"])
                    .arg(program);
                command
            }
        };
        scrub(&mut command);
        // The test's own working directory may be closed to the `postgres` user.
        command.current_dir(&self.dir);
        command
    }

    /// `pg_ctl stop -m immediate`, waiting until the server is gone.
    fn stop_command(&self) -> Command {
        let mut command = self.server_command("pg_ctl");
        command
            .args([
                "stop",
                "--silent",
                "--mode=immediate",
                "--wait",
                "--timeout",
            ])
            .arg(TIMEOUT_SECONDS.to_string())
            .arg("--pgdata")
            .arg(&self.data);
        command
    }

    fn spawn_watchdog(&self) -> Result<Child, String> {
        let stop = self.stop_command();
        let mut argv: Vec<OsString> = vec![stop.get_program().to_owned()];
        argv.extend(stop.get_args().map(|arg| arg.to_owned()));
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg("sluice-test-postgres-watchdog")
            .arg(&self.dir)
            .args(argv)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Out of the test's process group, so that a Ctrl-C meant for the tests does not kill it first.
            .process_group(0);
        scrub(&mut command);
        command
            .spawn()
            .map_err(|error| format!("could not start the watchdog shell /bin/sh: {error}"))
    }

    fn init_cluster(&self) -> Result<(), String> {
        let mut initdb = self.server_command("initdb");
        initdb.arg("--pgdata").arg(&self.data).args([
            "--username",
            USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            // The cluster is thrown away with the test: no need to wait for its files to reach the disk.
            "--no-sync",
        ]);
        run(&mut initdb).map_err(|message| match self.run_as {
            RunAs::Myself => format!("initdb failed: {message}"),
            _ => format!(
                "initdb, run as `{USER}`, failed (that user must be able to reach {}): {message}",
                self.dir.display()
            ),
        })?;
        let socket_dir = self.dir.to_str().ok_or_else(|| {
            format!(
                "the temporary directory {} is not UTF-8",
                self.dir.display()
            )
        })?;
        let settings = format!(
            "\n# Added by sluice-test-postgres (the port is given on the command line).\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{}'\n\
             max_connections = 200\n\
             shared_buffers = 128MB\n\
             fsync = on\n",
            socket_dir.replace('\'', "''")
        );
        let config = self.data.join("postgresql.conf");
        fs::OpenOptions::new()
            .append(true)
            .open(&config)
            .and_then(|mut file| file.write_all(settings.as_bytes()))
            .map_err(|error| format!("could not write {}: {error}", config.display()))
    }

    /// `pg_ctl start` on `self.port`, waiting until the server accepts connections.
    fn start_server(&self) -> Result<(), String> {
        let mut pg_ctl = self.server_command("pg_ctl");
        pg_ctl
            .args(["start", "--silent", "--wait", "--timeout"])
            .arg(TIMEOUT_SECONDS.to_string())
            .arg("--pgdata")
            .arg(&self.data)
            .arg("--log")
            .arg(&self.log)
            .arg("-o")
            .arg(format!("-p {}", self.port));
        if let Err(message) = run(&mut pg_ctl) {
            return Err(format!(
                "pg_ctl start failed: {message}\n--- end of {} ---\n{}",
                self.log.display(),
                self.log_tail()
            ));
        }
        // pg_ctl waited for the server to say it is ready; check that it is listening where we expect.
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + Duration::from_secs(TIMEOUT_SECONDS);
        loop {
            match TcpStream::connect_timeout(&address, Duration::from_secs(1)) {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() >= deadline => {
                    return Err(format!(
                        "the server started but does not accept connections on {address} after \
                         {TIMEOUT_SECONDS} s: {error}\n--- end of {} ---\n{}",
                        self.log.display(),
                        self.log_tail()
                    ))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    fn stop_server(&self) -> Result<(), String> {
        run(&mut self.stop_command()).map(|_| ())
    }

    fn port_was_taken(&self) -> bool {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        log.contains("could not bind") || log.contains("Address already in use")
    }

    fn log_tail(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if let Some(mut watchdog) = self.watchdog.take() {
            // Closing the pipe is the watchdog's signal to stop the server and delete the directory.
            drop(watchdog.stdin.take());
            let _ = watchdog.wait();
        }
        // Only when the watchdog could not do it (it was killed, or never started).
        if self.dir.exists() {
            let _ = self.stop_server();
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// The directory of the server's programs: the newest `/usr/lib/postgresql/<version>/bin` (Debian's layout)
/// with both `initdb` and `pg_ctl`, else `pg_config --bindir`, else the first directory on PATH with both.
fn find_bin_dir() -> Result<PathBuf, String> {
    let has_server =
        |dir: &Path| is_executable(&dir.join("initdb")) && is_executable(&dir.join("pg_ctl"));
    let mut debian: Vec<(Vec<u64>, PathBuf)> = Vec::new();
    if let Ok(entries) = fs::read_dir("/usr/lib/postgresql") {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(version) = name.to_str().and_then(parse_version) else {
                continue;
            };
            let bin = entry.path().join("bin");
            if has_server(&bin) {
                debian.push((version, bin));
            }
        }
    }
    if let Some((_, bin)) = debian.into_iter().max() {
        return Ok(bin);
    }
    if let Ok(output) = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
    {
        if output.status.success() {
            let bin = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
            if has_server(&bin) {
                return Ok(bin);
            }
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(bin) = std::env::split_paths(&path).find(|dir| has_server(dir)) {
            return Ok(bin);
        }
    }
    Err("initdb not found (with pg_ctl beside it, in /usr/lib/postgresql/*/bin, `pg_config --bindir` \
         or PATH); install Debian's postgresql package: apt-get install --no-install-recommends postgresql"
        .to_owned())
}

/// "15" or "9.6" as numbers, compared numerically; None for anything else.
fn parse_version(name: &str) -> Option<Vec<u64>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

/// How the server's programs run, and who must own its directory (None: this process's user).
fn run_as() -> Result<(RunAs, Option<(u32, u32)>), String> {
    if effective_uid()? != 0 {
        return Ok((RunAs::Myself, None));
    }
    let id = |flag: &str| -> Result<u32, String> {
        let output = Command::new("id")
            .args([flag, USER])
            .output()
            .map_err(|error| format!("could not run `id`: {error}"))?;
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .map_err(|_| {
                format!(
                    "this process runs as root, which PostgreSQL refuses, and there is no `{USER}` OS user \
                     to run it as (Debian's postgresql package creates one)"
                )
            })
    };
    let (uid, gid) = (id("-u")?, id("-g")?);
    let run_as = if let Some(runuser) = find_program("runuser") {
        RunAs::Runuser(runuser)
    } else if let Some(setpriv) = find_program("setpriv") {
        RunAs::Setpriv { setpriv, uid, gid }
    } else {
        return Err(format!(
            "this process runs as root, which PostgreSQL refuses, and neither runuser nor setpriv \
             (util-linux) was found to run it as `{USER}`"
        ));
    };
    Ok((run_as, Some((uid, gid))))
}

fn effective_uid() -> Result<u32, String> {
    // /proc/self/status: "Uid:\t<real>\t<effective>\t<saved>\t<filesystem>".
    let from_proc = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1))
                .and_then(|uid| uid.parse().ok())
        });
    if let Some(uid) = from_proc {
        return Ok(uid);
    }
    let output = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|error| format!("could not run `id -u`: {error}"))?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|_| "could not tell this process's user id (`id -u`)".to_owned())
}

/// A new directory under the system's temporary directory, mode 0700, owned by `owner` when given.
fn make_directory(owner: Option<(u32, u32)>) -> Result<PathBuf, String> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    let mut builder = fs::DirBuilder::new();
    builder.mode(0o700);
    let mut last_error = None;
    for _ in 0..100 {
        let dir = std::env::temp_dir().join(format!(
            "sluice-pg-{}-{nanos:08x}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        match builder.create(&dir) {
            Ok(()) => {
                if let Some((uid, gid)) = owner {
                    if let Err(error) = std::os::unix::fs::chown(&dir, Some(uid), Some(gid)) {
                        let _ = fs::remove_dir(&dir);
                        return Err(format!(
                            "could not give {} to `{USER}`: {error}",
                            dir.display()
                        ));
                    }
                }
                return Ok(dir);
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                last_error = Some(error)
            }
            Err(error) => {
                return Err(format!(
                    "could not create a directory in {}: {error}",
                    std::env::temp_dir().display()
                ))
            }
        }
    }
    Err(format!(
        "could not create a directory in {}: {}",
        std::env::temp_dir().display(),
        last_error
            .map(|error| error.to_string())
            .unwrap_or_default()
    ))
}

/// A port of 127.0.0.1 free right now (the system's pick for port 0).
fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| format!("could not find a free port on 127.0.0.1: {error}"))
}

/// Keeps the test's PG* variables (PGHOST, PGPORT, PGDATA, ...) from redirecting the programs.
fn scrub(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|name| name.starts_with("PG")) {
            command.env_remove(name);
        }
    }
}

/// Runs a command to its end: its output when it succeeds, else a message with its status and stderr.
fn run(command: &mut Command) -> Result<Output, String> {
    let output = command.stdin(Stdio::null()).output().map_err(|error| {
        format!(
            "could not run {}: {error}",
            command.get_program().to_string_lossy()
        )
    })?;
    if output.status.success() {
        return Ok(output);
    }
    let args: Vec<String> = command
        .get_args()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let said: Vec<String> = [&output.stderr, &output.stdout]
        .iter()
        .map(|bytes| String::from_utf8_lossy(bytes).trim().to_owned())
        .filter(|text| !text.is_empty())
        .collect();
    Err(format!(
        "`{} {}` exited with {}: {}",
        command.get_program().to_string_lossy(),
        args.join(" "),
        output.status,
        said.join("\n")
    ))
}

/// `name` in /usr/sbin, /sbin (which a non-login root PATH may lack), or on PATH.
fn find_program(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| is_executable(path))
        .or_else(|| find_on_path(name))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}
