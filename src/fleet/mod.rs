//! Admins' side of the fleet: the web console (`bianmin fleet console`) and the accounts that
//! sign in to it. The cloud's admin API it speaks is `crate::cloud::admin`.

mod accounts;
mod console;
mod strings;

pub use accounts::{password_matches, valid_name, AccountError, Accounts};
pub use console::{serve, ConsoleOptions, REASON_CODES};
