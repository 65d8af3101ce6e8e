//! The server's configuration: one typed struct, each field settable by a flag, an environment variable or
//! a key in the TOML file named by `--config`, in that order of precedence.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

pub const DEFAULT_BIND: &str = "127.0.0.1:9324";
pub const DEFAULT_DATA_DIR: &str = "./sluice-data";
pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_ACCOUNT_ID: &str = "000000000000";

#[derive(Debug, Parser)]
#[command(
    name = "sluice",
    version,
    about = "An Amazon SQS-compatible message queue server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options for `serve`, also accepted without the subcommand.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve(ServeArgs),
}

#[derive(Clone, Debug, Default, Args)]
pub struct ServeArgs {
    /// A TOML file with any of the settings below and a list of queues to create at start-up.
    #[arg(long, env = "SLUICE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address and port to listen on [default: 127.0.0.1:9324].
    #[arg(long, env = "SLUICE_BIND", value_name = "ADDR:PORT")]
    pub bind: Option<SocketAddr>,
    /// Directory that holds the server's data [default: ./sluice-data].
    #[arg(long, env = "SLUICE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Region of requests that do not name one [default: us-east-1].
    #[arg(long, env = "SLUICE_REGION")]
    pub region: Option<String>,
    /// Account of requests whose access key is not a 12-digit account id [default: 000000000000].
    #[arg(long, env = "SLUICE_ACCOUNT_ID", value_name = "ID")]
    pub account_id: Option<String>,
    /// Scheme, host and port written into queue URLs [default: from the bind address].
    #[arg(long, env = "SLUICE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Where state lives: `durable` (the data directory, surviving restarts and crashes) or `memory`
    /// (gone at exit; for tests and throw-away runs) [default: durable].
    #[arg(long, env = "SLUICE_STORAGE", value_name = "ENGINE")]
    pub storage: Option<StorageKind>,
}

/// The storage engine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum StorageKind {
    #[default]
    Durable,
    Memory,
}

/// The settings a config file may hold; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub bind: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub region: Option<String>,
    pub account_id: Option<String>,
    pub public_url: Option<String>,
    pub storage: Option<StorageKind>,
    #[serde(default)]
    pub queues: Vec<QueueSpec>,
}

/// A queue the server creates at start-up if it does not exist (`[[queues]]` in the config file).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct QueueSpec {
    pub name: String,
    /// Queue attributes by their SQS names, e.g. `VisibilityTimeout = "60"`.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The owning account [default: the server's account-id].
    pub account_id: Option<String>,
    /// The queue's region [default: the server's region].
    pub region: Option<String>,
}

/// The resolved configuration the server runs with.
#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub region: String,
    pub account_id: String,
    /// `None` derives it from the address actually bound (so port 0 gets the real port).
    pub public_url: Option<String>,
    pub storage: StorageKind,
    pub queues: Vec<QueueSpec>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: DEFAULT_BIND
                .parse()
                .expect("the default bind address parses"),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            region: DEFAULT_REGION.to_string(),
            account_id: DEFAULT_ACCOUNT_ID.to_string(),
            public_url: None,
            storage: StorageKind::Durable,
            queues: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("account id {0:?} is not 12 digits")]
    AccountId(String),
}

impl Config {
    /// Flags and environment variables (already merged by clap) over the config file over defaults.
    pub fn resolve(args: &ServeArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let defaults = Config::default();
        let config = Config {
            bind: args.bind.or(file.bind).unwrap_or(defaults.bind),
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or(defaults.data_dir),
            region: args
                .region
                .clone()
                .or(file.region)
                .unwrap_or(defaults.region),
            account_id: args
                .account_id
                .clone()
                .or(file.account_id)
                .unwrap_or(defaults.account_id),
            public_url: args.public_url.clone().or(file.public_url),
            storage: args.storage.or(file.storage).unwrap_or_default(),
            queues: file.queues,
        };
        if !sluice_model::is_account_id(&config.account_id) {
            return Err(ConfigError::AccountId(config.account_id));
        }
        Ok(config)
    }

    /// The public URL for a server bound to `bound`: the configured one, else `http://<bound>`, with a
    /// wildcard address written as `localhost`.
    pub fn public_url_for(&self, bound: SocketAddr) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_string();
        }
        let host = match bound.ip() {
            ip if ip.is_unspecified() => "localhost".to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        format!("http://{host}:{}", bound.port())
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = std::env::temp_dir().join(format!("sluice-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sluice.toml");
        std::fs::write(
            &path,
            r#"
region = "eu-west-1"
bind = "127.0.0.1:9400"

[[queues]]
name = "orders"
attributes = { VisibilityTimeout = "60" }
tags = { team = "shop" }
"#,
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path),
            bind: Some("127.0.0.1:9500".parse().unwrap()),
            ..ServeArgs::default()
        };
        let config = Config::resolve(&args).unwrap();
        assert_eq!(config.bind.port(), 9500);
        assert_eq!(config.region, "eu-west-1");
        assert_eq!(config.account_id, DEFAULT_ACCOUNT_ID);
        assert_eq!(config.queues.len(), 1);
        assert_eq!(config.queues[0].attributes["VisibilityTimeout"], "60");
        assert_eq!(
            config.public_url_for("0.0.0.0:9324".parse().unwrap()),
            "http://localhost:9324"
        );
    }

    #[test]
    fn unknown_keys_and_bad_accounts_are_errors() {
        let dir = std::env::temp_dir().join(format!("sluice-config-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.toml");
        std::fs::write(&path, "colour = \"blue\"\n").unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            ..ServeArgs::default()
        };
        let err = Config::resolve(&args).unwrap_err().to_string();
        assert!(err.contains("bad.toml"), "{err}");
        let args = ServeArgs {
            account_id: Some("12".into()),
            ..ServeArgs::default()
        };
        assert!(Config::resolve(&args).is_err());
    }
}
