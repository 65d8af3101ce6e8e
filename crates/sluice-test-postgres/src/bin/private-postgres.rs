//! `private-postgres`: a private PostgreSQL server for test runners that are not Rust tests (the Python
//! and JavaScript client suites, which `scripts/test` runs against Sluice nodes on PostgreSQL).
//!
//! It starts a server of its own ([`PrivatePostgres`]: a temporary directory, a free port of 127.0.0.1),
//! prints the URL of a new empty database on standard output, and prints the URL of another new database
//! for each line it reads on standard input. When standard input closes, the server is stopped and its
//! directory deleted; the server's watchdog does the same if this process is killed.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use sluice_test_postgres::PrivatePostgres;

fn main() -> ExitCode {
    let server = match PrivatePostgres::start() {
        Ok(server) => server,
        Err(message) => {
            eprintln!("private-postgres: {message}");
            return ExitCode::FAILURE;
        }
    };
    let stdout = std::io::stdout();
    // Whoever reads the URLs may be gone; then there is nothing left to serve.
    if print_database(&server, &stdout).is_err() {
        return ExitCode::SUCCESS;
    }
    for line in std::io::stdin().lock().lines() {
        if line.is_err() || print_database(&server, &stdout).is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}

/// A new database's URL on its own line, flushed at once: the reader waits for it.
fn print_database(server: &PrivatePostgres, stdout: &std::io::Stdout) -> std::io::Result<()> {
    let mut out = stdout.lock();
    writeln!(out, "{}", server.new_database())?;
    out.flush()
}
