//! The government service cloud: wire types ([`api`]) and the typed async client ([`client`]).

pub mod api;
pub mod client;
pub mod error;

pub use client::{CallRecord, CloudClient, ResidentToken};
pub use error::CloudError;
