use crate::{AudioError, Pcm, Speaker};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One clip the simulator was asked to play, and for how long it actually played.
#[derive(Debug, Clone)]
pub struct Played {
    pub duration: Duration,
    pub started: Instant,
    /// Set when it was stopped (or replaced) before its end.
    pub cut_after: Option<Duration>,
}

/// A speaker that plays nothing but keeps time like one: the headless runner and tests see
/// the same "still playing" and "stopped" a sound card would give.
#[derive(Clone, Default)]
pub struct SimulatedSpeaker {
    log: Arc<Mutex<Vec<Played>>>,
}

impl SimulatedSpeaker {
    pub fn new() -> SimulatedSpeaker {
        SimulatedSpeaker::default()
    }

    pub fn played(&self) -> Vec<Played> {
        self.log.lock().expect("sim speaker lock").clone()
    }

    fn cut_current(log: &mut [Played]) {
        if let Some(last) = log.last_mut() {
            let ran = last.started.elapsed();
            if last.cut_after.is_none() && ran < last.duration {
                last.cut_after = Some(ran);
            }
        }
    }
}

impl Speaker for SimulatedSpeaker {
    fn play(&self, clip: &Pcm, _volume: f32) -> Result<(), AudioError> {
        let mut log = self.log.lock().expect("sim speaker lock");
        SimulatedSpeaker::cut_current(&mut log);
        log.push(Played {
            duration: clip.duration(),
            started: Instant::now(),
            cut_after: None,
        });
        Ok(())
    }

    fn stop(&self) {
        SimulatedSpeaker::cut_current(&mut self.log.lock().expect("sim speaker lock"));
    }

    fn is_playing(&self) -> bool {
        self.log
            .lock()
            .expect("sim speaker lock")
            .last()
            .is_some_and(|p| p.cut_after.is_none() && p.started.elapsed() < p.duration)
    }

    fn describe(&self) -> String {
        "simulated speaker".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_cuts_the_clip_short_and_a_new_clip_replaces_it() {
        let s = SimulatedSpeaker::new();
        let clip = Pcm::silence(16000, 1, Duration::from_secs(5));
        s.play(&clip, 1.0).unwrap();
        assert!(s.is_playing());
        s.stop();
        assert!(!s.is_playing());
        s.play(&clip, 1.0).unwrap();
        s.play(&Pcm::silence(16000, 1, Duration::from_millis(10)), 1.0)
            .unwrap();
        std::thread::sleep(Duration::from_millis(30));
        let p = s.played();
        assert_eq!(p.len(), 3);
        assert!(p[0].cut_after.is_some() && p[1].cut_after.is_some());
        assert!(p[2].cut_after.is_none());
        assert!(!s.is_playing());
    }
}
