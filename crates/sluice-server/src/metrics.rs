//! The Prometheus metrics of `/metrics` on the admin listener: the server's own (requests by action,
//! protocol and error code, latency by action, open connections, long polls, the store's journal
//! and disk, message-move tasks) and each queue's CloudWatch metrics.
//!
//! A request costs an atomic add on a counter made at start-up for its action and protocol, and
//! one observation of its action's latency histogram; only a failed request looks its counter up
//! by error code. Queue gauges, long polls and move-task progress are read at the scrape.

use std::collections::HashMap;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use sluice_model::Operation;
use sluice_protocol::Protocol;
use sluice_queue::{QueueMetrics, QueueService, SENT_SIZE_BUCKETS};
use sluice_store::{MoveTaskRecord, Store};

use crate::config::MetricNames;

/// The OpenMetrics text format Prometheus asks for.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    action: &'static str,
    protocol: &'static str,
    error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: &'static str,
}

/// What the front end tells the metrics of one request.
#[derive(Clone, Copy, Debug, Default)]
pub struct Served {
    /// The SQS action, once the request was read as one.
    pub operation: Option<Operation>,
    /// The service of a request that is not SQS's (`iam`, `sts`, `kms`).
    pub service: Option<&'static str>,
    /// The error code it was answered with.
    pub error: Option<&'static str>,
}

/// The server's metrics, made once at start-up.
pub struct ServerMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<ActionLabels, Histogram>,
    /// Successful SQS requests by `Operation` and protocol, made ahead.
    succeeded: Vec<[Counter; 2]>,
    /// Latency by `Operation`, made ahead.
    operation_latency: Vec<Histogram>,
    connections: Gauge,
    names: MetricNames,
}

/// An open API connection, counted until dropped.
pub struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Json => "json",
        Protocol::Query => "query",
    }
}

impl ServerMetrics {
    pub fn new(store: &dyn Store, names: MetricNames) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<ActionLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_1, 2.0, 16))
        });
        let connections = Gauge::default();
        let succeeded = Operation::ALL
            .iter()
            .map(|op| {
                [Protocol::Json, Protocol::Query].map(|protocol| {
                    requests
                        .get_or_create(&RequestLabels {
                            action: op.name(),
                            protocol: protocol_name(protocol),
                            error: "",
                        })
                        .clone()
                })
            })
            .collect();
        let operation_latency = Operation::ALL
            .iter()
            .map(|op| {
                latency
                    .get_or_create(&ActionLabels { action: op.name() })
                    .clone()
            })
            .collect();
        registry.register(
            "sluice_requests",
            "API requests by action, protocol and error code (empty when it succeeded)",
            requests.clone(),
        );
        registry.register_with_unit(
            "sluice_request_duration",
            "How long requests took from their headers to their response, by action",
            Unit::Seconds,
            latency.clone(),
        );
        registry.register(
            "sluice_open_connections",
            "API connections open now",
            connections.clone(),
        );
        store.register_metrics(&mut registry);
        ServerMetrics {
            registry,
            requests,
            latency,
            succeeded,
            operation_latency,
            connections,
            names,
        }
    }

    /// Counts a connection as open while the guard lives.
    pub fn connection_opened(&self) -> OpenConnection {
        self.connections.inc();
        OpenConnection(self.connections.clone())
    }

    /// Counts one request and its latency.
    pub fn served(&self, protocol: Protocol, served: &Served, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        // `Operation::ALL` lists the operations in declaration order, so an operation's discriminant
        // is its index there.
        let index = served.operation.map(|op| op as usize);
        match (index, served.error) {
            (Some(index), None) => {
                let column = match protocol {
                    Protocol::Json => 0,
                    Protocol::Query => 1,
                };
                self.succeeded[index][column].inc();
            }
            (_, error) => {
                let action = self.action(served);
                self.requests
                    .get_or_create(&RequestLabels {
                        action,
                        protocol: protocol_name(protocol),
                        error: error.unwrap_or(""),
                    })
                    .inc();
            }
        }
        match index {
            Some(index) => self.operation_latency[index].observe(seconds),
            None => self
                .latency
                .get_or_create(&ActionLabels {
                    action: self.action(served),
                })
                .observe(seconds),
        }
    }

    fn action(&self, served: &Served) -> &'static str {
        match (served.operation, served.service) {
            (Some(op), _) => op.name(),
            (None, Some(service)) => service,
            (None, None) => "unknown",
        }
    }

    /// The whole exposition: the server's metrics, then what is read now from the service.
    pub async fn render(&self, service: &QueueService) -> String {
        let queues = service.queue_metrics().await.unwrap_or_else(|error| {
            tracing::warn!(%error, "queue metrics not read");
            Vec::new()
        });
        let tasks = service.move_task_progress().await.unwrap_or_else(|error| {
            tracing::warn!(%error, "move tasks not read");
            Vec::new()
        });
        let mut scraped = Registry::default();
        scraped.register_collector(Box::new(Scraped {
            queues,
            tasks,
            long_polls: service.long_polls(),
            names: self.names,
        }));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode_registry(&mut out, &self.registry);
        let _ = encode_registry(&mut out, &scraped);
        let _ = encode_eof(&mut out);
        out
    }
}

