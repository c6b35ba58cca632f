//! The kiosk side, as Bottlerocket's updog does it: load the repository through tough with a
//! persistent datastore, pick a release, fetch it through tough (length and SHA-256 checked as
//! it streams), then unpack and switch with [`crate::install`].

use crate::error::UpdateError;
use crate::fault;
use crate::install;
use crate::meta::{
    choose_release, device_bucket, target_name, Candidate, ReleaseInfo, CUSTOM_FIELD,
};
use crate::status::{Trial, UpdateStatus};
use futures::StreamExt;
use jiff::Timestamp;
use semver::Version;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tough::{ExpirationEnforcement, FilesystemTransport, Repository, RepositoryLoader, TargetName};

/// Where a kiosk gets its releases and keeps its update state.
#[derive(Debug, Clone)]
pub struct UpdaterOptions {
    /// The repository's base URL (`…/metadata/` and `…/targets/` below it), http(s) or file.
    pub repo_url: String,
    /// The root pinned at provisioning (trust starts here; rotations are followed from it).
    pub root: PathBuf,
    /// The data partition: `tuf/` (tough's datastore), `update-staging/`, the status file.
    pub data_dir: PathBuf,
    /// `X.Y.Z/` per release and the `current` symlink.
    pub releases_dir: PathBuf,
    /// The kiosk's stable id, for its wave.
    pub device_id: String,
    /// The version of the binary that is running, when `current` does not name one.
    pub built_version: Version,
}

/// The outcome of a check.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub running: Version,
    pub bucket: u8,
    /// The release this kiosk would take now.
    pub available: Option<ReleaseInfo>,
    /// Every release listed, newest first, with why it is not taken.
    pub listed: Vec<Candidate>,
    /// When the signed timestamp runs out (a repository not refreshed by then is refused).
    pub timestamp_expires: Timestamp,
}

/// The outcome of staging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staged {
    /// Nothing newer for this kiosk.
    UpToDate { running: Version },
    /// Unpacked in `RELEASES/X.Y.Z`, to be switched to when the kiosk is idle.
    Ready { version: Version },
}

/// The outcome of an apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Nothing newer for this kiosk.
    UpToDate { running: Version },
    /// Unpacked and waiting for the kiosk to be idle.
    Pending { version: Version },
    /// `current` now points at `version`; the service restarts into it.
    Switched {
        version: Version,
        previous: Option<Version>,
    },
}

pub struct Updater {
    options: UpdaterOptions,
}

impl Updater {
    pub fn new(options: UpdaterOptions) -> Updater {
        Updater { options }
    }

    pub fn options(&self) -> &UpdaterOptions {
        &self.options
    }

    /// The release running now: the one `current` points at, else the binary's own version.
    pub fn running_version(&self) -> Version {
        install::current_version(&self.options.releases_dir)
            .unwrap_or_else(|| self.options.built_version.clone())
    }

    fn datastore(&self) -> PathBuf {
        self.options.data_dir.join("tuf")
    }

    fn staging(&self) -> PathBuf {
        self.options.data_dir.join("update-staging")
    }

    /// Loads and verifies the repository. Trust starts from the newest root this kiosk has
    /// verified before (kept in the datastore), so hiding a rotation cannot bring back a retired
    /// key; the pinned root is the start only until then.
    async fn load(&self) -> Result<Repository, UpdateError> {
        let o = &self.options;
        let state = |path: &Path| {
            let path = path.to_path_buf();
            move |source| UpdateError::State { path, source }
        };
        let datastore = self.datastore();
        std::fs::create_dir_all(&datastore).map_err(state(&datastore))?;
        let pinned = std::fs::read(&o.root).map_err(|source| UpdateError::PinnedRoot {
            path: o.root.clone(),
            source,
        })?;
        let root = std::fs::read(datastore.join("root.json"))
            .ok()
            .filter(|seen| root_version(seen) >= root_version(&pinned).max(Some(1)))
            .unwrap_or(pinned);
        let (metadata, targets) = repository_urls(&o.repo_url)?;
        let local = metadata.scheme() == "file";
        let loader = RepositoryLoader::new(&root, metadata, targets)
            .datastore(&datastore)
            .expiration_enforcement(ExpirationEnforcement::Safe);
        let loaded = if local {
            loader.transport(FilesystemTransport).load().await
        } else {
            let http = ResumingHttp::new().map_err(|e| UpdateError::RepositoryUrl {
                url: o.repo_url.clone(),
                reason: e.to_string(),
            })?;
            loader.transport(http).load().await
        };
        loaded.map_err(|source| UpdateError::Verification {
            url: o.repo_url.clone(),
            source: Box::new(source),
        })
    }

