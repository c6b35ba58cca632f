//! The voice pack: OGG clips and a manifest saying which phrase each is, in which language, its
//! text (the caption) and the voice's licence. A site's own recorded pack sits in front of the
//! shipped one: a phrase it has is taken from it, the rest from the shipped pack.

use crate::lang::Lang;
use bianmin_audio::Pcm;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("cannot read the voice pack manifest {path}: {source}")]
    Manifest {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the voice pack manifest {path} is malformed: {source}")]
    Malformed {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("the voice pack {path} lists {id} ({lang}) whose file {file} is missing")]
    MissingClip {
        path: PathBuf,
        id: String,
        lang: String,
        file: String,
    },
    #[error("no voice pack in {0}")]
    NoPack(String),
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct PackInfo {
    pub name: String,
    #[serde(default)]
    pub version: String,
    pub licence: String,
}

#[derive(Debug, Clone, serde::Deserialize)]
struct ManifestPhrase {
    id: String,
    lang: String,
    file: String,
    text: String,
}

#[derive(Debug, serde::Deserialize)]
struct Manifest {
    pack: PackInfo,
    phrase: Vec<ManifestPhrase>,
}

/// One phrase's clip and caption.
#[derive(Debug, Clone)]
pub struct Clip {
    pub path: PathBuf,
    pub text: String,
}

/// The packs in order of preference (a site's own first).
#[derive(Debug, Clone, Default)]
pub struct VoicePack {
    pub packs: Vec<PackInfo>,
    clips: HashMap<(String, Lang), Clip>,
}

fn lang_of(s: &str) -> Option<Lang> {
    match s {
        "zh" | "zh-CN" | "cmn" => Some(Lang::Zh),
        "en" => Some(Lang::En),
        _ => None,
    }
}

impl VoicePack {
    /// Loads the packs in `dirs`, the first one preferred. A directory without a manifest is
    /// skipped (a site that has no pack of its own); none at all is an error.
    pub fn load(dirs: &[PathBuf]) -> Result<VoicePack, PackError> {
        let mut pack = VoicePack::default();
        for dir in dirs {
            let path = dir.join("manifest.toml");
            if !path.exists() {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|source| PackError::Manifest {
                path: path.clone(),
                source,
            })?;
            let m: Manifest = toml::from_str(&text).map_err(|source| PackError::Malformed {
                path: path.clone(),
                source,
            })?;
            for p in m.phrase {
                let Some(lang) = lang_of(&p.lang) else {
                    continue;
                };
                let file = dir.join(&p.file);
                if !file.is_file() {
                    return Err(PackError::MissingClip {
                        path: path.clone(),
                        id: p.id,
                        lang: p.lang,
                        file: p.file,
                    });
                }
                pack.clips.entry((p.id, lang)).or_insert(Clip {
                    path: file,
                    text: p.text,
                });
            }
            pack.packs.push(m.pack);
        }
        if pack.packs.is_empty() {
            return Err(PackError::NoPack(
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
        Ok(pack)
    }

    pub fn clip(&self, id: &str, lang: Lang) -> Option<&Clip> {
        self.clips.get(&(id.to_string(), lang))
    }

    pub fn has(&self, id: &str, lang: Lang) -> bool {
        self.clips.contains_key(&(id.to_string(), lang))
    }

    /// Every (phrase id, language, caption) in the pack.
    pub fn phrases(&self) -> impl Iterator<Item = (&str, Lang, &str)> {
        self.clips
            .iter()
            .map(|((id, lang), c)| (id.as_str(), *lang, c.text.as_str()))
    }

    /// Decodes one phrase's clip.
    pub fn decode(&self, id: &str, lang: Lang) -> Option<Pcm> {
        let clip = self.clip(id, lang)?;
        let bytes = match std::fs::read(&clip.path) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(phrase = id, error = %e, "voice clip unreadable");
                return None;
            }
        };
        match Pcm::decode(id, bytes) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::error!(phrase = id, error = %e, "voice clip undecodable");
                None
            }
        }
    }
}

/// Where packs are looked for: the configured site pack, then the shipped one (installed on a
/// kiosk, or rendered in the source tree by voice/render.sh).
pub fn default_dirs(site_pack: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(p) = site_pack {
        dirs.push(p.to_path_buf());
    }
    dirs.push(PathBuf::from("/usr/share/bianmin/voice"));
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("voice/pack"));
    dirs
}
