//! Presence across the nodes of a cluster: who is online anywhere, so a user
//! connected to two nodes goes offline once, when their last connection in
//! the whole cluster closes, and a dead node's users go offline elsewhere.
//!
//! One JetStream key-value entry per user holds the ids of the nodes where
//! the user has a connection. A node changes only its own id in an entry,
//! always by compare-and-set on the entry's revision, so of two nodes racing
//! on one user exactly one sees the set go from none to some (it announces
//! "online") or from some to none ("offline"). A node's changes for one user
//! are serialised and always write what the hub says *now*, so a login racing
//! a logout on the same node cannot leave a stale answer behind.
//!
//! Every node publishes a heartbeat each second. A node not heard from for
//! [`DEAD_AFTER`] is dead: every other node removes its id from the entries
//! (by compare-and-set, so the user's "offline" is announced once). A node
//! that cannot hear itself is cut off from NATS and declares nobody dead; when
//! it hears itself again it gives everyone a fresh grace period and
//! reconciles its own ids with its connections.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv, stream};
use bytes::Bytes;
use chatroom_common::codec;
use chatroom_common::protocol::UserInfo;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::hub::Hub;
use crate::store::{Store, UserId};

/// How often a node says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// Silence after which a node is taken to be dead (its users go offline).
pub const DEAD_AFTER: Duration = Duration::from_secs(6);
/// A node that has not heard its own heartbeat for this long is cut off.
const CUT_OFF_AFTER: Duration = Duration::from_secs(3);
/// How often a node checks that the bucket holds its id exactly for the
/// users connected to it (repairs what a NATS outage left behind).
const RECONCILE_EVERY: Duration = Duration::from_secs(5);
/// How often the whole bucket is read again into the cache.
const RELOAD_EVERY: Duration = Duration::from_secs(30);
/// How long one bucket operation may take before it counts as failed.
const KV_TIMEOUT: Duration = Duration::from_secs(2);
/// Compare-and-set attempts before giving up on one change.
const MAX_ATTEMPTS: usize = 64;
/// The largest entry the node accepts from the bucket.
const ENTRY_LIMIT: usize = 64 * 1024;

/// Why presence could not be set up or changed.
#[derive(Debug, thiserror::Error)]
pub enum PresenceError {
    /// The bucket could not be opened or created (JetStream missing?).
    #[error(
        "presence bucket {bucket}: {reason} (the NATS servers need JetStream: nats-server -js)"
    )]
    Bucket {
        /// The bucket's name.
        bucket: String,
        /// What NATS said.
        reason: String,
    },
    /// Reading or writing an entry failed (NATS unreachable, timed out).
    #[error("presence of user {user}: {reason}")]
    Entry {
        /// The user concerned.
        user: UserId,
        /// What went wrong.
        reason: String,
    },
}

/// One user's entry in the bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    /// Nodes where the user has a connection, sorted.
    nodes: Vec<String>,
    /// The user as others see them (for announcing a dead node's users).
    user: Option<UserInfo>,
}

/// What the node last heard on the heartbeat subject.
#[derive(Debug, Default)]
struct Heard {
    /// Last heartbeat per node (this one included).
    at: HashMap<String, Instant>,
    /// Since when this node hears itself again (the others' grace starts here).
    since: Option<Instant>,
    /// Set when the node heard itself after a gap: reconcile at once.
    reconcile: bool,
    /// Set when the node heard itself after a gap: read the bucket again.
    reload: bool,
}

/// A node's view of presence in its cluster.
pub struct Presence {
    /// The bucket of entries.
    kv: kv::Store,
    /// For following the bucket's writes as plain messages.
    client: async_nats::Client,
    /// The subject prefix the bucket's entries are written on (`$KV.<bucket>.`).
    subject: String,
    /// This node's id.
    node: Arc<str>,
    /// Who is connected here.
    hub: Arc<Hub>,
    /// Rooms of a user, for announcing.
    store: Arc<dyn Store>,
    /// The bucket as last seen through its watch, for `Who` and for finding
    /// a dead node's users.
    cache: Mutex<HashMap<UserId, Record>>,
    /// One lock per user with a change in progress here.
    locks: Mutex<HashMap<UserId, Arc<tokio::sync::Mutex<()>>>>,
    /// Heartbeats.
    heard: Mutex<Heard>,
}

