//! A minimal HTTP/1.1 keep-alive client on a tokio `TcpStream`: write a
//! prepared request, read the head with `httparse`, then a `Content-Length` or
//! chunked body. Small and allocation-light, so the load generator takes as
//! little of the shared CPU as it can.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One request, serialized once and written as is on every send.
#[derive(Clone, Debug)]
pub(crate) struct Prepared(pub(crate) std::sync::Arc<[u8]>);

impl Prepared {
    pub(crate) fn get(path: &str) -> Self {
        Prepared(
            format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
                .into_bytes()
                .into(),
        )
    }

    pub(crate) fn post_json(path: &str, body: &str) -> Self {
        Prepared(
            format!(
                "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
            .into(),
        )
    }
}

enum Framing {
    Length(usize),
    Chunked,
}

/// A response head.
pub(crate) struct Head {
    pub(crate) status: u16,
    framing: Framing,
}

/// What an SSE body delivered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamOutcome {
    /// When the first complete event (blank-line terminated) arrived.
    pub(crate) first_event: Option<Instant>,
    /// Events received (blank-line terminated blocks).
    pub(crate) events: usize,
    /// Whether `[DONE]` was seen.
    pub(crate) done: bool,
}

/// One keep-alive connection.
pub(crate) struct Conn {
    stream: TcpStream,
    buf: BytesMut,
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

impl Conn {
    pub(crate) async fn connect(addr: SocketAddr) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: BytesMut::with_capacity(8 * 1024),
        })
    }

    pub(crate) async fn send(&mut self, request: &Prepared) -> io::Result<()> {
        self.stream.write_all(&request.0).await
    }

    async fn fill(&mut self) -> io::Result<()> {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(8 * 1024);
        }
        match self.stream.read_buf(&mut self.buf).await? {
            0 => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed by the server",
            )),
            _ => Ok(()),
        }
    }

    pub(crate) async fn read_head(&mut self) -> io::Result<Head> {
        loop {
            let parsed = {
                let mut headers = [httparse::EMPTY_HEADER; 32];
                let mut response = httparse::Response::new(&mut headers);
                match response.parse(&self.buf) {
                    Ok(httparse::Status::Complete(len)) => {
                        let status = response.code.unwrap_or(0);
                        let mut framing = Framing::Length(0);
                        for header in response.headers.iter() {
                            if header.name.eq_ignore_ascii_case("content-length") {
                                let text = std::str::from_utf8(header.value)
                                    .map_err(|_| invalid("content-length"))?;
                                framing = Framing::Length(
                                    text.trim().parse().map_err(|_| invalid("content-length"))?,
                                );
                            } else if header.name.eq_ignore_ascii_case("transfer-encoding")
                                && header
                                    .value
                                    .windows(7)
                                    .any(|w| w.eq_ignore_ascii_case(b"chunked"))
                            {
                                framing = Framing::Chunked;
                            }
                        }
                        Some((len, status, framing))
                    }
                    Ok(httparse::Status::Partial) => None,
                    Err(e) => return Err(invalid(format!("bad response head: {e}"))),
                }
            };
            match parsed {
                Some((len, status, framing)) => {
                    self.buf.advance(len);
                    if (100..200).contains(&status) {
                        continue;
                    }
                    return Ok(Head { status, framing });
                }
                None => self.fill().await?,
            }
        }
    }

    /// Reads a whole response; the body is returned only when `keep` is set.
    pub(crate) async fn read_response(&mut self, keep: bool) -> io::Result<(u16, Vec<u8>)> {
        let head = self.read_head().await?;
        let mut body = Vec::new();
        match head.framing {
            Framing::Length(len) => {
                while self.buf.len() < len {
                    self.fill().await?;
                }
                if keep {
                    body.extend_from_slice(&self.buf[..len]);
                }
                self.buf.advance(len);
            }
            Framing::Chunked => {
                self.read_chunks(|data| {
                    if keep {
                        body.extend_from_slice(data);
                    }
                })
                .await?;
            }
        }
        Ok((head.status, body))
    }

    /// Reads a chunked body, handing each chunk's data to `on_data` as it arrives.
    async fn read_chunks(&mut self, mut on_data: impl FnMut(&[u8])) -> io::Result<()> {
        loop {
            let Some(line_end) = self.buf.windows(2).position(|w| w == b"\r\n") else {
                self.fill().await?;
                continue;
            };
            let line = std::str::from_utf8(&self.buf[..line_end]).map_err(|_| invalid("chunk size"))?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16).map_err(|_| invalid("chunk size"))?;
            if size == 0 {
                // Last chunk, no trailers expected: `0\r\n\r\n`.
                while self.buf.len() < line_end + 4 {
                    self.fill().await?;
                }
                self.buf.advance(line_end + 4);
                return Ok(());
            }
            while self.buf.len() < line_end + 2 + size + 2 {
                self.fill().await?;
            }
            on_data(&self.buf[line_end + 2..line_end + 2 + size]);
            self.buf.advance(line_end + 2 + size + 2);
        }
    }

    /// Reads an SSE response after its head: counts events, notes when the
    /// first one arrived and whether `[DONE]` came.
    pub(crate) async fn read_events(&mut self, head: &Head) -> io::Result<StreamOutcome> {
        let mut outcome = StreamOutcome {
            first_event: None,
            events: 0,
            done: false,
        };
        let mut last = 0u8;
        let mut count = |data: &[u8]| {
            for &b in data {
                if b == b'\n' && last == b'\n' {
                    outcome.events += 1;
                    if outcome.first_event.is_none() {
                        outcome.first_event = Some(Instant::now());
                    }
                }
                last = b;
            }
            if !outcome.done && data.windows(6).any(|w| w == b"[DONE]") {
                outcome.done = true;
            }
        };
        match head.framing {
            Framing::Chunked => self.read_chunks(&mut count).await?,
            Framing::Length(len) => {
                while self.buf.len() < len {
                    self.fill().await?;
                }
                count(&self.buf[..len]);
                self.buf.advance(len);
            }
        }
        Ok(outcome)
    }
}
