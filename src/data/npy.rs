//! Prepared windows: a NumPy array `X.npy` of shape windows × window × channels (the thesis' `train_X.npy`,
//! `test_X.npy`, `production_X.npy`), with optional labels `y.npy` (class indices, or one-hot windows × classes),
//! docs/FORMATS.md §3.
//!
//! The file is memory-mapped and viewed in place with `ndarray-npy` (float32 or float64, C or Fortran order): no
//! copy of the whole array is made; scoring copies one window at a time. A file that cannot be viewed in place
//! (big-endian data, a pipe) is read into memory once instead, and the report says so.
//!
//! Whether the windows are already normalised (the thesis' arrays are) is decided from their per-channel
//! statistics: mean ≈ 0 and std ≈ 1 against the card scaler's means and scales (raw units). The decision can be
//! forced, and the report prints it like the unit decision of a CSV file.

use std::fmt;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use ndarray::{Array3, ArrayD, ArrayView3, Axis};
use ndarray_npy::npy::header::Header;
use ndarray_npy::{ReadNpyExt, ReadableElement, ViewNpyError, ViewNpyExt};

use super::error::DataError;
use super::load::open_input;
use crate::model::ModelCard;

/// Whether the windows are already scaled with the card's scaler (`--normalised`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalised {
    /// Decided from the per-channel statistics.
    #[default]
    Auto,
    /// Already normalised: fed to the model as they are.
    Yes,
    /// Raw units (the card's): scaled with the card's scaler first.
    No,
}

/// How the normalisation question was answered.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalisationDecision {
    /// True: the windows go to the model as they are; false: they are scaled with the card's scaler.
    pub normalised: bool,
    /// Forced by `--normalised yes|no` (otherwise detected).
    pub forced: bool,
    /// How far the per-channel statistics are from mean 0 / std 1 (root mean square over channels of the mean's
    /// offset in stds and the log of the std ratio), and from the card scaler's means and scales.
    pub distance_normalised: f64,
    pub distance_raw: f64,
    /// Per-channel mean and population std of all values, card channel order.
    pub channel_mean: Vec<f64>,
    pub channel_std: Vec<f64>,
    /// Things that may make the decision wrong.
    pub warning: Option<String>,
}

/// The readings are told apart when their distances differ by more than this (a card scaler close to the
/// identity makes them equal whatever the data).
const CLEAR_MARGIN: f64 = 0.5;
/// A distance above this fits poorly.
const POOR_FIT: f64 = 1.0;

impl NormalisationDecision {
    /// Decides (or takes the forced answer) from the statistics of the windows.
    pub fn decide(card: &ModelCard, mean: Vec<f64>, std: Vec<f64>, forced: Normalised) -> NormalisationDecision {
        let distance = |centre: &dyn Fn(usize) -> (f64, f64)| -> f64 {
            let n = mean.len().max(1) as f64;
            let sum: f64 = mean
                .iter()
                .zip(&std)
                .enumerate()
                .map(|(c, (&m, &s))| {
                    let (mu, sigma) = centre(c);
                    let z = (m - mu) / sigma;
                    let r = (s.max(1e-12) / sigma).ln();
                    z * z + r * r
                })
                .sum();
            (sum / n).sqrt()
        };
        let distance_normalised = distance(&|_| (0.0, 1.0));
        let distance_raw = distance(&|c| {
            (
                card.scaler.mean.get(c).copied().unwrap_or(0.0),
                card.scaler.scale.get(c).copied().unwrap_or(1.0).max(1e-12),
            )
        });
        let (normalised, is_forced) = match forced {
            Normalised::Yes => (true, true),
            Normalised::No => (false, true),
            Normalised::Auto => (distance_normalised <= distance_raw, false),
        };
        let best = distance_normalised.min(distance_raw);
        let warning = if is_forced {
            None
        } else if (distance_normalised - distance_raw).abs() <= CLEAR_MARGIN {
            Some(format!(
                "the statistics fit both readings about equally (distance {distance_normalised:.2} from mean 0 / std 1, \
                 {distance_raw:.2} from the card's scaler): the card's scaler may be close to the identity. Pass \
                 --normalised yes or no to be sure"
            ))
        } else if best > POOR_FIT {
            Some(format!(
                "the statistics fit neither reading well (distance {distance_normalised:.2} from mean 0 / std 1, \
                 {distance_raw:.2} from the card's scaler): the windows may be in other units or scaled with \
                 another scaler than this model's"
            ))
        } else {
            None
        };
        NormalisationDecision {
            normalised,
            forced: is_forced,
            distance_normalised,
            distance_raw,
            channel_mean: mean,
            channel_std: std,
            warning,
        }
    }
}

