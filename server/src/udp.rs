//! The server's UDP socket as quinn sees it, with the number of datagrams one
//! send may batch (GSO) capped.
//!
//! quinn keeps each connection's transmit buffer at its largest size ever,
//! and that size is the number of datagrams one send may carry (10 by
//! default, so up to ~15 KB) times the MTU: after the first burst it pushes
//! a connection (the presence events of a busy log-in hour, a room's
//! history), an idle connection holds that buffer for the rest of its life.
//! It was the largest single item of an idle connection's memory
//! (docs/performance.md, "Idle connections"). Batching several datagrams
//! to one connection into one `sendmsg` pays only while that connection
//! has a deep queue; fan-out spreads a burst over many connections instead.

use std::fmt;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use quinn::udp::{RecvMeta, Transmit};
use quinn::{AsyncUdpSocket, UdpPoller};

/// A socket that lets one send carry at most `max` datagrams.
pub(crate) struct CappedSegments {
    inner: Arc<dyn AsyncUdpSocket>,
    max: usize,
}

impl CappedSegments {
    /// Wraps `inner`; `max` is at least 1.
    pub(crate) fn new(inner: Arc<dyn AsyncUdpSocket>, max: usize) -> Self {
        Self {
            inner,
            max: max.max(1),
        }
    }
}

impl fmt::Debug for CappedSegments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CappedSegments")
            .field("inner", &self.inner)
            .field("max", &self.max)
            .finish()
    }
}

impl AsyncUdpSocket for CappedSegments {
    fn create_io_poller(self: Arc<Self>) -> Pin<Box<dyn UdpPoller>> {
        self.inner.clone().create_io_poller()
    }

    fn try_send(&self, transmit: &Transmit) -> io::Result<()> {
        self.inner.try_send(transmit)
    }

    fn poll_recv(
        &self,
        cx: &mut Context,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_recv(cx, bufs, meta)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn max_transmit_segments(&self) -> usize {
        self.inner.max_transmit_segments().min(self.max)
    }

    fn max_receive_segments(&self) -> usize {
        self.inner.max_receive_segments()
    }

    fn may_fragment(&self) -> bool {
        self.inner.may_fragment()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn caps_the_batch_and_passes_everything_else_through() {
        let runtime = quinn::default_runtime().expect("a tokio runtime");
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("a socket");
        let addr = socket.local_addr().expect("an address");
        let inner = runtime.wrap_udp_socket(socket).expect("wrapped");
        let uncapped = inner.max_transmit_segments();
        let one = CappedSegments::new(inner.clone(), 0);
        assert_eq!(one.max_transmit_segments(), 1);
        let capped = CappedSegments::new(inner.clone(), 2);
        assert_eq!(capped.max_transmit_segments(), uncapped.min(2));
        assert_eq!(capped.local_addr().expect("an address"), addr);
        assert_eq!(capped.max_receive_segments(), inner.max_receive_segments());
        assert_eq!(capped.may_fragment(), inner.may_fragment());
    }
}
