//! The socket as hyper sees it: HTTP/1.1 from the first byte, or HTTP/2 when
//! the connection opens with its preface.
//!
//! Every connection starts on hyper's HTTP/1.1 connection, built at accept,
//! as a plain hyper server does. Its first read goes through a buffer on the
//! stack so the bytes can be looked at before hyper gets them: anything but a
//! prefix of the HTTP/2 preface is handed over and from then on reads go
//! straight into hyper's buffer. A connection that sends the whole preface is
//! taken away from HTTP/1 before hyper has seen a byte: its socket and the
//! bytes read so far go to [`Handoff`], HTTP/1 sees the end of its input and
//! closes without writing, and the server serves the socket as HTTP/2,
//! replaying those bytes first.
//!
//! This costs no syscall beyond what hyper makes itself, where a `peek` at
//! accept would cost one per connection and defer hyper's set-up until the
//! first bytes arrive.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::connections::Activity;

/// The client connection preface of HTTP/2 (RFC 9113, section 3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The most a connection's first read takes: hyper's first buffer.
const FIRST_READ: usize = 8192;

/// Where a connection that opened with the HTTP/2 preface leaves its socket
/// for the server to serve as HTTP/2; one per connection.
#[derive(Debug, Default)]
pub(crate) struct Handoff(Mutex<Option<Box<ServerIo>>>);

impl Handoff {
    /// The socket, when its connection opened with the preface.
    pub(crate) fn take(&self) -> Option<ServerIo> {
        self.lock().take().map(|io| *io)
    }

