use crate::AudioError;
use rodio::Source;
use std::sync::Arc;
use std::time::Duration;

/// Decoded audio: interleaved f32 samples.
#[derive(Clone, PartialEq)]
pub struct Pcm {
    pub rate: u32,
    pub channels: u16,
    pub samples: Arc<[f32]>,
}

impl std::fmt::Debug for Pcm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Pcm({} Hz × {}, {:?})",
            self.rate,
            self.channels,
            self.duration()
        )
    }
}

impl Pcm {
    /// Decodes an audio file's bytes (OGG Vorbis, the voice pack's format). `name` is for errors.
    pub fn decode(name: &str, bytes: Vec<u8>) -> Result<Pcm, AudioError> {
        let decoder = rodio::Decoder::try_from(std::io::Cursor::new(bytes)).map_err(|e| {
            AudioError::Decode {
                name: name.into(),
                reason: e.to_string(),
            }
        })?;
        let rate = decoder.sample_rate().get();
        let channels = decoder.channels().get();
        let samples: Vec<f32> = decoder.collect();
        if samples.is_empty() {
            return Err(AudioError::Decode {
                name: name.into(),
                reason: "no samples".into(),
            });
        }
        Ok(Pcm {
            rate,
            channels,
            samples: samples.into(),
        })
    }

    pub fn silence(rate: u32, channels: u16, d: Duration) -> Pcm {
        let n = (d.as_secs_f64() * f64::from(rate)) as usize * usize::from(channels);
        Pcm {
            rate,
            channels,
            samples: vec![0.0; n].into(),
        }
    }

    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.frames() as f64 / f64::from(self.rate.max(1)))
    }

    /// `parts` one after another, with `gap` of silence between them. Parts in another format
    /// are converted to the first one's (mono ↔ stereo, linear resampling), so a site's recorded
    /// clip can sit beside generated ones.
    pub fn join(parts: &[Pcm], gap: Duration) -> Option<Pcm> {
        let first = parts.first()?;
        let (rate, channels) = (first.rate, first.channels);
        let mut out: Vec<f32> = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                out.extend(Pcm::silence(rate, channels, gap).samples.iter());
            }
            out.extend(p.converted(rate, channels).samples.iter());
        }
        Some(Pcm {
            rate,
            channels,
            samples: out.into(),
        })
    }

    /// This clip at another rate and channel count.
    pub fn converted(&self, rate: u32, channels: u16) -> Pcm {
        if rate == self.rate && channels == self.channels {
            return self.clone();
        }
        let src_ch = usize::from(self.channels.max(1));
        let mono: Vec<f32> = self
            .samples
            .chunks(src_ch)
            .map(|f| f.iter().sum::<f32>() / f.len() as f32)
            .collect();
        let n_out = (mono.len() as u64 * u64::from(rate) / u64::from(self.rate.max(1))) as usize;
        let step = f64::from(self.rate) / f64::from(rate);
        let mut out = Vec::with_capacity(n_out * usize::from(channels));
        for i in 0..n_out {
            let pos = i as f64 * step;
            let k = pos.floor() as usize;
            let frac = (pos - k as f64) as f32;
            let a = mono.get(k).copied().unwrap_or(0.0);
            let b = mono.get(k + 1).copied().unwrap_or(a);
            let v = a + (b - a) * frac;
            for _ in 0..channels {
                out.push(v);
            }
        }
        Pcm {
            rate,
            channels,
            samples: out.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, channels: u16, ms: u64) -> Pcm {
        let frames = rate as u64 * ms / 1000;
        let mut s = Vec::new();
        for i in 0..frames {
            let v = (i as f32 * 0.05).sin() * 0.5;
            for _ in 0..channels {
                s.push(v);
            }
        }
        Pcm {
            rate,
            channels,
            samples: s.into(),
        }
    }

    #[test]
    fn join_adds_gaps_and_converts_to_the_first_format() {
        let a = tone(22050, 1, 500);
        let b = tone(44100, 2, 250);
        let j = Pcm::join(&[a, b], Duration::from_millis(100)).unwrap();
        assert_eq!((j.rate, j.channels), (22050, 1));
        let ms = j.duration().as_millis();
        assert!((845..=855).contains(&ms), "{ms} ms");
    }

    #[test]
    fn garbage_is_a_decode_error_not_a_panic() {
        let e = Pcm::decode("x.ogg", b"OggS not really".to_vec()).unwrap_err();
        assert!(matches!(e, AudioError::Decode { .. }), "{e}");
    }
}
