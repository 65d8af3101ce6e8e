//! Queue names, URLs and ARNs: how a queue is written down and how a written-down queue is found again.

use sluice_store::QueueKey;

use crate::error::QueueError;

pub const FIFO_SUFFIX: &str = ".fifo";
const MAX_QUEUE_NAME: usize = 80;

/// Checks a queue name against SQS's rules: 1 to 80 characters of `[A-Za-z0-9_-]`, and for a FIFO queue
/// the same plus the `.fifo` suffix (which counts towards the 80).
pub fn validate_queue_name(name: &str, fifo: bool) -> Result<(), QueueError> {
    let base = if fifo {
        name.strip_suffix(FIFO_SUFFIX)
    } else {
        Some(name)
    };
    let valid = base.is_some_and(|base| {
        !base.is_empty()
            && name.len() <= MAX_QUEUE_NAME
            && base
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    match (valid, fifo) {
        (true, _) => Ok(()),
        (false, true) => Err(QueueError::InvalidFifoQueueName(name.to_string())),
        (false, false) => Err(QueueError::InvalidQueueName(name.to_string())),
    }
}

pub fn queue_arn(key: &QueueKey) -> String {
    format!("arn:aws:sqs:{}:{}:{}", key.region, key.account_id, key.name)
}

/// Reads `arn:aws:sqs:<region>:<account>:<name>` (any AWS partition).
pub fn parse_queue_arn(arn: &str) -> Option<QueueKey> {
    let mut parts = arn.split(':');
    let (Some("arn"), Some(partition), Some("sqs"), Some(region), Some(account), Some(name), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if !partition.starts_with("aws")
        || !sluice_model::is_region_name(region)
        || account.is_empty()
        || name.is_empty()
    {
        return None;
    }
    Some(QueueKey {
        account_id: account.to_string(),
        region: region.to_string(),
        name: name.to_string(),
    })
}

/// Writes and reads queue URLs.
///
/// Queues in the default region get `<public url>/<account>/<name>`. Queues in any other region get the
/// region in the host, `sqs.<region>.<host>`, as AWS's own endpoints do, so that the same name in two
/// regions has two URLs; when the public host is an IP address or `localhost`, that host is
/// `sqs.<region>.localhost`, which resolves to the loopback address.
#[derive(Clone, Debug)]
pub struct QueueUrls {
    scheme: String,
    host: String,
    /// `:port`, or empty when the public URL gave none.
    port: String,
    default_region: String,
}

impl QueueUrls {
    pub fn new(public_url: &str, default_region: &str) -> Self {
        let (scheme, rest) = public_url.split_once("://").unwrap_or(("http", public_url));
        let authority = rest.split('/').next().unwrap_or(rest);
        let (host, port) = split_host_port(authority);
        QueueUrls {
            scheme: scheme.to_string(),
            host: host.to_string(),
            port: port.map(|p| format!(":{p}")).unwrap_or_default(),
            default_region: default_region.to_string(),
        }
    }

    pub fn url(&self, key: &QueueKey) -> String {
        let host = if key.region == self.default_region {
            self.host.clone()
        } else if self.host == "localhost"
            || self.host.parse::<std::net::IpAddr>().is_ok()
            || self.host.starts_with('[')
        {
            format!("sqs.{}.localhost", key.region)
        } else {
            format!("sqs.{}.{}", key.region, self.host)
        };
        format!(
            "{}://{}{}/{}/{}",
            self.scheme, host, self.port, key.account_id, key.name
        )
    }

    /// Finds the queue a `QueueUrl` parameter names, as SQS does: a URL of any host (clients configured
    /// for AWS send AWS's own, `https://sqs.<region>.amazonaws.com/<account>/<name>`), whose region comes
    /// from an `sqs.<region>.` or `<region>.queue.` host, else from the request; or a bare queue name, in
    /// the caller's account and region. Text that is neither names no queue that can exist, and SQS
    /// answers it as it answers a queue that does not exist.
    pub fn resolve(
        &self,
        queue_url: &str,
        account: &str,
        request_region: &str,
    ) -> Result<QueueKey, QueueError> {
        let Some(rest) = queue_url
            .strip_prefix("https://")
            .or_else(|| queue_url.strip_prefix("http://"))
        else {
            return Ok(QueueKey {
                account_id: account.to_string(),
                region: request_region.to_string(),
                name: queue_url.to_string(),
            });
        };
        let (authority, path) = rest.split_once('/').ok_or(QueueError::QueueDoesNotExist)?;
        let path = path.split(['?', '#']).next().unwrap_or(path);
        let mut segments = path.split('/').filter(|s| !s.is_empty());
        let (Some(account), Some(name), None) = (segments.next(), segments.next(), segments.next())
        else {
            return Err(QueueError::QueueDoesNotExist);
        };
        let (host, _) = split_host_port(authority);
        let region = region_from_host(host).unwrap_or(request_region);
        Ok(QueueKey {
            account_id: account.to_string(),
            region: region.to_string(),
            name: name.to_string(),
        })
    }
}

fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.split_once("]:") {
            Some((host, port)) => (&authority[..host.len() + 1], Some(port)),
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    }
}

/// The region named by a host of the form `sqs.<region>.<domain>` or `<region>.queue.<domain>`.
pub fn region_from_host(host: &str) -> Option<&str> {
    let mut labels = host.split('.');
    let first = labels.next()?;
    let second = labels.next()?;
    labels.next()?;
    let region = if first == "sqs" {
        second
    } else if second == "queue" {
        first
    } else {
        return None;
    };
    sluice_model::is_region_name(region).then_some(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(region: &str, account: &str, name: &str) -> QueueKey {
        QueueKey {
            account_id: account.into(),
            region: region.into(),
            name: name.into(),
        }
    }

    #[test]
    fn queue_names_follow_sqs_rules() {
        assert!(validate_queue_name("a", false).is_ok());
        assert!(validate_queue_name(&"a".repeat(80), false).is_ok());
        assert!(validate_queue_name(&"a".repeat(81), false).is_err());
        assert!(validate_queue_name("", false).is_err());
        assert!(validate_queue_name("a.b", false).is_err());
        assert!(validate_queue_name("my queue", false).is_err());
        assert!(validate_queue_name("q.fifo", true).is_ok());
        assert!(validate_queue_name(".fifo", true).is_err());
        assert!(validate_queue_name("q", true).is_err());
        // The suffix counts towards the 80 characters.
        assert!(validate_queue_name(&format!("{}.fifo", "a".repeat(75)), true).is_ok());
        assert!(validate_queue_name(&format!("{}.fifo", "a".repeat(76)), true).is_err());
    }

    #[test]
    fn urls_carry_the_region_outside_the_default_one() {
        let urls = QueueUrls::new("http://127.0.0.1:9324", "us-east-1");
        assert_eq!(
            urls.url(&key("us-east-1", "000000000000", "q")),
            "http://127.0.0.1:9324/000000000000/q"
        );
        assert_eq!(
            urls.url(&key("eu-west-1", "000000000000", "q")),
            "http://sqs.eu-west-1.localhost:9324/000000000000/q"
        );
        let named = QueueUrls::new("https://queues.example.com", "us-east-1");
        assert_eq!(
            named.url(&key("eu-west-1", "1", "q")),
            "https://sqs.eu-west-1.queues.example.com/1/q"
        );
    }

    #[test]
    fn any_host_resolves_by_account_and_name() {
        let urls = QueueUrls::new("http://127.0.0.1:9324", "us-east-1");
        let resolve = |url: &str, region: &str| urls.resolve(url, "000000000000", region);
        assert_eq!(
            resolve(
                "https://sqs.us-west-2.amazonaws.com/123456789012/q",
                "us-east-1"
            )
            .unwrap(),
            key("us-west-2", "123456789012", "q")
        );
        assert_eq!(
            resolve("http://other-host:1234/000000000000/q", "ap-south-1").unwrap(),
            key("ap-south-1", "000000000000", "q")
        );
        assert_eq!(
            resolve(
                "http://sqs.eu-west-1.localhost:9324/000000000000/q",
                "us-east-1"
            )
            .unwrap(),
            key("eu-west-1", "000000000000", "q")
        );
    }

    #[test]
    fn a_bare_name_is_a_queue_of_the_callers_account_and_region() {
        let urls = QueueUrls::new("http://127.0.0.1:9324", "us-east-1");
        assert_eq!(
            urls.resolve("orders", "123456789012", "eu-west-1").unwrap(),
            key("eu-west-1", "123456789012", "orders")
        );
        assert_eq!(
            urls.resolve("orders.fifo", "1", "us-east-1").unwrap(),
            key("us-east-1", "1", "orders.fifo")
        );
    }

    #[test]
    fn a_url_without_account_and_name_is_a_queue_that_does_not_exist() {
        let urls = QueueUrls::new("http://127.0.0.1:9324", "us-east-1");
        for bad in [
            "http://whatever-incorrect-queue-address",
            "http://host/q",
            "http://host/a/b/c",
            "https://host/",
        ] {
            assert!(
                matches!(
                    urls.resolve(bad, "000000000000", "us-east-1"),
                    Err(QueueError::QueueDoesNotExist)
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn arns_round_trip() {
        let k = key("us-east-1", "123456789012", "q");
        assert_eq!(parse_queue_arn(&queue_arn(&k)), Some(k));
        assert_eq!(parse_queue_arn("arn:aws:sns:us-east-1:1:q"), None);
        assert_eq!(parse_queue_arn("arn:aws:sqs:us-east-1:1"), None);
        assert_eq!(parse_queue_arn("arn:aws:sqs:a b:1:q"), None);
    }
}