    fn put(&self, io: ServerIo) {
        *self.lock() = Some(Box::new(io));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Box<ServerIo>>> {
        // Every update is a single assignment: a poisoned lock is consistent.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What the next read does.
#[derive(Debug)]
enum State {
    /// Straight into hyper's buffer.
    Direct,
    /// Nothing decided yet: the first `len` bytes read, kept in `seen`, are a
    /// strict prefix of the preface and hyper has not had them. The socket
    /// goes to `to` if the rest of the preface follows.
    Sniffing {
        seen: [u8; PREFACE.len()],
        len: u8,
        to: Arc<Activity>,
    },
    /// Bytes already read from the socket, for hyper before any more.
    Replay(Replay),
}

/// A connection's socket, read and written by hyper (HTTP/1.1 or HTTP/2).
#[derive(Debug)]
pub(crate) struct ServerIo {
    stream: Option<TokioIo<TcpStream>>,
    state: State,
}

impl ServerIo {
    /// A socket for HTTP/1.1 only.
    pub(crate) fn http1(stream: TcpStream) -> Self {
        ServerIo {
            stream: Some(TokioIo::new(stream)),
            state: State::Direct,
        }
    }

    /// A socket for HTTP/1.1 that moves to `to` if it opens with the HTTP/2
    /// preface, leaving it in `to`'s [`Handoff`].
    pub(crate) fn sniffing(stream: TcpStream, to: Arc<Activity>) -> Self {
        ServerIo {
            stream: Some(TokioIo::new(stream)),
            state: State::Sniffing {
                seen: [0; PREFACE.len()],
                len: 0,
                to,
            },
        }
    }

    fn closed() -> io::Error {
        io::Error::new(io::ErrorKind::NotConnected, "the connection moved to HTTP/2")
    }
}

/// What a connection's first bytes say.
enum Sniffed {
    /// HTTP/1.1, or the end of the input: hyper has had the bytes read, or
    /// the ones it had no room for are to be replayed.
    Http1(Option<Replay>),
    /// The whole HTTP/2 preface, and these bytes (it and any after it) read.
    Http2(Vec<u8>),
}

/// Bytes read from the socket that hyper has yet to get.
#[derive(Debug)]
struct Replay {
    bytes: Vec<u8>,
    at: usize,
}

impl Replay {
    /// Gives hyper the next bytes, as many as `cursor` has room for; whether
    /// that was all of them.
    fn give(&mut self, cursor: &mut ReadBufCursor<'_>) -> bool {
        let n = cursor.remaining().min(self.bytes.len() - self.at);
        cursor.put_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        self.at == self.bytes.len()
    }
}

/// Reads until the bytes read, after the `len` of them in `seen`, are no
/// longer a strict prefix of the preface. Only the first read of an HTTP/1.1
/// connection goes through here (into a buffer on the stack, then copied).
fn sniff(
    stream: &mut TcpStream,
    seen: &mut [u8; PREFACE.len()],
    len: &mut u8,
    cx: &mut Context<'_>,
    cursor: &mut ReadBufCursor<'_>,
) -> Poll<io::Result<Sniffed>> {
    loop {
        let mut stack = [MaybeUninit::<u8>::uninit(); FIRST_READ];
        let room = cursor.remaining().min(FIRST_READ);
        let mut buf = tokio::io::ReadBuf::uninit(&mut stack[..room]);
        ready!(tokio::io::AsyncRead::poll_read(
            Pin::new(&mut *stream),
            cx,
            &mut buf
        ))?;
        let got = buf.filled();
        let before = usize::from(*len);
        let rest = &PREFACE[before..];
        let common = got.len().min(rest.len());
        let with_seen = || [&seen[..before], got].concat();
        if got.is_empty() || got[..common] != rest[..common] {
            // HTTP/1.1, or the end of the input.
            if before == 0 {
                cursor.put_slice(got);
                return Poll::Ready(Ok(Sniffed::Http1(None)));
            }
            let mut replay = Replay {
                bytes: with_seen(),
                at: 0,
            };
            let done = replay.give(cursor);
            return Poll::Ready(Ok(Sniffed::Http1((!done).then_some(replay))));
        }
        if common == rest.len() {
            return Poll::Ready(Ok(Sniffed::Http2(with_seen())));
        }
        // Still a strict prefix of the preface: read on.
        seen[before..before + common].copy_from_slice(got);
        *len += common as u8;
    }
}

impl Read for ServerIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut cursor: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(stream) = this.stream.as_mut() else {
            // Moved to HTTP/2: the end of HTTP/1's input.
            return Poll::Ready(Ok(()));
        };
        match &mut this.state {
            State::Direct => Pin::new(stream).poll_read(cx, cursor),
            State::Replay(replay) => {
                if replay.give(&mut cursor) {
                    this.state = State::Direct;
                }
                Poll::Ready(Ok(()))
            }
            State::Sniffing { seen, len, to } => {
                match ready!(sniff(stream.inner_mut(), seen, len, cx, &mut cursor))? {
                    Sniffed::Http1(None) => this.state = State::Direct,
                    Sniffed::Http1(Some(replay)) => this.state = State::Replay(replay),
                    Sniffed::Http2(bytes) => {
                        // hyper's HTTP/1 sees the end of its input and never
                        // writes; HTTP/2 gets the socket and every byte read.
                        let to = to.clone();
                        let moved = ServerIo {
                            stream: this.stream.take(),
                            state: State::Replay(Replay { bytes, at: 0 }),
                        };
                        this.state = State::Direct;
                        to.handoff.put(moved);
                    }
                }
                Poll::Ready(Ok(()))
            }
        }
    }
}

impl Write for ServerIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut().stream.as_mut() {
            Some(stream) => Pin::new(stream).poll_write(cx, buf),
            None => Poll::Ready(Err(Self::closed())),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().stream.as_mut() {
            Some(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            None => Poll::Ready(Err(Self::closed())),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.as_ref().is_some_and(Write::is_write_vectored)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream.as_mut() {
            Some(stream) => Pin::new(stream).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream.as_mut() {
            Some(stream) => Pin::new(stream).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    use super::*;

    /// A server socket (sniffing, with its activity) and its client.
    async fn pair() -> (ServerIo, Arc<Activity>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        client.set_nodelay(true).unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let activity = Arc::new(Activity::default());
        (ServerIo::sniffing(stream, activity.clone()), activity, client)
    }

    /// One read by hyper into a buffer of `room` bytes.
    async fn read(io: &mut ServerIo, room: usize) -> Vec<u8> {
        let mut raw = vec![0u8; room];
        let mut buf = hyper::rt::ReadBuf::new(&mut raw);
        let read = std::future::poll_fn(|cx| Pin::new(&mut *io).poll_read(cx, buf.unfilled()));
        tokio::time::timeout(Duration::from_secs(5), read)
            .await
            .expect("the read completes")
            .unwrap();
        buf.filled().to_vec()
    }

    /// Sends `bytes` and waits a little, so that they arrive as one piece.
    async fn send(client: &mut TcpStream, bytes: &[u8]) {
        client.write_all(bytes).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    #[tokio::test]
    async fn an_http1_request_reaches_hyper_whole_and_stays_http1() {
        let (mut io, activity, mut client) = pair().await;
        send(&mut client, b"GET / HTTP/1.1\r\n\r\n").await;
        assert_eq!(read(&mut io, 8192).await, b"GET / HTTP/1.1\r\n\r\n");
        assert!(matches!(io.state, State::Direct));
        send(&mut client, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
        assert_eq!(
            read(&mut io, 8192).await,
            PREFACE,
            "later bytes are not looked at"
        );
        assert!(activity.handoff.take().is_none());
    }

    #[tokio::test]
    async fn a_piece_of_the_preface_then_http1_is_given_to_hyper_in_order() {
        let (mut io, activity, mut client) = pair().await;
        let reading = tokio::spawn(async move {
            // Room for 4 bytes at a time: the replay spans reads.
            let mut got = Vec::new();
            while got.len() < 16 {
                got.extend(read(&mut io, 4).await);
            }
            (got, io)
        });
        send(&mut client, b"PR").await;
        send(&mut client, b"I").await;
        send(&mut client, b"NT / HTTP/1.1").await;
        let (got, io) = reading.await.unwrap();
        assert_eq!(got, b"PRINT / HTTP/1.1");
        assert!(activity.handoff.take().is_none());
        drop(io);
    }

    #[tokio::test]
    async fn the_end_of_the_input_inside_the_preface_gives_hyper_what_came() {
        let (mut io, activity, mut client) = pair().await;
        send(&mut client, b"PRI *").await;
        client.shutdown().await.unwrap();
        assert_eq!(read(&mut io, 8192).await, b"PRI *");
        assert_eq!(read(&mut io, 8192).await, b"", "then the end");
        assert!(activity.handoff.take().is_none());
    }

    #[tokio::test]
    async fn the_preface_moves_the_socket_and_every_byte_read() {
        let (mut io, activity, mut client) = pair().await;
        send(&mut client, &PREFACE[..5]).await;
        send(&mut client, &PREFACE[5..]).await;
        // hyper's HTTP/1 never sees a byte: the end of its input, then
        // nothing to write to.
        assert_eq!(read(&mut io, 8192).await, b"");
        assert!(io.stream.is_none());
        let written = std::future::poll_fn(|cx| Pin::new(&mut io).poll_write(cx, b"HTTP/1.1 400"));
        assert!(written.await.is_err());

        let mut moved = activity.handoff.take().expect("the socket moved");
        assert!(activity.handoff.take().is_none(), "taken once");
        send(&mut client, b"after").await;
        let mut got = Vec::new();
        while got.len() < PREFACE.len() + 5 {
            got.extend(read(&mut moved, 10).await);
        }
        assert_eq!(got, [&PREFACE[..], b"after"].concat());
        // The same socket: an answer reaches the client.
        std::future::poll_fn(|cx| Pin::new(&mut moved).poll_write(cx, b"ok"))
            .await
            .unwrap();
        let mut answer = [0u8; 2];
        tokio::io::AsyncReadExt::read_exact(&mut client, &mut answer)
            .await
            .unwrap();
        assert_eq!(&answer, b"ok");
    }
}
