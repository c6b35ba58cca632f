//! Prometheus text metrics on 127.0.0.1, for sites that scrape their kiosks locally: sessions by
//! service, errors by code, print jobs by outcome, heartbeats, the outbox, render frame time, and
//! the device conditions of the current [`HealthSnapshot`]. Labels are codes, never residents.

use super::{Condition, HealthSnapshot};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabel {
    service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeviceLabel {
    device: String,
}

/// The kiosk's counters. Cheap to update from any thread.
pub struct Metrics {
    sessions: Family<ServiceLabel, Counter>,
    errors: Family<CodeLabel, Counter>,
    print_jobs: Family<OutcomeLabel, Counter>,
    heartbeats: Family<OutcomeLabel, Counter>,
    commands: Family<CodeLabel, Counter>,
    frame_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            sessions: Family::default(),
            errors: Family::default(),
            print_jobs: Family::default(),
            heartbeats: Family::default(),
            commands: Family::default(),
            // 0.5 ms … 1 s: a frame's budget at 60 Hz is 16.7 ms.
            frame_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 12)),
        }
    }
}

impl Metrics {
    /// The process's metrics (one kiosk per process; the UI thread reports into them too).
    pub fn global() -> &'static Metrics {
        static METRICS: std::sync::OnceLock<Metrics> = std::sync::OnceLock::new();
        METRICS.get_or_init(Metrics::default)
    }

    /// A resident opened a service.
    pub fn session(&self, service: &str) {
        self.sessions
            .get_or_create(&ServiceLabel {
                service: service.into(),
            })
            .inc();
    }

    pub fn error(&self, code: &str) {
        self.errors
            .get_or_create(&CodeLabel { code: code.into() })
            .inc();
    }

    /// A print job ended: `done`, `failed`, `in_doubt`, `withheld`.
    pub fn print_job(&self, outcome: &str) {
        self.print_jobs
            .get_or_create(&OutcomeLabel {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// A heartbeat: `answered` or `missed`.
    pub fn heartbeat(&self, outcome: &str) {
        self.heartbeats
            .get_or_create(&OutcomeLabel {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// A cloud command carried out (by its name).
    pub fn command(&self, command: &str) {
        self.commands
            .get_or_create(&CodeLabel {
                code: command.into(),
            })
            .inc();
    }

    /// A view applied on the UI thread until the thread was free again: the layout and the
    /// software renderer's frame (Slint 1.18's software renderer has no per-frame notifier,
    /// so the UI bridge times the event-loop turn that draws the new view).
    pub fn frame(&self, seconds: f64) {
        self.frame_seconds.observe(seconds);
    }

    /// The exposition text: the counters, and the gauges of `health`.
    pub fn encode(&self, health: &HealthSnapshot) -> String {
        let mut r = Registry::with_prefix("bianmin");
        r.register(
            "sessions",
            "Services opened by residents",
            self.sessions.clone(),
        );
        r.register("errors", "Errors by machine code", self.errors.clone());
        r.register(
            "print_jobs",
            "Print jobs by outcome",
            self.print_jobs.clone(),
        );
        r.register(
            "heartbeats",
            "Heartbeats by outcome",
            self.heartbeats.clone(),
        );
        r.register(
            "commands",
            "Cloud commands carried out",
            self.commands.clone(),
        );
        r.register(
            "ui_update_seconds",
            "From applying a new view to the UI thread being free again (layout and the software-rendered frame)",
            self.frame_seconds.clone(),
        );
        let gauge = |v: i64| {
            let g: Gauge = Gauge::default();
            g.set(v);
            g
        };
        r.register(
            "outbox_pending",
            "Residents' submissions waiting for the cloud",
            gauge(health.outbox_pending as i64),
        );
        r.register(
            "outbox_oldest_pending_seconds",
            "Age of the oldest submission waiting for the cloud",
            gauge(health.devices.outbox_oldest_pending_s.unwrap_or(0) as i64),
        );
        r.register(
            "spool_failures",
            "Print jobs failed or in doubt in the last 24 hours",
            gauge(health.devices.spool_failures as i64),
        );
        r.register(
            "uptime_seconds",
            "Seconds since the app started",
            gauge(health.uptime_s as i64),
        );
        if let Some(mb) = health.devices.disk_free_mb {
            r.register(
                "disk_free_bytes",
                "Free space on the data partition",
                gauge((mb as i64).saturating_mul(1024 * 1024)),
            );
        }
        if let Some(ms) = health.devices.clock_offset_ms {
            let g: Gauge<f64, AtomicU64> = Gauge::default();
            g.set(ms as f64 / 1000.0);
            r.register("clock_offset_seconds", "Local clock minus the cloud's", g);
        }
        // 0 unknown, 1 ok, 2 warning, 3 error: one series per device family.
        let devices: Family<DeviceLabel, Gauge> = Family::default();
        let level = |c: Condition| match c {
            Condition::Unknown => 0,
            Condition::Ok => 1,
            Condition::Warning => 2,
            Condition::Error => 3,
        };
        for (device, c) in [
            ("printer", health.devices.printer.condition),
            ("card_reader", health.devices.readers_condition()),
            ("audio", health.devices.audio.condition),
        ] {
            devices
                .get_or_create(&DeviceLabel {
                    device: device.into(),
                })
                .set(level(c));
        }
        r.register(
            "device_condition",
            "0 unknown, 1 ok, 2 warning, 3 error",
            devices,
        );
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &r).expect("writing to a String");
        out
    }
}

/// What the endpoint serves: the current exposition text.
pub type Exposition = Arc<dyn Fn() -> String + Send + Sync>;

/// The local scrape endpoint: `GET /metrics` on a loopback address.
pub struct MetricsServer {
    pub addr: SocketAddr,
}

impl MetricsServer {
    /// Binds `addr` (loopback only: the metrics are for the site's own scraper) and serves on
    /// the current tokio runtime until it stops.
    pub async fn start(addr: SocketAddr, text: Exposition) -> std::io::Result<MetricsServer> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("metrics listen on {addr}: only a loopback address (127.0.0.1) is allowed"),
            ));
        }
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let text = text.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let text = text.clone();
                        async move { Ok::<_, std::convert::Infallible>(answer(&req, &text)) }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    if let Err(e) = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await
                    {
                        tracing::debug!(error = %e, "metrics connection ended");
                    }
                });
            }
        });
        Ok(MetricsServer { addr })
    }
}

fn answer(
    req: &hyper::Request<hyper::body::Incoming>,
    text: &Exposition,
) -> hyper::Response<http_body_util::Full<hyper::body::Bytes>> {
    let (status, content_type, body) = match (req.method(), req.uri().path()) {
        (&hyper::Method::GET, "/metrics") => (
            200,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            text(),
        ),
        (_, "/metrics") => (405, "text/plain", "GET only\n".to_string()),
        _ => (404, "text/plain", "see /metrics\n".to_string()),
    };
    hyper::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(http_body_util::Full::new(body.into()))
        .expect("a valid response")
}
