//! Fuzzes the live line-protocol decoder (`src/source/protocol.rs`): arbitrary bytes, fed in chunks whose sizes the
//! input picks, with link breaks between some of them. Checks, besides "never panics": every sample has one value
//! per card channel, all finite; source time never runs backwards; and the good-line count equals the samples
//! given.

#![no_main]

use libfuzzer_sys::fuzz_target;

include!("app_modules.rs");

use model::ModelCard;
use protocol::{DecodedSample, Decoder, DecoderOptions};

fn card() -> ModelCard {
    let json = r#"{"classes": ["sitting", "standing"], "channels": ["Ax","Ay","Az","Gx","Gy","Gz"],
        "sample_rate_hz": 50.0, "window": 4, "step": 2,
        "scaler": {"mean": [0,0,9,0,0,0], "scale": [1,1,1,10,10,10]}}"#;
    match ModelCard::from_json(json, std::path::Path::new("fuzz.model.json")) {
        Ok(card) => card,
        Err(e) => panic!("the fuzz card is invalid: {e}"),
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&split, bytes)) = input.split_first() else { return };
    let card = card();
    let mut decoder = Decoder::new(&card, DecoderOptions::default());
    let mut out: Vec<DecodedSample> = Vec::new();
    // Chunk sizes 1..=16 from the first byte; a link break after every chunk when its top bit is set.
    let chunk = usize::from(split & 0x0f) + 1;
    let breaks = split & 0x80 != 0;
    for piece in bytes.chunks(chunk) {
        decoder.feed_bytes(piece, &mut out);
        if breaks {
            decoder.break_link(0.5, &mut out);
        }
    }
    decoder.flush(&mut out);
    let mut last = f64::NEG_INFINITY;
    for s in &out {
        assert_eq!(s.values.len(), card.channels.len(), "one value per channel");
        assert!(s.values.iter().all(|v| v.is_finite()), "non-finite value kept: {:?}", s.values);
        assert!(s.t.is_finite() && s.t >= last, "time ran backwards: {} after {last}", s.t);
        last = s.t;
    }
    let counts = decoder.counts();
    assert_eq!(counts.good as usize, out.len(), "every good line is one sample, and every sample a good line");
});