impl Presence {
    /// Opens (or creates) the cluster's presence bucket. Replicated on three
    /// NATS servers where the NATS cluster has them, so losing one keeps
    /// presence working; on one.
    pub async fn open(
        client: async_nats::Client,
        cluster: &str,
        node: Arc<str>,
        hub: Arc<Hub>,
        store: Arc<dyn Store>,
    ) -> Result<Self, PresenceError> {
        let mut js = jetstream::new(client.clone());
        // A login waits on this: fail over to the node's own answer quickly.
        js.set_timeout(KV_TIMEOUT);
        let bucket = format!("chatroom_{cluster}_presence");
        let failed = |e: &dyn std::fmt::Display| PresenceError::Bucket {
            bucket: bucket.clone(),
            reason: e.to_string(),
        };
        let kv = match js.get_key_value(&bucket).await {
            Ok(kv) => kv,
            Err(_) => {
                // The stream a key-value bucket is, made directly: the
                // client's own `create_key_value` first asks for account
                // details that NATS 2.9 answers in a shape it cannot read.
                let config = |replicas| stream::Config {
                    name: format!("KV_{bucket}"),
                    description: Some("Chatroom: the nodes each user is connected to".into()),
                    subjects: vec![format!("$KV.{bucket}.>")],
                    max_messages_per_subject: 1,
                    discard: stream::DiscardPolicy::New,
                    allow_rollup: true,
                    deny_delete: true,
                    allow_direct: true,
                    num_replicas: replicas,
                    ..Default::default()
                };
                // Three copies where the NATS cluster has three servers, so
                // losing one keeps presence working; else one.
                if js.create_stream(config(3)).await.is_err()
                    && let Err(e) = js.create_stream(config(1)).await
                {
                    // Another node may have made it meanwhile.
                    if js.get_key_value(&bucket).await.is_err() {
                        return Err(failed(&e));
                    }
                }
                js.get_key_value(&bucket).await.map_err(|e| failed(&e))?
            }
        };
        Ok(Self {
            subject: format!("$KV.{bucket}."),
            client,
            kv,
            node,
            hub,
            store,
            cache: Mutex::new(HashMap::new()),
            locks: Mutex::new(HashMap::new()),
            heard: Mutex::new(Heard::default()),
        })
    }

    /// Makes the bucket say what the hub says now about `user` on this node
    /// (connected or not). Returns `Some(true)` when this change brought the
    /// user online in the cluster, `Some(false)` when it took them offline,
    /// `None` when the cluster-wide answer did not change.
    pub async fn sync(&self, user: UserId) -> Result<Option<bool>, PresenceError> {
        if self.cut_off() {
            // Known not to get through: answer now; the reconcile after the
            // reconnect puts the bucket right.
            return Err(PresenceError::Entry {
                user,
                reason: "NATS is unreachable".into(),
            });
        }
        let lock = self.user_lock(user);
        let _held = lock.lock().await;
        let here = self.hub.user_info(user);
        let node = self.node.to_string();
        let changed = self
            .change(user, |record| {
                let had = record.nodes.contains(&node);
                match &here {
                    Some(info) if !had => {
                        record.nodes.push(node.clone());
                        record.nodes.sort();
                        record.user = Some(info.clone());
                        true
                    }
                    None if had => {
                        record.nodes.retain(|n| *n != node);
                        true
                    }
                    _ => false,
                }
            })
            .await;
        drop(_held);
        self.release_lock(user, lock);
        changed.map(|c| c.map(|(online, _)| online))
    }

    /// Puts the user's new details (an avatar change) in their entry, so
    /// `Who` on every node shows them; failures only leave them stale.
    pub async fn refresh(&self, user: UserId, info: UserInfo) {
        let changed = self
            .change(user, |record| {
                let stale = !record.nodes.is_empty() && record.user.as_ref() != Some(&info);
                if stale {
                    record.user = Some(info.clone());
                }
                stale
            })
            .await;
        if let Err(e) = changed {
            warn!("{e}");
        }
    }

    /// Whether `user` is connected to any node (as far as the watch has seen).
    pub fn is_online(&self, user: UserId) -> bool {
        self.lock_cache()
            .get(&user)
            .is_some_and(|r| !r.nodes.is_empty())
    }

    /// Of `users`, those connected to some node, as others see them.
    pub fn online_among(&self, users: &[UserId]) -> Vec<UserInfo> {
        let cache = self.lock_cache();
        users
            .iter()
            .filter_map(|u| cache.get(u))
            .filter(|r| !r.nodes.is_empty())
            .filter_map(|r| r.user.clone())
            .collect()
    }

