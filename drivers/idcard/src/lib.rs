//! Identity cards for Bianmin kiosks.
//!
//! One interface per device family (the embedded-hal pattern): [`IdentityReader`] produces
//! [`ReaderEvent`]s; backends sit behind it. This crate starts with the identity model, the
//! GB 11643 number checks, PIPL masking and the demo simulator; the PC/SC and GA/T 467 serial
//! backends plug in behind the same trait.

pub mod ethnicity;
pub mod gb11643;
pub mod identity;
pub mod mask;
pub mod pcsc_reader;
pub mod reader;
pub mod sam;
pub mod simulator;
pub mod sscard;

pub use gb11643::{IdNumber, IdNumberError};
pub use identity::{CardType, Identity, Sex, ValidTo};
pub use mask::{mask_id_number, mask_name};
pub use reader::{IdentityReader, ReadFailure, ReaderEvent};
