//! The admin's release repository: a static TUF repository in the layout tuftool writes
//! (`metadata/N.root.json`, `metadata/N.targets.json`, `metadata/N.snapshot.json`,
//! `metadata/timestamp.json`, `targets/<sha256>.<name>`, consistent snapshots on).
//!
//! Every change is made through `tough::editor` and lands the way a CDN can serve it while it
//! happens: new versioned files first, `timestamp.json` (the only file that is replaced) last,
//! each by a rename, so a kiosk reading mid-publish sees the old repository or the new one.
// tough's editor methods return its own (large) error by value; chaining them in closures is
// how the editor is used, and there is nothing on this side to box.
#![allow(clippy::result_large_err)]

use crate::error::ReleaseError;
use crate::keys::{KeysDir, Role};
use crate::meta::{target_name, ReleaseInfo, CUSTOM_FIELD};
use jiff::{SignedDuration, Timestamp};
use semver::Version;
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use tough::editor::signed::{PathExists, SignedRole};
use tough::editor::RepositoryEditor;
use tough::schema::{KeyHolder, RoleKeys, Root, Signed, Target};
use tough::{ExpirationEnforcement, FilesystemTransport, RepositoryLoader, TargetName};

/// When each role's metadata expires. The timestamp is short (a frozen repository is noticed
/// within days) and re-signed by `release refresh`; the root is long and signed offline.
#[derive(Debug, Clone, Copy)]
pub struct Expiries {
    pub root: Timestamp,
    pub targets: Timestamp,
    pub snapshot: Timestamp,
    pub timestamp: Timestamp,
}

impl Expiries {
    /// `days` from now for root, targets, snapshot and timestamp.
    pub fn in_days(root: i64, targets: i64, snapshot: i64, timestamp: i64) -> Expiries {
        let at = |days: i64| Timestamp::now() + SignedDuration::from_hours(24 * days);
        Expiries {
            root: at(root),
            targets: at(targets),
            snapshot: at(snapshot),
            timestamp: at(timestamp),
        }
    }
}

impl Default for Expiries {
    /// A year for the root, 90 days for targets and snapshot, a week for the timestamp.
    fn default() -> Self {
        Expiries::in_days(365, 90, 90, 7)
    }
}

/// How `release init` makes the root.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Root keys to generate (kept apart, ideally offline, by different people).
    pub root_keys: usize,
    /// Root signatures needed for a new root (a key rotation) to be trusted.
    pub root_threshold: u64,
    pub expiries: Expiries,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            root_keys: 1,
            root_threshold: 1,
            expiries: Expiries::default(),
        }
    }
}

/// A release as the repository lists it.
#[derive(Debug, Clone)]
pub struct RepoRelease {
    pub info: ReleaseInfo,
    pub target: String,
    pub length: u64,
}

/// A release repository on the admin's disk.
#[derive(Debug, Clone)]
pub struct ReleaseRepo {
    dir: PathBuf,
}

const SPEC_VERSION: &str = "1.0.0";

