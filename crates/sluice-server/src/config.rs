//! The server's configuration: one typed struct, each field settable by a flag, an environment variable or
//! a key in the TOML file named by `--config`, in that order of precedence.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use sluice_security::{AccountSeed, AuthMode, Organization, OrganizationSeed};

pub const DEFAULT_BIND: &str = "127.0.0.1:9324";
pub const DEFAULT_ADMIN_BIND: &str = "127.0.0.1:9325";
pub const DEFAULT_DATA_DIR: &str = "./sluice-data";
pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_ACCOUNT_ID: &str = "000000000000";
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Longer than the longest long poll (20 s), so a client that polls in a loop keeps its connection.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections each node keeps to the database at most: enough for the requests one node serves at
/// once, few enough that many nodes stay within PostgreSQL's default `max_connections` of 100.
pub const DEFAULT_DATABASE_POOL_SIZE: usize = 16;

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

// Parsed once at start-up: boxing the larger variant would save nothing worth having.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve(ServeArgs),
    /// Bring a PostgreSQL database to this build's schema version (the server also does so when it
    /// starts), or with --check only tell whether it is there.
    Migrate(MigrateArgs),
}

#[derive(Clone, Debug, Default, Args)]
pub struct MigrateArgs {
    /// A TOML file whose `database-url` names the database; its other settings are not read.
    #[arg(long, env = "SLUICE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The database: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE.
    #[arg(
        long,
        env = "SLUICE_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<DatabaseUrl>,
    /// Change nothing; exit 0 if the database is at this build's schema version, 1 if it needs
    /// migrating, 2 if it is newer than this build, 3 if it could not be asked.
    #[arg(long)]
    pub check: bool,
}

impl MigrateArgs {
    /// The database named by the flag or variable, else by the config file.
    pub fn resolve(&self) -> Result<DatabaseUrl, ConfigError> {
        let url = match (&self.database_url, &self.config) {
            (Some(url), _) => Some(url.clone()),
            (None, Some(path)) => read_file(path)?.database_url,
            (None, None) => None,
        };
        let url = url.ok_or(ConfigError::DatabaseUrlMissing)?;
        url.validate()?;
        Ok(url)
    }
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
    /// Where state lives: `durable` (the data directory, surviving restarts and crashes), `postgres`
    /// (the PostgreSQL database of --database-url, which several nodes may share) or `memory` (gone at
    /// exit; for tests and throw-away runs) [default: durable].
    #[arg(long, env = "SLUICE_STORAGE", value_name = "ENGINE")]
    pub storage: Option<StorageKind>,
    /// The database of `postgres` storage: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE; its
    /// schema is migrated at start-up. Only with --storage postgres.
    #[arg(
        long,
        env = "SLUICE_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<DatabaseUrl>,
    /// Connections to the database this node keeps at most [default: 16].
    #[arg(long, env = "SLUICE_DATABASE_POOL_SIZE", value_name = "N")]
    pub database_pool_size: Option<usize>,
    /// The only regions requests may name, comma-separated [default: any name of AWS's shape].
    #[arg(
        long,
        env = "SLUICE_REGIONS",
        value_name = "REGION,...",
        value_delimiter = ','
    )]
    pub regions: Option<Vec<String>>,
    /// Seconds a client has to send a request's headers, from its first byte (or from connecting)
    /// [default: 10].
    #[arg(long, env = "SLUICE_HEADER_READ_TIMEOUT", value_name = "SECONDS")]
    pub header_read_timeout: Option<Seconds>,
    /// Seconds a client has to send a request's body, from the end of its headers [default: 30].
    #[arg(long, env = "SLUICE_BODY_READ_TIMEOUT", value_name = "SECONDS")]
    pub body_read_timeout: Option<Seconds>,
    /// Seconds a keep-alive connection may wait for its next request before it is closed; a long poll
    /// in progress is not idle [default: 60].
    #[arg(long, env = "SLUICE_IDLE_TIMEOUT", value_name = "SECONDS")]
    pub idle_timeout: Option<Seconds>,
    /// Connections served at once; more are answered 503 ServiceUnavailable and closed [default:
    /// the open-file limit less a reserve, at most 10000].
    #[arg(long, env = "SLUICE_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// `sigv4` verifies every request's signature against the accounts' keys; `off` accepts any
    /// credentials, taking a 12-digit access key id as the account [default: `off` while bound to
    /// loopback addresses, else `sigv4`, which needs accounts in the config file].
    #[arg(long, env = "SLUICE_AUTH", value_name = "MODE")]
    pub auth: Option<AuthMode>,
    /// A file holding the master key that wraps KMS key material (32 bytes, raw or base64)
    /// [default: `master-key` in the data directory, made on first start; with `postgres` storage
    /// every node needs the same key, so it must be given].
    #[arg(long, env = "SLUICE_MASTER_KEY_FILE", value_name = "FILE")]
    pub master_key_file: Option<PathBuf>,
    /// `text` (coloured only when the output is a terminal) or `json` (one object per line, for log
    /// collectors) [default: text].
    #[arg(long, env = "SLUICE_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Address and port of the admin listener (health), or `none` [default: 127.0.0.1:9325];
    /// beyond loopback only with `--auth sigv4`.
    #[arg(long, env = "SLUICE_ADMIN_BIND", value_name = "ADDR:PORT|none")]
    pub admin_bind: Option<AdminBind>,
    /// The names `/metrics` gives each queue's CloudWatch metrics: `sluice`
    /// (`sluice_sqs_number_of_messages_sent_total`), `cloudwatch` (`aws_sqs_<name>_<statistic>`,
    /// as CloudWatch exporters name them), or `both` [default: sluice].
    #[arg(long, env = "SLUICE_METRICS_NAMES", value_name = "NAMES")]
    pub metrics_names: Option<MetricNames>,
}

