//! Lines out of BLE notifications: a notification carries at most an MTU's worth of bytes, so one protocol line may
//! be split over several notifications and one notification may hold several lines (or garbage). The assembler
//! joins the pieces and cuts at `\n`; a run of more than [`MAX_LINE_BYTES`] without a newline is dropped (counted
//! by the caller) up to the next newline, so a device that never sends one cannot grow memory.

pub use crate::source::protocol::MAX_LINE_BYTES;

/// One piece of output of the assembler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assembled {
    /// A complete line, without `\n` or `\r\n` (raw bytes: the decoder judges UTF-8 and content).
    Line(Vec<u8>),
    /// A line longer than [`MAX_LINE_BYTES`] was dropped.
    Overlong,
}

/// Joins notification payloads into lines.
#[derive(Debug, Default)]
pub struct LineAssembler {
    buf: Vec<u8>,
    /// True while skipping the rest of an over-long line (until the next `\n`).
    skipping: bool,
}

impl LineAssembler {
    pub fn new() -> Self {
        LineAssembler::default()
    }

    /// Forgets a partial line (after a reconnect the rest of it will never come).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.skipping = false;
    }

    /// Bytes of the line not yet ended.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Feeds one notification's payload; calls `emit` for every line it completes, in order.
    pub fn push(&mut self, data: &[u8], mut emit: impl FnMut(Assembled)) {
        for piece in data.split_inclusive(|&b| b == b'\n') {
            let (body, ended) = match piece.strip_suffix(b"\n") {
                Some(body) => (body, true),
                None => (piece, false),
            };
            if !self.skipping {
                if self.buf.len() + body.len() > MAX_LINE_BYTES + 1 {
                    // +1: a trailing `\r` of a `\r\n` split from its `\n` is not part of the line's length.
                    self.buf.clear();
                    self.skipping = true;
                    emit(Assembled::Overlong);
                } else {
                    self.buf.extend_from_slice(body);
                }
            }
            if ended {
                if self.skipping {
                    self.skipping = false;
                } else {
                    if self.buf.last() == Some(&b'\r') {
                        self.buf.pop();
                    }
                    if self.buf.len() > MAX_LINE_BYTES {
                        emit(Assembled::Overlong);
                    } else {
                        emit(Assembled::Line(std::mem::take(&mut self.buf)));
                    }
                    self.buf.clear();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(a: &mut LineAssembler, data: &[u8]) -> Vec<Assembled> {
        let mut out = Vec::new();
        a.push(data, |x| out.push(x));
        out
    }

    fn line(s: &str) -> Assembled {
        Assembled::Line(s.as_bytes().to_vec())
    }

    #[test]
    fn a_line_split_over_notifications_is_joined() {
        let mut a = LineAssembler::new();
        assert!(feed(&mut a, b"12,0.1,0.").is_empty());
        assert!(feed(&mut a, b"2,0.3,1,2").is_empty());
        assert_eq!(feed(&mut a, b",3\r\n"), vec![line("12,0.1,0.2,0.3,1,2,3")]);
        assert_eq!(a.pending(), 0);
    }

    #[test]
    fn several_lines_in_one_notification_come_out_in_order() {
        let mut a = LineAssembler::new();
        assert_eq!(feed(&mut a, b"a\nb\r\nc"), vec![line("a"), line("b")]);
        assert_eq!(feed(&mut a, b"\n"), vec![line("c")]);
    }

    #[test]
    fn a_crlf_split_between_notifications_is_one_line_ending() {
        let mut a = LineAssembler::new();
        assert!(feed(&mut a, b"x,1\r").is_empty());
        assert_eq!(feed(&mut a, b"\ny\n"), vec![line("x,1"), line("y")]);
    }

    #[test]
    fn garbage_passes_as_a_line_for_the_decoder_to_count() {
        let mut a = LineAssembler::new();
        assert_eq!(feed(&mut a, b"\xff\xfe\x00zz\n1\n"), vec![Assembled::Line(b"\xff\xfe\x00zz".to_vec()), line("1")]);
    }

    #[test]
    fn an_overlong_line_is_dropped_once_and_the_next_line_survives() {
        let mut a = LineAssembler::new();
        let mut out = Vec::new();
        for _ in 0..100 {
            out.extend(feed(&mut a, &[b'7'; 20]));
        }
        assert_eq!(out, vec![Assembled::Overlong]);
        assert!(a.pending() <= MAX_LINE_BYTES + 1);
        assert_eq!(feed(&mut a, b"tail\nok\n"), vec![line("ok")]);
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_kept_and_one_more_byte_is_not() {
        let mut a = LineAssembler::new();
        let exact = vec![b'1'; MAX_LINE_BYTES];
        let mut data = exact.clone();
        data.extend_from_slice(b"\r\n");
        assert_eq!(feed(&mut a, &data), vec![Assembled::Line(exact)]);
        let mut long = vec![b'1'; MAX_LINE_BYTES + 1];
        long.push(b'\n');
        assert_eq!(feed(&mut a, &long), vec![Assembled::Overlong]);
        assert_eq!(feed(&mut a, b"2\n"), vec![line("2")]);
    }

    #[test]
    fn reset_forgets_a_partial_line() {
        let mut a = LineAssembler::new();
        assert!(feed(&mut a, b"half").is_empty());
        a.reset();
        assert_eq!(feed(&mut a, b"whole\n"), vec![line("whole")]);
    }
}
