//! GA/T 467 SAM readers (the ID-card readers with a security module, on a serial line).
//!
//! Frames: `AA AA AA 96 69 | len (2, big-endian) | body | xor`, where `len` counts the body and
//! the checksum, and the checksum is the XOR of the length bytes and the body. Requests carry
//! `cmd para data`; answers carry `SW1 SW2 SW3 data`. A card is found (20 01), selected (20 02)
//! and read (30 01): 256 bytes of UCS-2LE text and a 1024-byte WLT photo.

pub mod frame;
pub mod reader;
pub mod text;

pub use frame::{decode_frame, encode_request, FrameError, Sw3};
pub use reader::SamReader;
pub use text::{decode_text, TextError};