impl ReleaseRepo {
    /// An existing repository (one with `metadata/1.root.json`).
    pub fn open(dir: impl Into<PathBuf>) -> Result<ReleaseRepo, ReleaseError> {
        let repo = ReleaseRepo { dir: dir.into() };
        if !repo.metadata_dir().join("1.root.json").is_file() {
            return Err(ReleaseError::NotARepository(repo.dir));
        }
        Ok(repo)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn metadata_dir(&self) -> PathBuf {
        self.dir.join("metadata")
    }

    pub fn targets_dir(&self) -> PathBuf {
        self.dir.join("targets")
    }

    /// Creates the repository: fresh keys for every role in `keys`, a root signed by the root
    /// keys, and empty targets, snapshot and timestamp.
    pub async fn init(
        dir: impl Into<PathBuf>,
        keys: &KeysDir,
        options: &InitOptions,
    ) -> Result<ReleaseRepo, ReleaseError> {
        let repo = ReleaseRepo { dir: dir.into() };
        if repo.metadata_dir().join("1.root.json").exists() {
            return Err(ReleaseError::AlreadyARepository(repo.dir));
        }
        if options.root_keys == 0
            || options.root_threshold == 0
            || options.root_threshold > options.root_keys as u64
        {
            return Err(ReleaseError::Invalid(format!(
                "a root threshold of {} with {} root keys can never be met",
                options.root_threshold, options.root_keys
            )));
        }
        for d in [repo.metadata_dir(), repo.targets_dir()] {
            std::fs::create_dir_all(&d).map_err(ReleaseError::io(&d))?;
        }
        let mut root = Root {
            spec_version: SPEC_VERSION.into(),
            consistent_snapshot: true,
            version: NonZeroU64::MIN,
            expires: options.expiries.root,
            keys: HashMap::new(),
            roles: HashMap::new(),
            _extra: HashMap::new(),
        };
        for role in Role::ALL {
            let (count, threshold) = if role == Role::Root {
                (options.root_keys, options.root_threshold)
            } else {
                (1, 1)
            };
            let mut keyids = Vec::new();
            for _ in 0..count {
                let new = keys.generate(role)?;
                let id = key_id(&new.key)?;
                root.keys.insert(id.clone(), new.key);
                keyids.push(id);
            }
            root.roles.insert(
                role.tuf(),
                RoleKeys {
                    keyids,
                    threshold: NonZeroU64::new(threshold).expect("checked above"),
                    _extra: HashMap::new(),
                },
            );
        }
        let signed_root = sign_root(root, None, keys).await?;
        let root_path = repo.metadata_dir().join("1.root.json");
        write_atomically(&root_path, signed_root.buffer())?;

        let mut editor = RepositoryEditor::new(&root_path)
            .await
            .map_err(|e| sign_error("empty repository", e))?;
        let e = &options.expiries;
        editor
            .targets_version(NonZeroU64::MIN)
            .and_then(|ed| ed.targets_expires(e.targets))
            .map_err(|e| sign_error("targets", e))?;
        editor
            .snapshot_version(NonZeroU64::MIN)
            .snapshot_expires(e.snapshot)
            .timestamp_version(NonZeroU64::MIN)
            .timestamp_expires(e.timestamp);
        let signed = editor
            .sign(&keys.sources()?)
            .await
            .map_err(|e| sign_error("first metadata", e))?;
        repo.publish(&signed).await?;
        Ok(repo)
    }

    /// The newest root in the repository and its path.
    pub fn latest_root(&self) -> Result<(Signed<Root>, PathBuf), ReleaseError> {
        let meta = self.metadata_dir();
        let mut n = 1u64;
        while meta.join(format!("{}.root.json", n + 1)).is_file() {
            n += 1;
        }
        let path = meta.join(format!("{n}.root.json"));
        let bytes = std::fs::read(&path).map_err(ReleaseError::io(&path))?;
        let root = serde_json::from_slice(&bytes).map_err(|source| ReleaseError::RootParse {
            path: path.clone(),
            source,
        })?;
        Ok((root, path))
    }

    /// Loads and verifies the repository the way a kiosk would, from `1.root.json` through every
    /// rotation, except that expired metadata is accepted (re-signing it is why the admin is here).
    async fn load(&self) -> Result<tough::Repository, ReleaseError> {
        let failed = |source| ReleaseError::Load {
            path: self.dir.clone(),
            source: Box::new(source),
        };
        let root_path = self.metadata_dir().join("1.root.json");
        let root = std::fs::read(&root_path).map_err(ReleaseError::io(&root_path))?;
        let url = |d: PathBuf| {
            let d = std::path::absolute(&d).map_err(ReleaseError::io(&d))?;
            url::Url::from_directory_path(&d)
                .map_err(|_| ReleaseError::Invalid(format!("{} is not a usable path", d.display())))
        };
        RepositoryLoader::new(&root, url(self.metadata_dir())?, url(self.targets_dir())?)
            .transport(FilesystemTransport)
            .expiration_enforcement(ExpirationEnforcement::Unsafe)
            .load()
            .await
            .map_err(failed)
    }

    /// The releases in the repository, newest first.
    pub async fn releases(&self) -> Result<Vec<RepoRelease>, ReleaseError> {
        let repo = self.load().await?;
        let mut out: Vec<RepoRelease> = repo
            .targets()
            .signed
            .targets
            .iter()
            .filter_map(|(name, t)| {
                let info = t.custom.get(CUSTOM_FIELD)?;
                let info: ReleaseInfo = serde_json::from_value(info.clone()).ok()?;
                Some(RepoRelease {
                    info,
                    target: name.raw().to_string(),
                    length: t.length,
                })
            })
            .collect();
        out.sort_by(|a, b| b.info.version.cmp(&a.info.version));
        Ok(out)
    }

    /// Publishes a release archive (a tar.gz with at least `bin/bianmin`) with its record.
    pub async fn add(
        &self,
        keys: &KeysDir,
        archive: &Path,
        info: ReleaseInfo,
        expiries: &Expiries,
    ) -> Result<(), ReleaseError> {
        check_archive(archive)?;
        if self
            .releases()
            .await?
            .iter()
            .any(|r| r.info.version == info.version)
        {
            return Err(ReleaseError::VersionExists(info.version));
        }
        let name = target_name(&info.version);
        let mut target = Target::from_path(archive)
            .await
            .map_err(|e| describe_error("archive's target entry", e))?;
        target.custom.insert(
            CUSTOM_FIELD.into(),
            serde_json::to_value(&info).expect("a release record is JSON"),
        );
        let target_name = TargetName::new(name.clone()).map_err(|e| sign_error(&name, e))?;
        let signed = self
            .edit(keys, expiries, |editor| {
                editor
                    .add_target(target_name.clone(), target)
                    .map(|_| ())
                    .map_err(|e| sign_error("targets", e))
            })
            .await?;
        // The archive goes in before the metadata that names it.
        let targets = self.targets_dir();
        signed
            .copy_target(archive, &targets, PathExists::Skip, Some(&target_name))
            .await
            .map_err(|source| ReleaseError::Write {
                what: format!("archive of {}", info.version),
                path: targets.clone(),
                source: Box::new(source),
            })?;
        self.publish(&signed).await
    }

    /// Changes a release's record (pause, resume, revoke, a wider wave) and re-signs.
    pub async fn update_release(
        &self,
        keys: &KeysDir,
        version: &Version,
        expiries: &Expiries,
        change: impl FnOnce(&mut ReleaseInfo),
    ) -> Result<ReleaseInfo, ReleaseError> {
        let repo = self.load().await?;
        let name = target_name(version);
        let (target_name, mut target) = repo
            .targets()
            .signed
            .targets
            .iter()
            .find(|(n, _)| n.raw() == name)
            .map(|(n, t)| (n.clone(), t.clone()))
            .ok_or_else(|| ReleaseError::UnknownVersion(version.clone()))?;
        let mut info: ReleaseInfo = target
            .custom
            .get(CUSTOM_FIELD)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .ok_or_else(|| ReleaseError::UnknownVersion(version.clone()))?;
        change(&mut info);
        target.custom.insert(
            CUSTOM_FIELD.into(),
            serde_json::to_value(&info).expect("a release record is JSON"),
        );
        let signed = self
            .edit(keys, expiries, |editor| {
                editor
                    .remove_target(&target_name)
                    .and_then(|ed| ed.add_target(target_name.clone(), target))
                    .map(|_| ())
                    .map_err(|e| sign_error("targets", e))
            })
            .await?;
        self.publish(&signed).await?;
        Ok(info)
    }

    /// Re-signs targets, snapshot and timestamp with fresh expiries and new versions.
    pub async fn sign(&self, keys: &KeysDir, expiries: &Expiries) -> Result<(), ReleaseError> {
        let signed = self.edit(keys, expiries, |_| Ok(())).await?;
        self.publish(&signed).await
    }

    /// Re-signs only the timestamp (the one key that may live on the publishing server), so
    /// kiosks keep trusting an unchanged repository past the old timestamp's expiry.
    pub async fn refresh(&self, keys: &KeysDir, expires: Timestamp) -> Result<(), ReleaseError> {
        let repo = self.load().await?;
        let (root, _) = self.latest_root()?;
        let mut timestamp = repo.timestamp().signed.clone();
        timestamp.version = timestamp.version.saturating_add(1);
        timestamp.expires = expires;
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let signed = SignedRole::new(
            timestamp,
            &KeyHolder::Root(root.signed),
            &keys.sources()?,
            &rng,
        )
        .await
        .map_err(|e| sign_error("timestamp", e))?;
        write_atomically(&self.metadata_dir().join("timestamp.json"), signed.buffer())
    }

    /// Replaces every key of `role` with a new one: a new root version lists the new keys, signed
    /// by the new root keys and (for a root rotation) by the old ones too, so kiosks that trust
    /// the old root can follow; then the other roles are re-signed. The old key files move to
    /// `KEYS_DIR/retired/`.
    pub async fn rotate_key(
        &self,
        keys: &KeysDir,
        role: Role,
        expiries: &Expiries,
    ) -> Result<(), ReleaseError> {
        let repo = self.load().await?;
        drop(repo);
        let (old_root, old_path) = self.latest_root()?;
        let mut root = old_root.signed.clone();
        let old_ids = root
            .roles
            .get(&role.tuf())
            .map(|r| r.keyids.clone())
            .unwrap_or_default();
        let mut new_ids = Vec::new();
        for _ in 0..old_ids.len().max(1) {
            let new = keys.generate(role)?;
            let id = key_id(&new.key)?;
            root.keys.insert(id.clone(), new.key);
            new_ids.push(id);
        }
        let still_used: Vec<_> = root
            .roles
            .iter()
            .filter(|(r, _)| **r != role.tuf())
            .flat_map(|(_, k)| k.keyids.clone())
            .collect();
        for id in &old_ids {
            if !still_used.contains(id) {
                root.keys.remove(id);
            }
        }
        if let Some(r) = root.roles.get_mut(&role.tuf()) {
            r.keyids = new_ids;
        }
        root.version = root.version.saturating_add(1);
        root.expires = expiries.root;
        let signed = sign_root(root, Some(&old_root.signed), keys).await?;
        let new_path = self
            .metadata_dir()
            .join(format!("{}.root.json", signed.signed().signed.version));
        debug_assert_ne!(new_path, old_path);
        // The new root is published together with the metadata it signs (a repository with the
        // new root and the old targets would not verify), so it waits beside the repository.
        let pending_root = self.dir.join(".root.new.json");
        write_atomically(&pending_root, signed.buffer())?;
        // Retire the old keys before signing so tough cannot pick them up by accident.
        let retired = keys.path().join("retired");
        for file in keys.files_of(role)? {
            let id_matches = std::fs::read(&file)
                .ok()
                .and_then(|b| tough::sign::parse_keypair(&b).ok())
                .and_then(|k| tough::sign::Sign::tuf_key(&k).key_id().ok())
                .is_some_and(|id| old_ids.contains(&id));
            if id_matches {
                std::fs::create_dir_all(&retired).map_err(ReleaseError::io(&retired))?;
                let to = retired.join(file.file_name().expect("a key file has a name"));
                std::fs::rename(&file, &to).map_err(ReleaseError::io(&file))?;
            }
        }
        let signed = self
            .edit_at(keys, expiries, Some(&pending_root), |_| Ok(()))
            .await?;
        self.publish(&signed).await?;
        debug_assert!(new_path.is_file());
        std::fs::remove_file(&pending_root).map_err(ReleaseError::io(&pending_root))
    }

    /// Loads the repository into tough's editor at its newest root, lets `change` edit it, and
    /// signs targets, snapshot and timestamp as their next versions.
    async fn edit(
        &self,
        keys: &KeysDir,
        expiries: &Expiries,
        change: impl FnOnce(&mut RepositoryEditor) -> Result<(), ReleaseError>,
    ) -> Result<tough::editor::signed::SignedRepository, ReleaseError> {
        self.edit_at(keys, expiries, None, change).await
    }

    /// [`Self::edit`] signing under `new_root` (a rotation not yet published) when given.
    async fn edit_at(
        &self,
        keys: &KeysDir,
        expiries: &Expiries,
        new_root: Option<&Path>,
        change: impl FnOnce(&mut RepositoryEditor) -> Result<(), ReleaseError>,
    ) -> Result<tough::editor::signed::SignedRepository, ReleaseError> {
        let repo = self.load().await?;
        let next = |v: NonZeroU64| v.saturating_add(1);
        let targets_version = next(repo.targets().signed.version);
        let snapshot_version = next(repo.snapshot().signed.version);
        let timestamp_version = next(repo.timestamp().signed.version);
        let root_path = match new_root {
            Some(p) => p.to_path_buf(),
            None => self.latest_root()?.1,
        };
        let mut editor = RepositoryEditor::from_repo(&root_path, repo)
            .await
            .map_err(|e| sign_error("repository", e))?;
        change(&mut editor)?;
        editor
            .targets_version(targets_version)
            .and_then(|ed| ed.targets_expires(expiries.targets))
            .map_err(|e| sign_error("targets", e))?;
        editor
            .snapshot_version(snapshot_version)
            .snapshot_expires(expiries.snapshot)
            .timestamp_version(timestamp_version)
            .timestamp_expires(expiries.timestamp);
        editor
            .sign(&keys.sources()?)
            .await
            .map_err(|e| sign_error("targets, snapshot and timestamp", e))
    }

    /// Writes signed metadata next to the repository, then renames it in: versioned files first,
    /// `timestamp.json` last.
    async fn publish(
        &self,
        signed: &tough::editor::signed::SignedRepository,
    ) -> Result<(), ReleaseError> {
        let meta = self.metadata_dir();
        let staging = self.dir.join(".metadata.new");
        let _ = std::fs::remove_dir_all(&staging);
        signed
            .write(&staging)
            .await
            .map_err(|source| ReleaseError::Write {
                what: "metadata".into(),
                path: staging.clone(),
                source: Box::new(source),
            })?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(&staging)
            .map_err(ReleaseError::io(&staging))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        // A new root first (what follows is signed under it), the timestamp last.
        files.sort_by_key(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            (name == "timestamp.json", !name.ends_with(".root.json"))
        });
        for file in files {
            let to = meta.join(file.file_name().expect("a metadata file has a name"));
            let bytes = std::fs::read(&file).map_err(ReleaseError::io(&file))?;
            write_atomically(&to, &bytes)?;
        }
        std::fs::remove_dir_all(&staging).map_err(ReleaseError::io(&staging))
    }
}

