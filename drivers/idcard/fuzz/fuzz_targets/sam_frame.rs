//! Arbitrary bytes from a serial line: the frame decoder resynchronises and never panics, and
//! whatever decodes as a read answer goes through the text decoder.
#![no_main]

use bianmin_idcard::sam::frame::decode_frame;
use bianmin_idcard::sam::text::decode_text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    for _ in 0..64 {
        let (result, consumed) = decode_frame(&buf);
        assert!(consumed <= buf.len());
        if let Ok(answer) = result {
            if answer.data.len() >= 4 + 256 {
                let _ = decode_text(&answer.data[4..260], answer.data[260..].to_vec());
            }
        }
        if consumed == 0 {
            break;
        }
        buf.drain(..consumed);
    }
    if data.len() >= 256 {
        let _ = decode_text(&data[..256], Vec::new());
    }
});
