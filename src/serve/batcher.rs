//! Opportunistic batching of single-window requests. A request waits in a queue only while every model session is
//! busy; when one frees up, every window queued by then goes into one model call (at most [`MAX_BATCH`]). A request
//! that comes alone runs at once — no timer, no added latency — and under load windows share calls, which the model
//! runs faster per window than one at a time.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::pool::EnginePool;
use crate::data::Scaler;

/// Most windows in one call.
pub const MAX_BATCH: usize = 64;
/// Requests that may wait at once (beyond this a request is refused with 503 rather than queued without bound).
const QUEUE: usize = 4096;

/// Probabilities of one window and the model time of the call that classified it.
pub type Answer = Result<(Vec<f32>, f64), String>;

struct Job {
    raw: Vec<f32>,
    reply: oneshot::Sender<Answer>,
}

/// The queue in front of the pool for single windows.
pub struct Batcher {
    jobs: mpsc::Sender<Job>,
}

impl Batcher {
    /// Starts the batching task on the current tokio runtime.
    pub fn start(pool: Arc<EnginePool>, scaler: Arc<Scaler>, classes: usize) -> Batcher {
        let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
        let k = classes.max(1);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                // Wait for a session first: whatever queues meanwhile joins this call.
                let Ok(permit) = pool.acquire().await else { break };
                let mut jobs = vec![first];
                while jobs.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(job) => jobs.push(job),
                        Err(_) => break,
                    }
                }
                let (pool, scaler) = (Arc::clone(&pool), Arc::clone(&scaler));
                tokio::spawn(async move {
                    let mut raw = Vec::with_capacity(jobs.iter().map(|j| j.raw.len()).sum());
                    let mut replies = Vec::with_capacity(jobs.len());
                    for job in jobs {
                        raw.extend_from_slice(&job.raw);
                        replies.push(job.reply);
                    }
                    let result = pool
                        .run_acquired(permit, move |engine| super::api::scale_and_predict(engine, &scaler, &raw))
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|r| r);
                    match result {
                        Ok((probabilities, seconds)) => {
                            for (reply, p) in replies.into_iter().zip(probabilities.chunks(k)) {
                                let _ = reply.send(Ok((p.to_vec(), seconds)));
                            }
                        }
                        Err(e) => {
                            for reply in replies {
                                let _ = reply.send(Err(e.clone()));
                            }
                        }
                    }
                });
            }
        });
        Batcher { jobs: tx }
    }

    /// Classifies one window (its raw rows); `Err` says why (the queue is full or closed, the model failed).
    pub async fn classify(&self, raw: Vec<f32>) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .try_send(Job { raw, reply })
            .map_err(|_| "the service is saturated: too many requests wait for the model".to_string())?;
        answer.await.map_err(|_| "the model call was dropped".to_string())?
    }
}
