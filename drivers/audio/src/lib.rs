//! Audio output for Bianmin kiosks.
//!
//! One [`Speaker`] interface for the kiosk's voice, with two backends: [`AlsaSpeaker`] (rodio's
//! mixer on a cpal ALSA stream) and [`SimulatedSpeaker`] (keeps what was played, in wall-clock
//! time, for the headless runner and tests). Clips are decoded once into [`Pcm`]; the voice
//! layer joins them into one utterance and hands it over whole, so stopping is one call.
//! [`headphones`] reads the jack-detect switch a sound card reports.

mod alsa_out;
mod jack;
mod pcm;
mod simulator;

pub use alsa_out::AlsaSpeaker;
pub use jack::{headphones, Jack};
pub use pcm::Pcm;
pub use simulator::{Played, SimulatedSpeaker};

/// Why sound could not be played. Residents never see these; the kiosk logs them and shows
/// captions instead.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("no audio output device named {device:?}")]
    NoDevice { device: String },
    #[error("the audio device {device:?} refused every stream configuration: {source}")]
    Config {
        device: String,
        #[source]
        source: rodio::cpal::Error,
    },
    #[error("could not open an output stream on {device:?}: {source}")]
    Stream {
        device: String,
        #[source]
        source: rodio::cpal::Error,
    },
    #[error("the audio thread ended")]
    ThreadGone,
    #[error("could not decode the clip {name}: {reason}")]
    Decode { name: String, reason: String },
}

/// Audio output: one utterance at a time.
pub trait Speaker: Send + Sync {
    /// Plays `clip`, replacing anything still playing. `volume` is linear, 0.0–1.0.
    fn play(&self, clip: &Pcm, volume: f32) -> Result<(), AudioError>;
    /// Stops at once (a resident touched the screen).
    fn stop(&self);
    /// Still playing.
    fn is_playing(&self) -> bool;
    /// For logs and health: which output this is.
    fn describe(&self) -> String;
    /// How long the output stream has run (its sample clock), when it has one: lets a test
    /// place an utterance in a capture of the stream.
    fn clock(&self) -> Option<std::time::Duration> {
        None
    }
}
