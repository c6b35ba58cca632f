//! `bianmin say`: one prompt through the kiosk's speaker, for technicians.

use crate::config::Config;
use crate::voice::{self, Output, PrivateListening, Utterance, Voice, VoicePack};
use crate::Lang;
use std::time::{Duration, Instant};

pub struct SayOptions {
    pub phrase: Option<String>,
    pub text: Option<String>,
    pub lang: Lang,
    pub device: Option<String>,
    pub list: bool,
}

/// The longest a prompt may play before `say` gives up waiting for its end.
const LONGEST: Duration = Duration::from_secs(60);

pub fn say(opts: SayOptions, config: &Config) -> anyhow::Result<i32> {
    let pack = match VoicePack::load(&config.voice.pack_dirs()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bianmin say: {e} (render it with voice/render.sh, or set voice.pack)");
            return Ok(1);
        }
    };
    if opts.list {
        let mut all: Vec<_> = pack.phrases().filter(|p| p.1 == opts.lang).collect();
        all.sort_by_key(|p| p.0);
        for (id, _, text) in all {
            println!("{id}\t{text}");
        }
        return Ok(0);
    }
    let utterance = match (&opts.phrase, &opts.text) {
        (Some(id), _) => {
            if !pack.has(id, opts.lang) {
                eprintln!(
                    "bianmin say: no phrase {id:?} in {} in the voice pack (`bianmin say --list --lang {}` lists them)",
                    opts.lang.code(),
                    opts.lang.code()
                );
                return Ok(1);
            }
            Utterance {
                parts: vec![voice::Part::Say(leak(id))],
            }
        }
        (None, Some(text)) => match voice::compose(&pack, text, opts.lang) {
            Some(u) => u,
            None => {
                eprintln!(
                    "bianmin say: {text:?} is neither a phrase's text nor a number, amount or ticket number the pack can say"
                );
                return Ok(1);
            }
        },
        (None, None) => voice::prompts::test(),
    };
    let mut section = config.voice.clone();
    section.enabled = true;
    if let Some(d) = opts.device {
        section.device = d;
    }
    let speaker = match section.open_output() {
        Output::Speaker(s) => s,
        Output::Silent(why) => {
            eprintln!("bianmin say: no audio output: {why}. Check that a sound card is present (aplay -l) and voice.device in the config");
            return Ok(2);
        }
    };
    // A technician's test may say personal pieces: they typed them.
    let mut v = Voice::new(
        Output::Speaker(speaker.clone()),
        Ok(pack),
        section.volume,
        PrivateListening::Headphones,
    );
    let started = Instant::now();
    v.say_now(utterance, opts.lang);
    let said = v.said.pop();
    println!("{}", v.caption());
    while speaker.is_playing() && started.elapsed() < LONGEST {
        std::thread::sleep(Duration::from_millis(20));
    }
    // What the card still holds in its buffer.
    std::thread::sleep(Duration::from_millis(250));
    if let Some(s) = said {
        eprintln!("played {} ms on {}", s.ms, speaker.describe());
    }
    Ok(0)
}

/// A phrase id typed on the command line lives as long as the process.
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}
