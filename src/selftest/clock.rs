//! A minimal SNTP client (RFC 4330): one request, one answer, the clock offset and the round
//! trip. Enough to tell a technician that the kiosk's clock is off; setting the clock is the
//! system's job (systemd-timesyncd or chrony on the image).

use std::net::{ToSocketAddrs, UdpSocket};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds from 1900-01-01 (NTP's era 0) to 1970-01-01.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// What one server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SntpAnswer {
    pub server: String,
    /// The server's time minus ours, in ms (positive: our clock is behind).
    pub offset_ms: i64,
    /// The round trip, in ms.
    pub delay_ms: i64,
}

/// An NTP timestamp (seconds since 1900 in the high 32 bits, fraction in the low) as ms since
/// the Unix epoch.
fn ntp_to_unix_ms(ts: u64) -> i64 {
    let secs = (ts >> 32) as i64 - NTP_UNIX_OFFSET as i64;
    let frac_ms = (((ts & 0xffff_ffff) * 1000) >> 32) as i64;
    secs * 1000 + frac_ms
}

fn unix_to_ntp(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() + NTP_UNIX_OFFSET;
    let frac = ((d.subsec_nanos() as u64) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Asks `server` ("host" or "host:port", port 123 by default) for the time, waiting at most
/// `timeout` for the answer.
pub fn sntp_offset(server: &str, timeout: Duration) -> Result<SntpAnswer, String> {
    let target = if server.contains(':') {
        server.to_string()
    } else {
        format!("{server}:123")
    };
    let addr = target
        .to_socket_addrs()
        .map_err(|e| format!("{server}: cannot resolve: {e}"))?
        .next()
        .ok_or_else(|| format!("{server}: no address"))?;
    let bind = if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let sock = UdpSocket::bind(bind).map_err(|e| format!("{server}: {e}"))?;
    sock.set_read_timeout(Some(timeout))
        .map_err(|e| format!("{server}: {e}"))?;
    let mut req = [0u8; 48];
    // LI 0, version 4, mode 3 (client).
    req[0] = 0x23;
    let t1 = unix_to_ntp(SystemTime::now());
    req[40..48].copy_from_slice(&t1.to_be_bytes());
    let t1_ms = ntp_to_unix_ms(t1);
    sock.send_to(&req, addr)
        .map_err(|e| format!("{server}: {e}"))?;
    let mut buf = [0u8; 68];
    loop {
        let (n, from) = sock.recv_from(&mut buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                format!("{server}: no answer within {} ms", timeout.as_millis())
            }
            _ => format!("{server}: {e}"),
        })?;
        let t4_ms = now_ms();
        if from != addr || n < 48 {
            continue;
        }
        let be = |i: usize| u64::from_be_bytes(buf[i..i + 8].try_into().expect("8 bytes"));
        if buf[0] & 0x07 != 4 || be(24) != t1 {
            // Not a server's answer to this request.
            continue;
        }
        if buf[1] == 0 {
            return Err(format!("{server}: refused (kiss-o'-death)"));
        }
        let (t2_ms, t3_ms) = (ntp_to_unix_ms(be(32)), ntp_to_unix_ms(be(40)));
        return Ok(SntpAnswer {
            server: server.to_string(),
            offset_ms: ((t2_ms - t1_ms) + (t3_ms - t4_ms)) / 2,
            delay_ms: (t4_ms - t1_ms) - (t3_ms - t2_ms),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server's answer to `req` from a clock `offset` ahead of ours.
    fn answer_for(req: &[u8], offset: Duration) -> [u8; 48] {
        let ts = unix_to_ntp(SystemTime::now() + offset);
        let mut a = [0u8; 48];
        a[0] = 0x24;
        a[1] = 2;
        a[24..32].copy_from_slice(&req[40..48]);
        a[32..40].copy_from_slice(&ts.to_be_bytes());
        a[40..48].copy_from_slice(&ts.to_be_bytes());
        a
    }

    #[test]
    fn offset_from_a_server_ahead_of_us() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 68];
            let (n, from) = server.recv_from(&mut buf).unwrap();
            let a = answer_for(&buf[..n], Duration::from_millis(1500));
            server.send_to(&a, from).unwrap();
        });
        let a = sntp_offset(&addr.to_string(), Duration::from_secs(2)).unwrap();
        assert!((1400..1600).contains(&a.offset_ms), "{a:?}");
        assert!(a.delay_ms < 200, "{a:?}");
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let e = sntp_offset(
            &silent.local_addr().unwrap().to_string(),
            Duration::from_millis(100),
        )
        .unwrap_err();
        assert!(e.contains("no answer"), "{e}");
    }
}