impl fmt::Display for NormalisationDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.normalised {
            "already normalised, fed to the model as they are"
        } else {
            "raw units, scaled with the card's scaler"
        };
        if self.forced {
            write!(f, "{what} (--normalised {})", if self.normalised { "yes" } else { "no" })?;
        } else {
            write!(f, "detected {what}")?;
        }
        write!(
            f,
            " (per-channel statistics: distance {:.2} from mean 0 / std 1, {:.2} from the card's scaler)",
            self.distance_normalised, self.distance_raw
        )
    }
}

/// What opening a window array found, for the load report.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowsReport {
    pub windows: usize,
    pub window: usize,
    pub channels: usize,
    /// `float32` or `float64`.
    pub dtype: &'static str,
    pub fortran_order: bool,
    /// Viewed in place (memory-mapped) rather than read into memory.
    pub mapped: bool,
    pub labels: Option<PathBuf>,
    /// How the labels were written: `class indices (int64)`, `one-hot (float32)`, ...
    pub label_kind: Option<String>,
    pub normalisation: NormalisationDecision,
    /// The card's channel names (for the statistics line).
    pub channel_names: Vec<String>,
}

impl fmt::Display for WindowsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} windows x {} samples x {} channels, {}, {} order, {}",
            self.windows,
            self.window,
            self.channels,
            self.dtype,
            if self.fortran_order { "Fortran" } else { "C" },
            if self.mapped { "memory-mapped" } else { "read into memory" }
        )?;
        match (&self.labels, &self.label_kind) {
            (Some(path), Some(kind)) => writeln!(f, "  labels: {}: {}", path.display(), kind)?,
            _ => writeln!(f, "  labels: none")?,
        }
        let stats: Vec<String> = self
            .channel_names
            .iter()
            .zip(self.normalisation.channel_mean.iter().zip(&self.normalisation.channel_std))
            .map(|(name, (m, s))| format!("{name} {m:.3}/{s:.3}"))
            .collect();
        writeln!(f, "  channels (mean/std): {}", stats.join(", "))?;
        writeln!(f, "  normalisation: {}", self.normalisation)?;
        if let Some(w) = &self.normalisation.warning {
            writeln!(f, "  warning: {w}")?;
        }
        Ok(())
    }
}

/// The bytes of the window array: mapped in place, or read when that is not possible.
#[derive(Debug)]
enum Storage {
    Mapped(memmap2::Mmap),
    F32(Array3<f32>),
    F64(Array3<f64>),
}

/// A view of the windows, `[window][t][c]`, in the file's element type.
#[derive(Debug, Clone)]
pub enum WindowsView<'a> {
    F32(ArrayView3<'a, f32>),
    F64(ArrayView3<'a, f64>),
}

impl WindowsView<'_> {
    /// Window `i` as `[t][c]` float32 values (`out` holds window × channels).
    pub fn copy_window(&self, i: usize, out: &mut [f32]) {
        match self {
            WindowsView::F32(v) => {
                for (slot, &x) in out.iter_mut().zip(v.index_axis(Axis(0), i).iter()) {
                    *slot = x;
                }
            }
            WindowsView::F64(v) => {
                for (slot, &x) in out.iter_mut().zip(v.index_axis(Axis(0), i).iter()) {
                    *slot = x as f32;
                }
            }
        }
    }

    fn windows(&self) -> usize {
        match self {
            WindowsView::F32(v) => v.len_of(Axis(0)),
            WindowsView::F64(v) => v.len_of(Axis(0)),
        }
    }
}

/// An opened window array with its labels, checked against a model card.
#[derive(Debug)]
pub struct WindowFile {
    path: PathBuf,
    storage: Storage,
    double: bool,
    labels: Option<Vec<u16>>,
    report: WindowsReport,
}

fn npy_error(path: &Path, problem: impl Into<String>) -> DataError {
    DataError::Npy { file: path.to_path_buf(), problem: problem.into() }
}

