//! The nodes of a multi-node test: `sluice` processes on one new database of the private PostgreSQL
//! server, started together and killed when dropped.

use super::*;

/// Bound on a node answering after its start.
pub(crate) const READY_DEADLINE: Duration = Duration::from_secs(20);
/// Bound on one request: above the longest long poll here (10 s).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// The queues' visibility timeout: consumers delete long before it ends, so no message is due again.
pub(crate) const QUEUE_VISIBILITY: Duration = Duration::from_secs(30);
/// Consumers' long polls.
pub(crate) const CONSUMER_WAIT_SECONDS: i32 = 2;
/// Violations kept word for word; more are only counted.
pub(crate) const VIOLATIONS_KEPT: usize = 40;

/// Each test holds this while it runs: several three-node clusters at once would share two cores and
/// make the latency test measure the machine. A tokio mutex, since it is held across awaits, and each
/// test has a runtime of its own.
pub(crate) static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub(crate) fn enabled(test: &str) -> bool {
    if std::env::var("SLUICE_MULTINODE").as_deref() == Ok("1") {
        return true;
    }
    eprintln!(
        "{test}: skipped; set SLUICE_MULTINODE=1 to run the multi-node tests (they need PostgreSQL's \
         server programs; scripts/test runs them)"
    );
    false
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the tasks sharing `shared` left in it, once they have all ended.
pub(crate) fn finished<T>(shared: Arc<Mutex<T>>) -> T {
    Arc::into_inner(shared)
        .expect("every task sharing it has ended")
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------------------
// The nodes
// ---------------------------------------------------------------------------------------------------------

/// A running `sluice` process; killed (SIGKILL) when dropped.
pub(crate) struct Node {
    pub(crate) index: usize,
    /// Where it listens: known once `Cluster::ready` has seen it say so.
    pub(crate) endpoint: String,
    pub(crate) log: PathBuf,
    pub(crate) child: Child,
}

impl Node {
    pub(crate) fn client(&self) -> Client {
        single_shot_client(&self.endpoint, REQUEST_TIMEOUT)
    }

    /// `kill -9`: no shutdown code runs; the node's database connections just break.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Nodes sharing one new database and one master key; their logs, data directories and key in a
/// scratch directory removed at the end.
pub(crate) struct Cluster {
    pub(crate) database_url: String,
    pub(crate) master_key: PathBuf,
    pub(crate) nodes: Vec<Node>,
    // Declared last: removed after the nodes are killed.
    pub(crate) dir: TempDir,
}

impl Cluster {
    /// `count` nodes on a new database, all started at once, as behind a load balancer: they meet on an
    /// empty database, and each must prepare it or wait for the one that does.
    pub(crate) async fn start(label: &str, count: usize) -> Cluster {
        let database_url = PrivatePostgres::shared().new_database();
        let dir = TempDir::new(label);
        let master_key = dir.path().join("master-key");
        std::fs::write(&master_key, rand::random::<[u8; 32]>()).expect("write the master key");
        let mut cluster = Cluster {
            database_url,
            master_key,
            nodes: Vec::new(),
            dir,
        };
        let starting: Vec<Node> = (0..count).map(|index| cluster.spawn(index)).collect();
        for node in starting {
            let node = cluster.ready(node).await;
            cluster.nodes.push(node);
        }
        cluster
    }

    /// `sluice --storage postgres` on a port the kernel chooses, its output in a log file, configured by
    /// its flags only.
    pub(crate) fn spawn(&self, index: usize) -> Node {
        static STARTS: AtomicUsize = AtomicUsize::new(0);
        let start = STARTS.fetch_add(1, Ordering::Relaxed);
        let log = self
            .dir
            .path()
            .join(format!("node-{index}-start-{start}.log"));
        let log_file = std::fs::File::create(&log).expect("create a log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
        command
            .args(["--bind", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(self.dir.path().join(format!("node-{index}")))
            .args(["--storage", "postgres", "--database-url"])
            .arg(&self.database_url)
            .arg("--master-key-file")
            .arg(&self.master_key)
            .args(["--admin-bind", "none"]);
        for (name, _) in std::env::vars_os() {
            if name
                .to_str()
                .is_some_and(|name| name.starts_with("SLUICE_"))
            {
                command.env_remove(name);
            }
        }
        let child = command
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .spawn()
            .expect("spawn sluice");
        Node {
            index,
            endpoint: String::new(),
            log,
            child,
        }
    }

    /// Waits (bounded) until the node says where it listens.
    pub(crate) async fn ready(&self, mut node: Node) -> Node {
        match wait_listening(&mut node.child, &node.log, READY_DEADLINE).await {
            Ok(listening) => node.endpoint = listening.endpoint(),
            Err(e) => panic!("node {}: {e}", node.index),
        }
        node
    }

    pub(crate) fn client(&self, node: usize) -> Client {
        self.nodes[node].client()
    }

    pub(crate) fn clients(&self) -> Vec<Client> {
        self.nodes.iter().map(Node::client).collect()
    }

    pub(crate) fn kill(&mut self, node: usize) {
        self.nodes[node].kill();
    }

    /// The end of every node's log, for failure messages.
    pub(crate) fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|node| format!("--- node {} ---\n{}", node.index, log_tail(&node.log)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
