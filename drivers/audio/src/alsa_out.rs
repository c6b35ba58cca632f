use crate::{AudioError, Pcm, Speaker};
use rodio::cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use rodio::cpal::{self, SampleFormat};
use rodio::mixer::MixerSource;
use rodio::Player;
use std::num::NonZero;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How far ahead of the wall clock the stream may run. A sound card never lets it get further
/// than its buffer; a device that takes samples as fast as they come (ALSA's `null` and `file`
/// plugins, used by the tests) would otherwise swallow a whole prompt in milliseconds, and a
/// touch could never cut it short.
const LEAD: Duration = Duration::from_millis(120);

/// The kiosk's speaker through ALSA: a cpal output stream fed by rodio's mixer, kept on its own
/// thread (a cpal stream may not move between threads).
pub struct AlsaSpeaker {
    device: String,
    mixer: rodio::mixer::Mixer,
    player: Mutex<Option<Player>>,
    failed: Arc<AtomicBool>,
    /// When the stream's first sample was asked for.
    started: Arc<Mutex<Option<Instant>>>,
    _stop: mpsc::Sender<()>,
}

impl AlsaSpeaker {
    /// Opens `device` ("default", or an ALSA PCM name that ALSA lists, e.g. "plughw:0,0").
    pub fn open(device: &str) -> Result<AlsaSpeaker, AudioError> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let failed = Arc::new(AtomicBool::new(false));
        let name = device.to_string();
        let flag = failed.clone();
        let started = Arc::new(Mutex::new(None));
        let first = started.clone();
        std::thread::Builder::new()
            .name("audio-out".into())
            .spawn(move || match start_stream(&name, flag, first) {
                Ok((stream, mixer)) => {
                    let _ = ready_tx.send(Ok(mixer));
                    // Keeps the stream alive until the speaker is dropped.
                    let _ = stop_rx.recv();
                    drop(stream);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|_| AudioError::ThreadGone)?;
        let mixer = ready_rx.recv().map_err(|_| AudioError::ThreadGone)??;
        Ok(AlsaSpeaker {
            device: device.into(),
            mixer,
            player: Mutex::new(None),
            failed,
            started,
            _stop: stop_tx,
        })
    }

    /// The stream reported an error since it opened (a device unplugged, an underrun storm).
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }
}

impl Speaker for AlsaSpeaker {
    fn play(&self, clip: &Pcm, volume: f32) -> Result<(), AudioError> {
        let player = Player::connect_new(&self.mixer);
        player.set_volume(volume.clamp(0.0, 1.0));
        let (Some(ch), Some(rate)) = (NonZero::new(clip.channels), NonZero::new(clip.rate)) else {
            return Ok(());
        };
        player.append(rodio::buffer::SamplesBuffer::new(
            ch,
            rate,
            clip.samples.to_vec(),
        ));
        // The previous player, dropped, stops what it was playing.
        *self.player.lock().expect("player lock") = Some(player);
        Ok(())
    }

    fn stop(&self) {
        if let Some(p) = self.player.lock().expect("player lock").take() {
            p.stop();
        }
    }

    fn is_playing(&self) -> bool {
        self.player
            .lock()
            .expect("player lock")
            .as_ref()
            .is_some_and(|p| !p.empty())
    }

    fn describe(&self) -> String {
        format!("ALSA {}", self.device)
    }

    fn clock(&self) -> Option<Duration> {
        self.started
            .lock()
            .expect("clock lock")
            .map(|t| t.elapsed())
    }
}

fn find_device(host: &cpal::Host, name: &str) -> Option<cpal::Device> {
    if name == "default" {
        return host.default_output_device();
    }
    host.output_devices().ok()?.find(|d| {
        d.id()
            .map(|id| id.id() == name || id.to_string() == name)
            .unwrap_or(false)
    })
}

type Started = (cpal::Stream, rodio::mixer::Mixer);

fn start_stream(
    name: &str,
    failed: Arc<AtomicBool>,
    first: Arc<Mutex<Option<Instant>>>,
) -> Result<Started, AudioError> {
    let host = cpal::default_host();
    let device = find_device(&host, name).ok_or_else(|| AudioError::NoDevice {
        device: name.into(),
    })?;
    let supported = device
        .default_output_config()
        .map_err(|source| AudioError::Config {
            device: name.into(),
            source,
        })?;
    let config = supported.config();
    let channels = NonZero::new(config.channels).unwrap_or(NonZero::<u16>::MIN);
    let rate = NonZero::new(config.sample_rate).unwrap_or(NonZero::<u32>::MIN);
    let (mixer, source) = rodio::mixer::mixer(channels, rate);
    let mut feed = PacedFeed {
        source,
        frames: 0,
        started: None,
        first,
        rate: config.sample_rate,
        channels: usize::from(config.channels),
    };
    let err_name = name.to_string();
    let on_error = move |e: cpal::Error| {
        if !failed.swap(true, Ordering::Relaxed) {
            tracing::error!(device = %err_name, error = %e, "audio stream error");
        }
    };
    let stream = match supported.sample_format() {
        SampleFormat::I16 => device.build_output_stream(
            config,
            move |out: &mut [i16], _: &cpal::OutputCallbackInfo| {
                feed.fill(out, |v| (v.clamp(-1.0, 1.0) * 32767.0) as i16)
            },
            on_error,
            None,
        ),
        _ => device.build_output_stream(
            config,
            move |out: &mut [f32], _: &cpal::OutputCallbackInfo| feed.fill(out, |v| v),
            on_error,
            None,
        ),
    }
    .map_err(|source| AudioError::Stream {
        device: name.into(),
        source,
    })?;
    stream.play().map_err(|source| AudioError::Stream {
        device: name.into(),
        source,
    })?;
    Ok((stream, mixer))
}

/// The mixer's output, never more than [`LEAD`] ahead of the wall clock.
struct PacedFeed {
    source: MixerSource,
    frames: u64,
    started: Option<Instant>,
    first: Arc<Mutex<Option<Instant>>>,
    rate: u32,
    channels: usize,
}

impl PacedFeed {
    fn fill<T>(&mut self, out: &mut [T], convert: impl Fn(f32) -> T) {
        let started = match self.started {
            Some(t) => t,
            None => {
                let now = Instant::now();
                self.started = Some(now);
                if let Ok(mut f) = self.first.lock() {
                    *f = Some(now);
                }
                now
            }
        };
        let due = Duration::from_secs_f64(self.frames as f64 / f64::from(self.rate.max(1)));
        let now = started.elapsed();
        if due > now + LEAD {
            std::thread::sleep(due - now - LEAD);
        }
        for s in out.iter_mut() {
            *s = convert(self.source.next().unwrap_or(0.0));
        }
        self.frames += (out.len() / self.channels.max(1)) as u64;
    }
}
