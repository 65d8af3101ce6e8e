//! The durable engine's metrics for operators: what the journal's writer thread records of its
//! commits and fsyncs, and the data directory's size, read from the directory at each scrape.

use std::path::{Path, PathBuf};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

use super::journal::JournalMetrics;

pub(super) fn register(registry: &mut Registry, journal: &JournalMetrics, dir: &Path) {
    registry.register(
        "sluice_journal_commits",
        "Journal commits (one write and fsync each) that carried records",
        journal.commits.clone(),
    );
    registry.register(
        "sluice_journal_records_per_commit",
        "Records each journal commit carried",
        journal.records_per_commit.clone(),
    );
    registry.register_with_unit(
        "sluice_journal_fsync_duration",
        "How long each fsync of a journal segment took",
        Unit::Seconds,
        journal.fsync_seconds.clone(),
    );
    registry.register_collector(Box::new(DiskBytes(dir.to_path_buf())));
}

/// The bytes the data directory's files take, read from the directory at each scrape.
#[derive(Debug)]
struct DiskBytes(PathBuf);

impl Collector for DiskBytes {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let bytes: u64 = std::fs::read_dir(&self.0)
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok()?.metadata().ok())
                    .filter(std::fs::Metadata::is_file)
                    .map(|metadata| metadata.len())
                    .sum()
            })
            .unwrap_or(0);
        let gauge = ConstGauge::new(i64::try_from(bytes).unwrap_or(i64::MAX));
        let metric = encoder.encode_descriptor(
            "sluice_storage_bytes_on_disk",
            "Bytes the data directory's files take",
            None,
            gauge.metric_type(),
        )?;
        gauge.encode(metric)
    }
}
