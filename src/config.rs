//! Kiosk configuration: `/etc/bianmin/kiosk.toml` on a kiosk, `--config FILE` anywhere.
//! Unknown keys are errors that name the key, so a typo never silently falls back to a default.

use crate::Lang;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const KIOSK_CONFIG: &str = "/etc/bianmin/kiosk.toml";
pub const KIOSK_DATA_DIR: &str = "/var/lib/bianmin";

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub kiosk: KioskSection,
    pub cloud: CloudSection,
    pub printer: PrinterSection,
    pub card_reader: CardReaderSection,
    pub voice: VoiceSection,
    pub health: HealthSection,
    pub update: UpdateSection,
    pub clock: ClockSection,
    pub technician: TechnicianSection,
}

/// The technician page on the kiosk's own screen (see docs/technician.md).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TechnicianSection {
    /// The page's PIN as an Argon2id PHC string (`bianmin technician-pin` makes one); empty:
    /// no technician page on this kiosk (the long press in the corner does nothing).
    pub pin_hash: String,
    /// Technician cards, as Argon2id PHC strings of their ID numbers (`bianmin technician-card`
    /// makes one): such a card on the reader while the PIN pad is up opens the page.
    pub cards: Vec<String>,
}

/// Signed updates (see docs/admin.md): where the kiosk checks for releases and keeps them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpdateSection {
    /// The TUF repository's base URL (`metadata/` and `targets/` below it); empty: no updates.
    pub repo_url: String,
    /// The repository's root.json, pinned at provisioning.
    pub root: PathBuf,
    /// One folder per release and the `current` symlink systemd starts through.
    pub releases_dir: PathBuf,
    /// Minutes between checks (a heartbeat command also checks at once).
    pub check_minutes: u64,
    /// Seconds a new release must run after reporting ready before it is kept.
    pub probation_s: u64,
    /// A new release whose starts end this many times…
    pub crash_restarts: u32,
    /// …within these minutes, before it was kept, is rolled back (a crash loop).
    pub crash_minutes: u64,
}

impl UpdateSection {
    /// The crash-loop rule for the health gate.
    pub fn crash_loop(&self) -> bianmin_update::CrashLoop {
        bianmin_update::CrashLoop {
            restarts: self.crash_restarts,
            within: bianmin_update::SignedDuration::from_mins(self.crash_minutes as i64),
        }
    }
}

impl Default for UpdateSection {
    fn default() -> Self {
        UpdateSection {
            repo_url: String::new(),
            root: PathBuf::from("/etc/bianmin/update-root.json"),
            releases_dir: PathBuf::from("/opt/bianmin/releases"),
            check_minutes: 60,
            probation_s: 120,
            crash_restarts: 3,
            crash_minutes: 10,
        }
    }
}

/// Reporting health (see docs/technician.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthSection {
    /// Seconds between heartbeats (a device change sends one at once).
    pub heartbeat_s: u64,
    /// Prometheus metrics on this loopback address (e.g. "127.0.0.1:9465"); empty: none.
    pub metrics_listen: String,
}

impl Default for HealthSection {
    fn default() -> Self {
        HealthSection {
            heartbeat_s: 60,
            metrics_listen: String::new(),
        }
    }
}

impl HealthSection {
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.heartbeat_s)
    }

    /// The metrics address, when one is configured.
    pub fn metrics_addr(&self) -> Result<Option<std::net::SocketAddr>, String> {
        if self.metrics_listen.is_empty() {
            return Ok(None);
        }
        let addr: std::net::SocketAddr = self.metrics_listen.parse().map_err(|_| {
            format!(
                "health.metrics_listen {:?} is not an address like 127.0.0.1:9465",
                self.metrics_listen
            )
        })?;
        if !addr.ip().is_loopback() {
            return Err(
                "health.metrics_listen must be a loopback address (127.0.0.1): metrics are for the site's own scraper"
                    .into(),
            );
        }
        Ok(Some(addr))
    }
}

/// The clock check of the self-test: SNTP servers asked for the time, and how far off the
/// kiosk's clock may be (receipts and certificates carry its time).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClockSection {
    /// "host" or "host:port" (port 123 by default), asked in order until one answers.
    pub ntp_servers: Vec<String>,
    /// A larger offset is a warning in the self-test.
    pub max_offset_ms: u64,
}

