//! The GA/T 467 frame codec, with resynchronisation after garbage.

pub const PREAMBLE: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];
/// The largest answer a reader sends (read with fingerprint data), with margin.
pub const MAX_BODY: usize = 4096;

/// Request frame for `cmd para data`.
pub fn encode_request(cmd: u8, para: u8, data: &[u8]) -> Vec<u8> {
    let len = (data.len() + 3) as u16;
    let mut f = PREAMBLE.to_vec();
    f.extend_from_slice(&len.to_be_bytes());
    f.push(cmd);
    f.push(para);
    f.extend_from_slice(data);
    let chk = f[5..].iter().fold(0u8, |a, b| a ^ b);
    f.push(chk);
    f
}

/// Answer frame (readers and the test emulator build these).
pub fn encode_answer(sw3: u8, data: &[u8]) -> Vec<u8> {
    let len = (data.len() + 4) as u16;
    let mut f = PREAMBLE.to_vec();
    f.extend_from_slice(&len.to_be_bytes());
    f.extend_from_slice(&[0x00, 0x00, sw3]);
    f.extend_from_slice(data);
    let chk = f[5..].iter().fold(0u8, |a, b| a ^ b);
    f.push(chk);
    f
}

/// The documented SW3 status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sw3 {
    /// 90: success
    Ok,
    /// 9F: find card succeeded
    FindOk,
    /// 10: the reader got a frame with a bad checksum
    HostChecksum,
    /// 11: the reader got a frame with a bad length
    HostLength,
    /// 21: unknown command
    Command,
    /// 24: not authorised
    Unauthorised,
    /// 31: card authenticating the SAM failed
    CardAuth,
    /// 32: SAM authenticating the card failed
    SamAuth,
    /// 33: information verification failed
    Verify,
    /// 40: unknown card type
    CardType,
    /// 41: reading the card failed
    ReadCard,
    /// 47: taking a random number failed
    Random,
    /// 60: SAM self-test failed
    SelfTest,
    /// 66: SAM not authorised
    SamUnauthorised,
    /// 80: no card found
    FindFailed,
    /// 81: selecting the card failed
    SelectFailed,
    Other(u8),
}

impl Sw3 {
    pub fn from_byte(b: u8) -> Sw3 {
        match b {
            0x90 => Sw3::Ok,
            0x9F => Sw3::FindOk,
            0x10 => Sw3::HostChecksum,
            0x11 => Sw3::HostLength,
            0x21 => Sw3::Command,
            0x24 => Sw3::Unauthorised,
            0x31 => Sw3::CardAuth,
            0x32 => Sw3::SamAuth,
            0x33 => Sw3::Verify,
            0x40 => Sw3::CardType,
            0x41 => Sw3::ReadCard,
            0x47 => Sw3::Random,
            0x60 => Sw3::SelfTest,
            0x66 => Sw3::SamUnauthorised,
            0x80 => Sw3::FindFailed,
            0x81 => Sw3::SelectFailed,
            other => Sw3::Other(other),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("more bytes are needed")]
    Incomplete,
    #[error("frame checksum mismatch")]
    Checksum,
    #[error("frame length {0} is impossible")]
    Length(usize),
}

/// A decoded answer: its status and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub sw3: Sw3,
    pub data: Vec<u8>,
}

