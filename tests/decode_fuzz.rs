//! Malformed cloud answers never panic the kiosk: property tests throw arbitrary statuses,
//! content types and bodies at the real client over HTTP on 127.0.0.1, and arbitrary JSON at
//! every response type. Bounded in cases.

use bianmin::cloud::api::*;
use bianmin::cloud::{CloudClient, CloudError};
use proptest::prelude::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        "\\PC{0,12}".prop_map(serde_json::Value::from),
        prop_oneof![
            Just("ticket_no"),
            Just("status"),
            Just("received"),
            Just("code"),
            Just("")
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("ticket_no".to_string()),
                    Just("business".to_string()),
                    Just("waiting_ahead".to_string()),
                    Just("estimated_wait_min".to_string()),
                    Just("issued_at".to_string()),
                    Just("cases".to_string()),
                    Just("code".to_string()),
                    Just("status".to_string()),
                    Just("title".to_string()),
                    "[a-z_]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics_any_response_type(v in json()) {
        let _ = serde_json::from_value::<QueueTicket>(v.clone());
        let _ = serde_json::from_value::<Vec<HallQueue>>(v.clone());
        let _ = serde_json::from_value::<Catalog>(v.clone());
        let _ = serde_json::from_value::<IdentitySession>(v.clone());
        let _ = serde_json::from_value::<CaseList>(v.clone());
        let _ = serde_json::from_value::<CaseDetail>(v.clone());
        let _ = serde_json::from_value::<CaseReceipt>(v.clone());
        let _ = serde_json::from_value::<Certificate>(v.clone());
        let _ = serde_json::from_value::<Payment>(v.clone());
        let _ = serde_json::from_value::<BillList>(v.clone());
        let _ = serde_json::from_value::<GuideList>(v.clone());
        let _ = serde_json::from_value::<ReportCategories>(v.clone());
        let _ = serde_json::from_value::<Problem>(v);
    }
}

/// One canned HTTP answer per connection, on 127.0.0.1.
async fn serve_once(status: u16, content_type: &'static str, body: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        if let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 8192];
            let _ = s.read(&mut buf).await;
            let head = format!("HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&body).await;
        }
    });
    format!("http://{addr}")
}

fn statuses() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(200u16),
        Just(201),
        Just(204),
        Just(400),
        Just(401),
        Just(404),
        Just(409),
        Just(422),
        Just(500),
        Just(503),
        100u16..600
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    #[test]
    fn the_client_turns_any_answer_into_a_value_or_a_typed_error(
        status in statuses(),
        problem in any::<bool>(),
        body in prop_oneof![
            json().prop_map(|v| v.to_string().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..64),
            Just(b"{\"type\":\"about:blank\",\"title\":\"t\",\"status\":422,\"code\":\"card_expired\"}".to_vec()),
        ],
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let ct = if problem { "application/problem+json" } else { "application/json" };
            let url = serve_once(status, ct, body).await;
            let c = CloudClient::new(&url, Duration::from_secs(2)).unwrap();
            let req = QueueTicketRequest { hall_id: "h".into(), business: "b".into(), priority: Priority::Normal };
            match c.create_queue_ticket(&req, None, "k").await {
                Ok(_) => prop_assert!((200..300).contains(&status)),
                Err(CloudError::Problem(p)) => prop_assert!(problem && !(200..300).contains(&status) && p.status >= 400 || p.status > 0),
                Err(_) => {}
            }
            Ok(())
        })?;
    }
}
