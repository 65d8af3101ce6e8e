//! How long a connection may take over each part of an exchange. A connection is always in one of four
//! phases: reading a request's headers (from connecting, or from the first byte after an idle spell),
//! reading its body, handling it, or idle between requests. Each phase but handling has a deadline (a
//! long poll in progress is not idle); the connection's task closes the connection when the deadline of
//! the phase it is in passes. Phases change at a few points only: the IO wrapper sees the first byte of a
//! request, the front end starts and finishes reading a body, and a response is ready.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub header_read: Duration,
    pub body_read: Duration,
    pub idle: Duration,
}

/// One connection's phase and deadline.
pub struct Activity {
    timeouts: Timeouts,
    /// Set while the connection waits for its next request. The IO wrapper reads it on every read, so
    /// it is an atomic rather than part of the deadline's channel.
    idle: AtomicBool,
    /// When the connection is closed unless its phase changes first; `None` while a request is
    /// handled. The connection's task waits on it in `expired`; only phase changes write it.
    deadline: watch::Sender<Option<Instant>>,
}

impl Activity {
    /// A new connection, which must send its first request's headers within the header timeout.
    pub fn new(timeouts: Timeouts) -> Arc<Activity> {
        Arc::new(Activity {
            timeouts,
            idle: AtomicBool::new(false),
            deadline: watch::Sender::new(Some(Instant::now() + timeouts.header_read)),
        })
    }

    /// The headers of a request are in; its body is read next.
    pub fn reading_body(&self) {
        self.idle.store(false, Ordering::Relaxed);
        self.set_deadline(Some(Instant::now() + self.timeouts.body_read));
    }

    /// The body is in; handling takes as long as it takes (a long poll waits up to 20 s).
    pub fn handling(&self) {
        self.set_deadline(None);
    }

    /// The response is ready; the connection is idle until the next request begins.
    pub fn responded(&self) {
        self.set_deadline(Some(Instant::now() + self.timeouts.idle));
        self.idle.store(true, Ordering::Relaxed);
    }

    fn bytes_arrived(&self) {
        if self.idle.swap(false, Ordering::Relaxed) {
            self.set_deadline(Some(Instant::now() + self.timeouts.header_read));
        }
    }

    fn set_deadline(&self, deadline: Option<Instant>) {
        self.deadline.send_replace(deadline);
    }

    /// Completes when the deadline of the current phase passes.
    pub async fn expired(&self) {
        let mut deadline = self.deadline.subscribe();
        loop {
            let current = *deadline.borrow_and_update();
            match current {
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {
                            if matches!(deadline.has_changed(), Ok(false)) {
                                return;
                            }
                        }
                        _ = deadline.changed() => {}
                    }
                }
                // The sender lives in `self`, so `changed` only returns when the phase changes.
                None => {
                    let _ = deadline.changed().await;
                }
            }
        }
    }
}

/// A connection's stream that tells its `Activity` when a request's first byte arrives.
pub struct TrackedIo<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> TrackedIo<S> {
    pub fn new(inner: S, activity: Arc<Activity>) -> Self {
        TrackedIo { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TrackedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_arrived();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TrackedIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves one connection, keep-alive, until the client closes it, a phase deadline passes, or the
/// server stops (then the request in hand is finished first). `answer` answers each request.
pub async fn serve<A, F>(
    stream: TcpStream,
    timeouts: Timeouts,
    mut stop: watch::Receiver<bool>,
    answer: A,
) where
    A: Fn(Request<Incoming>, Arc<Activity>, Option<IpAddr>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let activity = Activity::new(timeouts);
    let peer = stream.peer_addr().ok().map(|a| a.ip());
    let io = TokioIo::new(TrackedIo::new(stream, activity.clone()));
    let answer = Arc::new(answer);
    let service = {
        let activity = activity.clone();
        service_fn(move |request| {
            let activity = activity.clone();
            let answer = answer.clone();
            async move {
                activity.reading_body();
                let response = answer(request, activity.clone(), peer).await;
                activity.responded();
                Ok::<_, Infallible>(response)
            }
        })
    };
    let connection = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = activity.expired() => {
            tracing::debug!("connection closed: read or idle timeout");
        }
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: Timeouts = Timeouts {
        header_read: Duration::from_secs(10),
        body_read: Duration::from_secs(30),
        idle: Duration::from_secs(60),
    };

    async fn expires_within(activity: &Activity, within: Duration) -> bool {
        tokio::time::timeout(within, activity.expired())
            .await
            .is_ok()
    }

    #[tokio::test(start_paused = true)]
    async fn each_phase_has_its_deadline_and_handling_has_none() {
        let activity = Activity::new(TIMEOUTS);
        assert!(!expires_within(&activity, Duration::from_millis(9_900)).await);
        assert!(expires_within(&activity, Duration::from_millis(200)).await);

        activity.reading_body();
        assert!(!expires_within(&activity, Duration::from_millis(29_900)).await);
        activity.handling();
        assert!(!expires_within(&activity, Duration::from_secs(3_600)).await);

        activity.responded();
        assert!(!expires_within(&activity, Duration::from_millis(59_900)).await);
        assert!(expires_within(&activity, Duration::from_millis(200)).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_byte_after_an_idle_spell_starts_the_header_deadline() {
        let activity = Activity::new(TIMEOUTS);
        activity.responded();
        tokio::time::advance(Duration::from_secs(30)).await;
        let (mut client, server) = tokio::io::duplex(64);
        let mut io = TrackedIo::new(server, activity.clone());
        tokio::io::AsyncWriteExt::write_all(&mut client, b"P")
            .await
            .unwrap();
        let mut byte = [0u8; 1];
        tokio::io::AsyncReadExt::read_exact(&mut io, &mut byte)
            .await
            .unwrap();
        // The idle deadline would be 30 s away; the header deadline is 10 s away.
        assert!(expires_within(&activity, Duration::from_millis(10_100)).await);
    }
}
