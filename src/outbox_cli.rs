//! `bianmin outbox …`: delivery passes and counts for technicians.

use crate::cli::OutboxAction;
use crate::cloud::CloudClient;
use crate::config::Config;
use crate::outbox::Outbox;
use crate::storage::Store;
use anyhow::Context;
use std::path::Path;
use std::sync::{Arc, Mutex};

fn open(data_dir: &Path) -> anyhow::Result<(Arc<Mutex<Store>>, Outbox)> {
    let store = Arc::new(Mutex::new(
        Store::open_in(data_dir).context("cannot open the kiosk database")?,
    ));
    let outbox = Outbox::open(store.clone(), &data_dir.join("outbox.key"))?;
    Ok((store, outbox))
}

fn client(
    store: &Arc<Mutex<Store>>,
    config: &Config,
    cloud: Option<String>,
) -> anyhow::Result<CloudClient> {
    let url = cloud
        .or_else(|| Some(config.cloud.url.clone()).filter(|u| !u.is_empty()))
        .context("no cloud: give --cloud URL or set cloud.url")?;
    let c = CloudClient::new(&url, config.cloud.timeout())?;
    let e = store
        .lock()
        .expect("store")
        .enrollment()?
        .context("this kiosk is not enrolled yet")?;
    c.set_device_token(&e.device_token);
    Ok(c)
}

pub fn main(action: OutboxAction, config: &Config, data_dir: &Path) -> anyhow::Result<i32> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match action {
        OutboxAction::Status { json } => {
            let (_, outbox) = open(data_dir)?;
            let (pending, delivered, failed) = outbox.counts()?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"pending": pending, "delivered": delivered, "failed": failed})
                );
            } else {
                println!("pending: {pending}\ndelivered: {delivered}\nfailed: {failed}");
            }
            Ok(0)
        }
        OutboxAction::Deliver { cloud } => {
            let (store, outbox) = open(data_dir)?;
            let c = client(&store, config, cloud)?;
            let pass = rt.block_on(outbox.deliver_due(&c))?;
            let (pending, _, _) = outbox.counts()?;
            println!(
                "delivered {}, refused {}, retrying {}, pending {pending}",
                pass.delivered, pass.refused, pass.retrying
            );
            Ok(if pending == 0 { 0 } else { 1 })
        }
    }
}
