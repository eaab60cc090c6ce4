//! `cargo bench --bench evaluate`: `har-monitor evaluate` on a thesis-sized file (378,000 rows: 6 users × 21
//! minutes, made by the generator) against a Python peer doing the same job (benches/python_peer.py: pandas, numpy
//! windowing, onnxruntime with the same batch size, scikit-learn metrics), both timed end to end as processes on
//! the same machine in one run (runs alternate, so both see the same load), with their peak memory; the Rust
//! side's own timing breakdown (`report.json` `timing`) and the model's share of the wall time; the peak memory of
//! `predict`, `drift`, `baseline` and `evaluate` at 378,000 and 3.5 million rows; and raw inference throughput of
//! the engine against onnxruntime-Python at batch 64. Prints Markdown tables (the README's) and the CPU model.
//!
//! `HAR_BENCH_EXE=path/to/har-monitor` measures that binary instead of the one cargo built for the benchmark.
//!
//! The peer needs a Python with numpy, pandas, onnxruntime and scikit-learn: set `HAR_BENCH_PYTHON` to it
//! (default `python3`). Without one, only the Rust side is measured.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use har_monitor::model::{Engine, EngineOptions};
use har_monitor::sim::{SimFileOptions, write_csv_file};

const RUNS: usize = 3;
/// Inference throughput varies ±10 % from run to run on a shared 2-core machine: more runs, median.
const INFERENCE_RUNS: usize = 9;

/// Wall seconds and peak resident memory (MiB) of one child process.
struct Measured {
    seconds: f64,
    peak_mib: f64,
    stdout: String,
}

