//! The machine the figures come from: CPU model, cores, memory, OS, kernel, rustc.

use std::process::Command;

/// A description of this machine.
#[derive(Debug, Clone)]
pub struct Machine {
    /// CPU model name (`/proc/cpuinfo`).
    pub cpu: String,
    /// Logical cores available to this process.
    pub cores: usize,
    /// Total memory in GiB (`/proc/meminfo`).
    pub memory_gib: f64,
    /// OS name (`/etc/os-release`).
    pub os: String,
    /// Kernel release.
    pub kernel: String,
    /// `rustc --version`.
    pub rustc: String,
    /// 1-, 5- and 15-minute load averages when the run started (other work on the machine skews figures).
    pub load: String,
}

impl Machine {
    /// Reads the description; unknown parts say "unknown".
    pub fn describe() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let unknown = || "unknown".to_string();
        Machine {
            cpu: cpu_model(&read("/proc/cpuinfo")).unwrap_or_else(unknown),
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            memory_gib: mem_total_kib(&read("/proc/meminfo")).map_or(0.0, |k| k as f64 / (1024.0 * 1024.0)),
            os: os_name(&read("/etc/os-release")).unwrap_or_else(unknown),
            kernel: Some(read("/proc/sys/kernel/osrelease").trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(unknown),
            rustc: Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
                .arg("--version")
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(unknown),
            load: read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        }
    }

    /// One line: `Intel Xeon … · 2 cores · 23.4 GiB · Debian GNU/Linux 12 (kernel 6.1) · rustc 1.95.0`.
    pub fn line(&self) -> String {
        format!(
            "{} · {} cores · {:.1} GiB RAM · {} (kernel {}) · {} · load average at the start {}",
            self.cpu, self.cores, self.memory_gib, self.os, self.kernel, self.rustc, self.load
        )
    }
}

/// The model name, with family/model numbers (names like "AMD EPYC" say little on their own) and
/// whether it is a virtual machine.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    let field = |name: &str| {
        cpuinfo
            .lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    let mut model = field("model name")?;
    if let (Some(family), Some(number)) = (field("cpu family"), field("model")) {
        model.push_str(&format!(" (family {family}, model {number})"));
    }
    if field("flags").is_some_and(|f| f.split(' ').any(|x| x == "hypervisor")) {
        model.push_str(", virtual machine");
    }
    Some(model)
}

fn mem_total_kib(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    line.trim_start_matches("MemTotal:").trim().trim_end_matches("kB").trim().parse().ok()
}

fn os_name(os_release: &str) -> Option<String> {
    let line = os_release.lines().find(|l| l.starts_with("PRETTY_NAME="))?;
    Some(line.trim_start_matches("PRETTY_NAME=").trim_matches('"').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let cpuinfo = "processor\t: 0\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC   7B13 64-Core Processor\nflags\t: fpu hypervisor\n";
        assert_eq!(
            cpu_model(cpuinfo).as_deref(),
            Some("AMD EPYC 7B13 64-Core Processor (family 25, model 1), virtual machine")
        );
        assert_eq!(mem_total_kib("MemTotal:       24565432 kB\nMemFree: 1 kB\n"), Some(24_565_432));
        assert_eq!(
            os_name("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(cpu_model(""), None);
    }
}
