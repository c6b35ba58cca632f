//! Releases on disk: `RELEASES/X.Y.Z/` (unpacked whole, then renamed in) and the `RELEASES/current`
//! symlink (switched by renaming a new symlink over it). At any instant, power cut or not,
//! `current` names a complete release: the old one or the new one, never half of either.

use crate::error::InstallError;
use crate::fault;
use semver::Version;
use std::path::{Path, PathBuf};

/// The points at which the crash tests cut the power (feature `fault-injection`).
pub use crate::fault::STEPS as KILL_POINTS;

/// The name of the symlink that systemd starts through (`current/bin/bianmin`).
pub const CURRENT: &str = "current";
/// The release `current` replaced: what a rollback goes back to, and whose binary runs the
/// health gate around the new release's starts (never the release on trial itself).
pub const PREVIOUS: &str = "previous";
const PARTIAL: &str = ".partial";

/// The release `current` points at, if it points at a version directory.
pub fn current_version(releases: &Path) -> Option<Version> {
    let target = std::fs::read_link(releases.join(CURRENT)).ok()?;
    target.file_name()?.to_str()?.parse().ok()
}

/// The versions unpacked in `releases` (complete ones only), oldest first.
pub fn installed_versions(releases: &Path) -> Vec<Version> {
    let mut v: Vec<Version> = std::fs::read_dir(releases)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    v.sort();
    v
}

