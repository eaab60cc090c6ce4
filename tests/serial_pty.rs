//! The serial source against the virtual device on real pseudo-terminals: what the device writes is what the
//! pipeline gets, at 50 Hz sample for sample and at 104 Hz resampled, with garbage counted and an unplug survived.
#![cfg(unix)]

use std::time::{Duration, Instant};

use har_monitor::device::{DeviceOptions, SentSample, VirtualDevice};
use har_monitor::model::ModelCard;
use har_monitor::source::link::{LinkState, LinkStatus};
use har_monitor::source::{SampleBatch, Source, SourceSpec};

fn card() -> ModelCard {
    let model = har_monitor::assets::demo_model().expect("the bundled demo model");
    ModelCard::load_for_model(&model).expect("its card")
}

/// A received sample: source time, the six values, and whether it started a segment.
#[derive(Debug, Clone)]
struct Got {
    t: f64,
    values: Vec<f32>,
    starts: bool,
}

fn read_into(source: &mut Box<dyn Source>, got: &mut Vec<Got>) {
    loop {
        let mut batch = SampleBatch::with_channels(6);
        source.read(f64::INFINITY, 100_000, &mut batch).expect("live reads do not fail");
        if batch.is_empty() {
            return;
        }
        for i in 0..batch.len() {
            got.push(Got {
                t: batch.time[i],
                values: batch.channels.iter().map(|c| c[i]).collect(),
                starts: i == 0 && batch.starts_segment,
            });
        }
    }
}

