//! The console's admin accounts (`console.db` in its data folder): a name, a role and an
//! Argon2id hash of the password, nothing else; and the console's own record of sign-ins.

use crate::cloud::admin::AdminRole;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("the console's account store {path} cannot be opened: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("the account store failed: {0}")]
    Store(#[from] rusqlite::Error),
    #[error("user names are 1 to 32 letters, digits, '.', '-' or '_'")]
    BadName,
    #[error("a password needs at least 10 characters")]
    WeakPassword,
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

/// Whether `password` matches `hash`; with no hash (no such user) a stand-in is checked, so a
/// wrong name costs the same time as a wrong password and names cannot be probed by timing.
pub fn password_matches(hash: Option<&str>, password: &str) -> bool {
    let good = PasswordHash::new(hash.unwrap_or(dummy_hash()))
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false);
    good && hash.is_some()
}

/// A name `add` would accept (what the sign-in record keeps of a typed name).
pub fn valid_name(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= 32
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

pub struct Accounts {
    conn: Connection,
}

/// A hash to verify against when the user does not exist, so a wrong name costs the same time
/// as a wrong password (names cannot be probed by timing).
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"no such admin", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

impl Accounts {
    pub fn open(data_dir: &Path) -> Result<Accounts, AccountError> {
        std::fs::create_dir_all(data_dir).map_err(|e| AccountError::Open {
            path: data_dir.display().to_string(),
            source: rusqlite::Error::InvalidPath(format!("{e}").into()),
        })?;
        let path = data_dir.join("console.db");
        let conn = Connection::open(&path).map_err(|source| AccountError::Open {
            path: path.display().to_string(),
            source,
        })?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS admins (user TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL, created_at TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS sign_ins (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user TEXT NOT NULL,
                 outcome TEXT NOT NULL, peer TEXT);",
        )?;
        Ok(Accounts { conn })
    }

    /// Adds an admin, or changes the role and password of one that exists.
    pub fn add(&self, user: &str, role: AdminRole, password: &str) -> Result<(), AccountError> {
        if !valid_name(user) {
            return Err(AccountError::BadName);
        }
        if password.chars().count() < 10 {
            return Err(AccountError::WeakPassword);
        }
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| AccountError::Hash(e.to_string()))?
            .to_string();
        self.conn.execute(
            "INSERT INTO admins (user, role, hash, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (user) DO UPDATE SET role = ?2, hash = ?3",
            params![user, role.code(), hash, crate::time::now_rfc3339()],
        )?;
        Ok(())
    }

    /// The user's role and password hash, if there is such a user (a quick lookup: the slow
    /// check is [`password_matches`], outside any lock).
    pub fn credentials(&self, user: &str) -> Result<Option<(AdminRole, String)>, AccountError> {
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT role, hash FROM admins WHERE user = ?1",
                [user],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.and_then(|(role, hash)| Some((role.parse().ok()?, hash))))
    }

    /// The user's role when the password is theirs.
    pub fn verify(&self, user: &str, password: &str) -> Result<Option<AdminRole>, AccountError> {
        let found = self.credentials(user)?;
        let good = password_matches(found.as_ref().map(|(_, h)| h.as_str()), password);
        Ok(found.filter(|_| good).map(|(role, _)| role))
    }

    pub fn note_sign_in(&self, user: &str, outcome: &str, peer: &str) -> Result<(), AccountError> {
        self.conn.execute(
            "INSERT INTO sign_ins (at, user, outcome, peer) VALUES (?1, ?2, ?3, ?4)",
            params![crate::time::now_rfc3339(), user, outcome, peer],
        )?;
        Ok(())
    }

    /// The most recent sign-ins: (at, user, outcome, peer).
    pub fn sign_ins(
        &self,
        limit: usize,
    ) -> Result<Vec<(String, String, String, String)>, AccountError> {
        let mut stmt = self.conn.prepare(
            "SELECT at, user, outcome, COALESCE(peer, '') FROM sign_ins ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_for_their_user_and_roles_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let a = Accounts::open(dir.path()).unwrap();
        a.add("li.wei", AdminRole::Operator, "correct horse battery")
            .unwrap();
        a.add("zhao", AdminRole::Viewer, "another long secret")
            .unwrap();
        assert_eq!(
            a.verify("li.wei", "correct horse battery").unwrap(),
            Some(AdminRole::Operator)
        );
        assert_eq!(
            a.verify("zhao", "another long secret").unwrap(),
            Some(AdminRole::Viewer)
        );
        assert_eq!(a.verify("li.wei", "another long secret").unwrap(), None);
        assert_eq!(a.verify("nobody", "correct horse battery").unwrap(), None);
        assert!(matches!(
            a.add("bad name", AdminRole::Viewer, "long enough pw"),
            Err(AccountError::BadName)
        ));
        assert!(matches!(
            a.add("ok", AdminRole::Viewer, "short"),
            Err(AccountError::WeakPassword)
        ));
        // Stored as a hash, never as the password.
        let stored: String = a
            .conn
            .query_row("SELECT hash FROM admins WHERE user = 'zhao'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(stored.starts_with("$argon2id$") && !stored.contains("another"));
    }
}
