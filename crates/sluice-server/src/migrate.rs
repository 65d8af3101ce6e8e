//! `sluice migrate`: brings a PostgreSQL database to this build's schema version ahead of a
//! deployment (the server does the same when it starts), or with `--check` only tells, by its exit
//! code, whether the database is there, so a deployment script can decide before it rolls out.

use std::process::ExitCode;

use sluice_store::postgres::SCHEMA_VERSION;
use sluice_store::PostgresStore;

use crate::config::MigrateArgs;

/// Where a database's schema stands against this build's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaState {
    /// At this build's version.
    Current,
    /// At this older version: migrating brings it to this build's.
    Behind(i32),
    /// At this newer version, written by a newer build: this one must not serve it.
    Ahead(i32),
}

impl SchemaState {
    pub fn of(found: i32) -> SchemaState {
        match found.cmp(&SCHEMA_VERSION) {
            std::cmp::Ordering::Equal => SchemaState::Current,
            std::cmp::Ordering::Less => SchemaState::Behind(found),
            std::cmp::Ordering::Greater => SchemaState::Ahead(found),
        }
    }

    /// What `sluice migrate --check` exits with.
    pub fn exit_code(self) -> u8 {
        match self {
            SchemaState::Current => 0,
            SchemaState::Behind(_) => 1,
            SchemaState::Ahead(_) => 2,
        }
    }
}

/// What `sluice migrate --check` exits with when it could not ask the database.
pub const CHECK_FAILED: u8 = 3;

/// Runs `sluice migrate`: 0 once the database is at this build's version, 1 when it could not be
/// brought there; with `--check`, the exit code of [`SchemaState`], or [`CHECK_FAILED`].
pub async fn run(args: &MigrateArgs) -> ExitCode {
    let failed = if args.check { CHECK_FAILED } else { 1 };
    let url = match args.resolve() {
        Ok(url) => url,
        Err(e) => {
            eprintln!("sluice migrate: {e}");
            return ExitCode::from(failed);
        }
    };
    if !args.check {
        return match PostgresStore::migrate(url.expose()).await {
            Ok(version) => {
                println!("database {url} is at schema version {version}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("sluice migrate: database {url}: {e}");
                ExitCode::from(failed)
            }
        };
    }
    let found = match PostgresStore::schema_version(url.expose()).await {
        Ok(found) => found,
        Err(e) => {
            eprintln!("sluice migrate: database {url}: {e}");
            return ExitCode::from(failed);
        }
    };
    let state = SchemaState::of(found);
    match state {
        SchemaState::Current => {
            println!("database {url} is at schema version {found}, this build's")
        }
        SchemaState::Behind(_) => println!(
            "database {url} is at schema version {found} and this build needs {SCHEMA_VERSION}: \
             run sluice migrate"
        ),
        SchemaState::Ahead(_) => println!(
            "database {url} is at schema version {found}, newer than this build's \
             {SCHEMA_VERSION}: run a newer sluice"
        ),
    }
    ExitCode::from(state.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_exit_codes_follow_the_version_found() {
        assert_eq!(SchemaState::of(0).exit_code(), 1);
        assert_eq!(SchemaState::of(SCHEMA_VERSION).exit_code(), 0);
        assert_eq!(SchemaState::of(SCHEMA_VERSION + 1).exit_code(), 2);
    }
}
