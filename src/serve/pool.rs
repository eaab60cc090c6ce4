//! A small pool of model sessions for the service: ONNX Runtime's `run` takes `&mut`, so each request borrows one
//! session, on a blocking thread (never on the async runtime's threads), and waits for one when all are busy.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Semaphore;

use crate::model::{Engine, EngineOptions, ModelError};

/// Sessions of one model. A window request borrows one session; a file borrows all of them at once (its batches
/// go to the sessions in turn, as `predict` runs them), waiting its turn like any request (the semaphore is fair).
pub struct EnginePool {
    /// `None` only while a file job has taken every session out.
    engines: Vec<Mutex<Option<Engine>>>,
    free: Arc<Semaphore>,
}

/// Why a request could not get a session.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("the model sessions are shutting down")]
    Closed,
    #[error("a model session failed: {0}")]
    Join(String),
    #[error("no model session was free")]
    Busy,
}

impl EnginePool {
    /// `n` sessions (at least one) of the model at `path`, each single-threaded: requests run side by side.
    pub fn load(path: &std::path::Path, n: usize, options: &EngineOptions) -> Result<EnginePool, ModelError> {
        let options = EngineOptions { intra_threads: 1, ..options.clone() };
        let mut engines = Vec::with_capacity(n.max(1));
        for _ in 0..n.max(1) {
            engines.push(Mutex::new(Some(Engine::load(path, &options)?)));
        }
        let free = Arc::new(Semaphore::new(engines.len()));
        Ok(EnginePool { engines, free })
    }

    /// The model card the sessions were loaded with.
    pub fn card(&self) -> Option<crate::model::ModelCard> {
        self.engines.first().and_then(|m| m.lock().ok().and_then(|e| e.as_ref().map(|e| e.card().clone())))
    }

    /// The ONNX Runtime version the sessions run on.
    pub fn runtime_version(&self) -> String {
        self.engines
            .first()
            .and_then(|m| m.lock().ok().and_then(|e| e.as_ref().map(|e| e.runtime().version.clone())))
            .unwrap_or_default()
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.engines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.engines.is_empty()
    }

    /// Waits for a free session and holds it (the permit) until the permit is dropped or used.
    pub async fn acquire(&self) -> Result<tokio::sync::OwnedSemaphorePermit, PoolError> {
        Arc::clone(&self.free).acquire_owned().await.map_err(|_| PoolError::Closed)
    }

    /// Runs `f` with a free session on a blocking thread; waits while every session is busy.
    pub async fn run<R, F>(self: &Arc<Self>, f: F) -> Result<R, PoolError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Engine) -> R + Send + 'static,
    {
        let permit = self.acquire().await?;
        self.run_acquired(permit, f).await
    }

    /// Runs `f` on the session a permit from [`EnginePool::acquire`] holds free.
    pub async fn run_acquired<R, F>(
        self: &Arc<Self>,
        permit: tokio::sync::OwnedSemaphorePermit,
        f: F,
    ) -> Result<R, PoolError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Engine) -> R + Send + 'static,
    {
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // The permit guarantees a session is free; take the first one that is.
            for m in &pool.engines {
                if let Ok(mut guard) = m.try_lock()
                    && let Some(engine) = guard.as_mut()
                {
                    return Ok(f(engine));
                }
            }
            Err(PoolError::Busy)
        })
        .await
        .map_err(|e| PoolError::Join(e.to_string()))?
    }

    /// Runs `f` with every session (a whole file: its batches spread over them) on a blocking thread.
    pub async fn run_all<R, F>(self: &Arc<Self>, f: F) -> Result<R, PoolError>
    where
        R: Send + 'static,
        F: FnOnce(&mut [Engine]) -> R + Send + 'static,
    {
        let n = u32::try_from(self.engines.len()).map_err(|_| PoolError::Busy)?;
        let permits = Arc::clone(&self.free).acquire_many_owned(n).await.map_err(|_| PoolError::Closed)?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permits = permits;
            let mut taken: Vec<Engine> = Vec::with_capacity(pool.engines.len());
            for m in &pool.engines {
                if let Some(engine) = m.lock().unwrap_or_else(PoisonError::into_inner).take() {
                    taken.push(engine);
                }
            }
            let result = f(&mut taken);
            // Each session goes back into a free slot (the slots they came from).
            let mut back = taken.into_iter();
            for m in &pool.engines {
                let mut slot = m.lock().unwrap_or_else(PoisonError::into_inner);
                if slot.is_none() {
                    *slot = back.next();
                }
            }
            result
        })
        .await
        .map_err(|e| PoolError::Join(e.to_string()))
    }
}