/// The header of a `.npy` file: its element type (`<f4`, `|u1`, ...), order and shape.
fn read_header(path: &Path, reader: &mut impl Read) -> Result<(String, bool, Vec<usize>), DataError> {
    let header = Header::from_reader(reader)
        .map_err(|e| npy_error(path, format!("not a NumPy .npy file ({e}); save the array with numpy.save")))?;
    let descr = header.type_descriptor.to_string().trim_matches(|c| c == '\'' || c == '"').to_string();
    Ok((descr, header.layout.is_fortran(), header.shape))
}

fn view_error(path: &Path, e: ViewNpyError) -> DataError {
    npy_error(path, format!("cannot read the array: {e}"))
}

/// A shape as numpy prints it: `(8, 200, 6)`, `(7,)`.
fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    if dims.len() == 1 { format!("({},)", dims.join("")) } else { format!("({})", dims.join(", ")) }
}

impl WindowFile {
    /// Opens `windows` (and `labels`) for `card`: checks the shape against the card (windows × `window` ×
    /// channels), every value finite, the labels' count and range, and decides the normalisation.
    pub fn open(
        windows: &Path,
        labels: Option<&Path>,
        card: &ModelCard,
        normalised: Normalised,
    ) -> Result<WindowFile, DataError> {
        let mut file = open_input(windows)?;
        let (descr, fortran_order, shape) = read_header(windows, &mut file)?;
        let double = match descr.as_str() {
            "<f4" | ">f4" => false,
            "<f8" | ">f8" => true,
            other => {
                return Err(npy_error(
                    windows,
                    format!(
                        "holds {} values (`{other}`); windows must be float32 or float64 (numpy dtype f4 or f8)",
                        dtype_name(other)
                    ),
                ));
            }
        };
        let (window, channels) = (card.window, card.channels.len());
        let [n, t, c] = shape[..] else {
            return Err(npy_error(
                windows,
                format!(
                    "has shape {} but prepared windows are 3-dimensional: windows x {window} samples x {channels} \
                     channels (the model card's `window` and `channels`)",
                    shape_text(&shape)
                ),
            ));
        };
        if t != window || c != channels {
            let hint = if t == channels && c == window {
                " (it looks transposed: windows x channels x samples; use np.transpose(X, (0, 2, 1)))"
            } else {
                ""
            };
            return Err(npy_error(
                windows,
                format!(
                    "has shape {} but the model takes windows of {window} samples x {channels} channels ({}){hint}",
                    shape_text(&shape),
                    card.channels.join(", ")
                ),
            ));
        }
        if n == 0 {
            return Err(npy_error(windows, "holds no windows (shape (0, ...))"));
        }
        let storage = Self::map_or_read(windows, double)?;
        let mut this = WindowFile {
            path: windows.to_path_buf(),
            storage,
            double,
            labels: None,
            report: WindowsReport {
                windows: n,
                window,
                channels,
                dtype: if double { "float64" } else { "float32" },
                fortran_order,
                mapped: false,
                labels: None,
                label_kind: None,
                normalisation: NormalisationDecision::decide(card, Vec::new(), Vec::new(), normalised),
                channel_names: card.channels.clone(),
            },
        };
        this.report.mapped = matches!(this.storage, Storage::Mapped(_));
        let (mean, std) = this.check_values_and_statistics()?;
        this.report.normalisation = NormalisationDecision::decide(card, mean, std, normalised);
        if let Some(labels) = labels {
            let (values, kind) = read_labels(labels, n, card)?;
            this.labels = Some(values);
            this.report.labels = Some(labels.to_path_buf());
            this.report.label_kind = Some(kind);
        }
        Ok(this)
    }

    /// Maps the file when it can be viewed in place, else reads it into memory.
    fn map_or_read(path: &Path, double: bool) -> Result<Storage, DataError> {
        let file = open_input(path)?;
        let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        if regular {
            // SAFETY: the mapping is read-only and lives as long as the `WindowFile`. Another process truncating
            // or rewriting the file while it is scored could change what is read (or end the process with
            // SIGBUS), as with any memory-mapped input; the file is the user's own input, opened for one run.
            let mapped = unsafe { memmap2::Mmap::map(&file) }
                .map_err(|source| DataError::Io { file: path.to_path_buf(), source })?;
            let viewable = if double {
                ArrayView3::<f64>::view_npy(&mapped).map(drop)
            } else {
                ArrayView3::<f32>::view_npy(&mapped).map(drop)
            };
            match viewable {
                Ok(()) => return Ok(Storage::Mapped(mapped)),
                // Big-endian data or an odd header length: read it into memory instead.
                Err(ViewNpyError::NonNativeEndian | ViewNpyError::MisalignedData) => {}
                Err(e) => return Err(view_error(path, e)),
            }
        }
        let reader = BufReader::new(open_input(path)?);
        let read_error = |e: ndarray_npy::ReadNpyError| npy_error(path, format!("cannot read the array: {e}"));
        Ok(if double {
            Storage::F64(Array3::<f64>::read_npy(reader).map_err(read_error)?)
        } else {
            Storage::F32(Array3::<f32>::read_npy(reader).map_err(read_error)?)
        })
    }

