//! The open-file limit. Every connection holds a file descriptor, and the default soft limit (often
//! 1024) is far below what the kernel allows the process (the hard limit), so start-up raises the soft
//! limit to the hard one and sizes the connection limit from the result.

/// Descriptors kept for everything but client connections: journal segments, the data directory's
/// files, connections being refused, standard streams.
pub const RESERVED: u64 = 256;

/// Connections served at once when none is configured, however high the open-file limit: each costs
/// buffers and a task, and more than this on one server is more likely a leak or an attack.
pub const DEFAULT_MAX_CONNECTIONS: u64 = 10_000;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the soft limit now in force (`None`
/// where it cannot be read).
#[cfg(unix)]
pub fn raise_nofile_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given, which lives for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct it is given. It can fail (macOS refuses an
        // unlimited soft limit); the old limit then stays in force.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        } else {
            tracing::warn!(
                soft = limit.rlim_cur,
                hard = limit.rlim_max,
                "cannot raise the open-file limit"
            );
        }
    }
    // `rlim_t` is 32 bits wide on some targets.
    #[allow(clippy::useless_conversion)]
    Some(u64::try_from(limit.rlim_cur).unwrap_or(u64::MAX))
}

#[cfg(not(unix))]
pub fn raise_nofile_limit() -> Option<u64> {
    None
}

/// The connection limit: the configured one, else the default, either way no more than the open-file
/// limit leaves after the reserve (but at least one).
pub fn max_connections(configured: Option<usize>, nofile: Option<u64>) -> usize {
    let room = nofile.map_or(u64::MAX, |n| n.saturating_sub(RESERVED).max(1));
    let wanted = configured.map_or(DEFAULT_MAX_CONNECTIONS, |n| n as u64);
    if wanted > room {
        tracing::warn!(
            wanted,
            allowed = room,
            "connection limit lowered to what the open-file limit allows"
        );
    }
    usize::try_from(wanted.min(room)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_fits_in_the_open_file_limit() {
        assert_eq!(max_connections(None, Some(1024)), 768);
        assert_eq!(max_connections(None, Some(1 << 20)), 10_000);
        assert_eq!(max_connections(Some(50_000), Some(1 << 20)), 50_000);
        assert_eq!(max_connections(Some(5_000), Some(1024)), 768);
        assert_eq!(max_connections(Some(3), Some(100)), 1);
        assert_eq!(max_connections(None, None), 10_000);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let soft = raise_nofile_limit().expect("the limit is readable");
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as in raise_nofile_limit.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        assert_eq!(limit.rlim_cur, soft);
        assert_eq!(limit.rlim_cur, limit.rlim_max);
    }
}
