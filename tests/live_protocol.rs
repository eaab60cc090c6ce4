//! Properties of the live line protocol decoder: it never panics on arbitrary bytes split anywhere, and every
//! well-formed line among garbage arrives once, in order, whatever the chunking.

use std::path::Path;

use har_monitor::model::{AccelUnit, ModelCard};
use har_monitor::source::protocol::{Decoder, DecoderOptions};
use proptest::prelude::*;

fn card() -> ModelCard {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo/demo-1dcnn-bilstm.model.json");
    ModelCard::load(&path).unwrap()
}

fn feed_chunked(d: &mut Decoder, bytes: &[u8], cuts: &[usize]) -> Vec<har_monitor::source::protocol::DecodedSample> {
    let mut out = Vec::new();
    let mut at = 0;
    for &c in cuts {
        let end = (at + c).min(bytes.len());
        d.feed_bytes(&bytes[at..end], &mut out);
        at = end;
    }
    d.feed_bytes(&bytes[at..], &mut out);
    d.flush(&mut out);
    out
}

proptest! {
    #[test]
    fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000), cuts in proptest::collection::vec(0usize..64, 0..40)) {
        let mut d = Decoder::new(&card(), DecoderOptions::default());
        let out = feed_chunked(&mut d, &bytes, &cuts);
        prop_assert!(out.iter().all(|s| s.t.is_finite()));
        prop_assert!(out.windows(2).all(|w| w[1].t > w[0].t));
    }

    #[test]
    fn well_formed_lines_all_arrive_in_order(
        garbage in proptest::collection::vec(proptest::option::of("[a-fh-z#;, ]{0,20}|[\\x00-\\xff]{600}"), 1..80),
        cuts in proptest::collection::vec(1usize..97, 0..60),
    ) {
        let mut text = Vec::new();
        let mut expected = Vec::new();
        for (i, g) in garbage.iter().enumerate() {
            let t = 1000 + 20 * i as u64;
            text.extend_from_slice(format!("{t},{i},0,9.8,0,0,0\r\n").as_bytes());
            expected.push(i as f32);
            if let Some(g) = g {
                // Garbage is never a data line or a header (no `g`: no gyroscope column name), or it is over-long.
                text.extend_from_slice(g.replace('\n', " ").as_bytes());
                text.push(b'\n');
            }
        }
        let mut d = Decoder::new(&card(), DecoderOptions { accel_unit: Some(AccelUnit::MetersPerSecond2) });
        let out = feed_chunked(&mut d, &text, &cuts);
        let got: Vec<f32> = out.iter().map(|s| s.values[0]).collect();
        prop_assert_eq!(got, expected);
        prop_assert!(out.windows(2).all(|w| !w[1].starts_segment && (w[1].t - w[0].t - 0.02).abs() < 1e-9));
    }
}