/// Looks for one answer frame in `buf`. Returns the answer (or the frame's error) and how many
/// bytes to drop from the front: garbage before a preamble is skipped, a bad frame is dropped
/// whole, so the next call starts in sync.
pub fn decode_frame(buf: &[u8]) -> (Result<Answer, FrameError>, usize) {
    let Some(start) = buf.windows(PREAMBLE.len()).position(|w| w == PREAMBLE) else {
        // Keep a possible partial preamble at the end.
        let keep = (1..PREAMBLE.len())
            .rev()
            .find(|k| buf.len() >= *k && buf[buf.len() - k..] == PREAMBLE[..*k])
            .unwrap_or(0);
        return (Err(FrameError::Incomplete), buf.len() - keep);
    };
    let rest = &buf[start..];
    if rest.len() < 7 {
        return (Err(FrameError::Incomplete), start);
    }
    let len = u16::from_be_bytes([rest[5], rest[6]]) as usize;
    if !(4..=MAX_BODY).contains(&len) {
        // Not a real frame: skip this preamble and resynchronise on the next one.
        return (Err(FrameError::Length(len)), start + 1);
    }
    if rest.len() < 7 + len {
        return (Err(FrameError::Incomplete), start);
    }
    let frame = &rest[..7 + len];
    let chk = frame[5..frame.len() - 1].iter().fold(0u8, |a, b| a ^ b);
    let consumed = start + frame.len();
    if chk != frame[frame.len() - 1] {
        return (Err(FrameError::Checksum), consumed);
    }
    let body = &frame[7..frame.len() - 1];
    (
        Ok(Answer {
            sw3: Sw3::from_byte(body[2]),
            data: body[3..].to_vec(),
        }),
        consumed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_frames_match_the_standard_find_card() {
        // The find-card request every GA/T 467 document shows.
        assert_eq!(
            encode_request(0x20, 0x01, &[]),
            vec![0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x20, 0x01, 0x22]
        );
        assert_eq!(
            encode_request(0x20, 0x02, &[]),
            vec![0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x20, 0x02, 0x21]
        );
        assert_eq!(
            encode_request(0x30, 0x01, &[]),
            vec![0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x30, 0x01, 0x32]
        );
    }

    #[test]
    fn answers_round_trip_and_resync_after_garbage() {
        let mut buf = vec![0x00, 0xAA, 0x13, 0x96];
        buf.extend(encode_answer(0x9F, &[0, 0, 0, 0]));
        buf.extend(encode_answer(0x90, b"hello"));
        let (a, n) = decode_frame(&buf);
        assert_eq!(a.unwrap().sw3, Sw3::FindOk);
        let (b, m) = decode_frame(&buf[n..]);
        assert_eq!(
            b.unwrap(),
            Answer {
                sw3: Sw3::Ok,
                data: b"hello".to_vec()
            }
        );
        assert_eq!(n + m, buf.len());
    }

    #[test]
    fn checksum_errors_and_short_frames() {
        let mut f = encode_answer(0x90, &[1, 2, 3]);
        let last = f.len() - 1;
        f[last] ^= 0xFF;
        let (r, n) = decode_frame(&f);
        assert_eq!(r, Err(FrameError::Checksum));
        assert_eq!(n, f.len(), "the bad frame is dropped whole");
        let good = encode_answer(0x90, &[1, 2, 3]);
        let (r, n) = decode_frame(&good[..8]);
        assert_eq!(r, Err(FrameError::Incomplete));
        assert_eq!(n, 0, "a partial frame is kept");
        let (r, _) = decode_frame(&[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0xFF, 0xFF, 0]);
        assert_eq!(r, Err(FrameError::Length(0xFFFF)));
    }

    #[test]
    fn partial_preamble_is_kept_for_the_next_read() {
        let (r, n) = decode_frame(&[1, 2, 3, 0xAA, 0xAA]);
        assert_eq!(r, Err(FrameError::Incomplete));
        assert_eq!(n, 3);
    }

    #[test]
    fn sw3_codes_are_typed() {
        for (b, s) in [
            (0x90, Sw3::Ok),
            (0x9F, Sw3::FindOk),
            (0x80, Sw3::FindFailed),
            (0x81, Sw3::SelectFailed),
            (0x41, Sw3::ReadCard),
            (0x24, Sw3::Unauthorised),
        ] {
            assert_eq!(Sw3::from_byte(b), s);
        }
        assert_eq!(Sw3::from_byte(0x55), Sw3::Other(0x55));
    }
}