/// Reads for `seconds`, then stops the device and drains what is still in the terminal.
fn collect(
    device: VirtualDevice,
    source: &mut Box<dyn Source>,
    seconds: f64,
) -> (Vec<Got>, Vec<SentSample>, u64, LinkStatus) {
    let mut got = Vec::new();
    let started = Instant::now();
    while started.elapsed().as_secs_f64() < seconds {
        read_into(source, &mut got);
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = device.stats();
    // Unplugging for good closes the terminal: everything written before is read, then the link drops.
    drop(device);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut status = source.link_status().expect("a live source has a link");
    while Instant::now() < deadline {
        read_into(source, &mut got);
        status = source.link_status().expect("link");
        if status.state != LinkState::Connected && status.lines.good >= stats.lines {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    read_into(source, &mut got);
    let stats_after = stats.sent;
    (got, stats_after, stats.garbage, status)
}

fn open(path: &str) -> Box<dyn Source> {
    SourceSpec::Serial { path: path.to_string(), baud: 115_200, accel_unit: None }
        .open(&card())
        .expect("the serial source starts (the port opens on its thread)")
}

#[test]
fn at_50_hz_every_well_formed_sample_arrives_once_in_order_and_garbage_is_counted() {
    let device = VirtualDevice::start(DeviceOptions { garbage_every: Some(25), keep_log: true, ..Default::default() })
        .expect("a pseudo-terminal");
    let path = device.path().expect("plugged in");
    let mut source = open(&path);
    let (got, sent, garbage, status) = collect(device, &mut source, 3.0);
    assert!(sent.len() >= 140, "the device wrote {} lines in 3 s", sent.len());
    assert_eq!(status.lines.good as usize, sent.len(), "{status:?}");
    assert_eq!(got.len(), sent.len(), "every sample once");
    for (i, (g, s)) in got.iter().zip(&sent).enumerate() {
        assert_eq!(g.values, s.values.to_vec(), "sample {i}: values as written");
        assert!((g.t - s.t_ms as f64 / 1000.0).abs() < 1e-9, "sample {i}: t {} vs {} ms", g.t, s.t_ms);
    }
    assert!(got[0].starts && got.iter().skip(1).all(|g| !g.starts), "one segment");
    assert!(garbage >= 5);
    assert_eq!(status.lines.bad(), garbage, "each garbage line counted once: {:?}", status.lines);
    for reason in ["not_numeric", "not_utf8", "field_count", "too_long"] {
        let n = status.lines.bad_by_reason().iter().find(|(r, _)| r.as_str() == reason).map_or(0, |(_, n)| *n);
        assert!(n >= 1, "{reason}: {:?}", status.lines);
    }
    let rate = status.measured_rate_hz.expect("a measured rate");
    assert!((rate - 50.0).abs() < 1.0, "{rate}");
}

/// Linear interpolation of the device's samples (by their device times) at `t`.
fn interpolate(sent: &[SentSample], t: f64) -> Option<Vec<f32>> {
    let i = sent.windows(2).position(|w| (w[0].t_ms as f64) / 1000.0 <= t && t <= (w[1].t_ms as f64) / 1000.0)?;
    let (a, b) = (&sent[i], &sent[i + 1]);
    let (ta, tb) = (a.t_ms as f64 / 1000.0, b.t_ms as f64 / 1000.0);
    let w = if tb > ta { (t - ta) / (tb - ta) } else { 0.0 };
    Some(a.values.iter().zip(&b.values).map(|(x, y)| x + (w as f32) * (y - x)).collect())
}

#[test]
fn a_104_hz_device_is_resampled_to_the_models_50_hz() {
    let device = VirtualDevice::start(DeviceOptions {
        rate_hz: 104.0,
        garbage_every: Some(50),
        keep_log: true,
        ..Default::default()
    })
    .expect("a pseudo-terminal");
    let path = device.path().expect("plugged in");
    let mut source = open(&path);
    let (got, sent, garbage, status) = collect(device, &mut source, 3.0);
    assert_eq!(status.lines.good as usize, sent.len(), "every line decoded once: {status:?}");
    assert_eq!(status.lines.bad(), garbage);
    let rate = status.measured_rate_hz.expect("a measured rate");
    assert!((rate - 104.0).abs() < 2.0, "the device's own rate is shown: {rate}");
    // Output on the 50 Hz grid from the first sample to the last device time.
    let span = sent.last().map_or(0.0, |s| s.t_ms as f64 / 1000.0);
    assert_eq!(got.len(), (span * 50.0 + 1e-9) as usize + 1, "span {span} s");
    for (k, g) in got.iter().enumerate() {
        assert!((g.t - k as f64 * 0.02).abs() < 1e-9, "sample {k} at {}", g.t);
        let want = interpolate(&sent, g.t).expect("inside the device's span");
        for (c, (x, y)) in g.values.iter().zip(&want).enumerate() {
            assert!((x - y).abs() <= 1e-3 * (1.0 + y.abs()), "sample {k} channel {c}: {x} vs {y}");
        }
    }
}

#[test]
fn an_unplug_is_a_state_and_the_replug_resumes_on_the_same_link() {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("har-imu");
    let device = VirtualDevice::start(DeviceOptions {
        unplug_after: Some(Duration::from_millis(3000)),
        replug_after: Duration::from_millis(800),
        link: Some(link.clone()),
        keep_log: true,
        ..Default::default()
    })
    .expect("a pseudo-terminal");
    let mut source = open(&link.to_string_lossy());
    let mut states = Vec::new();
    let mut got = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(15) {
        read_into(&mut source, &mut got);
        let s = source.link_status().expect("link");
        if states.last() != Some(&s.state) {
            states.push(s.state);
        }
        if device.stats().connections >= 2 && s.state == LinkState::Connected && s.samples > 0 && got.len() > 170 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = device.stats();
    assert!(stats.connections >= 2, "the device came back: {stats:?}");
    let status = source.link_status().expect("link");
    assert!(status.disconnects >= 1 && status.reconnects >= 1, "{status:?}");
    assert!(states.contains(&LinkState::Disconnected) || states.contains(&LinkState::Reconnecting), "{states:?}");
    assert_eq!(states.last(), Some(&LinkState::Connected), "{states:?}");
    // Both plug-ins' samples, in order, the second starting a segment after the first (source time goes on).
    let starts: Vec<usize> = got.iter().enumerate().filter(|(_, g)| g.starts).map(|(i, _)| i).collect();
    assert_eq!(starts.len(), 2, "{starts:?}");
    assert!(got.windows(2).all(|w| w[1].t > w[0].t), "source time never runs back");
    // What was still in the terminal when it closed may be lost, as on a real unplug; nothing else is.
    let sent0: Vec<&SentSample> = stats.sent.iter().filter(|s| s.connection == 0).collect();
    let sent1: Vec<&SentSample> = stats.sent.iter().filter(|s| s.connection == 1).collect();
    let (got0, got1) = got.split_at(starts[1]);
    assert!(got0.len() <= sent0.len() && got0.len() + 5 >= sent0.len(), "{} of {} arrived", got0.len(), sent0.len());
    for (g, s) in got0.iter().zip(&sent0).chain(got1.iter().zip(&sent1)) {
        assert_eq!(g.values, s.values.to_vec(), "in order, each once");
    }
    assert!(got1.len() <= sent1.len());
}

#[test]
fn the_pipeline_classifies_and_records_a_live_serial_sensor() {
    use har_monitor::pipeline::recorder::{RecordTarget, RecordingEvent};
    use har_monitor::pipeline::{Command, Event, PipelineConfig, PipelineHandle};
    let device = VirtualDevice::start(DeviceOptions { rate_hz: 52.0, garbage_every: Some(30), ..Default::default() })
        .expect("a pseudo-terminal");
    let path = device.path().expect("plugged in");
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("rec");
    let config = PipelineConfig {
        model: har_monitor::assets::demo_model().expect("demo model"),
        source: Some(SourceSpec::Serial { path: path.clone(), baud: 115_200, accel_unit: None }),
        speed: 1.0,
        looping: false,
        playing: true,
        alerts: Default::default(),
        engine: Default::default(),
        drift: Default::default(),
        record: Some(RecordTarget::Dir(out.clone())),
    };
    let pipeline = PipelineHandle::spawn(config, Box::new(|| {})).expect("worker");
    let mut predictions = 0;
    let mut link_seen = false;
    let started = Instant::now();
    while predictions < 3 && started.elapsed() < Duration::from_secs(30) {
        match pipeline.recv_timeout(Duration::from_millis(200)) {
            Some(Event::Prediction(p)) => {
                predictions += 1;
                assert!(p.confidence.is_finite() && p.t_end > p.t_start);
            }
            Some(Event::Status(s)) => link_seen |= s.link.is_some_and(|l| l.state == LinkState::Connected),
            Some(Event::Error(e)) => panic!("{e}"),
            _ => {}
        }
    }
    assert!(predictions >= 3, "windows from the live sensor were classified");
    assert!(link_seen, "the status carried the link");
    assert!(pipeline.send(Command::StopRecording));
    let mut stopped = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while stopped.is_none() && Instant::now() < deadline {
        if let Some(Event::Recording(RecordingEvent::Stopped { samples, predictions, error, .. })) =
            pipeline.recv_timeout(Duration::from_millis(100))
        {
            stopped = Some((samples, predictions, error));
        }
    }
    let (samples, recorded, error) = stopped.expect("the recording confirms its end");
    assert_eq!(error, None);
    assert!(recorded >= 3 && samples >= 400, "{samples} samples, {recorded} predictions");
    let events = std::fs::read_to_string(out.join("events.jsonl")).expect("events");
    assert!(events.lines().any(|l| l.contains("\"type\":\"link\"") && l.contains("connected")), "{events}");
    let session: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("session.json")).expect("session")).expect("json");
    assert_eq!(session["complete"], true);
    assert_eq!(session["source"]["kind"], "serial");
    drop(pipeline);
    drop(device);
}
