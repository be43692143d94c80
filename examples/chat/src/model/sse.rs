//! Reading a provider's Server-Sent Events stream: bytes in, events out.
//!
//! The parser follows the WHATWG rules that matter for model APIs: lines end
//! with `\n`, `\r\n` or `\r` (also when split across reads), `data:` lines of one
//! event are joined with `\n`, comments (`: ping`) are skipped, a blank line
//! dispatches the event, and an event without data is dropped.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::model::{ModelError, TimeoutPhase};

/// The longest line accepted; a longer one is a protocol error, not an
/// unbounded buffer.
const MAX_LINE: usize = 4 * 1024 * 1024;

/// The longest time spent reading what follows a stream's final event.
const DRAIN_LIMIT: Duration = Duration::from_secs(1);

/// One received event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseMessage {
    /// The `event:` name, if any.
    pub(crate) event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub(crate) data: String,
}

/// An incremental SSE parser.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    skip_lf: bool,
    event: Option<String>,
    data: Vec<String>,
}

impl SseParser {
    /// Feeds bytes; complete events are appended to `out`.
    pub(crate) fn push(
        &mut self,
        mut chunk: &[u8],
        out: &mut VecDeque<SseMessage>,
    ) -> Result<(), ModelError> {
        if self.skip_lf {
            self.skip_lf = false;
            if chunk.first() == Some(&b'\n') {
                chunk = &chunk[1..];
            }
        }
        let mut start = 0;
        let mut i = 0;
        while i < chunk.len() {
            let byte = chunk[i];
            if byte == b'\n' || byte == b'\r' {
                self.line.extend_from_slice(&chunk[start..i]);
                let line = std::mem::take(&mut self.line);
                self.line_done(&line, out);
                if byte == b'\r' {
                    if i + 1 < chunk.len() {
                        if chunk[i + 1] == b'\n' {
                            i += 1;
                        }
                    } else {
                        self.skip_lf = true;
                    }
                }
                start = i + 1;
            }
            i += 1;
        }
        self.line.extend_from_slice(&chunk[start..]);
        if self.line.len() > MAX_LINE {
            return Err(ModelError::Protocol("an event stream line is too long".into()));
        }
        Ok(())
    }

    fn line_done(&mut self, line: &[u8], out: &mut VecDeque<SseMessage>) {
        if line.is_empty() {
            let event = self.event.take();
            if !self.data.is_empty() {
                out.push_back(SseMessage {
                    event,
                    data: std::mem::take(&mut self.data).join("\n"),
                });
            }
            return;
        }
        if line[0] == b':' {
            return;
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (&*line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => self.data.push(value.to_owned()),
            _ => {}
        }
    }
}

/// Reads events from a response body, with an idle timeout between reads.
pub(crate) struct EventReader {
    body: Incoming,
    parser: SseParser,
    queue: VecDeque<SseMessage>,
    idle: Duration,
    ended: bool,
}

impl EventReader {
    pub(crate) fn new(body: Incoming, idle: Duration) -> Self {
        EventReader {
            body,
            parser: SseParser::default(),
            queue: VecDeque::new(),
            idle,
            ended: false,
        }
    }

    /// Reads the rest of the body, for at most [`DRAIN_LIMIT`] (or the idle
    /// timeout, if shorter), discarding it. Called after the final event so a
    /// body read to its end hands its connection back to the pool instead of
    /// closing it.
    pub(crate) async fn drain(mut self) {
        let limit = DRAIN_LIMIT.min(self.idle);
        let _ = tokio::time::timeout(limit, async {
            while let Some(Ok(_)) = self.body.frame().await {}
        })
        .await;
    }

    /// The next event; `None` when the body ended.
    pub(crate) async fn next(&mut self) -> Result<Option<SseMessage>, ModelError> {
        loop {
            if let Some(message) = self.queue.pop_front() {
                return Ok(Some(message));
            }
            if self.ended {
                return Ok(None);
            }
            let frame = match tokio::time::timeout(self.idle, self.body.frame()).await {
                Err(_) => return Err(ModelError::Timeout(TimeoutPhase::Idle)),
                Ok(None) => {
                    self.ended = true;
                    continue;
                }
                Ok(Some(Err(error))) => {
                    return Err(ModelError::Protocol(format!("the stream broke off: {error}")));
                }
                Ok(Some(Ok(frame))) => frame,
            };
            if let Ok(data) = frame.into_data() {
                let data: Bytes = data;
                self.parser.push(&data, &mut self.queue)?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&[u8]]) -> Vec<SseMessage> {
        let mut parser = SseParser::default();
        let mut out = VecDeque::new();
        for chunk in chunks {
            parser.push(chunk, &mut out).unwrap();
        }
        out.into_iter().collect()
    }

    fn msg(event: Option<&str>, data: &str) -> SseMessage {
        SseMessage {
            event: event.map(str::to_owned),
            data: data.to_owned(),
        }
    }

    #[test]
    fn named_events_and_multi_line_data() {
        let got = parse(&[b"event: message_start\ndata: {\"a\":1}\n\n: ping\n\ndata: x\ndata: y\n\n"]);
        assert_eq!(got, [msg(Some("message_start"), "{\"a\":1}"), msg(None, "x\ny")]);
    }

    #[test]
    fn lines_split_across_reads_and_every_line_ending() {
        let got = parse(&[
            b"event: de",
            b"lta\r",
            b"\ndata:no-space\r",
            b"\r",
            b"data: a\rdata: b\r\r",
        ]);
        assert_eq!(got, [msg(Some("delta"), "no-space"), msg(None, "a\nb")]);
        // The `\r` at the end of a read followed by `\n` is one line ending.
        let got = parse(&[b"data: 1\r", b"\n\r", b"\n"]);
        assert_eq!(got, [msg(None, "1")]);
    }

    #[test]
    fn events_without_data_and_incomplete_events_are_dropped() {
        assert!(parse(&[b"event: ping\n\n", b"data: never finished"]).is_empty());
    }

    #[test]
    fn utf8_split_inside_a_character_survives() {
        let text = "data: héllo\n\n".as_bytes();
        let (a, b) = text.split_at(8);
        assert_eq!(parse(&[a, b]), [msg(None, "héllo")]);
    }
}
