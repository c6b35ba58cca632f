//! The government service cloud: wire types ([`api`]) and the typed async client ([`client`]).

pub mod api;
mod client;
mod device;
mod error;
mod submission;

pub use client::{CallRecord, CloudClient, Link, ResidentToken, BREAKER_THRESHOLD};
pub use error::CloudError;
pub use submission::Submission;
