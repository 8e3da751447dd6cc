//! CPU time of this process's threads, split between the simulator's threads (named `sim`, see
//! [`crate::host`]) and all the others (the clients). Wall-clock latency on a shared 2-core machine
//! moves with whatever else runs; CPU time spent moves much less, so it backs up the latency ratios.
//!
//! Read from `/proc/self/task/*/schedstat` (nanoseconds on a CPU, nanoseconds runnable but waiting for
//! a CPU, times run), Linux only. The waiting time and the number of times a thread was run explain
//! tail latency that CPU time does not: every wake-up of a thread is a chance to wait for a core.

use std::time::Duration;

/// CPU time used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTime {
    /// By the simulator's threads.
    pub sim: Duration,
    /// By every other thread (the clients, the main thread).
    pub client: Duration,
    /// Time the simulator's threads were runnable but waited for a CPU (the run queue).
    pub sim_wait: Duration,
    /// Time the other threads were runnable but waited for a CPU.
    pub client_wait: Duration,
    /// Times the simulator's threads were put on a CPU (about one per wake-up).
    pub sim_runs: u64,
    /// Times the other threads were put on a CPU.
    pub client_runs: u64,
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
            let Some([ns, wait, runs]) = parse_schedstat(&stat) else { continue };
            let (cpu, waited, ran) = if comm.trim() == crate::host::SIM_THREAD_NAME {
                (&mut total.sim, &mut total.sim_wait, &mut total.sim_runs)
            } else {
                (&mut total.client, &mut total.client_wait, &mut total.client_runs)
            };
            *cpu += Duration::from_nanos(ns);
            *waited += Duration::from_nanos(wait);
            *ran += runs;
        }
        Some(total)
    }

    /// What was used between `earlier` and `self`.
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            sim: self.sim.saturating_sub(earlier.sim),
            client: self.client.saturating_sub(earlier.client),
            sim_wait: self.sim_wait.saturating_sub(earlier.sim_wait),
            client_wait: self.client_wait.saturating_sub(earlier.client_wait),
            sim_runs: self.sim_runs.saturating_sub(earlier.sim_runs),
            client_runs: self.client_runs.saturating_sub(earlier.client_runs),
            minor_faults: self.minor_faults.saturating_sub(earlier.minor_faults),
        }
    }

    /// Adds another span.
    pub fn add(&mut self, other: CpuTime) {
        self.sim += other.sim;
        self.client += other.client;
        self.sim_wait += other.sim_wait;
        self.client_wait += other.client_wait;
        self.sim_runs += other.sim_runs;
        self.client_runs += other.client_runs;
        self.minor_faults += other.minor_faults;
    }

    /// Each figure divided by `n` (per call).
    pub fn per(self, n: u32) -> PerCall {
        let n = n.max(1);
        let count = |x: u64| x as f64 / f64::from(n);
        PerCall {
            sim: self.sim / n,
            client: self.client / n,
            sim_wait: self.sim_wait / n,
            client_wait: self.client_wait / n,
            sim_runs: count(self.sim_runs),
            client_runs: count(self.client_runs),
            minor_faults: count(self.minor_faults),
        }
    }
}

/// [`CpuTime`] per call; counts are averages, so fractional.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PerCall {
    /// CPU time of the simulator's threads.
    pub sim: Duration,
    /// CPU time of the other threads.
    pub client: Duration,
    /// Run-queue wait of the simulator's threads.
    pub sim_wait: Duration,
    /// Run-queue wait of the other threads.
    pub client_wait: Duration,
    /// Times the simulator's threads were run.
    pub sim_runs: f64,
    /// Times the other threads were run.
    pub client_runs: f64,
    /// Minor page faults of the process.
    pub minor_faults: f64,
}

/// CPU time the calling thread has used so far (`CLOCK_THREAD_CPUTIME_ID`: exact, unlike `schedstat`,
/// which a running thread sees updated only at scheduler ticks).
pub fn this_thread() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec.max(0) as u64, t.tv_nsec.clamp(0, 999_999_999) as u32)
}

/// `/proc/…/schedstat`: time on a CPU (ns), time waiting on a run queue (ns), timeslices run.
fn parse_schedstat(stat: &str) -> Option<[u64; 3]> {
    let mut fields = stat.split_whitespace().map(|f| f.parse::<u64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
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
        let (a, b) = (this_thread(), this_thread());
        assert!(a > Duration::ZERO && b >= a, "{a:?} {b:?}");
        assert_eq!(parse_schedstat("123 45 6\n"), Some([123, 45, 6]));
        assert_eq!(parse_schedstat("123 45"), None);
        let per =
            CpuTime { client_runs: 3, minor_faults: 1, client: Duration::from_micros(4), ..CpuTime::default() }.per(2);
        assert_eq!((per.client_runs, per.minor_faults, per.client), (1.5, 0.5, Duration::from_micros(2)));
    }
}
