//! `cargo bench --bench gui_frames`: the live view's frame cost while the demo file replays at 100× with
//! inference running on the worker thread. Drives the real app headless (egui_kittest + wgpu on whatever adapter the
//! machine has, Mesa llvmpipe/lavapipe here) at 1280×800 and reports, per frame, the UI pass (event draining,
//! layout, plot decimation, tessellation) and the GPU render including the read-back of the pixels (which a real
//! window does not pay), plus the worker's throughput. A frame budget of 16.7 ms is 60 fps.

use std::time::{Duration, Instant};

use har_monitor::gui::{GuiOptions, View};

// The GUI tests' harness set-up, shared with them.
#[allow(dead_code)]
#[path = "../tests/common/gui.rs"]
mod gui;

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn main() {
    let model = har_monitor::assets::demo_model().expect("the bundled demo model");
    let replay = har_monitor::assets::demo_data(har_monitor::assets::DEMO_REPLAY).expect("the demo replay file");
    let options = GuiOptions {
        model: Some(model),
        replay: Some(replay),
        speed: Some(100.0),
        view: Some(View::Live),
        ..Default::default()
    };
    let mut harness = gui::harness(gui::SIZE, options);
    // Warm up: model load, first windows, shader compilation.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_secs(3) {
        harness.step();
        let _ = harness.render();
    }
    let windows_before = harness.state().live_state().status.windows;
    let measure = Duration::from_secs(15);
    let started = Instant::now();
    let (mut ui_ms, mut render_ms, mut frame_ms) = (Vec::new(), Vec::new(), Vec::new());
    while started.elapsed() < measure {
        let t0 = Instant::now();
        harness.step();
        let t1 = Instant::now();
        let _ = harness.render();
        let t2 = Instant::now();
        ui_ms.push((t1 - t0).as_secs_f64() * 1e3);
        render_ms.push((t2 - t1).as_secs_f64() * 1e3);
        frame_ms.push((t2 - t0).as_secs_f64() * 1e3);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let live = harness.state().live_state();
    let windows = live.status.windows - windows_before;
    let (received, expected, dropped) =
        (live.status.rate_received, live.status.rate_expected, live.status.dropped_events);
    for v in [&mut ui_ms, &mut render_ms, &mut frame_ms] {
        v.sort_by(f64::total_cmp);
    }
    let table = format!(
        "live view at 100× replay, 1280×800, {} frames in {elapsed:.0} s\n\n\
         | per frame | p50 | p99 |\n|---|---|---|\n\
         | UI pass (events, layout, decimation, tessellation) | {:.2} ms | {:.2} ms |\n\
         | GPU render + pixel read-back | {:.2} ms | {:.2} ms |\n\
         | whole frame | {:.2} ms | {:.2} ms |\n\n\
         worker: {:.1} windows/s classified ({windows} windows), samples {received:.0}/s received of {expected:.0}/s \
         expected, {dropped} events dropped\n",
        frame_ms.len(),
        percentile(&ui_ms, 0.5),
        percentile(&ui_ms, 0.99),
        percentile(&render_ms, 0.5),
        percentile(&render_ms, 0.99),
        percentile(&frame_ms, 0.5),
        percentile(&frame_ms, 0.99),
        windows as f64 / elapsed,
    );
    println!("{table}");
    let results = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("bench-results");
    let _ = std::fs::create_dir_all(&results);
    let _ = std::fs::write(results.join("gui_frames.md"), &table);
}
