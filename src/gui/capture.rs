//! Demo capture: the window recorded as an animated GIF (the `image` crate's encoder) or as a numbered PNG
//! sequence, for thesis demos. The shell asks egui for a screenshot every [`FRAME_INTERVAL`]; frames go to an
//! encoder thread so drawing never waits on encoding. Frame delays are the real time between captures, so the GIF
//! plays at the speed the app ran even when software rendering drops frames.

use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

/// Time between two captured frames (10 frames per second at most).
pub const FRAME_INTERVAL: Duration = Duration::from_millis(100);
/// Frames wider than this are scaled down (a 1280-pixel window becomes 960 pixels wide), which keeps GIFs small.
pub const MAX_WIDTH: u32 = 960;

/// Where frames go.
#[derive(Debug, Clone, PartialEq)]
pub enum CaptureTarget {
    /// One animated GIF (a path ending in `.gif`).
    Gif(PathBuf),
    /// `frame_00001.png`, `frame_00002.png`, ... in this folder.
    PngSequence(PathBuf),
}

impl CaptureTarget {
    /// A `.gif` path is a GIF; anything else is a folder for a PNG sequence.
    pub fn from_path(path: &Path) -> CaptureTarget {
        let gif = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("gif"));
        if gif { CaptureTarget::Gif(path.to_path_buf()) } else { CaptureTarget::PngSequence(path.to_path_buf()) }
    }

    pub fn path(&self) -> &Path {
        match self {
            CaptureTarget::Gif(p) | CaptureTarget::PngSequence(p) => p,
        }
    }
}

/// A captured frame as egui gives it, and the egui time it was taken at.
pub struct Frame {
    shot: Arc<egui::ColorImage>,
    at: f64,
}

/// Where a screenshot callback sends its frame.
#[derive(Clone)]
pub struct FrameSink(mpsc::Sender<Frame>);

impl FrameSink {
    /// Hands a screenshot taken at egui time `at` to the encoder.
    pub fn send(&self, shot: Arc<egui::ColorImage>, at: f64) {
        let _ = self.0.send(Frame { shot, at });
    }
}

/// A screenshot as an RGBA image (`None` when its size does not fit its pixels).
pub fn rgba_image(shot: &egui::ColorImage) -> Option<image::RgbaImage> {
    let [w, h] = shot.size;
    let mut rgba = Vec::with_capacity(w * h * 4);
    for p in &shot.pixels {
        rgba.extend_from_slice(&p.to_srgba_unmultiplied());
    }
    image::RgbaImage::from_raw(u32::try_from(w).ok()?, u32::try_from(h).ok()?, rgba)
}

/// RGBA pixels of a screenshot, scaled down to [`MAX_WIDTH`].
fn to_image(shot: &egui::ColorImage) -> Option<image::RgbaImage> {
    let mut image = rgba_image(shot)?;
    if image.width() > MAX_WIDTH {
        let height = (u64::from(image.height()) * u64::from(MAX_WIDTH) / u64::from(image.width())) as u32;
        image = image::imageops::resize(&image, MAX_WIDTH, height.max(1), image::imageops::FilterType::Triangle);
    }
    Some(image)
}

/// A capture in progress.
pub struct Capture {
    target: CaptureTarget,
    frames: Option<mpsc::Sender<Frame>>,
    encoder: Option<JoinHandle<Result<usize, String>>>,
    /// egui time of the last frame request.
    last_request: Option<f64>,
    /// egui time at which the capture stops by itself.
    pub until: Option<f64>,
    pub started: f64,
}

impl Capture {
    /// Starts the encoder for `target` (the folder of a PNG sequence is created).
    pub fn start(target: CaptureTarget, now: f64, seconds: Option<f64>) -> Result<Capture, String> {
        let (tx, rx) = mpsc::channel::<Frame>();
        let writer = Writer::open(&target)?;
        let encoder = std::thread::Builder::new()
            .name("har-capture".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| format!("cannot start the capture: {e}"))?;
        Ok(Capture {
            target,
            frames: Some(tx),
            encoder: Some(encoder),
            last_request: None,
            until: seconds.map(|s| now + s),
            started: now,
        })
    }

    pub fn target(&self) -> &CaptureTarget {
        &self.target
    }

