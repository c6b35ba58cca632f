//! `cargo bench --bench printing`: bytes on the wire per template against the text-mode
//! minimum, the wire time at 9600 and 115200 baud (8N1: 10 bits a byte), encode and preview
//! render times, and what the raster fallback for rare characters costs.

use bianmin::printing::{preview_fonts, templates};
use bianmin_printer::escpos::{encode, EncodeOptions};
use bianmin_printer::{preview, Receipt};
use std::time::{Duration, Instant};

fn median(mut f: impl FnMut(), runs: usize) -> Duration {
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    t.sort();
    t[runs / 2]
}

fn wire_ms(bytes: usize, baud: u32) -> f64 {
    bytes as f64 * 10.0 / baud as f64 * 1000.0
}

fn main() {
    let fonts = preview_fonts();
    let opts = EncodeOptions::default();
    println!(
        "{:<20} {:>8} {:>8} {:>6} {:>10} {:>10} {:>9} {:>9}",
        "template", "bytes", "minimum", "ratio", "9600 ms", "115200 ms", "encode", "preview"
    );
    for name in templates::NAMES {
        let r = templates::sample(name, 576).expect("template");
        let e = encode(&r, &fonts, &opts);
        let enc = median(|| drop(encode(&r, &fonts, &opts)), 50);
        let prev = median(|| drop(preview::render(&r, &fonts, 576)), 20);
        println!(
            "{:<20} {:>8} {:>8} {:>6.2} {:>10.0} {:>10.1} {:>7.2}ms {:>7.2}ms",
            name,
            e.bytes.len(),
            e.text_bytes_minimum,
            e.bytes.len() as f64 / e.text_bytes_minimum as f64,
            wire_ms(e.bytes.len(), 9600),
            wire_ms(e.bytes.len(), 115_200),
            enc.as_secs_f64() * 1000.0,
            prev.as_secs_f64() * 1000.0,
        );
    }
    // The raster fallback: one line with a character outside the printer's font.
    let text = Receipt::new("t").text("姓名：吉田");
    let raster = Receipt::new("t").text("姓名：𠮷田");
    let (a, b) = (encode(&text, &fonts, &opts), encode(&raster, &fonts, &opts));
    println!(
        "raster fallback: a 24-dot line costs {} bytes as an image vs {} as text ({:.0}×; {:.0} ms at 9600 baud)",
        b.bytes.len(),
        a.bytes.len(),
        b.bytes.len() as f64 / a.bytes.len() as f64,
        wire_ms(b.bytes.len(), 9600)
    );
    let no_rom = EncodeOptions {
        chinese_font: false,
        ..Default::default()
    };
    let ticket = templates::sample("queue_ticket", 576).expect("ticket");
    let all_raster = encode(&ticket, &fonts, &no_rom);
    println!(
        "queue ticket on a printer without a Chinese font: {} bytes, {} raster lines, {:.1} s at 9600 baud",
        all_raster.bytes.len(),
        all_raster.raster_lines,
        wire_ms(all_raster.bytes.len(), 9600) / 1000.0
    );
}
