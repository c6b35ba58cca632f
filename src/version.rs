//! The release's version, as the binary reports it (heartbeat, `bianmin update`, the releases
//! folder's names).
//!
//! It sits in a fixed slot in the binary, `BIANMIN-VERSION:` followed by the version and NUL
//! padding, filled from Cargo's package version at build time and read back at run time
//! through volatile reads, so the compiler cannot fold it into the code that uses it. A build
//! with another version string only differs in those bytes; the update tests make their
//! "next release" that way (tests/update_rollout.rs) instead of compiling the kiosk twice.

/// The slot's marker: the tests find the slot by it.
pub const MARKER: &str = "BIANMIN-VERSION:";
/// The slot's size, marker included.
pub const SLOT: usize = 64;

#[used]
static BIANMIN_VERSION_SLOT: [u8; SLOT] = fill(env!("CARGO_PKG_VERSION"));

const fn fill(version: &str) -> [u8; SLOT] {
    let mut slot = [0u8; SLOT];
    let (m, v) = (MARKER.as_bytes(), version.as_bytes());
    assert!(m.len() + v.len() < SLOT, "the version fits its slot");
    let mut i = 0;
    while i < m.len() {
        slot[i] = m[i];
        i += 1;
    }
    let mut j = 0;
    while j < v.len() {
        slot[m.len() + j] = v[j];
        j += 1;
    }
    slot
}

/// This binary's version (`X.Y.Z`).
pub fn version() -> &'static str {
    static READ: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    READ.get_or_init(|| {
        let mut bytes = Vec::with_capacity(SLOT);
        for i in MARKER.len()..SLOT {
            // SAFETY: in bounds of a static array of plain bytes.
            let b = unsafe { std::ptr::read_volatile(BIANMIN_VERSION_SLOT.as_ptr().add(i)) };
            if b == 0 {
                break;
            }
            bytes.push(b);
        }
        String::from_utf8(bytes).unwrap_or_else(|_| env!("CARGO_PKG_VERSION").into())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_slot_holds_the_package_version() {
        assert_eq!(super::version(), env!("CARGO_PKG_VERSION"));
    }
}
