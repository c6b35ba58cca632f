//! A static file server on 127.0.0.1 for a release repository (the update tests): Range
//! support, and a switch that cuts a target download mid-file, as a flaky mobile link does.
// Each test crate compiles the whole support tree and uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A static file server on 127.0.0.1 for one test's repository.
pub struct Server {
    pub url: String,
    /// Cut the next target download after half its bytes (once).
    pub cut_next_target: Arc<AtomicBool>,
    /// Requests for archives (a cut one is asked for again).
    pub target_requests: Arc<AtomicUsize>,
    /// Of those, the ones that asked for the rest only (`Range: bytes=N-`, N > 0).
    pub resumed_requests: Arc<AtomicUsize>,
}

impl Server {
    pub fn start(root: &Path) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let cut = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let resumed = Arc::new(AtomicUsize::new(0));
        let (root, cut2, requests2, resumed2) = (
            root.to_path_buf(),
            cut.clone(),
            requests.clone(),
            resumed.clone(),
        );
        // The thread ends with the test process; it only ever answers this machine's loopback.
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (root, cut) = (root.clone(), cut2.clone());
                let (requests, resumed) = (requests2.clone(), resumed2.clone());
                std::thread::spawn(move || serve(conn, &root, &cut, &requests, &resumed));
            }
        });
        Server {
            url,
            cut_next_target: cut,
            target_requests: requests,
            resumed_requests: resumed,
        }
    }
}

fn serve(
    mut conn: TcpStream,
    root: &Path,
    cut: &AtomicBool,
    target_requests: &AtomicUsize,
    resumed_requests: &AtomicUsize,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut from = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(r) = lower.strip_prefix("range: bytes=") {
            from = r.trim().trim_end_matches('-').parse().unwrap_or(0);
        }
    }
    if path.contains("/targets/") {
        target_requests.fetch_add(1, Ordering::SeqCst);
        if from > 0 {
            resumed_requests.fetch_add(1, Ordering::SeqCst);
        }
    }
    let file = root.join(path.trim_start_matches('/'));
    let Ok(body) = std::fs::read(&file) else {
        let _ = conn
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    let body = &body[from.min(body.len())..];
    let status = if from > 0 {
        "206 Partial Content"
    } else {
        "200 OK"
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    if path.contains("/targets/") && from == 0 && cut.swap(false, Ordering::SeqCst) {
        // The connection drops mid-file, as on a flaky mobile link.
        let _ = conn.write_all(&body[..body.len() / 2]);
        let _ = conn.flush();
        let _ = conn.shutdown(std::net::Shutdown::Both);
        return;
    }
    let _ = conn.write_all(body);
}
