//! The system checks: the clock, the data folder and the cloud.

use super::clock::sntp_offset;
use super::{Check, ClockCheck, CloudCheck, StorageCheck};
use crate::cloud::{CloudClient, CloudError};
use crate::config::ClockSection;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Below this the kiosk cannot be trusted to spool and queue residents' paper and submissions.
const STORAGE_FAIL_MB: u64 = 200;
/// Below this a technician is told to make room.
const STORAGE_WARN_MB: u64 = 1024;

/// Asks the configured SNTP servers side by side (a name that does not resolve must not hold
/// up the others) and takes the first answer in the configured order that came within 2 s.
pub fn check_clock(section: &ClockSection) -> ClockCheck {
    if section.ntp_servers.is_empty() {
        return ClockCheck {
            check: Check::warn(
                None,
                "no time server configured (clock.ntp_servers)",
                "set clock.ntp_servers to the street office's time servers",
            )
            .problem("clock.no_server"),
            offset_ms: None,
        };
    }
    let (tx, rx) = std::sync::mpsc::channel();
    for (i, server) in section.ntp_servers.iter().enumerate() {
        let (tx, server) = (tx.clone(), server.clone());
        // Detached: a resolver stuck on a dead DNS server ends on its own; nobody waits for it.
        std::thread::spawn(move || {
            let _ = tx.send((i, sntp_offset(&server, Duration::from_millis(1500))));
        });
    }
    drop(tx);
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut answers = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(a) => answers.push(a),
            Err(_) => break,
        }
    }
    answers.sort_by_key(|(i, _)| *i);
    let errors: Vec<String> = answers
        .iter()
        .filter_map(|(_, a)| a.as_ref().err().cloned())
        .collect();
    match answers.into_iter().find_map(|(_, a)| a.ok()) {
        Some(a) if a.offset_ms.unsigned_abs() <= section.max_offset_ms => ClockCheck {
            check: Check::pass(
                Some(a.server.clone()),
                format!(
                    "the clock is {} ms off {} (round trip {} ms)",
                    a.offset_ms, a.server, a.delay_ms
                ),
            ),
            offset_ms: Some(a.offset_ms),
        },
        Some(a) => ClockCheck {
            check: Check::warn(
                Some(a.server.clone()),
                format!(
                    "the clock is {} ms off {} (more than clock.max_offset_ms = {})",
                    a.offset_ms, a.server, section.max_offset_ms
                ),
                "check that time sync runs (timedatectl status) and reaches the time server; receipts carry this clock's time",
            )
            .problem("clock.off"),
            offset_ms: Some(a.offset_ms),
        },
        None => ClockCheck {
            check: Check::warn(
                None,
                format!(
                    "no time server answered: {}",
                    if errors.is_empty() {
                        "none within 2 s".to_string()
                    } else {
                        errors.join("; ")
                    }
                ),
                "check clock.ntp_servers and that UDP port 123 is open to them",
            )
            .problem("clock.no_answer"),
            offset_ms: None,
        },
    }
}

/// Free space for the kiosk user in `dir`'s file system, in MB.
pub fn free_mb(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: statvfs fills the zeroed struct we own from a NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((st.f_bavail as u64).saturating_mul(st.f_frsize as u64) / (1024 * 1024))
}

/// Free space, and durability: a file written, fsynced, read back and removed, and the folder
/// fsynced (what the spool and the outbox rely on to survive a power cut).
pub fn check_storage(dir: &Path) -> StorageCheck {
    let found = Some(dir.display().to_string());
    let free = match free_mb(dir) {
        Ok(f) => f,
        Err(e) => {
            return StorageCheck {
                check: Check::fail(
                    found,
                    format!("cannot read the data folder's file system: {e}"),
                    "check that the data folder exists (--data-dir) and its disk is mounted",
                )
                .required(true),
                free_mb: None,
            }
        }
    };
    let started = Instant::now();
    if let Err(e) = durable_write(dir) {
        return StorageCheck {
            check: Check::fail(
                found,
                format!("writing with fsync in the data folder failed: {e}"),
                "check the folder's owner and permissions (the kiosk user writes it) and the disk (dmesg for I/O errors; a read-only root needs the data partition mounted)",
            )
            .required(true),
            free_mb: Some(free),
        };
    }
    let fsync_ms = started.elapsed().as_millis();
    let check = if free < STORAGE_FAIL_MB {
        Check::fail(
            found,
            format!("only {free} MB free (at least {STORAGE_FAIL_MB} MB are needed)"),
            "make room on the data partition (old logs, stray files) or give it a larger disk",
        )
    } else if free < STORAGE_WARN_MB {
        Check::warn(
            found,
            format!("{free} MB free; write, fsync and read back took {fsync_ms} ms"),
            format!("less than {STORAGE_WARN_MB} MB free: make room on the data partition soon"),
        )
        .problem("storage.low")
    } else {
        Check::pass(
            found,
            format!("{free} MB free; write, fsync and read back took {fsync_ms} ms"),
        )
    };
    StorageCheck {
        check: check.required(true),
        free_mb: Some(free),
    }
}

