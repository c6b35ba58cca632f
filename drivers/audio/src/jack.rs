/// What the sound card says of its headphone socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jack {
    Plugged,
    Unplugged,
    /// No card reports a headphone jack (USB speakers, HDMI, no card at all).
    Unknown,
}

/// Reads the "Headphone Jack" switch (the kernel's jack-detect control, iface CARD) of every
/// sound card: plugged when any card reports headphones in.
pub fn headphones() -> Jack {
    let mut seen = false;
    for card in alsa::card::Iter::new().flatten() {
        let name = format!("hw:{}", card.get_index());
        let Ok(hctl) = alsa::hctl::HCtl::new(&name, false) else {
            continue;
        };
        if hctl.load().is_err() {
            continue;
        }
        for elem in hctl.elem_iter() {
            let Ok(id) = elem.get_id() else { continue };
            let is_jack = id.get_interface() == alsa::ctl::ElemIface::Card
                && id
                    .get_name()
                    .is_ok_and(|n| n.contains("Headphone") && n.contains("Jack"));
            if !is_jack {
                continue;
            }
            seen = true;
            if elem
                .read()
                .ok()
                .and_then(|v| v.get_boolean(0))
                .unwrap_or(false)
            {
                return Jack::Plugged;
            }
        }
    }
    if seen {
        Jack::Unplugged
    } else {
        Jack::Unknown
    }
}