    /// A view of the windows.
    pub fn view(&self) -> Result<WindowsView<'_>, DataError> {
        Ok(match &self.storage {
            Storage::Mapped(bytes) if self.double => {
                WindowsView::F64(ArrayView3::<f64>::view_npy(bytes).map_err(|e| view_error(&self.path, e))?)
            }
            Storage::Mapped(bytes) => {
                WindowsView::F32(ArrayView3::<f32>::view_npy(bytes).map_err(|e| view_error(&self.path, e))?)
            }
            Storage::F32(a) => WindowsView::F32(a.view()),
            Storage::F64(a) => WindowsView::F64(a.view()),
        })
    }

    /// One pass over every value: the first non-finite one is an error; per-channel mean and population std.
    fn check_values_and_statistics(&self) -> Result<(Vec<f64>, Vec<f64>), DataError> {
        let view = self.view()?;
        let (window, channels) = (self.report.window, self.report.channels);
        let mut sum = vec![0.0f64; channels];
        let mut sum_sq = vec![0.0f64; channels];
        let mut buf = vec![0.0f32; window * channels];
        // Values are centred on the first window's per-channel means, so the sums stay small.
        let mut shift: Option<Vec<f64>> = None;
        for i in 0..view.windows() {
            view.copy_window(i, &mut buf);
            if let Some(k) = buf.iter().position(|v| !v.is_finite()) {
                let (t, c) = (k / channels, k % channels);
                let name = self.report.channel_names.get(c).map_or("?", String::as_str);
                return Err(npy_error(
                    &self.path,
                    format!(
                        "window {i} holds a non-finite value ({}) at sample {t}, channel {name}; prepared windows \
                         must be finite (drop or repair such windows before saving)",
                        buf.get(k).copied().unwrap_or(f32::NAN)
                    ),
                ));
            }
            let shift = shift.get_or_insert_with(|| {
                (0..channels)
                    .map(|c| buf.iter().skip(c).step_by(channels).map(|&v| f64::from(v)).sum::<f64>() / window as f64)
                    .collect()
            });
            for row in buf.chunks_exact(channels) {
                for (c, &v) in row.iter().enumerate() {
                    let x = f64::from(v) - shift.get(c).copied().unwrap_or(0.0);
                    if let (Some(s), Some(q)) = (sum.get_mut(c), sum_sq.get_mut(c)) {
                        *s += x;
                        *q += x * x;
                    }
                }
            }
        }
        let n = (view.windows() * window) as f64;
        let shift = shift.unwrap_or_else(|| vec![0.0; channels]);
        let mean: Vec<f64> = sum.iter().zip(&shift).map(|(s, k)| s / n + k).collect();
        let std: Vec<f64> = sum.iter().zip(&sum_sq).map(|(s, q)| (q / n - (s / n) * (s / n)).max(0.0).sqrt()).collect();
        Ok((mean, std))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn windows(&self) -> usize {
        self.report.windows
    }

    /// Each window's true label (card class index), when labels were given.
    pub fn labels(&self) -> Option<&[u16]> {
        self.labels.as_deref()
    }

    /// True when the windows go to the model as they are.
    pub fn is_normalised(&self) -> bool {
        self.report.normalisation.normalised
    }

    pub fn report(&self) -> &WindowsReport {
        &self.report
    }
}

/// numpy's name of an element type (`<i8` → `int64`).
fn dtype_name(descr: &str) -> &'static str {
    match descr.trim_start_matches(['<', '>', '|', '=']) {
        "i1" | "b" => "int8",
        "i2" => "int16",
        "i4" => "int32",
        "i8" => "int64",
        "u1" | "B" => "uint8",
        "u2" => "uint16",
        "u4" => "uint32",
        "u8" => "uint64",
        "f2" => "float16",
        "f4" => "float32",
        "f8" => "float64",
        "b1" => "bool",
        _ => "other",
    }
}