    /// Applies `edit` to the user's entry by compare-and-set until it holds.
    /// `Ok(Some((online, user)))` when the set of nodes went from empty to
    /// non-empty or back.
    async fn change(
        &self,
        user: UserId,
        mut edit: impl FnMut(&mut Record) -> bool,
    ) -> Result<Option<(bool, Option<UserInfo>)>, PresenceError> {
        let key = user.to_string();
        let failed = |reason: String| PresenceError::Entry { user, reason };
        for _ in 0..MAX_ATTEMPTS {
            let entry = self
                .kv
                .entry(key.clone())
                .await
                .map_err(|e| failed(e.to_string()))?;
            let (mut record, revision) = match entry {
                Some(entry) => (decode(&entry.value), Some(entry.revision)),
                None => (Record::default(), None),
            };
            let was_online = !record.nodes.is_empty();
            if !edit(&mut record) {
                return Ok(None);
            }
            let bytes = match codec::encode(&record) {
                Ok(bytes) => Bytes::from(bytes),
                Err(e) => return Err(failed(e.to_string())),
            };
            let written = match revision {
                Some(revision) => match self.kv.update(&key, bytes, revision).await {
                    Ok(_) => true,
                    Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => false,
                    Err(e) => return Err(failed(e.to_string())),
                },
                None => match self.kv.create(&key, bytes).await {
                    Ok(_) => true,
                    Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => false,
                    Err(e) => return Err(failed(e.to_string())),
                },
            };
            if written {
                let now_online = !record.nodes.is_empty();
                let user_info = record.user.clone();
                self.lock_cache().insert(user, record);
                return Ok((was_online != now_online).then_some((now_online, user_info)));
            }
        }
        Err(failed(format!(
            "still contended after {MAX_ATTEMPTS} attempts"
        )))
    }

