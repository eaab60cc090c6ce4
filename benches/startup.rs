//! `cargo bench --bench startup`: start to first prediction with the demo default (what `har-monitor` with no
//! arguments runs: the bundled demo model replaying the bundled demo file at 1×). Measured from this process'
//! start (read from /proc on Linux, so the dynamic loading of the binary counts) to the live pipeline's first
//! `Prediction` event, with the model-loaded and source-opened moments on the way (these runs come after the app's
//! and count from their own start). The window has to fill first:
//! at 1× that alone takes `window / sample_rate_hz` seconds of replayed data unless the replay starts with a
//! full window. Prints one Markdown table row per run and the median.
//!
//! First, before any of that, the same start in the real app: the GUI built headless (egui_kittest, rendered by
//! wgpu on whatever adapter the machine has) with the demo default, stepped until the first prediction's class
//! name is on screen and that frame is rendered — from this process' start, so it includes building the GPU
//! context and the fonts. (Creating an X11/Wayland window is not included; it needs a display.)

use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable;
use har_monitor::gui::GuiOptions;
use har_monitor::model::{EngineOptions, ModelCard};
use har_monitor::pipeline::{Event, PipelineConfig, PipelineHandle};
use har_monitor::source::SourceSpec;

const RUNS: usize = 5;

// The GUI tests' harness set-up, shared with them.
#[allow(dead_code)]
#[path = "../tests/common/gui.rs"]
mod gui;

/// The app with the demo default, stepped and rendered until the first prediction's class name is on screen:
/// (first frame rendered, prediction drawn), seconds from `t0`.
fn gui_run(t0: Instant) -> (f64, f64) {
    let mut harness = gui::harness(gui::SIZE, GuiOptions::default());
    harness.step();
    let _ = harness.render();
    let first_frame = t0.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        harness.step();
        let shown =
            harness.state().live_state().current().map(|p| harness.state().live_state().class_name(p.predicted));
        if let Some(name) = shown
            && harness.query_all_by_label_contains(name).next().is_some()
        {
            let _ = harness.render();
            return (first_frame, t0.elapsed().as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("no prediction on screen within 60 s");
}

/// Seconds since this process started (Linux: /proc/self/stat field 22 against /proc/uptime), else since `main`.
fn since_process_start(main_started: Instant) -> f64 {
    let from_proc = || -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let after_name = stat.rsplit_once(')')?.1;
        let start_ticks: f64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
        let uptime: f64 = std::fs::read_to_string("/proc/uptime").ok()?.split_whitespace().next()?.parse().ok()?;
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        (ticks > 0.0).then(|| uptime - start_ticks / ticks)
    };
    from_proc().unwrap_or_else(|| main_started.elapsed().as_secs_f64())
}

/// One start of the pipeline: (model loaded, source opened, first prediction), seconds from `t0`.
fn one_run(model: &std::path::Path, replay: &std::path::Path, t0: Instant) -> (f64, f64, f64) {
    let config = PipelineConfig {
        model: model.to_path_buf(),
        source: Some(SourceSpec::Replay { path: replay.to_path_buf() }),
        speed: 1.0,
        looping: true,
        playing: true,
        alerts: Default::default(),
        engine: EngineOptions::default(),
        drift: Default::default(),
        record: None,
    };
    let pipeline = PipelineHandle::spawn(config, Box::new(|| {})).expect("start the pipeline");
    let (mut loaded, mut opened) = (f64::NAN, f64::NAN);
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match pipeline.recv_timeout(Duration::from_millis(50)) {
            Some(Event::ModelLoaded(_)) => loaded = t0.elapsed().as_secs_f64(),
            Some(Event::SourceOpened { .. }) => opened = t0.elapsed().as_secs_f64(),
            Some(Event::Prediction(_)) => return (loaded, opened, t0.elapsed().as_secs_f64()),
            Some(Event::Error(e)) => panic!("pipeline error: {e}"),
            _ => {}
        }
    }
    panic!("no prediction within 60 s");
}

fn main() {
    let main_started = Instant::now();
    let before_main = since_process_start(main_started);
    let model = har_monitor::assets::demo_model().expect("the bundled demo model (models/demo)");
    let replay = har_monitor::assets::demo_data(har_monitor::assets::DEMO_REPLAY).expect("the bundled demo replay");
    let card = ModelCard::load_for_model(&model).expect("the demo card");
    let fill = card.window as f64 / card.sample_rate_hz;

    // The app, cold, counted from this process' start.
    let t0 = Instant::now();
    let offset = before_main + main_started.elapsed().as_secs_f64() - t0.elapsed().as_secs_f64();
    let (frame, drawn) = gui_run(t0);
    println!(
        "app (headless GPU context): first frame rendered {:.3} s, first prediction drawn {:.3} s from process start\n",
        frame + offset,
        drawn + offset
    );

    let mut firsts = Vec::new();
    println!("| run | model loaded | source opened | first prediction |\n|---|---|---|---|");
    for run in 0..RUNS {
        // The app above started cold from the process start; these runs count from their own start (warm caches,
        // the runtime library already loaded).
        let t0 = Instant::now();
        let offset = 0.0;
        let (loaded, opened, first) = one_run(&model, &replay, t0);
        println!("| {run} | {:.3} s | {:.3} s | {:.3} s |", loaded + offset, opened + offset, first + offset);
        firsts.push(first + offset);
    }
    firsts.sort_by(f64::total_cmp);
    println!(
        "\nstart to first prediction (demo default, 1×): median {:.2} s of {RUNS} runs; a window of {} rows is {:.1} s \
         of replayed data at {} Hz",
        firsts[RUNS / 2],
        card.window,
        fill,
        card.sample_rate_hz
    );
}