/// Where the admin listener listens: an address, or nowhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminBind {
    At(SocketAddr),
    None,
}

impl FromStr for AdminBind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "none" => Ok(AdminBind::None),
            addr => addr
                .parse()
                .map(AdminBind::At)
                .map_err(|_| format!("{text:?} is neither ADDR:PORT nor none")),
        }
    }
}

impl<'de> Deserialize<'de> for AdminBind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A positive number of seconds, decimals allowed (`0.5`), as flags, variables and file keys give it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Seconds(pub Duration);

impl FromStr for Seconds {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let seconds: f64 = text
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not a number of seconds"))?;
        Seconds::try_from(seconds)
    }
}

impl TryFrom<f64> for Seconds {
    type Error = String;

    fn try_from(seconds: f64) -> Result<Self, Self::Error> {
        match Duration::try_from_secs_f64(seconds) {
            Ok(d) if !d.is_zero() => Ok(Seconds(d)),
            _ => Err(format!("{seconds} is not a positive number of seconds")),
        }
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let seconds = f64::deserialize(deserializer)?;
        Seconds::try_from(seconds).map_err(serde::de::Error::custom)
    }
}

/// The storage engine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum StorageKind {
    #[default]
    Durable,
    Memory,
    Postgres,
}

impl StorageKind {
    /// The name flags, variables and the config file give it.
    pub fn name(self) -> &'static str {
        match self {
            StorageKind::Durable => "durable",
            StorageKind::Memory => "memory",
            StorageKind::Postgres => "postgres",
        }
    }
}

/// A PostgreSQL connection URL. It may carry a password, so it shows itself (`Display`, `Debug`)
/// with the password masked; only `expose` gives the text to connect with.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL as given, password included: for connecting, never for logging.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A URL of the form the server connects with (key-value connection strings are not taken,
    /// so that masking always finds the password).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if ["postgres://", "postgresql://"]
            .iter()
            .any(|scheme| self.0.starts_with(scheme))
        {
            Ok(())
        } else {
            Err(ConfigError::DatabaseUrlScheme)
        }
    }

    /// The URL with the password replaced by `***`: in the user information and in a `password`
    /// parameter. A raw `@` or `:` in the password must not uncover part of it, so the user
    /// information runs to the last `@` (hiding too much is harmless, too little is not).
    fn masked(&self) -> String {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return "***".to_string();
        };
        let rest = match rest.rsplit_once('@') {
            Some((credentials, host)) => match credentials.split_once(':') {
                Some((user, _)) => format!("{user}:***@{host}"),
                None => rest.to_string(),
            },
            None => rest.to_string(),
        };
        let parts: Vec<String> = rest
            .split('&')
            .map(|part| match part.find("password=") {
                Some(at) if at == 0 || part[..at].ends_with('?') => {
                    format!("{}password=***", &part[..at])
                }
                _ => part.to_string(),
            })
            .collect();
        format!("{scheme}://{}", parts.join("&"))
    }
}

