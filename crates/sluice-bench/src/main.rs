//! `sluice-bench`: load and correctness benchmark for a running Sluice server (or any SQS-compatible
//! endpoint that speaks AWS JSON 1.0 over plain HTTP).
//!
//! Scenarios:
//! - `send`: SendMessage from many connections;
//! - `batch-send`: SendMessageBatch of up to 10;
//! - `pipeline`: batch producers and ReceiveMessage + DeleteMessageBatch consumers until every message
//!   sent has been received and deleted, counting duplicates and losses exactly;
//! - `fifo-pipeline`: the same on a FIFO queue with many message groups, also checking per-group order.
//!
//! Exit status: 0 when every count is right, 1 when something was lost, duplicated, reordered or failed,
//! 2 when the run could not be set up or the server refused it, 3 when workers did not stop in time.

mod client;
mod histogram;
#[cfg(test)]
mod mock;
mod queue;
mod report;
mod scenario;
mod sigv4;
mod tracker;

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use tokio::time::Instant;

use client::{ClientConfig, Conn, Endpoint};
use queue::QueueSpec;
use scenario::{Dedup, Fifo, Plan};
use sigv4::Signer;

/// Messages per run when neither `--messages` nor `--duration` is given.
const DEFAULT_MESSAGES: u64 = 20_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ScenarioName {
    /// SendMessage, one message per request.
    Send,
    /// SendMessageBatch.
    BatchSend,
    /// Batch producers, receive-and-delete consumers, exact duplicate and loss counts.
    Pipeline,
    /// The pipeline on a FIFO queue with many message groups, plus per-group order checks.
    FifoPipeline,
}

impl ScenarioName {
    fn label(self) -> &'static str {
        match self {
            ScenarioName::Send => "send",
            ScenarioName::BatchSend => "batch-send",
            ScenarioName::Pipeline => "pipeline",
            ScenarioName::FifoPipeline => "fifo-pipeline",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DedupArg {
    /// A MessageDeduplicationId on every message.
    Explicit,
    /// ContentBasedDeduplication on the queue (bodies are unique).
    Content,
}

/// Durations as `250ms`, `10s`, `2m` or plain seconds (`1.5`).
fn parse_attribute(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("{text:?} is not NAME=VALUE")),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (try 500ms, 10s, 2m)"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("{text:?} is not a duration"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

#[derive(Parser, Debug)]
#[command(
    name = "sluice-bench",
    version,
    about = "Throughput, latency and correctness benchmark for a running Sluice (SQS-compatible) server"
)]
struct Args {
    /// Server URL (plain HTTP); several nodes of one cluster separated by commas, which the workers
    /// take in turn.
    #[arg(long, default_value = "http://127.0.0.1:9324")]
    endpoint: String,

    #[arg(long, value_enum, default_value_t = ScenarioName::Send)]
    scenario: ScenarioName,

    /// Concurrent connections of `send` and `batch-send`; pipelines split them evenly between producers
    /// and consumers unless those are given.
    #[arg(long, default_value_t = 32)]
    connections: usize,

    /// Producer connections of the pipelines.
    #[arg(long)]
    producers: Option<usize>,

    /// Consumer connections of the pipelines.
    #[arg(long)]
    consumers: Option<usize>,

    /// Messages to send [default: 20000 when --duration is not given either].
    #[arg(long)]
    messages: Option<u64>,

    /// How long producers send (500ms, 10s, 2m); with --messages, whichever ends first.
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,

    /// Pace the producers to this many messages per second in total [default: as fast as they can].
    #[arg(long)]
    rate: Option<f64>,

    /// Message body size in bytes.
    #[arg(long, default_value_t = 1024)]
    body_size: usize,

    /// Messages per SendMessageBatch (batch-send and the pipelines).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(1..=10))]
    batch_size: u8,

    /// Queue name. A unique suffix is added and the queue deleted afterwards, unless --reuse-queue.
    #[arg(long, default_value = "sluice-bench")]
    queue: String,

    /// Use the queue name as given: create it if missing, purge it if not, and keep it.
    #[arg(long)]
    reuse_queue: bool,

    /// A queue attribute to create the queue with, as NAME=VALUE (repeatable), e.g.
    /// `KmsMasterKeyId=alias/aws/sqs` or `SqsManagedSseEnabled=false`.
    #[arg(long = "queue-attribute", value_name = "NAME=VALUE", value_parser = parse_attribute)]
    queue_attributes: Vec<(String, String)>,

    /// Keep the uniquely named queue after the run.
    #[arg(long)]
    keep_queue: bool,

