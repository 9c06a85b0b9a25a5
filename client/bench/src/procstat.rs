//! CPU time and memory of a process from Linux's `/proc`: `utime + stime`
//! from `/proc/PID/stat` (all threads), `VmHWM` (peak resident set) and
//! `VmRSS` from `/proc/PID/status`.

use crate::BenchError;

/// Clock ticks per second in `/proc/PID/stat`: `USER_HZ`, which Linux fixes
/// at 100 in its user-space ABI on every mainstream architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// Which process to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// This process.
    Current,
    /// Another process by id.
    Pid(u32),
}

impl Process {
    fn file(self, name: &str) -> String {
        match self {
            Process::Current => format!("/proc/self/{name}"),
            Process::Pid(pid) => format!("/proc/{pid}/{name}"),
        }
    }
}

/// A reading of one process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// User plus system CPU time so far, in seconds.
    pub cpu_seconds: f64,
    /// Peak resident set size so far, in KiB.
    pub peak_rss_kib: u64,
    /// Resident set size now, in KiB.
    pub rss_kib: u64,
}

/// Reads a process's CPU time and memory.
pub fn read(process: Process) -> Result<Usage, BenchError> {
    let stat_path = process.file("stat");
    let stat = read_file(&stat_path)?;
    let ticks = parse_cpu_ticks(&stat).ok_or_else(|| BenchError::Proc {
        path: stat_path,
        reason: "no utime/stime fields".into(),
    })?;
    let status_path = process.file("status");
    let status = read_file(&status_path)?;
    let field = |name: &str| {
        parse_kib(&status, name).ok_or_else(|| BenchError::Proc {
            path: status_path.clone(),
            reason: format!("no {name} line"),
        })
    };
    Ok(Usage {
        cpu_seconds: ticks as f64 / TICKS_PER_SECOND,
        peak_rss_kib: field("VmHWM")?,
        rss_kib: field("VmRSS")?,
    })
}

fn read_file(path: &str) -> Result<String, BenchError> {
    std::fs::read_to_string(path).map_err(|e| BenchError::Proc {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// `utime + stime` in clock ticks. The command name (field 2) may contain
/// spaces and parentheses, so fields are counted after its last `)`: there
/// `state` is the first, `utime` the 12th and `stime` the 13th.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// A `Name:   1234 kB` line of `/proc/PID/status`, in KiB.
pub fn parse_kib(status: &str, name: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(name)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// Reads every process in `pids`.
pub fn read_all(pids: &[u32]) -> Result<Vec<Usage>, BenchError> {
    pids.iter().map(|&pid| read(Process::Pid(pid))).collect()
}

/// Several processes as one: CPU and memory added up (`None` for none).
pub fn sum(usages: &[Usage]) -> Option<Usage> {
    let (first, rest) = usages.split_first()?;
    Some(rest.iter().fold(*first, |total, u| Usage {
        cpu_seconds: total.cpu_seconds + u.cpu_seconds,
        peak_rss_kib: total.peak_rss_kib + u.peak_rss_kib,
        rss_kib: total.rss_kib + u.rss_kib,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_an_awkward_name() {
        let stat =
            "1234 (chat (room) x) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 75 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_cpu_ticks(stat), Some(325));
    }

    #[test]
    fn parses_status_lines() {
        let status =
            "Name:\tchatroom-server\nVmPeak:\t  900 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n";
        assert_eq!(parse_kib(status, "VmHWM"), Some(51200));
        assert_eq!(parse_kib(status, "VmRSS"), Some(40960));
        assert_eq!(parse_kib(status, "VmSwap"), None);
    }

    #[test]
    fn reads_this_process() {
        let usage = read(Process::Current).unwrap();
        assert!(usage.peak_rss_kib >= usage.rss_kib.min(usage.peak_rss_kib));
        assert!(usage.peak_rss_kib > 0);
    }
}