    /// Verifies the repository and tells which release this kiosk would take; the outcome goes
    /// into the status (last check, last error).
    pub async fn check(&self) -> Result<CheckReport, UpdateError> {
        let result = self.check_inner().await.map(|(report, _)| report);
        self.record(|s| {
            s.last_check = Some(Timestamp::now());
            s.last_error = result.as_ref().err().map(|e| e.to_string());
        })?;
        result
    }

    async fn check_inner(&self) -> Result<(CheckReport, Repository), UpdateError> {
        let repo = self.load().await?;
        let running = self.running_version();
        let bucket = device_bucket(&self.options.device_id);
        let status = UpdateStatus::load(&self.options.data_dir);
        let releases = repo.targets().signed.targets.values().filter_map(|t| {
            serde_json::from_value::<ReleaseInfo>(t.custom.get(CUSTOM_FIELD)?.clone()).ok()
        });
        let choice = choose_release(
            releases,
            &running,
            bucket,
            &status.known_bad,
            Timestamp::now(),
        );
        let timestamp_expires = repo.timestamp().signed.expires;
        Ok((
            CheckReport {
                running,
                bucket,
                available: choice.take,
                listed: choice.listed,
                timestamp_expires,
            },
            repo,
        ))
    }

    /// Checks, downloads, unpacks and switches at once: the technician's `apply --now`.
    pub async fn apply_now(&self) -> Result<Applied, UpdateError> {
        self.apply_when_idle(|| true).await
    }

    /// Checks and stages the newest release for this kiosk any time (download and unpack do not
    /// disturb a resident), but switches `current` only when `is_idle()` says so; otherwise the
    /// release stays pending and the next call switches it.
    pub async fn apply_when_idle(
        &self,
        is_idle: impl Fn() -> bool,
    ) -> Result<Applied, UpdateError> {
        match self.stage().await? {
            Staged::UpToDate { running } => Ok(Applied::UpToDate { running }),
            Staged::Ready { version } if is_idle() => self.switch_staged(&version),
            Staged::Ready { version } => Ok(Applied::Pending { version }),
        }
    }

    /// Verifies the repository and, when there is a release for this kiosk, downloads and
    /// unpacks it beside the running one (`RELEASES/X.Y.Z`) and records it as pending; the
    /// outcome goes into the status (last check, last error).
    pub async fn stage(&self) -> Result<Staged, UpdateError> {
        let result = self.stage_inner().await;
        self.record(|s| {
            s.last_check = Some(Timestamp::now());
            s.last_error = result.as_ref().err().map(|e| e.to_string());
            match &result {
                Ok(Staged::Ready { version }) => s.pending = Some(version.clone()),
                Ok(Staged::UpToDate { .. }) => s.pending = None,
                Err(_) => {}
            }
        })?;
        result
    }

    async fn stage_inner(&self) -> Result<Staged, UpdateError> {
        let (report, repo) = self.check_inner().await?;
        let releases = self.options.releases_dir.clone();
        let Some(release) = report.available else {
            // A run cut short after its switch leaves its older releases behind: tidy up.
            if let Some(current) = install::current_version(&releases) {
                let mut keep = UpdateStatus::load(&self.options.data_dir).to_keep(Some(&current));
                keep.extend(install::previous_version(&releases));
                install::prune(&releases, &keep)?;
            }
            return Ok(Staged::UpToDate {
                running: report.running,
            });
        };
        let version = release.version.clone();
        let status = UpdateStatus::load(&self.options.data_dir);
        let unpacked = releases.join(version.to_string()).join("bin/bianmin");
        if status.pending.as_ref() == Some(&version) && unpacked.is_file() {
            // Verified, unpacked and waiting for an idle moment since an earlier check.
            return Ok(Staged::Ready { version });
        }
        let archive = self.download(&repo, &version).await?;
        fault::point("downloaded");
        let unpacked = {
            let (archive, releases, version) = (archive.clone(), releases.clone(), version.clone());
            tokio::task::spawn_blocking(move || install::unpack(&archive, &releases, &version))
                .await
                .expect("the unpack task does not panic")
        };
        let _ = std::fs::remove_file(&archive);
        unpacked?;
        Ok(Staged::Ready { version })
    }

