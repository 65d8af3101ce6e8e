//! How the engine reaches its data directory's files once running. In production every call goes
//! straight to the file system; a store opened with `DiskFaults` makes writes, syncs or journal reads
//! fail on demand, the way a failing, full or read-only disk does, so that what the engine does about
//! such failures can be tested.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

/// A failure a disk can report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `EIO`: the device failed.
    Io,
    /// `ENOSPC`: the file system is full.
    NoSpace,
    /// `EROFS`: the file system was remounted read-only.
    ReadOnly,
}

impl Fault {
    /// The Linux error number.
    fn errno(self) -> i32 {
        match self {
            Fault::Io => 5,
            Fault::NoSpace => 28,
            Fault::ReadOnly => 30,
        }
    }
}

/// Faults to inject into a store's disk, switched on and off while it runs.
#[derive(Debug, Default)]
pub struct DiskFaults {
    /// The error number every write fails with, 0 for none.
    write: AtomicI32,
    /// The error number every sync fails with, 0 for none.
    sync: AtomicI32,
    /// The error number every read of a journal record fails with, 0 for none.
    read: AtomicI32,
}

impl DiskFaults {
    pub fn new() -> Arc<DiskFaults> {
        Arc::default()
    }

    /// Makes every write (and every file creation, truncation or removal) fail with `fault`. A write
    /// lands half its bytes first, as on a disk that fills up mid-write.
    pub fn fail_writes(&self, fault: Fault) {
        self.write.store(fault.errno(), Ordering::SeqCst);
    }

    /// Makes every sync fail with `fault`. What was written stays readable in the page cache, as
    /// after a real failed fsync, though it may never reach the disk.
    pub fn fail_syncs(&self, fault: Fault) {
        self.sync.store(fault.errno(), Ordering::SeqCst);
    }

    /// Makes every read of a journal record (a message body no longer held in memory) fail with
    /// `fault`.
    pub fn fail_reads(&self, fault: Fault) {
        self.read.store(fault.errno(), Ordering::SeqCst);
    }

    /// Lets writes, syncs and reads succeed again.
    pub fn clear(&self) {
        self.write.store(0, Ordering::SeqCst);
        self.sync.store(0, Ordering::SeqCst);
        self.read.store(0, Ordering::SeqCst);
    }
}

fn injected(errno: &AtomicI32) -> std::io::Result<()> {
    match errno.load(Ordering::SeqCst) {
        0 => Ok(()),
        errno => Err(std::io::Error::from_raw_os_error(errno)),
    }
}

/// The data directory's files, as the running engine reaches them.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    faults: Option<Arc<DiskFaults>>,
}

impl Disk {
    pub fn new(faults: Option<Arc<DiskFaults>>) -> Disk {
        Disk { faults }
    }

    fn check_write(&self) -> std::io::Result<()> {
        self.faults.as_ref().map_or(Ok(()), |f| injected(&f.write))
    }

    fn check_sync(&self) -> std::io::Result<()> {
        self.faults.as_ref().map_or(Ok(()), |f| injected(&f.sync))
    }

    /// Reads exactly `buf.len()` bytes at `offset`.
    pub fn read_at(&self, file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        if let Some(faults) = &self.faults {
            injected(&faults.read)?;
        }
        file.read_exact_at(buf, offset)
    }

    /// Opens a file for appending, creating it if needed.
    pub fn open_append(&self, path: &Path) -> std::io::Result<File> {
        self.check_write()?;
        OpenOptions::new().create(true).append(true).open(path)
    }

    pub fn write_all(&self, file: &mut File, bytes: &[u8]) -> std::io::Result<()> {
        if let Err(e) = self.check_write() {
            file.write_all(&bytes[..bytes.len() / 2])?;
            return Err(e);
        }
        file.write_all(bytes)
    }

    /// Makes a file's data durable.
    pub fn sync(&self, file: &File) -> std::io::Result<()> {
        self.check_sync()?;
        file.sync_data()
    }

    /// Makes the directory's entries (files created, removed) durable.
    pub fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        self.check_sync()?;
        File::open(dir)?.sync_all()
    }

    pub fn remove(&self, path: &Path) -> std::io::Result<()> {
        self.check_write()?;
        std::fs::remove_file(path)
    }

    /// Cuts a file back to `len` bytes and makes that durable.
    pub fn truncate(&self, path: &Path, len: u64) -> std::io::Result<()> {
        self.check_write()?;
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(len)?;
        self.sync(&file)
    }

    /// Proves the directory can be written now: a file is created, written, synced and removed.
    pub fn probe(&self, dir: &Path) -> std::io::Result<()> {
        let path = dir.join("sluice.probe");
        self.check_write()?;
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)?;
        let written = self
            .write_all(&mut file, b"sluice write probe\n")
            .and_then(|()| self.sync(&file));
        drop(file);
        let removed = std::fs::remove_file(&path);
        written?;
        removed?;
        self.sync_dir(dir)
    }
}
