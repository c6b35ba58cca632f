//! Records a long-running kiosk keeps for tests, transcripts and the technician (cloud calls,
//! prompts spoken, sessions ended): only the most recent ones, so months in service do not add
//! up to megabytes (the memory benchmark found both growing by every session and heartbeat).

/// How many entries a record keeps at most.
pub const KEEP: usize = 4096;

/// Appends `item`, dropping the oldest half once `v` holds [`KEEP`] (amortised: one move per
/// entry, no ring buffer for readers to unwrap).
pub fn push<T>(v: &mut Vec<T>, item: T) {
    if v.len() >= KEEP {
        v.drain(..KEEP / 2);
    }
    v.push(item);
}

/// [`push`] for several.
pub fn extend<T>(v: &mut Vec<T>, items: impl IntoIterator<Item = T>) {
    for i in items {
        push(v, i);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_most_recent_are_kept() {
        let mut v = Vec::new();
        for i in 0..10 * super::KEEP {
            super::push(&mut v, i);
        }
        assert!(v.len() <= super::KEEP && v.len() > super::KEEP / 2);
        assert_eq!(*v.last().unwrap(), 10 * super::KEEP - 1);
        assert!(
            v.windows(2).all(|w| w[1] == w[0] + 1),
            "in order, none skipped"
        );
    }
}