    /// Switches `current` to a staged release and puts it on trial: `previous` names the release
    /// it replaces (the one to go back to), and the health gate ([`crate::gate`]) decides after
    /// the restart whether it stays. Quick (two renames and the status file): the running kiosk
    /// calls it once it is idle, then restarts into the new release.
    pub fn switch_staged(&self, version: &Version) -> Result<Applied, UpdateError> {
        let releases = &self.options.releases_dir;
        let previous = install::current_version(releases).filter(|p| p != version);
        // The trial is written before the switch: a power cut between the two leaves the old
        // release running with a trial that names another one, which its start clears.
        if let Some(p) = &previous {
            install::set_previous(releases, p)?;
        }
        self.record(|s| {
            s.trial = Some(Trial {
                version: version.clone(),
                previous: previous.clone(),
                switched_at: Timestamp::now(),
                failures: Vec::new(),
            });
        })?;
        install::switch(releases, version)?;
        self.record(|s| {
            s.previous = previous.clone().or(s.previous.take());
            s.current = Some(version.clone());
            s.pending = None;
        })?;
        fault::point("recorded");
        // What stays: the new release, the one to go back to, and the last good ones.
        let mut keep = UpdateStatus::load(&self.options.data_dir).to_keep(Some(version));
        keep.extend(previous.clone());
        install::prune(releases, &keep)?;
        Ok(Applied::Switched {
            version: version.clone(),
            previous,
        })
    }

    /// Fetches a release's archive through tough into the staging folder; only a stream that
    /// ended without error (length and hash as signed) is renamed into place.
    async fn download(&self, repo: &Repository, version: &Version) -> Result<PathBuf, UpdateError> {
        let name = target_name(version);
        let target =
            TargetName::new(name.clone()).map_err(|source| UpdateError::TargetVerification {
                version: version.clone(),
                target: name.clone(),
                source: Box::new(source),
            })?;
        let failed = |source| UpdateError::TargetVerification {
            version: version.clone(),
            target: name.clone(),
            source: Box::new(source),
        };
        let staging = self.staging();
        let state = |path: PathBuf| move |source| UpdateError::State { path, source };
        // A leftover from an interrupted run is never trusted: it is fetched and checked again.
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(state(staging.clone()))?;
        let stream = repo
            .read_target(&target)
            .await
            .map_err(failed)?
            .ok_or_else(|| UpdateError::TargetMissing {
                version: version.clone(),
                target: name.clone(),
            })?;
        let mut stream = Box::pin(stream);
        let part = staging.join(format!("{name}.part"));
        let mut file = tokio::fs::File::create(&part)
            .await
            .map_err(state(part.clone()))?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(failed)?;
            file.write_all(&chunk).await.map_err(state(part.clone()))?;
        }
        file.sync_all().await.map_err(state(part.clone()))?;
        drop(file);
        let done = staging.join(&name);
        std::fs::rename(&part, &done).map_err(state(done.clone()))?;
        Ok(done)
    }

    fn record(&self, change: impl FnOnce(&mut UpdateStatus)) -> Result<(), UpdateError> {
        crate::status::record(&self.options.data_dir, &self.options.releases_dir, change)
    }
}

/// tough's HTTP transport retries a request that fails or times out, but takes a connection
/// that drops mid-body as final (reqwest reports it as a body error, which tough does not
/// retry). A kiosk on a mobile link needs the download to go on where it stopped: this
/// transport asks again with `Range: bytes=N-` for the bytes not yet delivered, so tough's
/// length and hash checks still see one whole file and nothing is fetched twice.
#[derive(Debug, Clone)]
struct ResumingHttp {
    client: reqwest::Client,
    /// Requests per file, the first included.
    tries: u32,
}