    /// Region of the SigV4 credential scope.
    #[arg(long, default_value = "us-east-1")]
    region: String,

    /// Access key id to sign with (a 12-digit key names the account on Sluice).
    #[arg(long, default_value = "test")]
    access_key: String,

    /// Secret key to sign with.
    #[arg(long, default_value = "test")]
    secret_key: String,

    /// Message groups of the FIFO pipeline.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    groups: u32,

    /// FIFO deduplication: explicit MessageDeduplicationId, or content-based.
    #[arg(long, value_enum, default_value_t = DedupArg::Explicit)]
    dedup: DedupArg,

    /// WaitTimeSeconds of ReceiveMessage (long polling).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=20))]
    wait_time: u32,

    /// VisibilityTimeout of the queue, in seconds; long enough that nothing is redelivered.
    #[arg(long, default_value_t = 60)]
    visibility_timeout: u32,

    /// Per-request time limit.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    request_timeout: Duration,

    /// Overall deadline of the run [default: 300s, or the duration plus 120s].
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<Duration>,

    /// Consumers stop when producers are done and nothing new arrived for this long.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    drain_timeout: Duration,

    /// Client runtime threads [default: the number of CPUs].
    #[arg(long)]
    threads: Option<usize>,

    /// Print one JSON line instead of the summary.
    #[arg(long)]
    json: bool,
}

/// A short tag unique to this run: milliseconds since the epoch and the process id, in base 36.
fn run_tag() -> String {
    fn base36(mut n: u128) -> String {
        const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut out = Vec::new();
        loop {
            out.push(DIGITS[(n % 36) as usize]);
            n /= 36;
            if n == 0 {
                break;
            }
        }
        out.reverse();
        String::from_utf8(out).unwrap_or_default()
    }
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!(
        "{}-{}",
        base36(millis),
        base36(u128::from(std::process::id()))
    )
}

fn main() -> ExitCode {
    let args = Args::parse();
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sluice-bench: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let json = args.json;
    let report = runtime.block_on(run(args, threads.max(1)));
    if json {
        println!("{}", report.json);
    } else {
        print!("{}", report.text);
    }
    // Workers past a hard time-out may still hold the runtime; do not wait for them.
    runtime.shutdown_timeout(Duration::from_millis(100));
    ExitCode::from(report.exit_code as u8)
}