/// What a scrape reads: every queue, the move tasks, the long polls.
#[derive(Debug)]
struct Scraped {
    queues: Vec<QueueMetrics>,
    tasks: Vec<MoveTaskRecord>,
    long_polls: u64,
    names: MetricNames,
}

type QueueLabels<'a> = [(&'static str, &'a str); 3];

fn queue_labels(m: &QueueMetrics) -> QueueLabels<'_> {
    [
        ("account", m.key.account_id.as_str()),
        ("region", m.key.region.as_str()),
        ("queue", m.key.name.as_str()),
    ]
}

/// The labels CloudWatch exporters give: the queue name, its region and account.
fn cloudwatch_labels(m: &QueueMetrics) -> QueueLabels<'_> {
    [
        ("queue_name", m.key.name.as_str()),
        ("region", m.key.region.as_str()),
        ("account_id", m.key.account_id.as_str()),
    ]
}

/// A CloudWatch SQS metric: its name in snake case, what it means, and how each queue reads it.
struct Gauged {
    name: &'static str,
    help: &'static str,
    fifo_only: bool,
    read: fn(&QueueMetrics) -> u64,
}

const GAUGES: &[Gauged] = &[
    Gauged {
        name: "approximate_number_of_messages_visible",
        help: "ApproximateNumberOfMessagesVisible: messages available for retrieval",
        fifo_only: false,
        read: |m| m.stats.visible,
    },
    Gauged {
        name: "approximate_number_of_messages_not_visible",
        help: "ApproximateNumberOfMessagesNotVisible: messages in flight",
        fifo_only: false,
        read: |m| m.stats.in_flight,
    },
    Gauged {
        name: "approximate_number_of_messages_delayed",
        help: "ApproximateNumberOfMessagesDelayed: messages delayed and not yet available",
        fifo_only: false,
        read: |m| m.stats.delayed,
    },
    Gauged {
        name: "approximate_number_of_groups_with_inflight_messages",
        help:
            "ApproximateNumberOfGroupsWithInflightMessages: message groups with messages in flight",
        fifo_only: true,
        read: |m| m.stats.groups_in_flight,
    },
];

