//! A small pool of model sessions for the service: ONNX Runtime's `run` takes `&mut`, so each request borrows one
//! session, on a blocking thread (never on the async runtime's threads), and waits for one when all are busy.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Semaphore;

use crate::model::{Engine, EngineOptions, ModelError};

/// Sessions of one model.
pub struct EnginePool {
    engines: Vec<Mutex<Engine>>,
    free: Arc<Semaphore>,
}

/// Why a request could not get a session.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("the model sessions are shutting down")]
    Closed,
    #[error("a model session failed: {0}")]
    Join(String),
}

impl EnginePool {
    /// `n` sessions (at least one) of the model at `path`, each single-threaded: requests run side by side.
    pub fn load(path: &std::path::Path, n: usize, options: &EngineOptions) -> Result<EnginePool, ModelError> {
        let options = EngineOptions { intra_threads: 1, ..options.clone() };
        let mut engines = Vec::with_capacity(n.max(1));
        for _ in 0..n.max(1) {
            engines.push(Mutex::new(Engine::load(path, &options)?));
        }
        let free = Arc::new(Semaphore::new(engines.len()));
        Ok(EnginePool { engines, free })
    }

    /// The ONNX Runtime version the sessions run on.
    pub fn runtime_version(&self) -> String {
        self.engines.first().and_then(|m| m.lock().ok().map(|e| e.runtime().version.clone())).unwrap_or_default()
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.engines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.engines.is_empty()
    }

    /// Runs `f` with a free session on a blocking thread; waits while every session is busy.
    pub async fn run<R, F>(self: &Arc<Self>, f: F) -> Result<R, PoolError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Engine) -> R + Send + 'static,
    {
        let permit = Arc::clone(&self.free).acquire_owned().await.map_err(|_| PoolError::Closed)?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // The permit guarantees a session is free; find it without waiting on a busy one.
            let engine = pool.engines.iter().find_map(|m| m.try_lock().ok());
            match engine {
                Some(mut engine) => f(&mut engine),
                None => {
                    // Unreachable while permits match sessions; wait on the first rather than fail.
                    let mut engine = pool.engines[0].lock().unwrap_or_else(PoisonError::into_inner);
                    f(&mut engine)
                }
            }
        })
        .await
        .map_err(|e| PoolError::Join(e.to_string()))
    }
}