fn durable_write(dir: &Path) -> std::io::Result<()> {
    let path = dir.join(format!(".selftest-{}", std::process::id()));
    let data: Vec<u8> = (0..64 * 1024u32).map(|i| (i * 31 % 251) as u8).collect();
    let result = (|| {
        let mut f = std::fs::File::create(&path)?;
        f.write_all(&data)?;
        f.sync_all()?;
        drop(f);
        std::fs::File::open(dir)?.sync_all()?;
        let mut back = Vec::new();
        std::fs::File::open(&path)?.read_to_end(&mut back)?;
        if back != data {
            return Err(std::io::Error::other(
                "the file read back differs from what was written",
            ));
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    result
}

/// The cloud reached: with the device token, the catalogue (`enrolled`); without, any answer
/// from the API (a 401 proves it is there). Plain HTTP is a warning: a real cloud is HTTPS.
pub async fn check_cloud(client: &CloudClient, url: &str, enrolled: bool) -> CloudCheck {
    let found = Some(url.to_string());
    let started = Instant::now();
    let answer = client.catalog().await;
    let latency = started.elapsed().as_millis() as u64;
    let tls = url.starts_with("https://");
    let reached = |what: &str| {
        let detail = format!(
            "{what} in {latency} ms over {}",
            if tls { "TLS (https)" } else { "plain HTTP" }
        );
        if tls {
            Check::pass(found.clone(), detail)
        } else {
            Check::warn(
                found.clone(),
                detail,
                "a government cloud is reached over https://; plain http:// is for a simulator or a test cloud",
            )
            .problem("cloud.plain_http")
        }
    };
    let check = match answer {
        Ok(c) if enrolled => reached(&format!(
            "the catalogue ({} services) was read with the device token",
            c.services.len()
        )),
        Ok(_) => reached("the cloud answered"),
        Err(CloudError::Problem(p)) if p.status == 401 && !enrolled => {
            reached("the cloud answered (not enrolled yet, so nothing was read)")
        }
        Err(CloudError::Problem(p)) if p.status == 401 => Check::fail(
            found,
            "the cloud refused this kiosk's device token (401)",
            "the kiosk may have been removed from the fleet, or this is another cloud than the one it enrolled with: check cloud.url; to enrol again, move the data folder's bianmin.db aside and provision with a new code",
        )
        .problem("cloud.token_refused"),
        Err(CloudError::Problem(p)) => Check::fail(
            found,
            format!("the cloud refused: {} {} ({})", p.status, p.code, p.title),
            "check the cloud URL; if it persists, tell the street office",
        )
        .problem("cloud.refused"),
        Err(CloudError::Unreachable(e)) => {
            let tls_trouble = ["certificate", "tls", "handshake"]
                .iter()
                .any(|w| e.to_lowercase().contains(w));
            Check::fail(
                found,
                format!("the cloud cannot be reached: {e}"),
                if tls_trouble {
                    "the TLS handshake failed: check the kiosk's clock (certificates need the right date) and the CA certificates"
                } else {
                    "check the network cable or Wi-Fi, DNS, any proxy or firewall, and the URL (--cloud / cloud.url)"
                },
            )
            .problem(if tls_trouble { "cloud.tls" } else { "cloud.unreachable" })
        }
        Err(CloudError::Timeout(ms)) => Check::fail(
            found,
            format!("the cloud did not answer within {ms} ms"),
            "check the network's quality and any proxy; cloud.timeout_ms sets how long calls wait",
        )
        .problem("cloud.unreachable"),
        Err(CloudError::Malformed(e)) => Check::fail(
            found,
            format!("something answered that is not the cloud API: {e}"),
            "check the URL: a proxy, captive portal or another web server answered",
        )
        .problem("cloud.not_api"),
    };
    CloudCheck {
        check: check.required(true),
        latency_ms: Some(latency),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_is_measured_and_written_durably() {
        let dir = tempfile::tempdir().unwrap();
        let s = check_storage(dir.path());
        assert!(s.free_mb.unwrap() > 0);
        assert!(s.check.required);
        assert!(s.check.detail.contains("fsync"), "{}", s.check.detail);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing left behind"
        );
        let gone = check_storage(&dir.path().join("missing"));
        assert_eq!(gone.check.result, super::super::Outcome::Fail);
        assert!(gone.check.hint.is_some());
    }
}
