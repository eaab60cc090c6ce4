//! The one layout every view uses: the shell's top bar and status bar, then, inside the view, an optional header
//! strip, an optional panel on the right, and the central area, all with the same frames and margins.

use egui::{Frame, Margin, Ui};

/// Inner margin of the top bar and of a view's header strip.
const BAR_MARGIN: Margin = Margin::symmetric(10, 6);
/// Inner margin of the status bar.
const STATUS_MARGIN: Margin = Margin::symmetric(10, 4);
/// Inner margin of the side panel and of the central area.
const PANEL_MARGIN: Margin = Margin::symmetric(10, 8);

/// The shell's bar at the top: app name, views, model.
pub fn top_bar(ui: &mut Ui, add: impl FnOnce(&mut Ui)) {
    egui::Panel::top("top_bar").frame(Frame::side_top_panel(ui.style()).inner_margin(BAR_MARGIN)).show(ui, add);
}

/// The shell's bar at the bottom: source, rate, latency, windows.
pub fn status_bar(ui: &mut Ui, add: impl FnOnce(&mut Ui)) {
    egui::Panel::bottom("status_bar")
        .frame(Frame::side_top_panel(ui.style()).inner_margin(STATUS_MARGIN))
        .show(ui, add);
}

/// A view's strip under the top bar (the evaluation's headline numbers).
pub fn header_ui(ui: &mut Ui, id: &'static str, add: impl FnOnce(&mut Ui)) {
    egui::Panel::top(id).frame(Frame::central_panel(ui.style()).inner_margin(BAR_MARGIN)).show(ui, add);
}

/// A view's panel on the right, `width` wide (never more than half the window).
pub fn side_panel_ui(ui: &mut Ui, id: &'static str, width: f32, add: impl FnOnce(&mut Ui)) {
    let width = width.min(ui.available_width() * 0.5).floor();
    egui::Panel::right(id)
        .resizable(false)
        .exact_size(width)
        .frame(Frame::side_top_panel(ui.style()).inner_margin(PANEL_MARGIN))
        .show(ui, add);
}

/// A view's central area: what is left.
pub fn central_ui(ui: &mut Ui, add: impl FnOnce(&mut Ui)) {
    egui::CentralPanel::default().frame(Frame::central_panel(ui.style()).inner_margin(PANEL_MARGIN)).show(ui, add);
}
