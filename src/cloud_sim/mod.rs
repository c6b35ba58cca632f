//! The government service cloud simulator: the whole v1 contract over real HTTP, backed by
//! SQLite, seeded with synthetic residents. Runs in-process for the demo and the scenarios, and
//! standalone as `bianmin cloud-sim`. A back-office clock moves cases along so progress shows.
//! Fault injection (down, slow, 500s, malformed JSON; for the three document endpoints, someone
//! else's document or a late one) lets tests play a bad network and a confused cloud.

mod admin;
mod civil;
mod db;
mod documents;
mod fleet;
mod handlers;
mod http;
mod payments;
mod records;
mod seed;
mod synthetic;

/// Makes `catalog` the one the simulator on `db` answers with (seeding the database first).
pub fn put_catalog(
    db: &std::path::Path,
    catalog: &crate::cloud::api::Catalog,
) -> anyhow::Result<()> {
    let conn = db::open(db)?;
    seed::seed(&conn)?;
    conn.execute(
        "UPDATE reference SET json = ?1 WHERE kind = 'catalog'",
        [serde_json::to_string(catalog)?],
    )?;
    Ok(())
}

pub use http::{now_rfc3339, CloudSim, Fault, SimOptions, CST};
pub use payments::double_charged;
pub use seed::{catalog as seed_catalog, site};