impl FromStr for DatabaseUrl {
    /// Any text is taken here and checked by `validate`, so that a refusal never repeats the URL.
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(DatabaseUrl(text.trim().to_string()))
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.masked())
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(DatabaseUrl(text.trim().to_string()))
    }
}

/// Under which names the queues' CloudWatch metrics are exported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum MetricNames {
    #[default]
    Sluice,
    Cloudwatch,
    Both,
}

impl MetricNames {
    pub fn sluice(self) -> bool {
        self != MetricNames::Cloudwatch
    }

    pub fn cloudwatch(self) -> bool {
        self != MetricNames::Sluice
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
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
    pub database_url: Option<DatabaseUrl>,
    pub database_pool_size: Option<usize>,
    pub regions: Option<Vec<String>>,
    pub header_read_timeout: Option<Seconds>,
    pub body_read_timeout: Option<Seconds>,
    pub idle_timeout: Option<Seconds>,
    pub max_connections: Option<usize>,
    pub auth: Option<AuthMode>,
    pub master_key_file: Option<PathBuf>,
    /// The name of an environment variable holding the master key in base64.
    pub master_key_env: Option<String>,
    pub log_format: Option<LogFormat>,
    pub admin_bind: Option<AdminBind>,
    pub metrics_names: Option<MetricNames>,
    #[serde(default)]
    pub accounts: Vec<AccountSeed>,
    pub organization: Option<OrganizationSeed>,
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

/// Where the master key comes from: a file, an environment variable named in the config file, or
/// (by default, and not with `postgres` storage) `master-key` in the data directory, made on first
/// start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MasterKeySource {
    File(PathBuf),
    Env(String),
    DataDir,
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
    /// The database of `postgres` storage (and only of it).
    pub database_url: Option<DatabaseUrl>,
    /// Connections to the database kept at most.
    pub database_pool_size: usize,
    /// The regions requests may name; empty allows any name of AWS's shape.
    pub regions: Vec<String>,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub idle_timeout: Duration,
    /// `None` derives the limit from the open-file limit at start-up.
    pub max_connections: Option<usize>,
    pub auth: AuthMode,
    /// Whether the mode was chosen by a flag, variable or file key rather than by the bind address.
    pub auth_explicit: bool,
    /// Where the master key that wraps KMS key material comes from.
    pub master_key: MasterKeySource,
    /// Accounts and identities created at start-up (`[[accounts]]` in the config file).
    pub accounts: Vec<AccountSeed>,
    /// Accounts grouped into an organization with service and resource control policies
    /// (`[organization]` in the config file); they bind requests in `sigv4` mode.
    pub organization: Option<OrganizationSeed>,
    pub queues: Vec<QueueSpec>,
    pub log_format: LogFormat,
    /// The admin listener's address; `None` serves none. The command line's default is
    /// `DEFAULT_ADMIN_BIND`; a server started as a library has none unless asked.
    pub admin_bind: Option<SocketAddr>,
    /// Whether the admin address was chosen (then it must bind) rather than the default (then a
    /// taken port is only a warning).
    pub admin_bind_explicit: bool,
    pub metrics_names: MetricNames,
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
            database_url: None,
            database_pool_size: DEFAULT_DATABASE_POOL_SIZE,
            regions: Vec::new(),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: None,
            auth: AuthMode::Off,
            auth_explicit: false,
            master_key: MasterKeySource::DataDir,
            accounts: Vec::new(),
            organization: None,
            queues: Vec::new(),
            log_format: LogFormat::Text,
            admin_bind: None,
            admin_bind_explicit: false,
            metrics_names: MetricNames::Sluice,
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
    #[error("region {0:?} is not an AWS region name")]
    RegionName(String),
    #[error("region {0:?} is not one of the configured regions")]
    RegionNotListed(String),
    #[error("max-connections must be at least 1")]
    MaxConnections,
    #[error(
        "sluice is bound to {0}, beyond loopback, and no credentials are configured: add [[accounts]] \
         with id, access-key-id and secret-access-key to the config file (requests are then verified \
         with SigV4), or give --auth sigv4 to have a root key created in the data directory, or give \
         --auth off to accept any request"
    )]
    CredentialsNeeded(SocketAddr),
    #[error(
        "the admin listener is bound to {0}, beyond loopback, with authentication off: give --auth \
         sigv4, or bind it to a loopback address, or give --admin-bind none"
    )]
    AdminBeyondLoopback(SocketAddr),
    #[error("account {0:?} is configured twice")]
    DuplicateAccount(String),
    #[error("[organization] is not valid: {0}")]
    Organization(String),
    #[error(
        "postgres storage needs a database: give --database-url postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE \
         (or SLUICE_DATABASE_URL, or database-url in the config file)"
    )]
    DatabaseUrlMissing,
    #[error(
        "a database URL is given but the storage is {}: give --storage postgres, or no database URL",
        .0.name()
    )]
    DatabaseUrlUnused(StorageKind),
    #[error("the database URL must start with postgres:// or postgresql://")]
    DatabaseUrlScheme,
    #[error("database-pool-size must be at least 1")]
    DatabasePoolSize,
    #[error(
        "with postgres storage every node must use the same master key, so none is made in a data \
         directory: give --master-key-file FILE (or SLUICE_MASTER_KEY_FILE, or master-key-file or \
         master-key-env in the config file) with a key of 32 bytes, raw or in base64"
    )]
    MasterKeyNotShared,
}

