//! Personal data at rest: after a resident's session (card, ticket, wipe) and after an outbox
//! submission is delivered, the resident's ID number, name and phone appear nowhere in the kiosk's
//! SQLite file — raw bytes, WAL included — nor in its log output.

mod support;

use bianmin::cloud::api::{ReportKind, ReportRequest};
use bianmin_idcard::simulator::demo_residents;
use std::path::Path;
use std::process::Command;

fn raw_files(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["bianmin.db", "bianmin.db-wal", "bianmin.db-shm"] {
        if let Ok(b) = std::fs::read(dir.join(name)) {
            all.extend(b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn assert_clean(bytes: &[u8], what: &str) {
    for r in demo_residents() {
        let (gbk, _, _) = encoding_rs::GBK.encode(&r.name);
        assert!(
            !contains(bytes, r.id_number.as_str().as_bytes()),
            "{what}: an ID number"
        );
        assert!(
            !contains(bytes, r.name.as_bytes()),
            "{what}: a name (UTF-8)"
        );
        assert!(!contains(bytes, &gbk), "{what}: a name (GBK)");
    }
}

#[test]
fn a_whole_session_leaves_no_personal_data_in_the_database_or_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let journey = dir.path().join("journey.toml");
    std::fs::write(
        &journey,
        "[[step]]\ninsert_card = 1\n[[step]]\nexpect_text = \"您好，张*国\"\n[[step]]\nopen_service = \"queue_and_cases\"\n\
         [[step]]\ntap = \"社保医保\"\n[[step]]\ntap = \"确认\"\n[[step]]\nexpect_print = \"长辈优先\"\n[[step]]\nremove_card = true\n[[step]]\nexpect_page = \"goodbye\"\n\
         [[step]]\ninsert_card = 2\n[[step]]\nopen_service = \"social_insurance\"\n[[step]]\ntap = \"打印参保证明\"\n\
         [[step]]\ntap = \"最近 12 个月\"\n[[step]]\ntap = \"打印\"\n[[step]]\nexpect_print = \"参保证明\"\n\
         [[step]]\nremove_card = true\n[[step]]\nexpect_page = \"goodbye\"\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_bianmin"))
        .args([
            "--data-dir",
            data.to_str().unwrap(),
            "scenario",
            "run",
            journey.to_str().unwrap(),
            "--out",
            dir.path().join("out").to_str().unwrap(),
        ])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_clean(&raw_files(&data), "kiosk database");
    assert_clean(&out.stderr, "log output (debug level)");
    // The receipts saved as PNG carry only what the paper shows; their files are images, and the
    // spool's document JSON is in the database checked above. The certificate names its holder
    // in full on paper: its answer is kept sealed in the outbox, and the spool forgets the
    // document once it came out.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_entries_are_sealed_and_deleted_once_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let support::cloud::Kiosk {
        sim,
        cloud,
        store,
        outbox,
        ..
    } = support::cloud::kiosk(dir.path()).await;

    let phone = "13912345678";
    let description = "李秀英家楼道电线裸露，联系人李秀英";
    let req = ReportRequest {
        kind: ReportKind::Hazard,
        category: "fire".into(),
        location: "建设南路18号 3栋".into(),
        description: description.into(),
        anonymous: false,
        contact_phone: Some(phone.into()),
    };
    sim.set_fault(bianmin::cloud_sim::Fault::Down);
    let q = outbox.submit(&req, None).unwrap();
    assert_eq!(outbox.deliver_due_now(&cloud).await.unwrap().retrying, 1);
    store.lock().unwrap().checkpoint().unwrap();
    let sealed = raw_files(dir.path());
    assert!(
        !contains(&sealed, phone.as_bytes()),
        "the phone is sealed at rest"
    );
    assert!(
        !contains(&sealed, "电线裸露".as_bytes()),
        "free text is sealed at rest"
    );

    sim.set_fault(bianmin::cloud_sim::Fault::None);
    assert_eq!(outbox.deliver_due_now(&cloud).await.unwrap().delivered, 1);
    let receipt = outbox.answer(q).unwrap().expect("delivered");
    assert!(receipt.case_no.starts_with("BM"));
    store.lock().unwrap().checkpoint().unwrap();
    let after = raw_files(dir.path());
    assert!(!contains(&after, phone.as_bytes()));
    assert!(!contains(&after, "李秀英".as_bytes()));
    assert_eq!(outbox.counts().unwrap(), (0, 1, 0));
    // Delivered once, whatever happens next.
    assert_eq!(
        outbox.deliver_due_now(&cloud).await.unwrap(),
        Default::default()
    );
    assert_eq!(
        sim.count("idempotency"),
        1,
        "the report was created once, under its one key"
    );
}
