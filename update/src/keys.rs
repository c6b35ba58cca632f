//! Signing keys as files: `KEYS_DIR/<role>-<key id prefix>.pk8`, PKCS#8 DER ECDSA P-256 (what
//! tough's `LocalKeySource` reads), owner-only (0600) in an owner-only folder.
//!
//! One folder may hold every role's keys on a build machine, but the root keys belong offline:
//! `release add`, `sign` and `refresh` never need them, only `init` and a root `rotate-key` do.

use crate::error::ReleaseError;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tough::key_source::{KeySource, LocalKeySource};
use tough::schema::key::Key;
use tough::schema::RoleType;

/// The four top-level TUF roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Root,
    Targets,
    Snapshot,
    Timestamp,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Root, Role::Targets, Role::Snapshot, Role::Timestamp];

    pub fn name(self) -> &'static str {
        match self {
            Role::Root => "root",
            Role::Targets => "targets",
            Role::Snapshot => "snapshot",
            Role::Timestamp => "timestamp",
        }
    }

    pub(crate) fn tuf(self) -> RoleType {
        match self {
            Role::Root => RoleType::Root,
            Role::Targets => RoleType::Targets,
            Role::Snapshot => RoleType::Snapshot,
            Role::Timestamp => RoleType::Timestamp,
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| format!("{s:?} is not a role (root, targets, snapshot, timestamp)"))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A folder of signing keys.
#[derive(Debug, Clone)]
pub struct KeysDir {
    dir: PathBuf,
}

/// A freshly generated key: its public half for root.json (the private half is in the folder).
pub(crate) struct NewKey {
    pub key: Key,
}

impl KeysDir {
    /// The folder, made owner-only when it is created here.
    pub fn open(dir: impl Into<PathBuf>) -> Result<KeysDir, ReleaseError> {
        let dir = dir.into();
        if !dir.exists() {
            std::fs::create_dir_all(&dir).map_err(ReleaseError::io(&dir))?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(ReleaseError::io(&dir))?;
        }
        Ok(KeysDir { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Generates a key for `role` and keeps it in the folder (0600).
    pub(crate) fn generate(&self, role: Role) -> Result<NewKey, ReleaseError> {
        let failed = |reason: String| ReleaseError::KeyGeneration {
            role: role.name().into(),
            reason,
        };
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &rng,
        )
        .map_err(|e| failed(e.to_string()))?;
        let pkcs8 = pkcs8.as_ref();
        let sign = tough::sign::parse_keypair(pkcs8).map_err(|e| failed(e.to_string()))?;
        let key = tough::sign::Sign::tuf_key(&sign);
        let id = key.key_id().map_err(|e| failed(e.to_string()))?;
        let id = hex::encode(&*id);
        let path = self.dir.join(format!("{}-{}.pk8", role.name(), &id[..16]));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(ReleaseError::io(&path))?;
        file.write_all(pkcs8)
            .and_then(|_| file.sync_all())
            .map_err(ReleaseError::io(&path))?;
        Ok(NewKey { key })
    }

    /// Every key in the folder; tough signs each role with those whose ids the root lists for it.
    pub(crate) fn sources(&self) -> Result<Vec<Box<dyn KeySource>>, ReleaseError> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(ReleaseError::io(&self.dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pk8"))
            .collect();
        paths.sort();
        Ok(paths
            .into_iter()
            .map(|path| Box::new(LocalKeySource { path }) as Box<dyn KeySource>)
            .collect())
    }

    /// The key files kept for `role` (by their name).
    pub(crate) fn files_of(&self, role: Role) -> Result<Vec<PathBuf>, ReleaseError> {
        let prefix = format!("{}-", role.name());
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(ReleaseError::io(&self.dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".pk8"))
            })
            .collect();
        paths.sort();
        Ok(paths)
    }
}