impl Default for ClockSection {
    fn default() -> Self {
        ClockSection {
            ntp_servers: vec![
                "ntp.aliyun.com".into(),
                "ntp.tencent.com".into(),
                "cn.pool.ntp.org".into(),
            ],
            max_offset_ms: 2000,
        }
    }
}

/// Spoken guidance (see docs/accessibility.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceSection {
    /// Off: captions only.
    pub enabled: bool,
    /// The ALSA output: "default", or a PCM name ALSA lists (e.g. "plughw:CARD=PCH").
    /// The demo's headless runner uses a simulated speaker unless this names a device.
    pub device: String,
    /// The kiosk's volume, 0–100; a resident's − / + lasts until the session ends.
    pub volume: u8,
    /// auto (the sound card's headphone jack), headphones (a handset-only kiosk) or speaker
    /// (never personal data aloud).
    pub private_listening: crate::voice::PrivateListening,
    /// A site's own recorded voice pack, preferred over the shipped one; empty for none.
    pub pack: String,
}

impl Default for VoiceSection {
    fn default() -> Self {
        VoiceSection {
            enabled: true,
            device: "default".into(),
            volume: 80,
            private_listening: crate::voice::PrivateListening::Auto,
            pack: String::new(),
        }
    }
}

impl VoiceSection {
    /// Opens the configured output; no device is not an error (captions carry on).
    pub fn open_output(&self) -> crate::voice::Output {
        if !self.enabled {
            return crate::voice::Output::Silent("voice.enabled is false".into());
        }
        match bianmin_audio::AlsaSpeaker::open(&self.device) {
            Ok(s) => crate::voice::Output::Speaker(std::sync::Arc::new(s)),
            Err(e) => crate::voice::Output::Silent(e.to_string()),
        }
    }

    /// The voice pack directories, the site's own first.
    pub fn pack_dirs(&self) -> Vec<PathBuf> {
        crate::voice::pack::default_dirs(
            Some(Path::new(&self.pack)).filter(|_| !self.pack.is_empty()),
        )
    }
}

/// Which identity-card backends run; both may run at once (the demo adds its on-screen reader).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CardReaderSection {
    /// Watch PC/SC readers through pcscd.
    pub pcsc: bool,
    /// A GA/T 467 SAM reader on this serial port; empty for none.
    pub sam_port: String,
    pub sam_baud: u32,
    /// PC/SC readers with a built-in SAM that return the ID card's text block (vendor-specific).
    pub vendor_sam: Vec<VendorSam>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorSam {
    /// A part of the reader's PC/SC name.
    pub reader: String,
    /// The model's read APDU, in hex.
    pub apdu: String,
}

impl Default for CardReaderSection {
    fn default() -> Self {
        CardReaderSection {
            pcsc: false,
            sam_port: String::new(),
            sam_baud: 115_200,
            vendor_sam: Vec::new(),
        }
    }
}

