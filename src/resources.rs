//! What a run may allocate: host memory available now, checked before large host
//! buffers are made from sizes that came from a flag or a file.

use crate::error::{Error, Result};

/// Bytes of memory the system can give this process now without swapping
/// (`MemAvailable` of /proc/meminfo on Linux); `None` where that is unknown.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Fails with [`Error::InsufficientMemory`] when `needed` bytes of host memory for
/// `what` exceed what is available (never where availability is unknown).
pub fn check_host_memory(what: impl FnOnce() -> String, needed: u64) -> Result<()> {
    match available_memory() {
        Some(available) if needed > available => Err(Error::InsufficientMemory {
            what: what(),
            needed,
            available,
            limit: "available host memory",
        }),
        _ => Ok(()),
    }
}

/// The error for a host allocation of `needed` bytes for `what` that the allocator
/// refused ([`Error::InsufficientMemory`], against the available host memory where that
/// is known).
pub(crate) fn allocation_failed(what: String, needed: u64) -> Error {
    match available_memory() {
        Some(available) => Error::InsufficientMemory {
            what,
            needed,
            available,
            limit: "available host memory",
        },
        None => Error::InsufficientMemory {
            what,
            needed,
            available: 0,
            limit: "memory the allocator would give",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(not(target_os = "linux"), ignore = "reads /proc/meminfo")]
    fn an_impossible_request_is_refused_and_named() {
        assert!(available_memory().is_some_and(|bytes| bytes > 0));
        let err =
            check_host_memory(|| "W0 (3703 x 1000000000 floats)".into(), u64::MAX).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("W0 (3703 x 1000000000 floats)"),
            "{message}"
        );
        assert!(message.contains("available host memory"), "{message}");
        assert!(check_host_memory(|| "nothing".into(), 1).is_ok());
    }
}