/// Reads labels of any integer, float or bool type as `f64` values with the array's shape.
fn read_label_values(path: &Path) -> Result<(Vec<f64>, Vec<usize>, String), DataError> {
    let mut bytes = Vec::new();
    open_input(path)?.read_to_end(&mut bytes).map_err(|source| DataError::Io { file: path.to_path_buf(), source })?;
    let (descr, _, shape) = read_header(path, &mut bytes.as_slice())?;
    fn read<T: ReadableElement + Copy>(
        path: &Path,
        bytes: &[u8],
        to: impl Fn(T) -> f64,
    ) -> Result<Vec<f64>, DataError> {
        let array =
            ArrayD::<T>::read_npy(bytes).map_err(|e| npy_error(path, format!("cannot read the labels: {e}")))?;
        // `iter` is in logical (row-major) order whatever the file's order.
        Ok(array.iter().map(|&v| to(v)).collect())
    }
    let dtype = dtype_name(&descr);
    let values = match dtype {
        "int8" => read::<i8>(path, &bytes, f64::from)?,
        "int16" => read::<i16>(path, &bytes, f64::from)?,
        "int32" => read::<i32>(path, &bytes, f64::from)?,
        "int64" => read::<i64>(path, &bytes, |v| v as f64)?,
        "uint8" => read::<u8>(path, &bytes, f64::from)?,
        "uint16" => read::<u16>(path, &bytes, f64::from)?,
        "uint32" => read::<u32>(path, &bytes, f64::from)?,
        "uint64" => read::<u64>(path, &bytes, |v| v as f64)?,
        "float32" => read::<f32>(path, &bytes, f64::from)?,
        "float64" => read::<f64>(path, &bytes, |v| v)?,
        "bool" => read::<bool>(path, &bytes, |v| if v { 1.0 } else { 0.0 })?,
        _ => {
            return Err(npy_error(
                path,
                format!("holds `{descr}` values; labels must be integers, floats or bools (class indices or one-hot)"),
            ));
        }
    };
    Ok((values, shape, dtype.to_string()))
}

/// The labels as card class indices: a vector of `windows` indices (whole numbers in `0..classes`; shape
/// `(windows,)` or `(windows, 1)`), or one-hot rows (`(windows, classes)`, exactly one 1 per row, the rest 0).
fn read_labels(path: &Path, windows: usize, card: &ModelCard) -> Result<(Vec<u16>, String), DataError> {
    let (values, shape, dtype) = read_label_values(path)?;
    let k = card.classes.len();
    let err = |problem: String| npy_error(path, problem);
    let count = shape.first().copied().unwrap_or(0);
    if shape.is_empty() || count != windows {
        return Err(err(format!(
            "has shape {} but there are {windows} windows: labels are one per window, as class indices ({windows},) \
             or one-hot ({windows}, {k})",
            shape_text(&shape)
        )));
    }
    let one_hot = match shape[1..] {
        [] | [1] => false,
        [classes] if classes == k => true,
        _ => {
            return Err(err(format!(
                "has shape {} but labels are class indices ({windows},) or one-hot ({windows}, {k}: the model's \
                 {k} classes)",
                shape_text(&shape)
            )));
        }
    };
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        let w = if one_hot { i / k } else { i };
        return Err(err(format!("the label of window {w} is not a finite number ({})", values[i])));
    }
    if one_hot {
        let mut labels = Vec::with_capacity(windows);
        for (w, row) in values.chunks_exact(k).enumerate() {
            let ones: Vec<usize> = row.iter().enumerate().filter(|(_, v)| **v == 1.0).map(|(c, _)| c).collect();
            let others_zero = row.iter().all(|v| *v == 0.0 || *v == 1.0);
            match ones[..] {
                [c] if others_zero => labels.push(c as u16),
                _ => {
                    return Err(err(format!(
                        "row {w} of the one-hot labels is not one-hot ({}): each row needs exactly one 1 and 0 \
                         elsewhere",
                        row.iter().map(|v| format!("{v}")).collect::<Vec<_>>().join(", ")
                    )));
                }
            }
        }
        return Ok((labels, format!("{windows} one-hot rows of {k} classes ({dtype})")));
    }
    let mut labels = Vec::with_capacity(windows);
    for (w, &v) in values.iter().enumerate() {
        if v.fract() != 0.0 || v < 0.0 || v >= k as f64 {
            return Err(err(format!(
                "the label of window {w} is {v}, not a class index 0 to {} (the model's {k} classes: {} ... {})",
                k - 1,
                card.classes.first().map_or("", String::as_str),
                card.classes.last().map_or("", String::as_str)
            )));
        }
        labels.push(v as u16);
    }
    Ok((labels, format!("{windows} class indices ({dtype})")))
}