fn run_measured(program: &Path, args: &[&str]) -> Result<Measured, String> {
    let started = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let pid = child.id() as libc::pid_t;
    // Wait with wait4 to get the child's own peak RSS (std's wait has no rusage).
    let mut status: libc::c_int = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    if waited != pid {
        return Err(format!("wait4 failed for {}", program.display()));
    }
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout {
        let _ = std::io::Read::read_to_string(&mut out, &mut stdout);
    }
    if let Some(mut err) = child.stderr {
        let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return Err(format!("{} {:?} failed: {stderr}", program.display(), args));
    }
    // ru_maxrss is in KiB on Linux.
    Ok(Measured { seconds, peak_mib: usage.ru_maxrss as f64 / 1024.0, stdout })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn python() -> Option<PathBuf> {
    let python = PathBuf::from(std::env::var("HAR_BENCH_PYTHON").unwrap_or_else(|_| "python3".into()));
    let ok = Command::new(&python)
        .args(["-c", "import numpy, pandas, onnxruntime, sklearn"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

/// Generates a labeled file of `users` × `minutes` (50 Hz) unless it is there; returns its path and row count.
fn sim_file(work: &Path, name: &str, users: u32, minutes: f64) -> (PathBuf, u64) {
    let path = work.join(name);
    let rows_file = work.join(format!("{name}.rows"));
    if let (true, Some(rows)) =
        (path.is_file(), std::fs::read_to_string(&rows_file).ok().and_then(|t| t.trim().parse().ok()))
    {
        return (path, rows);
    }
    let options = SimFileOptions { users, minutes_per_user: minutes, ..SimFileOptions::default() };
    let summary = write_csv_file(&path, &options).expect("generate a benchmark file");
    let rows = summary.rows;
    std::fs::write(&rows_file, rows.to_string()).expect("write the row count");
    eprintln!("generated {} ({rows} rows)", path.display());
    (path, rows)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = root.join("target").join("bench-data");
    std::fs::create_dir_all(&work).expect("create target/bench-data");
    let (data, rows) = sim_file(&work, "thesis_378k.csv", 6, 21.0);
    let model = har_monitor::assets::demo_model().expect("the bundled demo model (models/demo)");
    // `HAR_BENCH_EXE` measures another build of the binary (e.g. a release build while this harness is a dev one).
    let exe = std::env::var_os("HAR_BENCH_EXE")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_har-monitor")), PathBuf::from);
    eprintln!("measuring {}", exe.display());
    let model_s = model.display().to_string();
    let data_s = data.display().to_string();
    let python = python();
    let script = root.join("benches").join("python_peer.py");

    // Alternate the two so that both see the same machine load.
    let (mut rust, mut rust_peak, mut timings) = (Vec::new(), 0.0f64, Vec::new());
    let (mut peer, mut peer_peak, mut peer_inference) = (Vec::new(), 0.0f64, Vec::new());
    for i in 0..RUNS {
        let out = work.join(format!("rust-report-{i}"));
        let m = run_measured(
            &exe,
            &["evaluate", "--model", &model_s, "--data", &data_s, "--out", &out.display().to_string()],
        )
        .expect("har-monitor evaluate");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("report.json"))
                .expect("report.json is JSON");
        let timing = &report["timing"];
        let t = |k: &str| timing[k].as_f64().unwrap_or(f64::NAN);
        eprintln!("rust run {i}: {:.2} s, peak {:.0} MiB, timing {timing}", m.seconds, m.peak_mib);
        timings.push([t("load"), t("windowing"), t("inference"), t("writing"), t("total"), m.seconds]);
        rust.push(m.seconds);
        rust_peak = rust_peak.max(m.peak_mib);
        if let Some(py) = &python {
            let out = work.join(format!("python-report-{i}"));
            let m = run_measured(py, &[&script.display().to_string(), &model_s, &data_s, &out.display().to_string()])
                .expect("python peer");
            let line: serde_json::Value = serde_json::from_str(m.stdout.trim()).expect("peer prints JSON");
            eprintln!("python run {i}: {:.2} s, peak {:.0} MiB ({line})", m.seconds, m.peak_mib);
            peer.push(m.seconds);
            peer_peak = peer_peak.max(m.peak_mib);
            peer_inference.push(line["inference_seconds"].as_f64().unwrap_or(f64::NAN));
        }
    }
    if python.is_none() {
        eprintln!("no Python with numpy/pandas/onnxruntime/scikit-learn (set HAR_BENCH_PYTHON): peer skipped");
    }

    // Peak memory of each data command at two sizes.
    let (big, big_rows) = sim_file(&work, "big_3500k.csv", 6, 194.5);
    let mut memory = Vec::new();
    for (file, n) in [(&data, rows), (&big, big_rows)] {
        let file_s = file.display().to_string();
        let mut row = Vec::new();
        for command in ["predict", "drift", "baseline", "evaluate"] {
            let out = work.join(format!("mem-{command}-{n}"));
            let out_s = out.display().to_string();
            let out_s = if command == "evaluate" { out_s } else { format!("{out_s}.out") };
            let m = run_measured(&exe, &[command, "--model", &model_s, "--data", &file_s, "--out", &out_s])
                .unwrap_or_else(|e| panic!("{command}: {e}"));
            eprintln!("{command} on {n} rows: {:.2} s, peak {:.0} MiB", m.seconds, m.peak_mib);
            row.push((m.seconds, m.peak_mib));
        }
        memory.push((n, row));
    }

    // Inference throughput at batch 64 on the same random windows, one process each.
    let n_windows = 4096usize;
    let mut engine = Engine::load(&model, &EngineOptions::default()).expect("load the demo model");
    let per = engine.window_len();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let input: Vec<f32> = (0..n_windows * per)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 3.0
        })
        .collect();
    let _ = engine.predict(&input[..64 * per]).expect("warm-up");
    let mut rust_rate = Vec::new();
    for _ in 0..INFERENCE_RUNS {
        let t = Instant::now();
        engine.predict(&input).expect("inference");
        rust_rate.push(n_windows as f64 / t.elapsed().as_secs_f64());
    }
    let mut python_rate = Vec::new();
    if let Some(py) = &python {
        let code = format!(
            "import numpy as np, onnxruntime as ort, time\n\
             s = ort.InferenceSession(r'{model_s}', providers=['CPUExecutionProvider'])\n\
             n = s.get_inputs()[0].name\n\
             x = (np.random.default_rng(0).random(({n_windows}, 200, 6), dtype=np.float32) - 0.5) * 3\n\
             s.run(None, {{n: x[:64]}})\n\
             for _ in range({INFERENCE_RUNS}):\n\
             \x20   t = time.perf_counter()\n\
             \x20   [s.run(None, {{n: x[i:i+64]}}) for i in range(0, {n_windows}, 64)]\n\
             \x20   print({n_windows} / (time.perf_counter() - t))\n"
        );
        let out = Command::new(py).args(["-c", &code]).output().expect("python inference benchmark");
        python_rate = String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect();
    }

    let rust_s = median(rust.clone());
    let rust_rate = median(rust_rate);
    let column = |k: usize| median(timings.iter().map(|t| t[k]).collect());
    let mut table = String::new();
    table += &format!(
        "evaluate, thesis-sized file ({} rows, 6 users), median of {RUNS} alternating runs, {} cores, {}\n\n",
        thousands(rows),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    );
    table += "| | end to end | peak memory | inference (batch 64) |\n|---|---|---|---|\n";
    table +=
        &format!("| har-monitor evaluate (Rust) | {rust_s:.2} s | {rust_peak:.0} MiB | {:.0} windows/s |\n", rust_rate);
    if !peer.is_empty() {
        let peer_s = median(peer.clone());
        table += &format!(
            "| Python peer (pandas, numpy, onnxruntime, scikit-learn) | {peer_s:.2} s | {peer_peak:.0} MiB | {:.0} windows/s |\n",
            if python_rate.is_empty() { f64::NAN } else { median(python_rate.clone()) }
        );
        let pair_ratios: Vec<f64> = peer.iter().zip(&rust).map(|(p, r)| p / r).collect();
        table += &format!(
            "\nRust is {:.2}× faster end to end (ratio of the medians; per alternating pair: {})",
            peer_s / rust_s,
            pair_ratios.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(", ")
        );
        if !python_rate.is_empty() {
            table += &format!(
                "; engine throughput is {:.0}% of onnxruntime-Python's",
                100.0 * rust_rate / median(python_rate)
            );
        }
        table += &format!(" (peer's own inference time: {:.2} s).\n", median(peer_inference));
    }
    table += &format!(
        "\n| Rust timing (report.json, median) | load | windowing | inference | writing | total (in process) | wall (process) |\n\
         |---|---|---|---|---|---|---|\n\
         | seconds | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |\n\
         \nwall / inference = {:.2}\n",
        column(0),
        column(1),
        column(2),
        column(3),
        column(4),
        column(5),
        column(5) / column(2)
    );
    table += "\n| rows | predict | drift | baseline | evaluate |\n|---|---|---|---|---|\n";
    for (n, row) in &memory {
        table += &format!("| {} |", thousands(*n));
        for (seconds, peak) in row {
            table += &format!(" {peak:.0} MiB ({seconds:.1} s) |");
        }
        table += "\n";
    }
    println!("{table}");
    let results = root.join("target").join("bench-results");
    let _ = std::fs::create_dir_all(&results);
    let _ = std::fs::write(results.join("evaluate.md"), &table);
}
