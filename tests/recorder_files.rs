//! The session recorder's files on their own (it is not yet driven by the worker): what it writes loads back as
//! a sensor file with the same rows, and it never overwrites an earlier recording.

use har_monitor::data::{self, LoadOptions};
use har_monitor::model::ModelCard;
use har_monitor::pipeline::recorder::{RecordTarget, Recorder};
use har_monitor::source::SampleBatch;

fn demo_card() -> (std::path::PathBuf, ModelCard) {
    let model = har_monitor::assets::demo_model().expect("the bundled demo model");
    let card = ModelCard::load_for_model(&model).expect("its card");
    (model, card)
}

/// `n` samples at 50 Hz from source time `t0`, channel `c` holding `c + i / 1000`.
fn batch(t0: f64, n: usize, channels: usize, starts_segment: bool) -> SampleBatch {
    let mut b = SampleBatch::with_channels(channels);
    for i in 0..n {
        b.time.push(t0 + i as f64 * 0.02);
        for (c, column) in b.channels.iter_mut().enumerate() {
            column.push(c as f32 + i as f32 / 1000.0);
        }
    }
    b.starts_segment = starts_segment;
    b
}

#[test]
fn samples_load_back_row_for_row_and_segments_stay_apart() {
    let (model, card) = demo_card();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("session");
    let mut recorder = Recorder::start(&RecordTarget::Dir(target.clone()), &model, &card, None).unwrap();
    let n = card.channels.len();
    recorder.samples_batch(&batch(0.0, 300, n, true));
    // A reconnect: a new segment, which must not be windowed together with the first.
    recorder.samples_batch(&batch(6.0, 300, n, true));
    recorder.finish("test").unwrap();

    let loaded = data::load_csv(&target.join("samples.csv"), &card, &LoadOptions::default()).unwrap();
    assert_eq!(loaded.report.bad_rows, 0);
    assert_eq!(loaded.recording.len(), 600);
    for (c, column) in loaded.recording.channels.iter().enumerate() {
        assert_eq!(column[0], c as f32);
        assert_eq!(column[299], c as f32 + 0.299);
        assert_eq!(column[300], c as f32);
    }
    let segments = data::segments(&loaded.recording, card.sample_rate_hz, data::WindowingMode::Segments);
    assert_eq!(segments, vec![(0, 300), (300, 600)], "the break is kept in the file's timestamps");
    let session: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(target.join("session.json")).unwrap()).unwrap();
    assert_eq!(session["complete"], true);
    assert_eq!(session["samples"], 600);
}

#[test]
fn an_earlier_recording_is_never_overwritten() {
    let (model, card) = demo_card();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("session");
    let recorder = Recorder::start(&RecordTarget::Dir(target.clone()), &model, &card, None).unwrap();
    recorder.finish("test").unwrap();
    let before = std::fs::read(target.join("session.json")).unwrap();
    let err = Recorder::start(&RecordTarget::Dir(target.clone()), &model, &card, None).err().expect("refused");
    assert!(err.to_string().contains("session"), "the message names the folder: {err}");
    assert_eq!(std::fs::read(target.join("session.json")).unwrap(), before);
}
