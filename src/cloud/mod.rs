//! The government service cloud: wire types ([`api`]) and the typed async client ([`client`]).

pub mod api;
pub mod client;
pub mod error;
mod submission;

pub use client::{CallRecord, CloudClient, ResidentToken};
pub use error::CloudError;
pub use submission::Submission;
