//! `cargo bench --bench inference`: the demo model's throughput (windows/s) by batch size and thread layout on
//! this machine: one session with ONNX Runtime's default threads, one session on one thread, and two one-thread
//! sessions working on alternate batches at once. Chooses nothing; prints a table to choose from.

use std::time::Instant;

use har_monitor::model::{Engine, EngineOptions};

const WINDOWS: usize = 2048;

fn input(per: usize) -> Vec<f32> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..WINDOWS * per)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 3.0
        })
        .collect()
}

fn engine(batch: usize, threads: usize) -> Engine {
    let model = har_monitor::assets::demo_model().expect("the bundled demo model");
    let options = EngineOptions { batch_size: batch, intra_threads: threads, ..EngineOptions::default() };
    Engine::load(&model, &options).expect("load the demo model")
}

/// Windows per second of `engines` sessions, each scoring its share of the windows in batches, at once.
fn rate(batch: usize, threads: usize, sessions: usize) -> f64 {
    let mut engines: Vec<Engine> = (0..sessions).map(|_| engine(batch, threads)).collect();
    let per = engines[0].window_len();
    let x = input(per);
    for e in &mut engines {
        e.predict(&x[..batch * per]).expect("warm-up");
    }
    let started = Instant::now();
    std::thread::scope(|scope| {
        for (k, e) in engines.iter_mut().enumerate() {
            let x = &x;
            scope.spawn(move || {
                for (i, chunk) in x.chunks(batch * per).enumerate() {
                    if i % sessions == k {
                        e.predict(chunk).expect("inference");
                    }
                }
            });
        }
    });
    WINDOWS as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    println!("| batch | 1 session, default threads | 1 session, 1 thread | 2 sessions × 1 thread |\n|---|---|---|---|");
    for batch in [16, 32, 64, 128, 256] {
        println!("| {batch} | {:.0} | {:.0} | {:.0} |", rate(batch, 0, 1), rate(batch, 1, 1), rate(batch, 1, 2));
    }
}
