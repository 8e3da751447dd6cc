//! CPU time of this process's threads, split between the simulator's threads (named `sim`, see
//! [`crate::host`]) and all the others (the clients). Wall-clock latency on a shared 2-core machine
//! moves with whatever else runs; CPU time spent moves much less, so it backs up the latency ratios.
//!
//! Read from `/proc/self/task/*/schedstat` (first field: nanoseconds on a CPU), Linux only.

use std::time::Duration;

/// CPU time used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTime {
    /// By the simulator's threads.
    pub sim: Duration,
    /// By every other thread (the clients, the main thread).
    pub client: Duration,
    /// Minor page faults of the whole process (`/proc/self/stat`): memory the allocator returned to the
    /// kernel and touched again costs time that no instruction count shows.
    pub minor_faults: u64,
}

impl CpuTime {
    /// Now, or `None` where `/proc/self/task/*/schedstat` cannot be read.
    pub fn now() -> Option<CpuTime> {
        let mut total = CpuTime { minor_faults: minor_faults()?, ..CpuTime::default() };
        for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            let path = task.path();
            // A thread may end between listing and reading: skip it.
            let (Ok(comm), Ok(stat)) =
                (std::fs::read_to_string(path.join("comm")), std::fs::read_to_string(path.join("schedstat")))
            else {
                continue;
            };
            let Some(ns) = stat.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()) else { continue };
            if comm.trim() == crate::host::SIM_THREAD_NAME {
                total.sim += Duration::from_nanos(ns);
            } else {
                total.client += Duration::from_nanos(ns);
            }
        }
        Some(total)
    }

    /// What was used between `earlier` and `self`.
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            sim: self.sim.saturating_sub(earlier.sim),
            client: self.client.saturating_sub(earlier.client),
            minor_faults: self.minor_faults.saturating_sub(earlier.minor_faults),
        }
    }

    /// Adds another span.
    pub fn add(&mut self, other: CpuTime) {
        self.sim += other.sim;
        self.client += other.client;
        self.minor_faults += other.minor_faults;
    }

    /// Each figure divided by `n` (per call).
    pub fn per(self, n: u32) -> CpuTime {
        let n = n.max(1);
        CpuTime { sim: self.sim / n, client: self.client / n, minor_faults: self.minor_faults / u64::from(n) }
    }
}

/// Field 10 of `/proc/self/stat` (after the parenthesised command name, which may hold spaces).
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // Fields from 3 (state) on; minflt is field 10.
    after_comm.split_whitespace().nth(7)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_this_thread() {
        let before = CpuTime::now().unwrap();
        let mut x = 0u64;
        for i in 0..30_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let used = CpuTime::now().unwrap().since(before);
        assert!(used.client > Duration::ZERO, "{used:?}");
        assert_eq!(used.sim, Duration::ZERO);
    }
}
