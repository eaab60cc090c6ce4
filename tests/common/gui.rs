//! The real app driven headless with egui_kittest: building the harness (rendered by wgpu on whatever adapter the
//! machine has, Mesa's lavapipe here, or not rendered at all), stepping it until something holds, and the files
//! the GUI tests open.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use har_monitor::gui::{GuiOptions, HarApp};

/// The window size the README's screenshots and the snapshots are taken at.
pub const SIZE: [f32; 2] = [1280.0, 800.0];

/// A path inside the repository.
pub fn manifest(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A model of `tests/fixtures/models` (its card is beside it).
pub fn fixture_model(name: &str) -> PathBuf {
    manifest("tests/fixtures/models").join(name)
}

/// The app at `size`, rendered by wgpu (snapshots need it), started with `options` and always `--fresh`: tests
/// neither read nor write the user's settings, nor list the user's model registry (see [`isolated`]).
pub fn harness(size: [f32; 2], options: GuiOptions) -> Harness<'static, HarApp> {
    Harness::builder()
        .with_size(egui::vec2(size[0], size[1]))
        .wgpu()
        .build_eframe(move |cc| HarApp::new(cc, isolated(options)))
}

/// The app without rendering (faster: for tests that only query the accessibility tree).
pub fn headless(size: [f32; 2], options: GuiOptions) -> Harness<'static, HarApp> {
    Harness::builder()
        .with_size(egui::vec2(size[0], size[1]))
        .build_eframe(move |cc| HarApp::new(cc, isolated(options)))
}

/// `options` with `--fresh`, and, unless the test gives one, a registry folder that does not exist (an empty
/// registry, only read): the top bar's picker then looks the same on every machine.
pub fn isolated(options: GuiOptions) -> GuiOptions {
    let registry =
        options.registry.clone().or_else(|| Some(std::env::temp_dir().join("har-monitor-tests-no-registry")));
    GuiOptions { fresh: true, registry, ..options }
}

/// Steps frames (the worker threads run in real time) until `done` holds or `timeout` passes; true when done.
pub fn step_until(h: &mut Harness<'_, HarApp>, timeout: Duration, done: impl Fn(&HarApp) -> bool) -> bool {
    step_until_shown(h, timeout, |h| done(h.state()))
}

/// Like [`step_until`], with the whole harness (what is on screen) to look at.
pub fn step_until_shown(
    h: &mut Harness<'_, HarApp>,
    timeout: Duration,
    done: impl Fn(&Harness<'_, HarApp>) -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        h.step();
        if done(h) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Steps frames for `duration` of real time.
pub fn step_for(h: &mut Harness<'_, HarApp>, duration: Duration) {
    step_until(h, duration, |_| false);
}

/// A widget or text with exactly this label is on screen.
pub fn has_label(h: &Harness<'_, HarApp>, label: &str) -> bool {
    h.query_all_by_label(label).next().is_some()
}

/// A file dropped on the window, as the windowing layer hands it to egui.
#[derive(Debug)]
pub struct Dropped(pub PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}