const COUNTERS: &[Gauged] = &[
    Gauged {
        name: "number_of_messages_sent",
        help: "NumberOfMessagesSent: messages added to the queue (not deduplicated sends, not dead-letter moves)",
        fifo_only: false,
        read: |m| m.counters.sent,
    },
    Gauged {
        name: "number_of_messages_received",
        help: "NumberOfMessagesReceived: messages returned by receives, redeliveries included",
        fifo_only: false,
        read: |m| m.counters.received,
    },
    Gauged {
        name: "number_of_messages_deleted",
        help: "NumberOfMessagesDeleted: successful deletes, repeated ones included",
        fifo_only: false,
        read: |m| m.counters.deleted,
    },
    Gauged {
        name: "number_of_empty_receives",
        help: "NumberOfEmptyReceives: receive calls that returned no message",
        fifo_only: false,
        read: |m| m.counters.empty_receives,
    },
    Gauged {
        name: "number_of_deduplicated_sent_messages",
        help: "NumberOfDeduplicatedSentMessages: sends deduplicated, which added nothing",
        fifo_only: true,
        read: |m| m.counters.deduplicated,
    },
];

/// The last minute's counts, for the `_sum` statistic of the exporters' names.
const RECENT: &[Gauged] = &[
    Gauged {
        name: "number_of_messages_sent",
        help: "NumberOfMessagesSent over the last minute",
        fifo_only: false,
        read: |m| m.last_minute.sent,
    },
    Gauged {
        name: "number_of_messages_received",
        help: "NumberOfMessagesReceived over the last minute",
        fifo_only: false,
        read: |m| m.last_minute.received,
    },
    Gauged {
        name: "number_of_messages_deleted",
        help: "NumberOfMessagesDeleted over the last minute",
        fifo_only: false,
        read: |m| m.last_minute.deleted,
    },
];

fn queues_of<'a>(
    queues: &'a [QueueMetrics],
    metric: &'a Gauged,
) -> impl Iterator<Item = &'a QueueMetrics> {
    queues.iter().filter(move |m| m.fifo || !metric.fifo_only)
}

fn gauge_family<'a>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    samples: impl Iterator<Item = (QueueLabels<'a>, i64)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, unit, MetricType::Gauge)?;
    for (labels, value) in samples {
        metric.encode_family(&labels)?.encode_gauge(&value)?;
    }
    Ok(())
}

fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Scraped {
    fn sluice_names(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for metric in GAUGES {
            let name = format!("sluice_sqs_{}", metric.name);
            let samples = queues_of(&self.queues, metric)
                .map(|m| (queue_labels(m), signed((metric.read)(m))));
            gauge_family(encoder, &name, metric.help, None, samples)?;
        }
        let samples = self
            .queues
            .iter()
            .map(|m| (queue_labels(m), signed(m.stats.oldest_age_seconds)));
        gauge_family(
            encoder,
            "sluice_sqs_approximate_age_of_oldest_message",
            "ApproximateAgeOfOldestMessage: the oldest message's age (on standard queues, of those received fewer than three times)",
            Some(&Unit::Seconds),
            samples,
        )?;
        for metric in COUNTERS {
            let name = format!("sluice_sqs_{}", metric.name);
            let mut family =
                encoder.encode_descriptor(&name, metric.help, None, MetricType::Counter)?;
            for m in queues_of(&self.queues, metric) {
                let value = (metric.read)(m);
                encode_counter(&mut family.encode_family(&queue_labels(m))?, value)?;
            }
        }
        let mut sizes = encoder.encode_descriptor(
            "sluice_sqs_sent_message_size",
            "SentMessageSize: the sizes of messages added to the queue",
            Some(&Unit::Bytes),
            MetricType::Histogram,
        )?;
        for m in &self.queues {
            let buckets: Vec<(f64, u64)> = SENT_SIZE_BUCKETS
                .iter()
                .map(|bound| *bound as f64)
                .chain([f64::INFINITY])
                .zip(m.counters.sent_size_buckets.iter().copied())
                .collect();
            sizes
                .encode_family(&queue_labels(m))?
                .encode_histogram::<NoLabelSet>(
                    m.counters.sent_bytes as f64,
                    m.counters.sent,
                    &buckets,
                    None,
                )?;
        }
        Ok(())
    }

    /// The names CloudWatch exporters give: `aws_sqs_<metric>_<statistic>`, gauges of what
    /// CloudWatch would report for the last minute.
    fn cloudwatch_names(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for metric in GAUGES {
            let name = format!("aws_sqs_{}_average", metric.name);
            let samples = queues_of(&self.queues, metric)
                .map(|m| (cloudwatch_labels(m), signed((metric.read)(m))));
            gauge_family(encoder, &name, metric.help, None, samples)?;
        }
        for statistic in ["average", "maximum"] {
            let name = format!("aws_sqs_approximate_age_of_oldest_message_{statistic}");
            let samples = self
                .queues
                .iter()
                .map(|m| (cloudwatch_labels(m), signed(m.stats.oldest_age_seconds)));
            gauge_family(
                encoder,
                &name,
                "ApproximateAgeOfOldestMessage in seconds",
                None,
                samples,
            )?;
        }
        for metric in RECENT {
            let name = format!("aws_sqs_{}_sum", metric.name);
            let samples = queues_of(&self.queues, metric)
                .map(|m| (cloudwatch_labels(m), signed((metric.read)(m))));
            gauge_family(encoder, &name, metric.help, None, samples)?;
        }
        let samples = self.queues.iter().map(|m| {
            let minute = &m.last_minute;
            let average = minute.sent_bytes.checked_div(minute.sent).unwrap_or(0);
            (cloudwatch_labels(m), signed(average))
        });
        gauge_family(
            encoder,
            "aws_sqs_sent_message_size_average",
            "SentMessageSize in bytes, averaged over the last minute",
            None,
            samples,
        )
    }

    fn move_tasks(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        // The latest task of each source queue, as ListMessageMoveTasks puts first.
        let mut latest: HashMap<&sluice_store::QueueKey, &MoveTaskRecord> = HashMap::new();
        for task in &self.tasks {
            let entry = latest.entry(&task.source).or_insert(task);
            if task.started_at > entry.started_at {
                *entry = task;
            }
        }
        let mut latest: Vec<&MoveTaskRecord> = latest.into_values().collect();
        latest.sort_by(|a, b| a.source.cmp(&b.source));
        for (name, help, read) in [
            (
                "sluice_move_task_approximate_number_of_messages_moved",
                "Messages the latest move task of each source queue has moved",
                (|t: &MoveTaskRecord| t.moved) as fn(&MoveTaskRecord) -> u64,
            ),
            (
                "sluice_move_task_approximate_number_of_messages_to_move",
                "Messages the latest move task of each source queue had to move when it started",
                |t: &MoveTaskRecord| t.to_move,
            ),
        ] {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for task in &latest {
                let labels = [
                    ("account", task.source.account_id.as_str()),
                    ("region", task.source.region.as_str()),
                    ("queue", task.source.name.as_str()),
                    ("status", task.status.name()),
                ];
                family
                    .encode_family(&labels)?
                    .encode_gauge(&signed(read(task)))?;
            }
        }
        Ok(())
    }
}

fn encode_counter(metric: &mut MetricEncoder, value: u64) -> Result<(), std::fmt::Error> {
    metric.encode_counter::<NoLabelSet, _, f64>(&value, None)
}

impl Collector for Scraped {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let polls = signed(self.long_polls);
        let mut family = encoder.encode_descriptor(
            "sluice_long_polls",
            "Receives waiting in long polls now",
            None,
            MetricType::Gauge,
        )?;
        family.encode_gauge(&polls)?;
        if self.names.sluice() {
            self.sluice_names(&mut encoder)?;
        }
        if self.names.cloudwatch() {
            self.cloudwatch_names(&mut encoder)?;
        }
        self.move_tasks(&mut encoder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operations_discriminant_is_its_index_in_all() {
        for (index, op) in Operation::ALL.iter().enumerate() {
            assert_eq!(*op as usize, index, "{}", op.name());
        }
    }
}
