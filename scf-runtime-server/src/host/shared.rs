//! What every pool of one `Host` shares: the metrics, the memory quota and the
//! instance numbering.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, Weak};

use crate::host::metrics::Metrics;

/// A pool that may start instances once memory is freed elsewhere.
pub(crate) trait Kick: Send + Sync + std::fmt::Debug {
    /// Re-checks whether instances can be started.
    fn kick(&self);
}

/// State shared by the host and every pool.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) metrics: Metrics,
    pub(crate) quota_mb: u64,
    pub(crate) used_mb: Mutex<u64>,
    pub(crate) next_instance: AtomicU64,
    pub(crate) pools: OnceLock<Vec<(String, Weak<dyn Kick>)>>,
}

impl Shared {
    /// Takes `mb` of the memory quota, if there is room.
    pub(crate) fn reserve(&self, mb: u32) -> bool {
        let mut used = self.used_mb.lock().unwrap_or_else(|e| e.into_inner());
        if *used + u64::from(mb) > self.quota_mb {
            return false;
        }
        *used += u64::from(mb);
        true
    }

    /// Gives `mb` back.
    pub(crate) fn release(&self, mb: u32) {
        let mut used = self.used_mb.lock().unwrap_or_else(|e| e.into_inner());
        *used = used.saturating_sub(u64::from(mb));
    }

    pub(crate) fn next_instance_id(&self) -> u64 {
        self.next_instance.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Memory was freed by `function`: other functions waiting on the quota may start instances.
    pub(crate) fn kick_others(&self, function: &str) {
        let Some(pools) = self.pools.get() else {
            return;
        };
        for (name, pool) in pools {
            if name != function
                && let Some(pool) = pool.upgrade()
            {
                pool.kick();
            }
        }
    }
}
