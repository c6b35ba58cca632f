//! The government service cloud simulator: the whole v1 contract over real HTTP, backed by
//! SQLite, seeded with synthetic residents. Runs in-process for the demo and the scenarios, and
//! standalone as `bianmin cloud-sim`. A back-office clock moves cases along so progress shows.
//! Fault injection (down, slow, 500s, malformed JSON; for the three document endpoints, someone
//! else's document or a late one) lets tests play a bad network and a confused cloud.

mod civil;
mod db;
mod documents;
mod fleet;
mod handlers;
mod http;
mod payments;
mod records;
mod seed;

pub use http::{now_rfc3339, CloudSim, Fault, SimOptions, CST};
pub use payments::double_charged;
pub use seed::site;
