//! Start-up on a data directory the server cannot write its journal into: it must refuse to start,
//! naming the directory and the operating system's error, rather than listen and fail every write.

mod common;

use std::path::PathBuf;

use common::{TempDir, TestServer};

/// Linux refuses a path of `PATH_MAX` bytes or more (ENAMETOOLONG), root included.
const PATH_MAX: usize = 4096;

/// A directory whose own short files (lock, meta) can be created but whose journal segment files
/// (`journal-0000000001.log`, 26 bytes with its separator) cannot: the server opened it, listened,
/// and then failed every write.
fn directory_too_deep_for_its_journal(root: &std::path::Path) -> PathBuf {
    let target = PATH_MAX - 26 + 4;
    let mut dir = root.to_path_buf();
    while dir.as_os_str().len() < target {
        let room = target - dir.as_os_str().len() - 1;
        dir.push("d".repeat(room.min(200)));
    }
    dir
}

#[tokio::test]
async fn a_data_directory_that_cannot_hold_a_journal_stops_start_up() {
    let root = TempDir::new("unwritable");
    let dir = directory_too_deep_for_its_journal(root.path());
    std::fs::create_dir_all(&dir).expect("the directory itself can be created");
    let error = match TestServer::try_start_in(&dir).await {
        Ok(server) => {
            server.shutdown().await;
            panic!("the server started on a directory it cannot write its journal into");
        }
        Err(error) => error,
    };
    assert!(error.contains(&dir.display().to_string()), "{error}");
    assert!(error.contains("cannot be written"), "{error}");
    assert!(error.contains("os error 36"), "{error}");
}

#[tokio::test]
async fn a_data_directory_under_a_regular_file_stops_start_up() {
    let root = TempDir::new("under-file");
    let file = root.path().join("file");
    std::fs::write(&file, b"not a directory").expect("write");
    let dir = file.join("data");
    let error = TestServer::try_start_in(&dir)
        .await
        .err()
        .expect("start-up refused");
    assert!(error.contains(&dir.display().to_string()), "{error}");
    assert!(error.contains("Not a directory"), "{error}");
}