fn key_id(
    key: &tough::schema::key::Key,
) -> Result<tough::schema::decoded::Decoded<tough::schema::decoded::Hex>, ReleaseError> {
    key.key_id().map_err(|e| describe_error("key id", e))
}

fn describe_error(what: &str, source: tough::schema::Error) -> ReleaseError {
    ReleaseError::Describe {
        what: what.into(),
        source: Box::new(source),
    }
}

fn sign_error(what: &str, source: tough::error::Error) -> ReleaseError {
    ReleaseError::Sign {
        what: what.into(),
        source: Box::new(source),
    }
}

/// Signs a root with its own root keys and, when it replaces `previous`, with the previous
/// root's keys too; refuses unless both thresholds are met (tough does not check it for root).
async fn sign_root(
    root: Root,
    previous: Option<&Root>,
    keys: &KeysDir,
) -> Result<SignedRole<Root>, ReleaseError> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let sources = keys.sources()?;
    let holder = KeyHolder::Root(root.clone());
    let mut signed = SignedRole::new(root.clone(), &holder, &sources, &rng)
        .await
        .map_err(|e| sign_error("root", e))?;
    let threshold = |r: &Root| {
        r.roles
            .get(&tough::schema::RoleType::Root)
            .map(|k| (k.threshold.get(), k.keyids.clone()))
            .unwrap_or((1, Vec::new()))
    };
    let count = |sigs: &[tough::schema::Signature], ids: &[_]| {
        sigs.iter().filter(|s| ids.contains(&s.keyid)).count() as u64
    };
    let (need, ids) = threshold(&root);
    if count(&signed.signed().signatures[..], &ids[..]) < need {
        return Err(ReleaseError::MissingKey {
            role: "root".into(),
            dir: keys.path().into(),
        });
    }
    if let Some(previous) = previous {
        let (need, old_ids) = threshold(previous);
        let already: Vec<_> = signed
            .signed()
            .signatures
            .iter()
            .map(|s| s.keyid.clone())
            .collect();
        let by_old = SignedRole::new(root, &KeyHolder::Root(previous.clone()), &sources, &rng)
            .await
            .map_err(|e| sign_error("root with the previous root keys", e))?;
        let extra: Vec<_> = by_old
            .signed()
            .signatures
            .iter()
            .filter(|s| !already.contains(&s.keyid))
            .cloned()
            .collect();
        signed = signed
            .add_old_signatures(extra)
            .map_err(|e| sign_error("root", e))?;
        if count(&signed.signed().signatures[..], &old_ids[..]) < need {
            return Err(ReleaseError::MissingKey {
                role: "previous root".into(),
                dir: keys.path().into(),
            });
        }
    }
    Ok(signed)
}

/// Writes a file by a rename from a sibling, so a reader sees the old bytes or the new ones.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ReleaseError> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).map_err(ReleaseError::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(ReleaseError::io(path))
}

/// An archive is a release when it is a gzip'd tar with `bin/bianmin` in it.
fn check_archive(path: &Path) -> Result<(), ReleaseError> {
    let not = |reason: String| ReleaseError::NotARelease {
        path: path.into(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(ReleaseError::io(path))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let entries = archive.entries().map_err(|e| not(e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| not(e.to_string()))?;
        let p = entry.path().map_err(|e| not(e.to_string()))?;
        let p = p.strip_prefix("./").unwrap_or(&p);
        if p == Path::new("bin/bianmin") && entry.header().entry_type().is_file() {
            return Ok(());
        }
    }
    Err(not("it has no bin/bianmin".into()))
}
