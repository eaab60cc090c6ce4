//! `cargo bench --bench load`: how fast a thesis-sized labeled file (385,326 rows, docs/FORMATS.md §1) loads into columns,
//! is cut into windows and scaled. Prints the numbers the README quotes.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use har_monitor::classes::THESIS_CLASSES;
use har_monitor::data::{self, LoadOptions, Scaler, WindowingMode};
use har_monitor::model::ModelCard;

const ROWS: usize = 385_326;

/// Writes a labeled file shaped like the thesis data: 6 users, float seconds at 50 Hz, m/s², labels in runs.
fn write_thesis_sized_file(path: &Path) {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut text = String::with_capacity(ROWS * 80);
    text.push_str("timestamp,Ax_w,Ay_w,Az_w,Gx_w,Gy_w,Gz_w,activity,User\n");
    let per_user = ROWS.div_ceil(6);
    for i in 0..ROWS {
        let user = i / per_user + 1;
        let t = (i % per_user) as f64 * 0.02;
        let label = THESIS_CLASSES[(i / 1500) % THESIS_CLASSES.len()];
        let _ = writeln!(
            text,
            "{t:.2},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{label},{user}",
            1.2 + noise(),
            -0.8 + noise(),
            9.6 + noise(),
            40.0 * noise(),
            40.0 * noise(),
            40.0 * noise()
        );
    }
    std::fs::write(path, text).unwrap();
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("thesis_sized.csv");
    write_thesis_sized_file(&path);
    let bytes = std::fs::metadata(&path).unwrap().len();
    let card = ModelCard::from_json(
        &format!(
            r#"{{"classes": {:?}, "channels": ["Ax","Ay","Az","Gx","Gy","Gz"], "sample_rate_hz": 50.0,
                "window": 200, "step": 100, "scaler": {{"mean": [0,0,9,0,0,0], "scale": [1,1,1,40,40,40]}}}}"#,
            THESIS_CLASSES
        ),
        Path::new("speed.model.json"),
    )
    .unwrap();

    let mut best = f64::INFINITY;
    let mut loaded = None;
    for _ in 0..5 {
        let start = Instant::now();
        loaded = Some(data::load_csv(&path, &card, &LoadOptions::default()).unwrap());
        best = best.min(start.elapsed().as_secs_f64());
    }
    let loaded = loaded.unwrap();
    assert_eq!(loaded.report.rows_kept, ROWS);
    assert_eq!(loaded.report.bad_rows, 0);

    let start = Instant::now();
    let windows = data::window(&loaded.recording, &card, WindowingMode::Segments);
    let window_s = start.elapsed().as_secs_f64();
    let scaler = Scaler::from_card(&card);
    let mut out = vec![0.0f32; card.window * card.channels.len()];
    let start = Instant::now();
    let mut checksum = 0.0f64;
    for w in &windows.windows {
        scaler.fill(&loaded.recording, w, &mut out).unwrap();
        checksum += f64::from(out[0]);
    }
    let scale_s = start.elapsed().as_secs_f64();
    assert_eq!(windows.segments, 6);

    println!(
        "load:   {ROWS} rows, {:.1} MB in {:.3} s (best of 5) = {:.0} rows/s, {:.0} MB/s",
        bytes as f64 / 1e6,
        best,
        ROWS as f64 / best,
        bytes as f64 / 1e6 / best
    );
    println!("window: {} windows in {:.4} s", windows.windows.len(), window_s);
    println!("scale:  {} windows in {:.4} s (checksum {checksum:.3})", windows.windows.len(), scale_s);
    print!("{}", loaded.report);
}
