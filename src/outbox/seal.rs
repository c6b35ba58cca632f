//! Residents' data at rest: outbox bodies are sealed with XChaCha20-Poly1305 under a key kept in
//! a file readable by the kiosk user only (created at provisioning, or on first use). A sealed
//! blob is `nonce (24) | ciphertext+tag`.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the outbox key file {0} cannot be used: {1}")]
    Key(String, String),
    #[error("a sealed outbox entry does not open (wrong key or damaged)")]
    Open,
}

pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    /// Loads the key from `path`, creating it (mode 0600) when missing.
    pub fn load_or_create(path: &Path) -> Result<Sealer, SealError> {
        let err =
            |e: &dyn std::fmt::Display| SealError::Key(path.display().to_string(), e.to_string());
        let key: Zeroizing<Vec<u8>> = match std::fs::read(path) {
            Ok(k) => Zeroizing::new(k),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Zeroizing::new(XChaCha20Poly1305::generate_key(&mut OsRng).to_vec());
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                let mut f = opts.open(path).map_err(|e| err(&e))?;
                f.write_all(&key).map_err(|e| err(&e))?;
                f.sync_all().map_err(|e| err(&e))?;
                key
            }
            Err(e) => return Err(err(&e)),
        };
        if key.len() != 32 {
            return Err(err(&"the key is not 32 bytes"));
        }
        Ok(Sealer {
            cipher: XChaCha20Poly1305::new_from_slice(&key).map_err(|e| err(&e))?,
        })
    }

    pub fn seal(&self, plain: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(&nonce, plain)
                .expect("sealing never fails for in-memory data"),
        );
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.len() < 24 + 16 {
            return Err(SealError::Open);
        }
        let (nonce, ct) = sealed.split_at(24);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), ct)
            .map(Zeroizing::new)
            .map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_opens_and_refuses_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("outbox.key");
        let s = Sealer::load_or_create(&key).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let sealed = s.seal("张建国 510108195003150314".as_bytes());
        assert!(!sealed.windows(6).any(|w| w == "张建".as_bytes()));
        assert_eq!(
            &*s.open(&sealed).unwrap(),
            "张建国 510108195003150314".as_bytes()
        );
        let again = Sealer::load_or_create(&key).unwrap();
        assert!(again.open(&sealed).is_ok(), "the same key after a restart");
        let mut bad = sealed.clone();
        bad[30] ^= 1;
        assert!(s.open(&bad).is_err());
        std::fs::write(dir.path().join("short.key"), b"123").unwrap();
        assert!(Sealer::load_or_create(&dir.path().join("short.key")).is_err());
    }
}