/// The labels file that belongs to `windows` by the thesis' naming: `test_X.npy` → `test_y.npy` (also `X.npy`
/// → `y.npy`), when that file exists.
pub fn labels_beside(windows: &Path) -> Option<PathBuf> {
    let path = windows.with_file_name(labels_name(windows)?);
    path.is_file().then_some(path)
}

/// The file name the labels of `windows` have by the thesis' naming (`test_X.npy` → `test_y.npy`, `X.npy` →
/// `y.npy`); `None` for a name that does not follow it.
pub fn labels_name(windows: &Path) -> Option<String> {
    let name = windows.file_name()?.to_str()?;
    let stem = name.strip_suffix(".npy").or_else(|| name.strip_suffix(".NPY"))?;
    if let Some(prefix) = stem.strip_suffix("_X") {
        Some(format!("{prefix}_y.npy"))
    } else if stem == "X" {
        Some("y.npy".to_string())
    } else {
        None
    }
}

/// True when `path` names a NumPy `.npy` file (by its extension).
pub fn is_npy(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> ModelCard {
        let text = r#"{"classes": ["a", "b"], "channels": ["Ax", "Gx"], "sample_rate_hz": 50, "window": 4,
                       "scaler": {"mean": [9.0, 0.5], "scale": [3.0, 40.0]}}"#;
        ModelCard::from_json(text, Path::new("t.model.json")).unwrap()
    }

    #[test]
    fn the_nearer_reading_wins_and_a_close_call_is_a_warning() {
        let card = card();
        let normalised = NormalisationDecision::decide(&card, vec![0.1, -0.2], vec![0.9, 1.1], Normalised::Auto);
        assert!(normalised.normalised && !normalised.forced && normalised.warning.is_none(), "{normalised:?}");
        let raw = NormalisationDecision::decide(&card, vec![8.5, 1.0], vec![2.5, 35.0], Normalised::Auto);
        assert!(!raw.normalised && raw.warning.is_none(), "{raw:?}");
        assert!(raw.distance_raw < 0.3 && raw.distance_normalised > 2.0, "{raw:?}");
        // Raw statistics of another unit (milli-g) fit neither reading.
        let odd = NormalisationDecision::decide(&card, vec![9000.0, 1.0], vec![3000.0, 35.0], Normalised::Auto);
        assert!(odd.warning.as_deref().is_some_and(|w| w.contains("neither")), "{odd:?}");
        // A scaler that is nearly the identity cannot tell the readings apart.
        let mut identity = card.clone();
        identity.scaler = crate::model::card::ScalerParams { mean: vec![0.05, 0.0], scale: vec![1.05, 1.0] };
        let close = NormalisationDecision::decide(&identity, vec![0.0, 0.0], vec![1.0, 1.0], Normalised::Auto);
        assert!(close.warning.as_deref().is_some_and(|w| w.contains("both")), "{close:?}");
        let forced = NormalisationDecision::decide(&card, vec![0.0, 0.0], vec![1.0, 1.0], Normalised::No);
        assert!(!forced.normalised && forced.forced && forced.warning.is_none());
        assert!(forced.to_string().starts_with("raw units, scaled with the card's scaler (--normalised no)"));
    }

    #[test]
    fn labels_are_found_by_the_thesis_naming() {
        let dir = tempfile::tempdir().unwrap();
        let x = dir.path().join("test_X.npy");
        assert_eq!(labels_name(&x).as_deref(), Some("test_y.npy"));
        assert_eq!(labels_beside(&x), None, "only when the file exists");
        std::fs::write(dir.path().join("test_y.npy"), b"").unwrap();
        assert_eq!(labels_beside(&x), Some(dir.path().join("test_y.npy")));
        assert_eq!(labels_name(Path::new("X.npy")).as_deref(), Some("y.npy"));
        assert_eq!(labels_name(Path::new("production.npy")), None);
        assert_eq!(shape_text(&[7]), "(7,)");
        assert_eq!(shape_text(&[8, 200, 6]), "(8, 200, 6)");
    }
}