/// Unpacks a verified archive into `releases/VERSION` through `releases/VERSION.partial`; an
/// existing complete `releases/VERSION` (a rerun after a power cut) is kept as it is.
pub fn unpack(archive: &Path, releases: &Path, version: &Version) -> Result<PathBuf, InstallError> {
    let dest = releases.join(version.to_string());
    if dest.join("bin/bianmin").is_file() {
        return Ok(dest);
    }
    std::fs::create_dir_all(releases).map_err(InstallError::io("create", releases))?;
    let partial = releases.join(format!("{version}{PARTIAL}"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(InstallError::io("remove", &partial))?;
    }
    let needed = unpacked_size(archive, version)?;
    let available = free_bytes(releases).map_err(InstallError::io("measure", releases))?;
    // Room for the files plus a margin for directories and the filesystem's own blocks.
    if needed.saturating_add(needed / 20 + (1 << 20)) > available {
        return Err(InstallError::NoSpace {
            version: version.clone(),
            needed,
            available,
            dir: releases.into(),
        });
    }
    let result = unpack_into(archive, &partial, version);
    if let Err(e) = result {
        // A failed unpack (disk full, a bad entry) leaves nothing behind to be mistaken for a release.
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    sync_dir(releases)?;
    std::fs::rename(&partial, &dest).map_err(InstallError::io("rename", &partial))?;
    sync_dir(releases)?;
    fault::point("unpacked");
    Ok(dest)
}

fn unpack_into(archive: &Path, partial: &Path, version: &Version) -> Result<(), InstallError> {
    let bad = |reason: String| InstallError::BadArchive {
        version: version.clone(),
        reason,
    };
    std::fs::create_dir_all(partial).map_err(InstallError::io("create", partial))?;
    let file = std::fs::File::open(archive).map_err(InstallError::io("open", archive))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    tar.set_preserve_permissions(true);
    tar.set_overwrite(false);
    let mut first = true;
    for entry in tar.entries().map_err(|e| bad(e.to_string()))? {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        // `unpack_in` refuses paths that leave the destination (`..`, absolute names).
        let inside = entry
            .unpack_in(partial)
            .map_err(InstallError::io("unpack into", partial))?;
        if !inside {
            return Err(bad(format!(
                "{} points outside the release",
                entry
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )));
        }
        if first {
            fault::point("unpacking");
            first = false;
        }
    }
    let bin = partial.join("bin/bianmin");
    if !bin.is_file() {
        return Err(bad("it has no bin/bianmin".into()));
    }
    sync_tree(partial)
}

/// The bytes the archive's files take unpacked (read through once, without writing).
fn unpacked_size(archive: &Path, version: &Version) -> Result<u64, InstallError> {
    let file = std::fs::File::open(archive).map_err(InstallError::io("open", archive))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut total = 0u64;
    let entries = tar.entries().map_err(|e| InstallError::BadArchive {
        version: version.clone(),
        reason: e.to_string(),
    })?;
    for entry in entries {
        let mut entry = entry.map_err(|e| InstallError::BadArchive {
            version: version.clone(),
            reason: e.to_string(),
        })?;
        total = total.saturating_add(entry.header().size().unwrap_or(0));
        // Reading the entry to its end checks the gzip stream as a whole.
        std::io::copy(&mut entry, &mut std::io::sink()).map_err(|e| InstallError::BadArchive {
            version: version.clone(),
            reason: e.to_string(),
        })?;
    }
    Ok(total)
}

/// The release `previous` points at.
pub fn previous_version(releases: &Path) -> Option<Version> {
    let target = std::fs::read_link(releases.join(PREVIOUS)).ok()?;
    target.file_name()?.to_str()?.parse().ok()
}

/// Points `current` at `releases/VERSION`: a new symlink, renamed over the old one.
pub fn switch(releases: &Path, version: &Version) -> Result<(), InstallError> {
    point(releases, CURRENT, version)
}

/// Points `previous` at `releases/VERSION`, the same way.
pub fn set_previous(releases: &Path, version: &Version) -> Result<(), InstallError> {
    point(releases, PREVIOUS, version)
}

fn point(releases: &Path, name: &str, version: &Version) -> Result<(), InstallError> {
    let dest = releases.join(version.to_string());
    if !dest.join("bin/bianmin").is_file() {
        return Err(InstallError::BadArchive {
            version: version.clone(),
            reason: format!("{} is not an unpacked release", dest.display()),
        });
    }
    let link = releases.join(format!("{name}.new"));
    let _ = std::fs::remove_file(&link);
    // Relative, so the releases folder can be mounted or copied elsewhere.
    std::os::unix::fs::symlink(version.to_string(), &link)
        .map_err(InstallError::io("create the symlink", &link))?;
    let at = releases.join(name);
    if name == CURRENT {
        fault::point("linked");
    }
    std::fs::rename(&link, &at).map_err(InstallError::io("switch", &at))?;
    sync_dir(releases)?;
    if name == CURRENT {
        fault::point("switched");
    }
    Ok(())
}

/// Removes unpacked releases other than `keep`, and leftovers of interrupted unpacks.
pub fn prune(releases: &Path, keep: &[Version]) -> Result<(), InstallError> {
    let Ok(entries) = std::fs::read_dir(releases) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let stale_partial = name.ends_with(PARTIAL);
        let other_version = name.parse::<Version>().is_ok_and(|v| !keep.contains(&v));
        if (stale_partial || other_version) && e.file_type().is_ok_and(|t| t.is_dir()) {
            let path = e.path();
            std::fs::remove_dir_all(&path).map_err(InstallError::io("remove", &path))?;
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), InstallError> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(InstallError::io("sync", dir))
}

/// Flushes every file and directory of a freshly unpacked tree, so the rename that publishes it
/// never lands before its contents.
fn sync_tree(dir: &Path) -> Result<(), InstallError> {
    for entry in std::fs::read_dir(dir).map_err(InstallError::io("read", dir))? {
        let entry = entry.map_err(InstallError::io("read", dir))?;
        let kind = entry.file_type().map_err(InstallError::io("read", dir))?;
        let path = entry.path();
        if kind.is_dir() {
            sync_tree(&path)?;
        } else if kind.is_file() {
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(InstallError::io("sync", &path))?;
        }
    }
    sync_dir(dir)
}

/// Free bytes for an unprivileged writer on the filesystem holding `dir`.
// The statvfs field types differ between architectures.
#[allow(clippy::unnecessary_cast)]
fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-parameter.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}