    /// Follows the bucket into the cache for as long as the node runs: every
    /// write to it is also a plain message on `$KV.<bucket>.<key>`, which a
    /// core subscription sees; the whole bucket is read at start, after the
    /// node was cut off, and every [`RELOAD_EVERY`] (a message missed while
    /// the subscription was down is a stale cache entry until then; changes
    /// themselves always go by compare-and-set on the real entry).
    pub async fn watch(self: Arc<Self>) {
        let mut writes = loop {
            match self.client.subscribe(format!("{}>", self.subject)).await {
                Ok(sub) => break sub,
                Err(e) => {
                    warn!("following presence: {e}");
                    tokio::time::sleep(HEARTBEAT).await;
                }
            }
        };
        let mut tick = tokio::time::interval(HEARTBEAT);
        let mut loaded: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let asked = std::mem::take(&mut self.lock_heard().reload);
                    if asked || loaded.is_none_or(|t| t.elapsed() >= RELOAD_EVERY) {
                        self.reload().await;
                        loaded = Some(Instant::now());
                    }
                }
                write = writes.next() => {
                    let Some(write) = write else { return };
                    let Some(user) = write
                        .subject
                        .strip_prefix(self.subject.as_str())
                        .and_then(|k| k.parse::<UserId>().ok())
                    else {
                        continue;
                    };
                    self.lock_cache().insert(user, decode(&write.payload));
                }
            }
        }
    }

    /// Reads every entry of the bucket into the cache.
    async fn reload(&self) {
        let keys = match self.kv.keys().await {
            Ok(keys) => keys,
            Err(e) => {
                warn!("reading presence: {e}");
                return;
            }
        };
        let keys: Vec<String> = keys.filter_map(|k| async { k.ok() }).collect().await;
        for key in keys {
            let Ok(user) = key.parse::<UserId>() else {
                continue;
            };
            match self.kv.entry(key).await {
                Ok(Some(entry)) => {
                    self.lock_cache().insert(user, decode(&entry.value));
                }
                Ok(None) => {}
                Err(e) => {
                    warn!("reading presence: {e}");
                    return;
                }
            }
        }
    }

    /// Notes a heartbeat from `node`.
    pub fn heard(&self, node: &str) {
        let now = Instant::now();
        let mut heard = self.lock_heard();
        if node == &*self.node {
            let cut_off = heard
                .at
                .get(node)
                .is_none_or(|t| now.duration_since(*t) > CUT_OFF_AFTER);
            if cut_off {
                // Back after a gap (or first start): nobody was heard
                // meanwhile through no fault of theirs.
                heard.since = Some(now);
                heard.reconcile = true;
                heard.reload = true;
            }
        }
        heard.at.insert(node.to_owned(), now);
    }

    /// Whether this node heard itself before but not lately.
    fn cut_off(&self) -> bool {
        self.lock_heard()
            .at
            .get(&*self.node)
            .is_some_and(|t| t.elapsed() > CUT_OFF_AFTER)
    }

    /// Once a second: takes dead nodes out of the bucket and, every few
    /// seconds or after a gap, reconciles this node's own ids.
    pub async fn keep(self: Arc<Self>) {
        let mut last_reconcile = Instant::now();
        let mut tick = tokio::time::interval(HEARTBEAT);
        loop {
            tick.tick().await;
            let (dead, reconcile) = self.dead_nodes();
            for node in dead {
                self.remove_node(&node).await;
            }
            if reconcile || last_reconcile.elapsed() >= RECONCILE_EVERY {
                last_reconcile = Instant::now();
                self.reconcile().await;
            }
        }
    }

    /// Nodes in the cache not heard from for [`DEAD_AFTER`] (none while this
    /// node is cut off or within the grace after hearing itself again), and
    /// whether a reconcile is due now.
    fn dead_nodes(&self) -> (Vec<String>, bool) {
        let now = Instant::now();
        let mut heard = self.lock_heard();
        let reconcile = std::mem::take(&mut heard.reconcile);
        let connected = heard
            .at
            .get(&*self.node)
            .is_some_and(|t| now.duration_since(*t) <= CUT_OFF_AFTER);
        let settled = heard
            .since
            .is_some_and(|t| now.duration_since(t) > DEAD_AFTER);
        if !connected || !settled {
            return (Vec::new(), reconcile);
        }
        let silent = |node: &String| {
            heard
                .at
                .get(node)
                .is_none_or(|t| now.duration_since(*t) > DEAD_AFTER)
        };
        let nodes: HashSet<String> = self
            .lock_cache()
            .values()
            .flat_map(|r| r.nodes.iter())
            .filter(|n| **n != *self.node && silent(n))
            .cloned()
            .collect();
        (nodes.into_iter().collect(), reconcile)
    }

    /// Takes a dead node out of every entry; announces "offline" for the
    /// users it was the last node of (each by exactly one surviving node).
    async fn remove_node(&self, node: &str) {
        let users: Vec<UserId> = self
            .lock_cache()
            .iter()
            .filter(|(_, r)| r.nodes.iter().any(|n| n == node))
            .map(|(&u, _)| u)
            .collect();
        info!(
            node,
            users = users.len(),
            "node silent; its users go offline"
        );
        for user in users {
            let removed = self
                .change(user, |record| {
                    let before = record.nodes.len();
                    record.nodes.retain(|n| n != node);
                    record.nodes.len() != before
                })
                .await;
            match removed {
                Ok(Some((false, Some(info)))) => self.announce(user, &info, false).await,
                Ok(_) => {}
                Err(e) => warn!("{e}"),
            }
        }
    }

    /// Puts this node's id in the entries of the users connected here and
    /// takes it out of the others' (what an outage or a restart left).
    async fn reconcile(&self) {
        if self.cut_off() {
            return;
        }
        let here: HashSet<UserId> = self.hub.online_users().into_iter().collect();
        let listed: HashSet<UserId> = self
            .lock_cache()
            .iter()
            .filter(|(_, r)| r.nodes.iter().any(|n| **n == *self.node))
            .map(|(&u, _)| u)
            .collect();
        for &user in here.symmetric_difference(&listed) {
            match self.sync(user).await {
                Ok(Some(online)) => {
                    let info = if online {
                        self.hub.user_info(user)
                    } else {
                        self.lock_cache().get(&user).and_then(|r| r.user.clone())
                    };
                    if let Some(info) = info {
                        self.announce(user, &info, online).await;
                    }
                }
                Ok(None) => {}
                Err(e) => warn!("{e}"),
            }
        }
    }

    /// Tells every room of `user` that they came online or went offline
    /// (here and, through the hub's link, on the other nodes).
    pub async fn announce(&self, user: UserId, info: &UserInfo, online: bool) {
        let rooms = match self.store.rooms_of_user(user).await {
            Ok(rooms) => rooms,
            Err(e) => {
                warn!("rooms of user {user} for presence: {e}");
                return;
            }
        };
        for room in rooms {
            self.hub
                .broadcast_presence(room.id, &room.name, info, online);
        }
    }

    fn user_lock(&self, user: UserId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(user).or_default().clone()
    }

    /// Forgets a user's lock when no other change is waiting on it.
    fn release_lock(&self, user: UserId, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        drop(lock);
        if locks.get(&user).is_some_and(|l| Arc::strong_count(l) == 1) {
            locks.remove(&user);
        }
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Record>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_heard(&self) -> std::sync::MutexGuard<'_, Heard> {
        self.heard.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An entry's value; an unreadable one counts as empty (and is overwritten
/// by the next change), never as a reason to stop.
fn decode(bytes: &[u8]) -> Record {
    codec::decode(bytes, ENTRY_LIMIT).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_garbage_reads_as_empty() {
        let record = Record {
            nodes: vec!["a".into(), "b".into()],
            user: Some(UserInfo {
                username: "alice".into(),
                avatar: None,
            }),
        };
        let bytes = codec::encode(&record).unwrap();
        assert_eq!(decode(&bytes), record);
        assert_eq!(decode(b"\xff\x00 not msgpack"), Record::default());
    }
}