    /// True when a frame should be requested now.
    pub fn due(&mut self, now: f64) -> bool {
        if self.last_request.is_none_or(|t| now - t >= FRAME_INTERVAL.as_secs_f64()) {
            self.last_request = Some(now);
            return true;
        }
        false
    }

    /// True once `until` has passed.
    pub fn expired(&self, now: f64) -> bool {
        self.until.is_some_and(|u| now >= u)
    }

    /// Where screenshot callbacks send frames (`None` once stopping).
    pub fn sink(&self) -> Option<FrameSink> {
        self.frames.clone().map(FrameSink)
    }

    /// Stops capturing and waits for the encoder to finish the file; returns the frames written.
    pub fn finish(mut self) -> Result<usize, String> {
        self.frames = None;
        match self.encoder.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(format!("the capture encoder for {} failed", self.target.path().display())),
            None => Ok(0),
        }
    }
}

/// The colour quantiser's speed (1 best … 30 fastest): 10 gives clean colours for flat UI graphics at a few tens
/// of milliseconds per frame.
const GIF_SPEED: i32 = 10;

/// The smallest rectangle `(x, y, width, height)` holding every pixel that differs; `None` when none does.
fn changed_rect(a: &image::RgbaImage, b: &image::RgbaImage) -> Option<(u32, u32, u32, u32)> {
    let (w, h) = b.dimensions();
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for (x, y, p) in b.enumerate_pixels() {
        if a.get_pixel(x, y) != p {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
    }
    (x0 <= x1 && y0 <= y1).then(|| (x0, y0, x1 - x0 + 1, y1 - y0 + 1))
}

/// The encoder thread's output.
enum Writer {
    Gif { path: PathBuf, file: crate::output::AtomicFile },
    Png { dir: PathBuf },
}

impl Writer {
    fn open(target: &CaptureTarget) -> Result<Writer, String> {
        match target {
            CaptureTarget::Gif(path) => {
                let file = crate::output::AtomicFile::create(path)
                    .map_err(|e| format!("cannot write {}: {}", path.display(), e.source))?;
                Ok(Writer::Gif { path: path.clone(), file })
            }
            CaptureTarget::PngSequence(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                Ok(Writer::Png { dir: dir.clone() })
            }
        }
    }

    fn run(self, frames: mpsc::Receiver<Frame>) -> Result<usize, String> {
        // Each frame lasts until the next one was taken (the last one a frame interval).
        let mut previous: Option<(image::RgbaImage, f64)> = None;
        let mut frames = frames.into_iter().filter_map(|f| to_image(&f.shot).map(|image| (image, f.at)));
        let frames = std::iter::from_fn(move || {
            loop {
                match frames.next() {
                    Some((image, at)) => {
                        if let Some((prev, prev_at)) = previous.replace((image, at)) {
                            return Some((prev, Duration::from_secs_f64((at - prev_at).max(0.02))));
                        }
                    }
                    None => return previous.take().map(|(image, _)| (image, FRAME_INTERVAL)),
                }
            }
        });
        match self {
            Writer::Gif { path, mut file } => {
                let failed = |e: String| format!("cannot write {}: {e}", path.display());
                let mut n = 0;
                {
                    let mut frames = frames.peekable();
                    let Some((w, h)) = frames.peek().map(|(image, _)| image.dimensions()) else {
                        return Err(failed("no frame was captured".into()));
                    };
                    let (Ok(gw), Ok(gh)) = (u16::try_from(w), u16::try_from(h)) else {
                        return Err(failed(format!("a {w}×{h} frame is too large for a GIF")));
                    };
                    let mut e = gif::Encoder::new(&mut file, gw, gh, &[]).map_err(|e| failed(e.to_string()))?;
                    e.set_repeat(gif::Repeat::Infinite).map_err(|e| failed(e.to_string()))?;
                    let mut previous: Option<image::RgbaImage> = None;
                    for (image, delay) in frames {
                        if image.dimensions() != (w, h) {
                            // The window was resized: keep the GIF's size, the frame is skipped.
                            continue;
                        }
                        // Only the part that changed since the previous frame is stored; the rest is kept.
                        let changed = match &previous {
                            Some(p) => changed_rect(p, &image),
                            None => Some((0, 0, w, h)),
                        };
                        let (x, y, cw, ch) = changed.unwrap_or((0, 0, 1, 1));
                        let mut pixels = image::imageops::crop_imm(&image, x, y, cw, ch).to_image().into_raw();
                        let mut frame = gif::Frame::from_rgba_speed(cw as u16, ch as u16, &mut pixels, GIF_SPEED);
                        frame.left = x as u16;
                        frame.top = y as u16;
                        frame.dispose = gif::DisposalMethod::Keep;
                        frame.delay = (delay.as_millis() / 10).clamp(2, u128::from(u16::MAX)) as u16;
                        e.write_frame(&frame).map_err(|e| failed(e.to_string()))?;
                        previous = Some(image);
                        n += 1;
                    }
                }
                if n == 0 {
                    return Err(failed("no frame was captured".into()));
                }
                file.commit().map_err(|e| failed(e.source.to_string()))?;
                Ok(n)
            }
            Writer::Png { dir } => {
                let mut n = 0;
                for (image, _) in frames {
                    n += 1;
                    let path = dir.join(format!("frame_{n:05}.png"));
                    image.save(&path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                }
                Ok(n)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shot(w: usize, h: usize, shade: u8) -> egui::ColorImage {
        egui::ColorImage::new([w, h], vec![egui::Color32::from_rgb(shade, 40, 200 - shade); w * h])
    }

    #[test]
    fn a_gif_holds_every_frame_scaled_to_the_maximum_width() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("demo.gif");
        let capture = Capture::start(CaptureTarget::from_path(&path), 0.0, Some(1.0)).expect("starts");
        let sink = capture.sink().expect("running");
        for i in 0..5 {
            sink.send(Arc::new(shot(1280, 800, 30 * i)), f64::from(i) * 0.1);
        }
        drop(sink);
        assert!(capture.expired(1.0) && !capture.expired(0.5));
        assert_eq!(capture.finish(), Ok(5));
        let file = std::fs::File::open(&path).expect("the gif exists");
        let decoder = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(file)).expect("a gif");
        use image::AnimationDecoder;
        let frames = decoder.into_frames().collect_frames().expect("frames decode");
        assert_eq!(frames.len(), 5);
        assert_eq!(frames[0].buffer().dimensions(), (960, 600));
        let (num, den) = frames[1].delay().numer_denom_ms();
        assert!((f64::from(num) / f64::from(den) - 100.0).abs() < 11.0, "{num}/{den} ms");
    }

    #[test]
    fn a_folder_gets_a_numbered_png_sequence() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("frames");
        let capture = Capture::start(CaptureTarget::from_path(&out), 0.0, None).expect("starts");
        let sink = capture.sink().expect("running");
        sink.send(Arc::new(shot(64, 40, 10)), 0.0);
        sink.send(Arc::new(shot(64, 40, 90)), 0.1);
        drop(sink);
        assert_eq!(capture.finish(), Ok(2));
        let first = image::open(out.join("frame_00001.png")).expect("frame 1").to_rgba8();
        assert_eq!(first.dimensions(), (64, 40));
        assert_eq!(first.get_pixel(3, 3).0, [10, 40, 190, 255]);
        assert!(out.join("frame_00002.png").is_file());
    }

    #[test]
    fn only_the_changed_part_of_a_frame_is_stored() {
        let a = image::RgbaImage::from_pixel(40, 30, image::Rgba([1, 2, 3, 255]));
        let mut b = a.clone();
        assert_eq!(changed_rect(&a, &b), None);
        b.put_pixel(5, 7, image::Rgba([9, 9, 9, 255]));
        b.put_pixel(20, 11, image::Rgba([9, 9, 9, 255]));
        assert_eq!(changed_rect(&a, &b), Some((5, 7, 16, 5)));
    }

    #[test]
    fn frames_are_due_every_interval() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut capture =
            Capture::start(CaptureTarget::from_path(&dir.path().join("x.gif")), 0.0, None).expect("starts");
        assert!(capture.due(0.0));
        assert!(!capture.due(0.05));
        assert!(capture.due(0.1));
        let _ = capture.finish();
    }
}
