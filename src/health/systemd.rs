//! The service manager's side of the health gate: `sd_notify(3)` over `$NOTIFY_SOCKET` (a unix
//! datagram socket, `@name` for the abstract namespace). `READY=1` once the kiosk is up and its
//! devices checked (a unit with `Type=notify` counts a start as failed without it), and
//! `WATCHDOG=1` from the kiosk task's loop at half of `$WATCHDOG_USEC` (a hung task is killed
//! and restarted). Outside systemd nothing is sent.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

/// Sends `state` (e.g. `READY=1`) to the service manager, if there is one.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let sent = (|| -> std::io::Result<()> {
        let socket = UnixDatagram::unbound()?;
        let bytes = path.as_encoded_bytes();
        if let Some(name) = bytes.strip_prefix(b"@") {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(state.as_bytes(), &addr)?;
        } else {
            socket.send_to(state.as_bytes(), &path)?;
        }
        Ok(())
    })();
    if let Err(e) = sent {
        tracing::warn!(error = %e, state, "cannot notify the service manager");
    }
}

/// Watchdog pings at half the interval the service manager asked for.
pub struct Watchdog {
    every: Option<Duration>,
    last: Option<Instant>,
}

impl Watchdog {
    /// From `$WATCHDOG_USEC` (and `$WATCHDOG_PID`, when it names another process: not ours).
    pub fn from_env() -> Watchdog {
        let ours = std::env::var("WATCHDOG_PID")
            .ok()
            .and_then(|p| p.parse::<u32>().ok())
            .is_none_or(|pid| pid == std::process::id());
        let every = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|u| u.parse::<u64>().ok())
            .filter(|_| ours)
            .map(|usec| Duration::from_micros(usec / 2));
        Watchdog { every, last: None }
    }

    /// Pings when half the interval has passed since the last ping.
    pub fn ping_if_due(&mut self) {
        let Some(every) = self.every else { return };
        if self.last.is_none_or(|l| l.elapsed() >= every) {
            notify("WATCHDOG=1");
            self.last = Some(Instant::now());
        }
    }
}
