//! The run's summary: a human-readable table, or one JSON line.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};

use crate::histogram::Histogram;
use crate::scenario::Outcome;

/// What the report says about the run besides the outcome itself.
pub struct Context {
    pub scenario: &'static str,
    pub endpoint: String,
    pub queue: String,
    pub producers: usize,
    pub consumers: usize,
    pub batch_size: usize,
    pub body_size: usize,
    pub messages: Option<u64>,
    pub duration: Option<Duration>,
    pub fifo_groups: Option<u32>,
    pub rate: Option<f64>,
    pub threads: usize,
    /// Visible and in-flight messages left on the queue after a send-only run.
    pub depth_after: Option<(u64, u64)>,
    /// Problems outside the workers (a failed depth check, a failed tear-down).
    pub notes: Vec<String>,
}

pub struct Report {
    pub json: Value,
    pub text: String,
    pub exit_code: i32,
}

fn rate(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

fn latency_json(h: &Histogram) -> Value {
    json!({
        "count": h.count(),
        "min": h.min(),
        "p50": h.percentile(50.0),
        "p90": h.percentile(90.0),
        "p99": h.percentile(99.0),
        "max": h.max(),
        "mean": (h.mean() * 10.0).round() / 10.0,
    })
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn latency_row(out: &mut String, name: &str, h: &Histogram) {
    if h.count() == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "    {name:<20} {:>9} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
        h.count(),
        ms(h.percentile(50.0)),
        ms(h.percentile(90.0)),
        ms(h.percentile(99.0)),
        ms(h.max()),
        h.mean() / 1000.0
    );
}

/// Builds the report, and decides the exit code: 0 when every count is right, 1 when something was
/// lost, duplicated, reordered, altered or failed, 2 when the server refused the run.
pub fn build(ctx: Context, outcome: &Outcome) -> Report {
    let s = &outcome.stats;
    let pipeline = ctx.consumers > 0;
    let mut problems = ctx.notes.clone();
    let mut problem = |cond: bool, text: String| {
        if cond {
            problems.push(text);
        }
    };
    problem(s.errors > 0, format!("{} requests failed", s.errors));
    problem(
        s.send_failed > 0,
        format!("{} batch entries were not sent", s.send_failed),
    );
    problem(
        s.corrupt > 0,
        format!("{} bodies came back altered", s.corrupt),
    );
    problem(
        s.foreign > 0,
        format!("{} messages were not this run's", s.foreign),
    );
    if let Some(target) = ctx.messages {
        problem(
            s.sent < target && outcome.fatal.is_none(),
            format!("only {} of {target} messages were sent", s.sent),
        );
    }
    problem(
        outcome.deadline_hit,
        "the overall deadline cut the run short".to_string(),
    );
    let mut lost = outcome.lost;
    if pipeline {
        problem(outcome.lost > 0, format!("{} messages lost", outcome.lost));
        problem(
            s.duplicates > 0,
            format!("{} duplicate deliveries", s.duplicates),
        );
        problem(
            outcome.unacknowledged > 0,
            format!(
                "{} messages received whose send was not acknowledged",
                outcome.unacknowledged
            ),
        );
        problem(
            s.delete_failed > 0,
            format!("{} deletes failed", s.delete_failed),
        );
        problem(
            s.order_violations > 0,
            format!(
                "{} messages received out of order within their group",
                s.order_violations
            ),
        );
        problem(
            outcome.drain_stalled,
            "consumers stopped: nothing arrived within the drain timeout".to_string(),
        );
    } else if let Some((visible, in_flight)) = ctx.depth_after {
        let on_queue = visible + in_flight;
        lost = s.sent.saturating_sub(on_queue);
        problem(
            lost > 0,
            format!("{lost} acknowledged messages are not on the queue"),
        );
        problem(
            on_queue > s.sent && s.errors == 0,
            format!(
                "{} more messages on the queue than were sent",
                on_queue.saturating_sub(s.sent)
            ),
        );
    }
    let exit_code = if outcome.fatal.is_some() {
        2
    } else if problems.is_empty() {
        0
    } else {
        1
    };
    let throughput = if pipeline {
        rate(s.delivered, outcome.elapsed)
    } else {
        rate(s.sent, outcome.elapsed)
    };
    let receive_side = |v: u64| if pipeline { json!(v) } else { Value::Null };
    let mut latency = serde_json::Map::new();
    let send_name = if ctx.batch_size == 1 {
        "SendMessage"
    } else {
        "SendMessageBatch"
    };
    latency.insert(send_name.to_string(), latency_json(&s.send_latency));
    if pipeline {
        latency.insert("ReceiveMessage".into(), latency_json(&s.receive_latency));
        latency.insert("DeleteMessageBatch".into(), latency_json(&s.delete_latency));
        latency.insert("end_to_end".into(), latency_json(&s.end_to_end));
    }
    let json = json!({
        "scenario": ctx.scenario,
        "endpoint": ctx.endpoint,
        "queue": ctx.queue,
        "producers": ctx.producers,
        "consumers": ctx.consumers,
        "batch_size": ctx.batch_size,
        "body_size": ctx.body_size,
        "messages_target": ctx.messages,
        "duration_target_s": ctx.duration.map(|d| d.as_secs_f64()),
        "fifo_groups": ctx.fifo_groups,
        "rate_target_msgs_per_s": ctx.rate,
        "client_threads": ctx.threads,
        "elapsed_s": outcome.elapsed.as_secs_f64(),
        "throughput_msgs_per_s": throughput.round(),
        "send_elapsed_s": outcome.send_elapsed.as_secs_f64(),
        "send_rate_msgs_per_s": rate(s.sent, outcome.send_elapsed).round(),
        "requests": s.requests,
        "errors": s.errors,
        "connections": s.connections,
        "sent": s.sent,
        "send_failed": s.send_failed,
        "received": receive_side(s.received),
        "received_unique": receive_side(s.delivered),
        "deleted": receive_side(s.deleted),
        "delete_failed": receive_side(s.delete_failed),
        "duplicates": receive_side(s.duplicates),
        "lost": if pipeline || ctx.depth_after.is_some() { json!(lost) } else { Value::Null },
        "unacknowledged": receive_side(outcome.unacknowledged),
        "foreign": s.foreign,
        "corrupt": s.corrupt,
        "order_violations": if ctx.fifo_groups.is_some() { json!(s.order_violations) } else { Value::Null },
        "empty_receives": receive_side(s.empty_receives),
        "queue_depth_after": ctx.depth_after.map(|(v, f)| v + f),
        "latency_us": Value::Object(latency),
        "deadline_hit": outcome.deadline_hit,
        "drain_stalled": outcome.drain_stalled,
        "first_error": s.first_error,
        "problems": problems,
        "error": outcome.fatal,
        "ok": exit_code == 0,
    });

    let mut text = String::new();
    let _ = writeln!(
        text,
        "sluice-bench  scenario {}  endpoint {}  queue {}",
        ctx.scenario, ctx.endpoint, ctx.queue
    );
    let mut shape = if pipeline {
        format!(
            "  producers {}, consumers {}, batch {}, body {} B",
            ctx.producers, ctx.consumers, ctx.batch_size, ctx.body_size
        )
    } else {
        format!(
            "  connections {}, batch {}, body {} B",
            ctx.producers, ctx.batch_size, ctx.body_size
        )
    };
    if let Some(rate) = ctx.rate {
        let _ = write!(shape, ", paced at {rate} msg/s");
    }
    if let Some(groups) = ctx.fifo_groups {
        let _ = write!(shape, ", {groups} message groups");
    }
    if let Some(m) = ctx.messages {
        let _ = write!(shape, ", {m} messages");
    }
    if let Some(d) = ctx.duration {
        let _ = write!(shape, ", {:.1} s", d.as_secs_f64());
    }
    let _ = writeln!(text, "{shape}, {} client threads", ctx.threads);
    if let Some(fatal) = &outcome.fatal {
        let _ = writeln!(text, "  ERROR: the server refused the run: {fatal}");
    }
    let _ = writeln!(
        text,
        "  elapsed {:.3} s   throughput {:.0} msg/s{}",
        outcome.elapsed.as_secs_f64(),
        throughput,
        if pipeline {
            " (sent, received and deleted)"
        } else {
            " (sent)"
        }
    );
    if pipeline {
        let _ = writeln!(
            text,
            "  send phase {:.3} s   send rate {:.0} msg/s",
            outcome.send_elapsed.as_secs_f64(),
            rate(s.sent, outcome.send_elapsed)
        );
    }
    let _ = writeln!(
        text,
        "  requests {} ({:.0}/s), transient errors {}, connections opened {}",
        s.requests,
        rate(s.requests, outcome.elapsed),
        s.errors,
        s.connections
    );
    let _ = writeln!(
        text,
        "  latency (ms)               count       p50       p90       p99       max      mean"
    );
    latency_row(&mut text, send_name, &s.send_latency);
    if pipeline {
        latency_row(&mut text, "ReceiveMessage", &s.receive_latency);
        latency_row(&mut text, "DeleteMessageBatch", &s.delete_latency);
        latency_row(&mut text, "end to end", &s.end_to_end);
    }
    let mut counts = format!("  counts: sent {}", s.sent);
    if pipeline {
        let _ = write!(
            counts,
            "  received {}  deleted {}  duplicates {}  lost {}",
            s.received, s.deleted, s.duplicates, lost
        );
        if ctx.fifo_groups.is_some() {
            let _ = write!(counts, "  order violations {}", s.order_violations);
        }
    } else if let Some((visible, in_flight)) = ctx.depth_after {
        let _ = write!(
            counts,
            "  on queue after {}  lost {lost}",
            visible + in_flight
        );
    }
    let _ = writeln!(text, "{counts}");
    if let Some(e) = &s.first_error {
        let _ = writeln!(text, "  first error: {e}");
    }
    if exit_code == 0 {
        let _ = writeln!(text, "  result: OK");
    } else if outcome.fatal.is_some() {
        let _ = writeln!(
            text,
            "  result: FAILED: the server refused the run (see ERROR above)"
        );
    } else {
        let _ = writeln!(
            text,
            "  result: FAILED{}",
            if problems.is_empty() {
                String::new()
            } else {
                format!(": {}", problems.join("; "))
            }
        );
    }
    Report {
        json,
        text,
        exit_code,
    }
}

/// The report of a run that never started: the queue could not be set up.
pub fn setup_failure(scenario: &'static str, endpoint: &str, error: &str) -> Report {
    Report {
        json: json!({
            "scenario": scenario,
            "endpoint": endpoint,
            "error": error,
            "ok": false,
        }),
        text: format!("sluice-bench  scenario {scenario}  endpoint {endpoint}\n  ERROR: {error}\n"),
        exit_code: 2,
    }
}
