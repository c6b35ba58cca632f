//! Errors named after what failed, each carrying its source and the file or URL involved.

use std::path::PathBuf;

/// The admin side: keeping the release repository.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot generate a {role} key: {reason}")]
    KeyGeneration { role: String, reason: String },
    #[error("no {role} key in {dir} matches the repository's root (a key rotated elsewhere?)")]
    MissingKey { role: String, dir: PathBuf },
    #[error("{path} is not a TUF root: {source}")]
    RootParse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("no root metadata in {0} (run `bianmin release init` first)")]
    NotARepository(PathBuf),
    #[error("{0} already holds a repository")]
    AlreadyARepository(PathBuf),
    #[error("cannot load the repository in {path}: {source}")]
    Load {
        path: PathBuf,
        source: Box<tough::error::Error>,
    },
    #[error("cannot sign the {what}: {source}")]
    Sign {
        what: String,
        source: Box<tough::error::Error>,
    },
    #[error("cannot describe the {what}: {source}")]
    Describe {
        what: String,
        source: Box<tough::schema::Error>,
    },
    #[error("cannot write the {what} into {path}: {source}")]
    Write {
        what: String,
        path: PathBuf,
        source: Box<tough::error::Error>,
    },
    #[error("release {0} is already in the repository")]
    VersionExists(semver::Version),
    #[error("release {0} is not in the repository")]
    UnknownVersion(semver::Version),
    #[error("the archive {path} is not a release: {reason}")]
    NotARelease { path: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
}

/// The kiosk side: checking the repository and choosing a release.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("the pinned root {path} cannot be read: {source}")]
    PinnedRoot {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{url} is not a repository address: {reason}")]
    RepositoryUrl { url: String, reason: String },
    /// Signatures, thresholds, expiry, version rollback, sizes, hashes: everything TUF checks.
    #[error("the update repository {url} failed verification: {source}")]
    Verification {
        url: String,
        source: Box<tough::error::Error>,
    },
    #[error("release {version} ({target}) failed verification while downloading: {source}")]
    TargetVerification {
        version: semver::Version,
        target: String,
        source: Box<tough::error::Error>,
    },
    #[error("release {version} is listed but its archive {target} is not in the signed targets")]
    TargetMissing {
        version: semver::Version,
        target: String,
    },
    #[error("cannot keep the update state in {path}: {source}")]
    State {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("nothing to roll back: {reason}")]
    NothingToRollBack { reason: String },
    #[error(transparent)]
    Install(#[from] InstallError),
}

/// Unpacking and switching releases on disk.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the archive of release {version} is not a release: {reason}")]
    BadArchive {
        version: semver::Version,
        reason: String,
    },
    #[error(
        "release {version} needs {needed} bytes unpacked, {available} are free in {dir}: nothing switched"
    )]
    NoSpace {
        version: semver::Version,
        needed: u64,
        available: u64,
        dir: PathBuf,
    },
}

impl InstallError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| InstallError::Io {
            action,
            path,
            source,
        }
    }
}

impl ReleaseError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| ReleaseError::Io { path, source }
    }
}
