//! What every pool of one `Host` shares: the metrics, the memory quota and the
//! instance numbering.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Weak};

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
    /// Every pool that may wait on the quota, by function (pools come and go with deployments).
    pub(crate) pools: Mutex<Vec<Weak<dyn Kick>>>,
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

    /// Adds a pool to those [`kick_others`](Self::kick_others) reaches.
    pub(crate) fn register(&self, pool: Weak<dyn Kick>) {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools.push(pool);
    }

    pub(crate) fn next_instance_id(&self) -> u64 {
        self.next_instance.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Memory was freed by pool `me`: other pools waiting on the quota may start instances.
    pub(crate) fn kick_others(&self, me: &Weak<dyn Kick>) {
        let pools: Vec<_> = {
            let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
            pools.retain(|pool| pool.strong_count() > 0);
            pools
                .iter()
                .filter(|pool| !Weak::ptr_eq(pool, me))
                .filter_map(Weak::upgrade)
                .collect()
        };
        for pool in pools {
            pool.kick();
        }
    }
}