impl Config {
    /// Flags and environment variables (already merged by clap) over the config file over defaults.
    pub fn resolve(args: &ServeArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let defaults = Config::default();
        let explicit_auth = args.auth.or(file.auth);
        let bind = args.bind.or(file.bind).unwrap_or(defaults.bind);
        let auth = match explicit_auth {
            Some(mode) => mode,
            None if bind.ip().is_loopback() => AuthMode::Off,
            None if !file.accounts.is_empty() => AuthMode::Sigv4,
            None => return Err(ConfigError::CredentialsNeeded(bind)),
        };
        let config = Config {
            bind,
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
            database_url: args.database_url.clone().or(file.database_url),
            database_pool_size: args
                .database_pool_size
                .or(file.database_pool_size)
                .unwrap_or(defaults.database_pool_size),
            regions: args.regions.clone().or(file.regions).unwrap_or_default(),
            header_read_timeout: args
                .header_read_timeout
                .or(file.header_read_timeout)
                .map_or(defaults.header_read_timeout, |s| s.0),
            body_read_timeout: args
                .body_read_timeout
                .or(file.body_read_timeout)
                .map_or(defaults.body_read_timeout, |s| s.0),
            idle_timeout: args
                .idle_timeout
                .or(file.idle_timeout)
                .map_or(defaults.idle_timeout, |s| s.0),
            max_connections: args.max_connections.or(file.max_connections),
            auth,
            auth_explicit: explicit_auth.is_some(),
            master_key: match (
                args.master_key_file.clone().or(file.master_key_file),
                file.master_key_env,
            ) {
                (Some(path), _) => MasterKeySource::File(path),
                (None, Some(name)) => MasterKeySource::Env(name),
                (None, None) => MasterKeySource::DataDir,
            },
            accounts: file.accounts,
            organization: file.organization,
            queues: file.queues,
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            admin_bind: match args.admin_bind.or(file.admin_bind) {
                Some(AdminBind::At(addr)) => Some(addr),
                Some(AdminBind::None) => None,
                None => Some(
                    DEFAULT_ADMIN_BIND
                        .parse()
                        .expect("the default admin address parses"),
                ),
            },
            admin_bind_explicit: args.admin_bind.or(file.admin_bind).is_some(),
            metrics_names: args
                .metrics_names
                .or(file.metrics_names)
                .unwrap_or_default(),
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks what flags, variables and file cannot say by their types: every region named (the
    /// default one and the configured queues' among them) has AWS's shape and, when regions are listed,
    /// is one of them.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !sluice_model::is_account_id(&self.account_id) {
            return Err(ConfigError::AccountId(self.account_id.clone()));
        }
        if let Some(bad) = self
            .regions
            .iter()
            .find(|r| !sluice_model::is_region_name(r))
        {
            return Err(ConfigError::RegionName(bad.clone()));
        }
        let named = std::iter::once(&self.region)
            .chain(self.queues.iter().filter_map(|q| q.region.as_ref()));
        for region in named {
            if !sluice_model::is_region_name(region) {
                return Err(ConfigError::RegionName(region.clone()));
            }
            if !self.allows_region(region) {
                return Err(ConfigError::RegionNotListed(region.clone()));
            }
        }
        if self.max_connections == Some(0) {
            return Err(ConfigError::MaxConnections);
        }
        if let Some(admin) = self.admin_bind {
            if !admin.ip().is_loopback() && self.auth != AuthMode::Sigv4 {
                return Err(ConfigError::AdminBeyondLoopback(admin));
            }
        }
        let mut accounts = std::collections::BTreeSet::new();
        for account in &self.accounts {
            if !sluice_model::is_account_id(&account.id) {
                return Err(ConfigError::AccountId(account.id.clone()));
            }
            if !accounts.insert(account.id.as_str()) {
                return Err(ConfigError::DuplicateAccount(account.id.clone()));
            }
        }
        self.organization()?;
        self.validate_storage()
    }

    /// A database URL with `postgres` storage and only with it, and a master key every node can share.
    fn validate_storage(&self) -> Result<(), ConfigError> {
        match (self.storage, &self.database_url) {
            (StorageKind::Postgres, None) => return Err(ConfigError::DatabaseUrlMissing),
            (StorageKind::Postgres, Some(url)) => url.validate()?,
            (other, Some(_)) => return Err(ConfigError::DatabaseUrlUnused(other)),
            (_, None) => {}
        }
        if self.database_pool_size == 0 {
            return Err(ConfigError::DatabasePoolSize);
        }
        if self.storage == StorageKind::Postgres && self.master_key == MasterKeySource::DataDir {
            return Err(ConfigError::MasterKeyNotShared);
        }
        Ok(())
    }

    /// The configured organization, parsed.
    pub fn organization(&self) -> Result<Organization, ConfigError> {
        Organization::new(self.organization.as_ref()).map_err(ConfigError::Organization)
    }

    /// Whether requests may name `region`: one of AWS's shape, and one of the listed regions if any.
    pub fn allows_region(&self, region: &str) -> bool {
        sluice_model::is_region_name(region)
            && (self.regions.is_empty() || self.regions.iter().any(|r| r == region))
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

    #[test]
    fn timeouts_regions_and_connection_limit_come_from_flags_and_file() {
        let dir = std::env::temp_dir().join(format!("sluice-config-net-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("net.toml");
        std::fs::write(
            &path,
            "header-read-timeout = 2\nbody-read-timeout = 0.5\nidle-timeout = 90\nmax-connections = 100\nregions = [\"us-east-1\", \"eu-west-1\"]\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "sluice",
            "--config",
            path.to_str().unwrap(),
            "--idle-timeout",
            "0.25",
        ])
        .unwrap();
        let config = Config::resolve(&cli.serve).unwrap();
        assert_eq!(config.header_read_timeout, Duration::from_secs(2));
        assert_eq!(config.body_read_timeout, Duration::from_millis(500));
        assert_eq!(config.idle_timeout, Duration::from_millis(250));
        assert_eq!(config.max_connections, Some(100));
        assert_eq!(config.regions, ["us-east-1", "eu-west-1"]);
        assert!(config.allows_region("eu-west-1"));
        assert!(!config.allows_region("eu-west-2"));

        let defaults = Config::resolve(&ServeArgs::default()).unwrap();
        assert_eq!(defaults.header_read_timeout, DEFAULT_HEADER_READ_TIMEOUT);
        assert_eq!(defaults.idle_timeout, DEFAULT_IDLE_TIMEOUT);
        assert!(defaults.allows_region("ap-southeast-5"));
        assert!(!defaults.allows_region("x@evil.example"));

        let cli = Cli::try_parse_from(["sluice", "--regions", "eu-west-1,eu-central-2"]).unwrap();
        assert_eq!(
            cli.serve.regions.as_deref().unwrap(),
            ["eu-west-1", "eu-central-2"]
        );
        // The default region must be one of those listed.
        assert!(matches!(
            Config::resolve(&cli.serve),
            Err(ConfigError::RegionNotListed(r)) if r == DEFAULT_REGION
        ));
        for bad in [
            ["--idle-timeout", "0"],
            ["--idle-timeout", "-1"],
            ["--body-read-timeout", "soon"],
        ] {
            assert!(
                Cli::try_parse_from(["sluice", bad[0], bad[1]]).is_err(),
                "{bad:?}"
            );
        }
        let args = ServeArgs {
            region: Some("a b".into()),
            ..ServeArgs::default()
        };
        assert!(matches!(
            Config::resolve(&args),
            Err(ConfigError::RegionName(_))
        ));
    }

    #[test]
    fn authentication_is_off_only_on_loopback_unless_chosen() {
        let loopback = Config::resolve(&ServeArgs::default()).unwrap();
        assert_eq!(
            (loopback.auth, loopback.auth_explicit),
            (AuthMode::Off, false)
        );

        let wide = ServeArgs {
            bind: Some("0.0.0.0:9324".parse().unwrap()),
            ..ServeArgs::default()
        };
        let refused = Config::resolve(&wide).unwrap_err();
        assert!(matches!(refused, ConfigError::CredentialsNeeded(_)));
        let text = refused.to_string();
        assert!(
            text.contains("[[accounts]]") && text.contains("--auth off"),
            "{text}"
        );

        let chosen = Config::resolve(&ServeArgs {
            auth: Some(AuthMode::Off),
            ..wide.clone()
        })
        .unwrap();
        assert_eq!((chosen.auth, chosen.auth_explicit), (AuthMode::Off, true));

        let dir = std::env::temp_dir().join(format!("sluice-config-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("accounts.toml");
        std::fs::write(
            &path,
            "[[accounts]]\nid = \"111122223333\"\naccess-key-id = \"AKIAEXAMPLEROOTKEY01\"\nsecret-access-key = \"s\"\n",
        )
        .unwrap();
        let with_accounts = Config::resolve(&ServeArgs {
            config: Some(path.clone()),
            ..wide
        })
        .unwrap();
        assert_eq!(with_accounts.auth, AuthMode::Sigv4);
        assert_eq!(with_accounts.accounts[0].id, "111122223333");

        std::fs::write(
            &path,
            "auth = \"sigv4\"\n[[accounts]]\nid = \"1\"\naccess-key-id = \"K\"\nsecret-access-key = \"s\"\n",
        )
        .unwrap();
        let bad = Config::resolve(&ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        });
        assert!(matches!(bad, Err(ConfigError::AccountId(id)) if id == "1"));
    }

    fn postgres_args(extra: &[&str]) -> Result<Config, ConfigError> {
        let mut argv = vec!["sluice", "--storage", "postgres"];
        argv.extend_from_slice(extra);
        Config::resolve(&Cli::try_parse_from(argv).unwrap().serve)
    }

    #[test]
    fn postgres_storage_needs_a_database_url_and_a_given_master_key() {
        let url = "postgres://sluice:s3cret@db.internal:5432/sluice";
        let config = postgres_args(&["--database-url", url, "--master-key-file", "/k"]).unwrap();
        assert_eq!(config.storage, StorageKind::Postgres);
        assert_eq!(config.database_url.as_ref().unwrap().expose(), url);
        assert_eq!(config.database_pool_size, DEFAULT_DATABASE_POOL_SIZE);

        assert!(matches!(
            postgres_args(&["--master-key-file", "/k"]),
            Err(ConfigError::DatabaseUrlMissing)
        ));
        let refused = postgres_args(&["--database-url", url]).unwrap_err();
        assert!(matches!(refused, ConfigError::MasterKeyNotShared));
        assert!(
            refused.to_string().contains("--master-key-file"),
            "{refused}"
        );
        let scheme = postgres_args(&[
            "--database-url",
            "host=db password=s3cret",
            "--master-key-file",
            "/k",
        ])
        .unwrap_err();
        assert!(matches!(scheme, ConfigError::DatabaseUrlScheme));
        assert!(!scheme.to_string().contains("s3cret"), "{scheme}");
        assert!(matches!(
            postgres_args(&[
                "--database-url",
                url,
                "--master-key-file",
                "/k",
                "--database-pool-size",
                "0"
            ]),
            Err(ConfigError::DatabasePoolSize)
        ));

        let elsewhere = Cli::try_parse_from(["sluice", "--database-url", url]).unwrap();
        let unused = Config::resolve(&elsewhere.serve).unwrap_err();
        assert!(matches!(
            unused,
            ConfigError::DatabaseUrlUnused(StorageKind::Durable)
        ));
        assert!(
            unused.to_string().contains("storage is durable"),
            "{unused}"
        );
    }

    #[test]
    fn database_settings_come_from_the_file_under_flags() {
        let dir = std::env::temp_dir().join(format!("sluice-config-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.toml");
        std::fs::write(
            &path,
            "storage = \"postgres\"\ndatabase-url = \"postgresql://a@h/d\"\ndatabase-pool-size = 4\n\
             master-key-env = \"SLUICE_KEY\"\n",
        )
        .unwrap();
        let from_file = Config::resolve(&ServeArgs {
            config: Some(path.clone()),
            ..ServeArgs::default()
        })
        .unwrap();
        assert_eq!(from_file.storage, StorageKind::Postgres);
        assert_eq!(
            from_file.database_url.unwrap().expose(),
            "postgresql://a@h/d"
        );
        assert_eq!(from_file.database_pool_size, 4);
        assert_eq!(
            from_file.master_key,
            MasterKeySource::Env("SLUICE_KEY".into())
        );

        let cli = Cli::try_parse_from([
            "sluice",
            "--config",
            path.to_str().unwrap(),
            "--database-pool-size",
            "32",
        ])
        .unwrap();
        assert_eq!(Config::resolve(&cli.serve).unwrap().database_pool_size, 32);

        let migrate =
            Cli::try_parse_from(["sluice", "migrate", "--config", path.to_str().unwrap()]).unwrap();
        let Some(Command::Migrate(args)) = migrate.command else {
            panic!("migrate is a command")
        };
        assert_eq!(args.resolve().unwrap().expose(), "postgresql://a@h/d");
        assert!(!args.check);
        let check =
            Cli::try_parse_from(["sluice", "migrate", "--check", "--database-url", "x"]).unwrap();
        let Some(Command::Migrate(args)) = check.command else {
            panic!("migrate is a command")
        };
        assert!(args.check);
        assert!(matches!(
            args.resolve(),
            Err(ConfigError::DatabaseUrlScheme)
        ));
    }

    #[test]
    fn database_urls_show_without_their_password() {
        let shown = |url: &str| {
            let url: DatabaseUrl = url.parse().unwrap();
            (url.to_string(), format!("{url:?}"))
        };
        assert_eq!(
            shown("postgres://sluice:s3cret@db:5432/sluice").0,
            "postgres://sluice:***@db:5432/sluice"
        );
        assert_eq!(
            shown("postgres://sluice:s3cret@db/x").1,
            "DatabaseUrl(postgres://sluice:***@db/x)"
        );
        assert_eq!(
            shown("postgresql://db/x?user=u&password=s3cret&sslmode=disable").0,
            "postgresql://db/x?user=u&password=***&sslmode=disable"
        );
        assert_eq!(shown("postgres://u@db/x").0, "postgres://u@db/x");
        // A raw `@` in the password, or a password parameter before one, hides no less.
        assert_eq!(shown("postgres://u:p@ss@db/x").0, "postgres://u:***@db/x");
        assert_eq!(
            shown("postgres://db/x?password=s3cret&application_name=a@b").0,
            "postgres://db/x?password=***&application_name=a@b"
        );
        assert_eq!(shown("host=db password=s3cret").0, "***");
    }
}
