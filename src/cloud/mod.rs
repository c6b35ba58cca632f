//! The government service cloud: wire types ([`api`]) and the typed async client ([`client`]).

pub mod admin;
pub mod api;
mod client;
mod device;
mod error;
mod submission;

#[cfg(feature = "fleet")]
pub(crate) use client::enc;
pub use client::{CallRecord, CloudClient, Link, ResidentToken, BREAKER_THRESHOLD};
pub use error::CloudError;
pub use submission::Submission;
