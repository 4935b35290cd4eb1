//! A cap on messages per second per output, across every concurrent
//! invocation, kept in the state bucket.
//!
//! Each second has `per_second` slots, `rate/<output>/<second>/<n>`; a
//! message may go out in a second only after its sender created one of that
//! second's slots with a conditional create (`If-None-Match: *`). S3 lets
//! exactly one creator win each slot, so however many invocations run at
//! once, no second carries more than `per_second` messages. A sender that
//! finds a second full waits for the next one. Slots are tiny empty objects
//! that the state bucket's lifecycle rule removes after a day. A slot is
//! only used within its own second: a sender that took one and then found
//! the second over starts again, so a slow store cannot push a second over
//! its cap.
//!
//! SNS delivers to an e-mail address at up to 10 messages per second; Slack
//! takes about one message per second per incoming webhook.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ports::{Condition, FailureKind, ObjectStore, Result};

/// Where the slots live in the state bucket.
pub const RATE: &str = "rate/";

fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The slots of one state bucket.
#[derive(Debug, Clone)]
pub struct RateLimiter<S> {
    store: S,
    bucket: String,
}

impl<S: ObjectStore> RateLimiter<S> {
    pub fn new(store: S, bucket: impl Into<String>) -> Self {
        RateLimiter { store, bucket: bucket.into() }
    }

    /// Waits until `output` may send at least one message in the current
    /// second, and returns how many (1 to `want`) it may send now.
    pub async fn acquire(&self, output: &str, per_second: u32, want: usize) -> Result<usize> {
        if per_second == 0 || want == 0 {
            return Ok(want);
        }
        loop {
            let second = now_millis() / 1000;
            let mut granted = 0;
            // Starting at a random slot spreads concurrent senders out.
            let start = fastrand::u32(..per_second);
            for i in 0..per_second {
                if granted == want || now_millis() / 1000 != second {
                    break;
                }
                let key = format!("{RATE}{output}/{second}/{}", (start + i) % per_second);
                match self.store.put_if(&self.bucket, &key, Vec::new(), Condition::Absent).await {
                    Ok(_) => granted += 1,
                    Err(f) if f.kind == FailureKind::PreconditionFailed => {}
                    Err(f) => return Err(f),
                }
            }
            if granted > 0 && now_millis() / 1000 == second {
                return Ok(granted);
            }
            let wait = ((second + 1) * 1000).saturating_sub(now_millis());
            tokio::time::sleep(Duration::from_millis(wait + fastrand::u64(0..20))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_senders_never_pass_the_cap_in_any_second() {
        let store = MemoryStore::default();
        let limiter = RateLimiter::new(store, "state");
        let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (limiter, sent) = (limiter.clone(), sent.clone());
            tasks.push(tokio::spawn(async move {
                let mut left = 5;
                while left > 0 {
                    let n = limiter.acquire("sns", 10, left.min(3)).await.unwrap();
                    let second = now_millis() / 1000;
                    sent.lock().unwrap().extend(std::iter::repeat_n(second, n));
                    left -= n;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let sent = sent.lock().unwrap();
        assert_eq!(sent.len(), 40);
        let mut per_second = std::collections::BTreeMap::<u64, usize>::new();
        for s in sent.iter() {
            *per_second.entry(*s).or_default() += 1;
        }
        assert!(per_second.values().all(|&n| n <= 10), "{per_second:?}");
        assert!(per_second.len() >= 4, "40 messages at 10/s take at least 4 seconds: {per_second:?}");
    }
}