impl CardReaderSection {
    pub fn vendor_profiles(
        &self,
    ) -> Result<Vec<bianmin_idcard::pcsc_reader::VendorSamProfile>, String> {
        self.vendor_sam
            .iter()
            .map(|v| {
                let hex: String = v.apdu.chars().filter(|c| !c.is_whitespace()).collect();
                let apdu = (0..hex.len())
                    .step_by(2)
                    .map(|i| {
                        hex.get(i..i + 2)
                            .and_then(|b| u8::from_str_radix(b, 16).ok())
                    })
                    .collect::<Option<Vec<u8>>>()
                    .filter(|a| a.len() >= 4)
                    .ok_or_else(|| {
                        format!(
                            "card_reader.vendor_sam: apdu {:?} is not hex of at least 4 bytes",
                            v.apdu
                        )
                    })?;
                Ok(bianmin_idcard::pcsc_reader::VendorSamProfile {
                    reader_name_contains: v.reader.clone(),
                    read_apdu: apdu,
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Orientation {
    #[default]
    Portrait,
    Landscape,
}

impl Orientation {
    pub fn size(self) -> (u32, u32) {
        match self {
            Orientation::Portrait => (1080, 1920),
            Orientation::Landscape => (1920, 1080),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KioskSection {
    pub orientation: Orientation,
    pub fullscreen: bool,
    /// The language a new session starts in.
    pub language: Lang,
    /// Inactivity allowed on one page before the session ends.
    pub page_timeout_s: u64,
    /// The same in 长辈模式 (elderly residents read and tap more slowly).
    pub elderly_page_timeout_s: u64,
    /// How long before the end the countdown warning shows.
    pub warning_s: u64,
    pub serial: String,
    pub model: String,
}

impl Default for KioskSection {
    fn default() -> Self {
        KioskSection {
            orientation: Orientation::Portrait,
            fullscreen: false,
            language: Lang::Zh,
            page_timeout_s: 60,
            elderly_page_timeout_s: 120,
            warning_s: 20,
            serial: "BM-DEV-0001".into(),
            model: "Bianmin reference kiosk".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CloudSection {
    /// The government cloud's base URL; empty means the embedded simulator (demo only).
    pub url: String,
    /// Every call gives up after this long (a slow cloud must never freeze the screen).
    pub timeout_ms: u64,
    /// Used once, to enrol the kiosk, when the data dir holds no device token yet.
    pub enrollment_code: String,
}

impl Default for CloudSection {
    fn default() -> Self {
        CloudSection {
            url: String::new(),
            timeout_ms: 5000,
            enrollment_code: String::new(),
        }
    }
}

impl CloudSection {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(100))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrinterSection {
    /// Paper width in dots: 576 for 80 mm, 384 for 58 mm.
    pub width_dots: u32,
    /// The printer's serial device (e.g. /dev/ttyUSB0); empty means the simulated printer.
    pub port: String,
    pub baud: u32,
    /// none, rts-cts or xon-xoff
    pub flow: String,
    /// The printer has a Chinese ROM font (text mode); false sends every Chinese line as an image.
    pub chinese_font: bool,
    /// Characters this printer model's font lacks; lines with them are printed as images.
    pub missing_chars: String,
}

impl Default for PrinterSection {
    fn default() -> Self {
        PrinterSection {
            width_dots: 576,
            port: String::new(),
            baud: 9600,
            flow: "none".into(),
            chinese_font: true,
            missing_chars: String::new(),
        }
    }
}

impl PrinterSection {
    pub fn serial(
        &self,
        port: &str,
        baud: Option<u32>,
    ) -> Result<bianmin_printer::SerialConfig, String> {
        let mut cfg = bianmin_printer::SerialConfig::new(port, baud.unwrap_or(self.baud));
        cfg.flow = self
            .flow
            .parse()
            .map_err(|e| format!("printer.flow: {e}"))?;
        Ok(cfg)
    }

    pub fn encode_options(&self) -> bianmin_printer::escpos::EncodeOptions {
        bianmin_printer::escpos::EncodeOptions {
            width_dots: self.width_dots,
            chinese_font: self.chinese_font,
            missing_chars: self
                .missing_chars
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.into(),
            message: e.to_string(),
        })?;
        cfg.validate().map_err(|message| ConfigError::Invalid {
            path: path.into(),
            message,
        })?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), String> {
        if !(10..=3600).contains(&self.kiosk.page_timeout_s) {
            return Err("kiosk.page_timeout_s must be between 10 and 3600".into());
        }
        if !(self.kiosk.page_timeout_s..=3600).contains(&self.kiosk.elderly_page_timeout_s) {
            return Err(
                "kiosk.elderly_page_timeout_s must be at least kiosk.page_timeout_s and at most 3600"
                    .into(),
            );
        }
        if self.kiosk.warning_s >= self.kiosk.page_timeout_s {
            return Err("kiosk.warning_s must be shorter than kiosk.page_timeout_s".into());
        }
        self.card_reader.vendor_profiles()?;
        if let Err(e) = self.printer.flow.parse::<bianmin_printer::FlowControl>() {
            return Err(format!("printer.flow: {e}"));
        }
        if ![1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200].contains(&self.printer.baud) {
            return Err(
                "printer.baud must be a standard rate (9600, 19200, 38400, 57600, 115200, …)"
                    .into(),
            );
        }
        if ![384, 576].contains(&self.printer.width_dots) {
            return Err("printer.width_dots must be 384 (58 mm) or 576 (80 mm)".into());
        }
        if !(1..=7 * 24 * 60).contains(&self.update.check_minutes) {
            return Err("update.check_minutes must be between 1 and 10080 (a week)".into());
        }
        if self.update.probation_s > 3600 {
            return Err("update.probation_s must be at most 3600".into());
        }
        if !(1..=20).contains(&self.update.crash_restarts)
            || !(1..=24 * 60).contains(&self.update.crash_minutes)
        {
            return Err(
                "update.crash_restarts must be 1 to 20 and update.crash_minutes 1 to 1440".into(),
            );
        }
        if !(1..=3600).contains(&self.health.heartbeat_s) {
            return Err("health.heartbeat_s must be between 1 and 3600".into());
        }
        self.health.metrics_addr()?;
        if !self.technician.pin_hash.is_empty() {
            crate::technician::check_hash(&self.technician.pin_hash)
                .map_err(|e| format!("technician.pin_hash: {e}"))?;
        }
        for (i, card) in self.technician.cards.iter().enumerate() {
            crate::technician::check_hash(card).map_err(|e| {
                format!("technician.cards[{i}]: {e} (`bianmin technician-card` makes one)")
            })?;
        }
        let url = &self.cloud.url;
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return Err("cloud.url must start with http:// or https://".into());
        }
        Ok(())
    }

    /// `--config FILE` if given; else the kiosk's file if it exists; else defaults.
    pub fn load(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>), ConfigError> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(KIOSK_CONFIG)).filter(|p| p.exists()),
        };
        match path {
            Some(p) => {
                let text = std::fs::read_to_string(&p).map_err(|source| ConfigError::Read {
                    path: p.clone(),
                    source,
                })?;
                Ok((Config::parse(&text, &p)?, Some(p)))
            }
            None => Ok((Config::default(), None)),
        }
    }
}

/// `--data-dir` if given; `/var/lib/bianmin` on a kiosk (one configured by /etc/bianmin);
/// otherwise the user's data folder.
pub fn data_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if Path::new(KIOSK_CONFIG).exists() {
        return PathBuf::from(KIOSK_DATA_DIR);
    }
    directories::ProjectDirs::from("org", "bianmin", "bianmin")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".bianmin"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_from_empty_file() {
        let c = Config::parse("", Path::new("k.toml")).unwrap();
        assert_eq!(c.kiosk.page_timeout_s, 60);
        assert_eq!(c.kiosk.warning_s, 20);
        assert_eq!(c.kiosk.orientation, Orientation::Portrait);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::parse("[kiosk]\npage_timout_s = 30\n", Path::new("k.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("page_timout_s"), "{e}");
        assert!(e.contains("k.toml"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = Config::parse("[kiosk]\norientation = \"diagonal\"\n", Path::new("k.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("orientation") || e.contains("diagonal"), "{e}");
        let e = Config::parse(
            "[kiosk]\npage_timeout_s = 30\nwarning_s = 40\n",
            Path::new("k.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("kiosk.warning_s"), "{e}");
        let e = Config::parse("[printer]\nwidth_dots = 500\n", Path::new("k.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("printer.width_dots"), "{e}");
    }

    #[test]
    fn the_example_config_parses() {
        let text = include_str!("../docs/kiosk.example.toml");
        let c = Config::parse(text, Path::new("docs/kiosk.example.toml")).unwrap();
        assert!(c.card_reader.pcsc);
        assert_eq!(
            c.card_reader.vendor_profiles().unwrap()[0].read_apdu,
            vec![0xFF, 0xB0, 0x00, 0x01, 0x00]
        );
        let e = Config::parse(
            "[[card_reader.vendor_sam]]\nreader = \"X\"\napdu = \"zz\"\n",
            Path::new("k.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("card_reader.vendor_sam"), "{e}");
        assert_eq!(c.printer.port, "/dev/ttyUSB0");
    }

    #[test]
    fn a_technician_pin_hash_must_be_argon2id() {
        let e = Config::parse("[technician]\npin_hash = \"1234\"\n", Path::new("k.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("technician.pin_hash"), "{e}");
        let hash = crate::technician::hash_pin("2468").unwrap();
        let c = Config::parse(
            &format!("[technician]\npin_hash = \"{hash}\"\n"),
            Path::new("k.toml"),
        )
        .unwrap();
        assert_eq!(c.technician.pin_hash, hash);
    }

    #[test]
    fn landscape_by_config() {
        let c = Config::parse(
            "[kiosk]\norientation = \"landscape\"\n",
            Path::new("k.toml"),
        )
        .unwrap();
        assert_eq!(c.kiosk.orientation.size(), (1920, 1080));
    }
}