impl ResumingHttp {
    fn new() -> Result<ResumingHttp, reqwest::Error> {
        // reqwest is built without a TLS provider of its own (as tough builds it); the process
        // takes aws-lc-rs, tough's, unless something installed another first.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        Ok(ResumingHttp {
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                // Per read, not per file: a slow but moving download is not cut.
                .read_timeout(Duration::from_secs(30))
                .build()?,
            tries: 5,
        })
    }

    /// One GET from byte `from` on; the response must be the bytes asked for.
    async fn get(
        &self,
        url: &url::Url,
        from: u64,
    ) -> Result<reqwest::Response, tough::TransportError> {
        use tough::{TransportError, TransportErrorKind};
        let mut request = self.client.get(url.as_str());
        if from > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={from}-"));
        }
        let response = request
            .send()
            .await
            .map_err(|e| TransportError::new_with_cause(TransportErrorKind::Other, url, e))?;
        let status = response.status();
        if matches!(status.as_u16(), 403 | 404 | 410) {
            return Err(TransportError::new(TransportErrorKind::FileNotFound, url));
        }
        let resumed = from == 0 || status == reqwest::StatusCode::PARTIAL_CONTENT;
        if !status.is_success() || !resumed {
            return Err(TransportError::new_with_cause(
                TransportErrorKind::Other,
                url,
                format!("HTTP {status} for bytes {from}-"),
            ));
        }
        Ok(response)
    }
}

/// A download in progress: the body being read and how far it got.
struct Resuming {
    transport: ResumingHttp,
    url: url::Url,
    body: Option<futures::stream::BoxStream<'static, reqwest::Result<tough::Bytes>>>,
    delivered: u64,
    tries_left: u32,
}

#[tough::async_trait]
impl tough::Transport for ResumingHttp {
    async fn fetch(&self, url: url::Url) -> Result<tough::TransportStream, tough::TransportError> {
        let first = self.get(&url, 0).await?;
        let state = Resuming {
            transport: self.clone(),
            url,
            body: Some(first.bytes_stream().boxed()),
            delivered: 0,
            tries_left: self.tries.saturating_sub(1),
        };
        let stream = futures::stream::unfold(state, |mut st| async move {
            loop {
                match st.body.as_mut()?.next().await {
                    None => return None,
                    Some(Ok(bytes)) => {
                        st.delivered += bytes.len() as u64;
                        return Some((Ok(bytes), st));
                    }
                    Some(Err(e)) if st.tries_left == 0 => {
                        st.body = None;
                        let e = tough::TransportError::new_with_cause(
                            tough::TransportErrorKind::Other,
                            &st.url,
                            e,
                        );
                        return Some((Err(e), st));
                    }
                    Some(Err(_)) => {
                        st.tries_left -= 1;
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        match st.transport.get(&st.url, st.delivered).await {
                            Ok(rest) => st.body = Some(rest.bytes_stream().boxed()),
                            Err(e) => {
                                st.body = None;
                                return Some((Err(e), st));
                            }
                        }
                    }
                }
            }
        });
        Ok(Box::pin(SyncStream(std::sync::Mutex::new(Box::pin(
            stream,
        )))))
    }
}

/// tough wants its streams `Sync`; a stream is only ever polled through `&mut`, so a mutex
/// that is never locked (only `get_mut`) makes any `Send` stream `Sync`.
struct SyncStream<S>(std::sync::Mutex<std::pin::Pin<Box<S>>>);

impl<S: futures::Stream> futures::Stream for SyncStream<S> {
    type Item = S::Item;
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<S::Item>> {
        let inner = self
            .get_mut()
            .0
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.as_mut().poll_next(cx)
    }
}

fn root_version(bytes: &[u8]) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    v.get("signed")?.get("version")?.as_u64()
}

/// `…/metadata/` and `…/targets/` under the repository's base URL (a path is taken as file:).
fn repository_urls(base: &str) -> Result<(url::Url, url::Url), UpdateError> {
    let bad = |reason: String| UpdateError::RepositoryUrl {
        url: base.into(),
        reason,
    };
    let mut url = if base.contains("://") {
        url::Url::parse(base).map_err(|e| bad(e.to_string()))?
    } else {
        let path = std::path::absolute(base).map_err(|e| bad(e.to_string()))?;
        url::Url::from_directory_path(&path).map_err(|_| bad("not an absolute path".into()))?
    };
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    let join = |p: &str| url.join(p).map_err(|e| bad(e.to_string()));
    Ok((join("metadata/")?, join("targets/")?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn repository_urls_sit_under_the_base() {
        let (m, t) = super::repository_urls("http://127.0.0.1:8080/repo").unwrap();
        assert_eq!(m.as_str(), "http://127.0.0.1:8080/repo/metadata/");
        assert_eq!(t.as_str(), "http://127.0.0.1:8080/repo/targets/");
    }
}
