//! Writing kiosk.toml: the values provisioning found set into the file as it stands (a
//! technician's comments and layout kept), checked by the config parser, and replaced
//! atomically (a temporary file, fsync, rename) with mode 0644 — it holds no secret.

use crate::config::Config;
use std::io::Write;
use std::path::Path;
use toml_edit::{value, DocumentMut, Item, Table};

/// One setting provisioning writes: section, key, value.
#[derive(Debug, Clone, PartialEq)]
pub enum Setting {
    Str(&'static str, &'static str, String),
    Int(&'static str, &'static str, i64),
    Bool(&'static str, &'static str, bool),
}

/// The file's text with `settings` applied (sections created where missing).
pub fn apply(text: &str, settings: &[Setting]) -> Result<String, String> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| format!("the existing config cannot be edited: {e}"))?;
    for s in settings {
        let (section, key) = match s {
            Setting::Str(s, k, _) | Setting::Int(s, k, _) | Setting::Bool(s, k, _) => (*s, *k),
        };
        let table = doc
            .entry(section)
            .or_insert_with(|| Item::Table(Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("[{section}] in the config is not a table"))?;
        // A rewritten value keeps the comment that followed it on its line.
        let decor = table
            .get(key)
            .and_then(Item::as_value)
            .map(|v| v.decor().clone());
        let mut item = match s {
            Setting::Str(_, _, v) => value(v.as_str()),
            Setting::Int(_, _, v) => value(*v),
            Setting::Bool(_, _, v) => value(*v),
        };
        if let (Some(d), Some(v)) = (decor, item.as_value_mut()) {
            *v.decor_mut() = d;
        }
        table.insert(key, item);
    }
    Ok(doc.to_string())
}

/// Writes `text` to `path` atomically with mode 0644, after checking that it parses as a kiosk
/// config (a file the kiosk would refuse is never left in place).
pub fn write(path: &Path, text: &str) -> Result<(), String> {
    Config::parse(text, path).map_err(|e| format!("the new config does not parse: {e}"))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.provision-{}",
        path.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "kiosk.toml".into()),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o644);
        let mut f = opts.open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_keep_comments_and_parse() {
        let text =
            "# the hall's kiosk\n[printer]\nport = \"/dev/old\"  # udev name\nwidth_dots = 384\n";
        let out = apply(
            text,
            &[
                Setting::Str("printer", "port", "/dev/ttyUSB0".into()),
                Setting::Int("printer", "baud", 115200),
                Setting::Str("cloud", "url", "https://zwfw.example.gov.cn".into()),
                Setting::Bool("card_reader", "pcsc", true),
            ],
        )
        .unwrap();
        assert!(out.contains("# the hall's kiosk"), "{out}");
        assert!(
            out.contains("port = \"/dev/ttyUSB0\"  # udev name"),
            "{out}"
        );
        assert!(out.contains("width_dots = 384"), "{out}");
        let c = Config::parse(&out, Path::new("k.toml")).unwrap();
        assert_eq!(c.printer.baud, 115200);
        assert_eq!(c.cloud.url, "https://zwfw.example.gov.cn");
        assert!(c.card_reader.pcsc);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("etc/kiosk.toml");
        write(&file, &out).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o644
        );
        assert!(write(&file, "[printer]\nwidth_dots = 5\n").is_err());
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            out,
            "a bad config is never left"
        );
    }
}