async fn run(args: Args, threads: usize) -> report::Report {
    let label = args.scenario.label();
    let fail = |e: String| report::setup_failure(label, &args.endpoint, &e);
    let endpoints = match args
        .endpoint
        .split(',')
        .map(|url| Endpoint::parse(url.trim()))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let endpoint = endpoints[0].clone();
    let base = args.queue.strip_suffix(".fifo").unwrap_or(&args.queue);
    if !queue::valid_base(base) {
        return fail(format!(
            "queue name {:?}: use letters, digits, '-' and '_'",
            args.queue
        ));
    }
    if args.connections == 0 {
        return fail("--connections must be at least 1".to_string());
    }
    if args.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        return fail("--rate must be a positive number of messages per second".to_string());
    }
    if args.request_timeout <= Duration::from_secs(u64::from(args.wait_time)) {
        return fail(format!(
            "--request-timeout ({:?}) must be longer than --wait-time ({} s)",
            args.request_timeout, args.wait_time
        ));
    }
    if args.messages == Some(0) {
        return fail("--messages must be at least 1".to_string());
    }
    let pipeline = matches!(
        args.scenario,
        ScenarioName::Pipeline | ScenarioName::FifoPipeline
    );
    let fifo = (args.scenario == ScenarioName::FifoPipeline).then_some(Fifo {
        groups: args.groups,
        dedup: match args.dedup {
            DedupArg::Explicit => Dedup::Explicit,
            DedupArg::Content => Dedup::Content,
        },
    });
    let half = args.connections.div_ceil(2);
    let (mut producers, consumers) = if pipeline {
        (
            args.producers.unwrap_or(half).max(1),
            args.consumers.unwrap_or(half).max(1),
        )
    } else {
        (args.producers.unwrap_or(args.connections).max(1), 0)
    };
    if let Some(f) = fifo {
        // A group belongs to one producer so its messages are sent in a known order.
        producers = producers.min(f.groups as usize);
    }
    let batch_size = if args.scenario == ScenarioName::Send {
        1
    } else {
        usize::from(args.batch_size)
    };
    let messages = match (args.messages, args.duration) {
        (None, None) => Some(DEFAULT_MESSAGES),
        (m, _) => m,
    };
    let overall = args.timeout.unwrap_or_else(|| {
        args.duration.map_or(Duration::from_secs(300), |d| {
            (d + Duration::from_secs(120)).max(Duration::from_secs(300))
        })
    });
    let start = Instant::now();
    let deadline = start + overall;

    let client = ClientConfig {
        endpoint,
        signer: Signer::new(&args.access_key, &args.secret_key, &args.region, "sqs"),
        request_timeout: args.request_timeout,
    };
    let tag = run_tag();
    let spec = QueueSpec {
        base: base.to_string(),
        fifo: fifo.is_some(),
        content_based_dedup: fifo.is_some_and(|f| f.dedup == Dedup::Content),
        visibility_timeout: args.visibility_timeout,
        unique: !args.reuse_queue,
        extra: args.queue_attributes.clone(),
    };
    let queue_name = spec.name(&tag);
    let mut admin = Conn::new(client.clone());
    let queue_url = match queue::open(&mut admin, &spec, &queue_name, deadline).await {
        Ok(url) => url,
        Err(e) => return fail(e),
    };

    let plan = Plan {
        client,
        endpoints,
        queue_url: queue_url.clone(),
        tag,
        producers,
        consumers,
        batch_size,
        messages,
        duration: args.duration,
        body_size: args.body_size,
        rate: args.rate,
        wait_time_seconds: args.wait_time,
        fifo,
        deadline,
        drain_timeout: args.drain_timeout,
    };
    // Every request is bounded by the deadline; this only guards against a worker that never returns.
    let hard_stop = deadline + args.request_timeout + Duration::from_secs(5);
    let outcome = match tokio::time::timeout_at(hard_stop, scenario::run(plan)).await {
        Ok(outcome) => outcome,
        Err(_) => {
            let mut r = fail("workers did not stop by the deadline".to_string());
            r.exit_code = 3;
            return r;
        }
    };

    let mut notes = Vec::new();
    // Tear-down and checks get their own short deadline so they run even after a deadline-bound run.
    let admin_deadline = Instant::now() + args.request_timeout;
    let depth_after = if pipeline || outcome.fatal.is_some() {
        None
    } else {
        match queue::depth(&mut admin, &queue_url, admin_deadline).await {
            Ok(depth) => Some(depth),
            Err(e) => {
                notes.push(format!("could not read the queue depth: {e}"));
                None
            }
        }
    };
    if !args.reuse_queue && !args.keep_queue {
        if let Err(e) = queue::delete(&mut admin, &queue_url, admin_deadline).await {
            notes.push(format!("could not delete queue {queue_name}: {e}"));
        }
    }
    let ctx = report::Context {
        scenario: label,
        endpoint: args.endpoint.clone(),
        queue: queue_name,
        producers,
        consumers,
        batch_size,
        body_size: args.body_size,
        messages,
        duration: args.duration,
        fifo_groups: fifo.map(|f| f.groups),
        rate: args.rate,
        threads,
        depth_after,
        notes,
    };
    report::build(ctx, &outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn arguments_parse() {
        let args = Args::try_parse_from([
            "sluice-bench",
            "--scenario",
            "fifo-pipeline",
            "--messages",
            "100",
            "--json",
        ])
        .unwrap();
        assert_eq!(args.scenario, ScenarioName::FifoPipeline);
        assert_eq!(args.endpoint, "http://127.0.0.1:9324");
        assert_eq!(args.connections, 32);
        assert_eq!(args.body_size, 1024);
        assert_eq!(args.groups, 100);
        assert!(Args::try_parse_from(["sluice-bench", "--batch-size", "11"]).is_err());
    }

    async fn bench(endpoint: &str, extra: &[&str]) -> report::Report {
        let mut argv = vec![
            "sluice-bench",
            "--endpoint",
            endpoint,
            "--connections",
            "8",
            "--body-size",
            "100",
            "--wait-time",
            "0",
        ];
        argv.extend_from_slice(extra);
        run(Args::try_parse_from(argv).unwrap(), 2).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_scenario_counts_exactly_on_a_healthy_server() {
        for scenario in ["send", "batch-send", "pipeline", "fifo-pipeline"] {
            let endpoint = mock::start(mock::Faults::default()).await;
            let r = bench(&endpoint, &["--scenario", scenario, "--messages", "2000"]).await;
            assert_eq!(r.exit_code, 0, "{scenario}: {}", r.text);
            assert_eq!(r.json["sent"], 2000, "{scenario}");
            assert_eq!(r.json["lost"], 0, "{scenario}");
            assert_eq!(r.json["errors"], 0, "{scenario}");
            if scenario.ends_with("pipeline") {
                assert_eq!(r.json["received"], 2000, "{scenario}");
                assert_eq!(r.json["deleted"], 2000, "{scenario}");
                assert_eq!(r.json["duplicates"], 0, "{scenario}");
                assert_eq!(r.json["latency_us"]["end_to_end"]["count"], 2000);
            } else {
                assert_eq!(r.json["queue_depth_after"], 2000, "{scenario}");
            }
            if scenario == "fifo-pipeline" {
                assert_eq!(r.json["order_violations"], 0);
                assert_eq!(r.json["fifo_groups"], 100);
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lost_messages_are_counted() {
        let faults = mock::Faults {
            drop_every: Some(100),
            ..Default::default()
        };
        let endpoint = mock::start(faults).await;
        let r = bench(
            &endpoint,
            &[
                "--scenario",
                "pipeline",
                "--messages",
                "2000",
                "--drain-timeout",
                "300ms",
            ],
        )
        .await;
        assert_eq!(r.exit_code, 1, "{}", r.text);
        assert_eq!(r.json["lost"], 20);
        assert_eq!(r.json["received"], 1980);
        assert_eq!(r.json["drain_stalled"], true);

        let endpoint = mock::start(faults).await;
        let r = bench(
            &endpoint,
            &["--scenario", "batch-send", "--messages", "2000"],
        )
        .await;
        assert_eq!(r.exit_code, 1, "{}", r.text);
        assert_eq!(r.json["lost"], 20);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redeliveries_are_counted_as_duplicates() {
        let endpoint = mock::start(mock::Faults {
            redeliver_every: Some(50),
            ..Default::default()
        })
        .await;
        let r = bench(&endpoint, &["--scenario", "pipeline", "--messages", "2000"]).await;
        assert_eq!(r.exit_code, 1, "{}", r.text);
        assert_eq!(r.json["lost"], 0);
        assert_eq!(r.json["received_unique"], 2000);
        let duplicates = r.json["duplicates"].as_u64().unwrap();
        assert!((1..=40).contains(&duplicates), "{duplicates}");
        assert_eq!(r.json["received"].as_u64().unwrap(), 2000 + duplicates);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fifo_order_violations_are_counted() {
        let endpoint = mock::start(mock::Faults {
            jump_every: Some(7),
            ..Default::default()
        })
        .await;
        let r = bench(
            &endpoint,
            &[
                "--scenario",
                "fifo-pipeline",
                "--messages",
                "2000",
                "--groups",
                "10",
            ],
        )
        .await;
        assert_eq!(r.exit_code, 1, "{}", r.text);
        assert!(
            r.json["order_violations"].as_u64().unwrap() > 0,
            "{}",
            r.text
        );
        assert_eq!(r.json["lost"], 0);
        assert_eq!(r.json["duplicates"], 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_operation_ends_the_run_cleanly() {
        let endpoint = mock::start(mock::Faults {
            refuse: Some("SendMessageBatch"),
            ..Default::default()
        })
        .await;
        let r = bench(
            &endpoint,
            &["--scenario", "fifo-pipeline", "--messages", "2000"],
        )
        .await;
        assert_eq!(r.exit_code, 2, "{}", r.text);
        assert!(r.json["error"]
            .as_str()
            .unwrap()
            .contains("UnsupportedOperation"));
        assert!(r.text.contains("refused"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stalled_server_cannot_hang_the_run() {
        let endpoint = mock::start(mock::Faults {
            stall_sends: true,
            ..Default::default()
        })
        .await;
        let started = std::time::Instant::now();
        let r = bench(
            &endpoint,
            &[
                "--scenario",
                "pipeline",
                "--messages",
                "2000",
                "--request-timeout",
                "200ms",
                "--timeout",
                "1s",
            ],
        )
        .await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(r.exit_code, 1, "{}", r.text);
        assert_eq!(r.json["deadline_hit"], true);
        assert_eq!(r.json["sent"], 0);
        assert!(r.json["errors"].as_u64().unwrap() > 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreachable_server_is_reported() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let r = bench(&endpoint, &["--messages", "10"]).await;
        assert_eq!(r.exit_code, 2);
        assert!(r.json["error"].as_str().unwrap().contains("CreateQueue"));
    }

    #[test]
    fn run_tags_are_queue_name_safe() {
        let tag = run_tag();
        assert!(queue::valid_base(&tag), "{tag}");
    }
}
