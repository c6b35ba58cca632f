//! Queue tickets go through the outbox too (durable, one key for life) but only while their
//! resident waits: the worker never sends them later, and they are abandoned when the session ends.

mod support;

use bianmin::cloud::api::{Priority, QueueTicket, QueueTicketRequest};
use bianmin::cloud_sim::Fault;
use bianmin::outbox::Delivery;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_are_delivered_once_while_the_resident_waits_and_never_later() {
    let dir = tempfile::tempdir().unwrap();
    let support::cloud::Kiosk {
        sim,
        cloud,
        enrollment: e,
        outbox,
        ..
    } = support::cloud::kiosk(dir.path()).await;
    let req = QueueTicketRequest {
        hall_id: e.site.hall_id.clone(),
        business: "general".into(),
        priority: Priority::Normal,
    };

    // Delivered while the resident waits; asking again answers the same ticket.
    let q = outbox.submit(&req, None).unwrap();
    let first: QueueTicket = match outbox.deliver_now(&cloud, q).await {
        Delivery::Answered(t) => t,
        other => panic!("{other:?}"),
    };
    let again = match outbox.deliver_now(&cloud, q).await {
        Delivery::Answered(t) => t,
        other => panic!("{other:?}"),
    };
    assert_eq!(first, again);
    assert_eq!(sim.count("tickets"), 1);

    // The cloud is down: the ticket stays pending, the worker does not send it later...
    sim.set_fault(Fault::Down);
    let q2 = outbox.submit(&req, None).unwrap();
    assert!(matches!(
        outbox.deliver_now(&cloud, q2).await,
        Delivery::Later(_)
    ));
    sim.set_fault(Fault::None);
    let pass = outbox.deliver_due_now(&cloud).await.unwrap();
    assert_eq!(
        (pass.delivered, pass.retrying),
        (0, 0),
        "online-only entries are skipped by the worker"
    );
    // ...and when the session ends it is abandoned, never issued.
    assert_eq!(outbox.abandon_online_only().unwrap(), 1);
    assert_eq!(outbox.counts().unwrap(), (0, 1, 1));
    assert_eq!(sim.count("tickets"), 1);
}
