//! Several server nodes behind one MySQL database, fanned out through NATS
//! core pub/sub (docs/cluster.md). The database stays the one log and the one
//! source of order (each room's `seq` comes from its insert transaction);
//! NATS only carries what a node already stored and delivered locally to the
//! nodes that have connections in the same room.
//!
//! Subjects (`<c>` is the cluster name): `chatroom.<c>.room.<room id>` carries
//! a room's events, subscribed by a node only while it has a connection in
//! the room; `chatroom.<c>.users` carries news for every user but one (a new
//! public room). Payloads are the events exactly as pushed to clients,
//! encoded once; headers name the sending node (so it skips its own) and a
//! message's `seq`. Pub/sub is at-most-once: a message lost between nodes is
//! still in the database, and each node fills its holes from there
//! (`repair.rs`).

mod link;
mod presence;
mod repair;

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_nats::{Client, HeaderMap, ServerAddr, Subscriber};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

pub use link::Link;
use link::{Audience, Outgoing, Topic, Watch};
pub use presence::{DEAD_AFTER, HEARTBEAT, Presence, PresenceError};
use repair::Repair;
pub use repair::RepairTiming;

use chatroom_common::codec;
use chatroom_common::protocol::UserInfo;

use crate::hub::Hub;
use crate::store::{RoomId, Store, UserId};

/// Events queued for the other nodes before new ones are dropped (counted).
const PUBLISH_QUEUE: usize = 16 * 1024;
/// How long the first connection to NATS may take before the start fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Header naming the node that published an event.
const NODE: &str = "Chatroom-Node";
/// Header holding a message's sequence number.
const SEQ: &str = "Chatroom-Seq";
/// Header naming the user an event for everyone is not for.
const EXCEPT_USER: &str = "Chatroom-Except-User";
/// Header marking a user-subject message as the user's new details (a
/// `UserInfo`), for the hub, not an event for their devices.
const DETAILS: &str = "Chatroom-Details";
/// The largest `UserInfo` a node reads from another.
const DETAILS_LIMIT: usize = 4096;
/// Header naming the room a user event says the user left.
const LEFT_ROOM: &str = "Chatroom-Left-Room";

/// How a node joins a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// NATS servers, `nats://HOST:PORT` (any one is enough; the client finds the rest).
    pub urls: Vec<String>,
    /// The cluster's name: nodes with the same name share events.
    pub name: String,
    /// This node's name, unique within the cluster.
    pub node_id: String,
    /// When lost messages are looked for and filled from the database (not
    /// a flag: tests shorten it).
    pub repair: RepairTiming,
}

impl ClusterConfig {
    /// A configuration for these NATS URLs (comma-separated lists are split),
    /// the cluster name `chatroom` and a random node id, unless given.
    pub fn new(urls: &[String], name: Option<String>, node_id: Option<String>) -> Self {
        let urls = urls
            .iter()
            .flat_map(|u| u.split(','))
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .collect();
        Self {
            urls,
            name: name.unwrap_or_else(|| "chatroom".into()),
            node_id: node_id.unwrap_or_else(|| format!("node-{:08x}", rand::random::<u32>())),
            repair: RepairTiming::default(),
        }
    }
}

/// Why a node could not join its cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// SQLite is one process's database; nodes must share MySQL/MariaDB.
    #[error(
        "--cluster needs a database every node shares: give --database mysql://… (SQLite is for a single node)"
    )]
    NeedsSharedDatabase,
    /// No NATS URL was given.
    #[error("--cluster needs at least one nats://HOST:PORT")]
    NoUrl,
    /// A NATS URL did not parse.
    #[error("bad NATS address {url:?}: {reason}")]
    BadUrl {
        /// What was given.
        url: String,
        /// Why it is wrong.
        reason: String,
    },
    /// A cluster or node name that cannot be part of a NATS subject.
    #[error("{what} {name:?} may hold only letters, digits, '-' and '_'")]
    BadName {
        /// "cluster name" or "node id".
        what: &'static str,
        /// What was given.
        name: String,
    },
    /// The presence bucket could not be opened.
    #[error(transparent)]
    Presence(#[from] PresenceError),
    /// NATS could not be reached.
    #[error("connecting to NATS at {urls}: {reason}")]
    Connect {
        /// The addresses tried.
        urls: String,
        /// Why it failed.
        reason: String,
    },
}

/// A node's membership of its cluster: the NATS connection and the tasks
/// publishing and subscribing. Dropping it leaves the cluster.
pub struct Cluster {
    /// The connection, kept for flushing on the way out.
    client: Client,
    /// Publisher, room watcher, the reader of news for everyone, and
    /// presence's heartbeat, watch and keeper.
    tasks: Vec<JoinHandle<()>>,
    /// Who is online on which node.
    presence: Arc<Presence>,
}

impl Cluster {
    /// Connects to NATS and links `hub` to the other nodes: from now on what
    /// the hub broadcasts also goes to them, and what they publish for rooms
    /// with a connection here is delivered here; what NATS loses is read
    /// from `store`.
    pub async fn join(
        config: &ClusterConfig,
        hub: &Arc<Hub>,
        store: Arc<dyn Store>,
    ) -> Result<Self, ClusterError> {
        check_token("cluster name", &config.name)?;
        check_token("node id", &config.node_id)?;
        if config.urls.is_empty() {
            return Err(ClusterError::NoUrl);
        }
        let addrs = config
            .urls
            .iter()
            .map(|url| {
                url.parse::<ServerAddr>().map_err(|e| ClusterError::BadUrl {
                    url: url.clone(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let repair = Arc::new(Repair::default());
        let events = repair.clone();
        let client = async_nats::ConnectOptions::new()
            .name(format!("chatroom-server {}", config.node_id))
            .connection_timeout(CONNECT_TIMEOUT)
            .reconnect_delay_callback(repair::reconnect_delay)
            .event_callback(move |event| {
                events.nats_event(event);
                std::future::ready(())
            })
            .connect(addrs)
            .await
            .map_err(|e| ClusterError::Connect {
                urls: config.urls.join(","),
                reason: e.to_string(),
            })?;
        let subjects = Subjects {
            prefix: format!("chatroom.{}", config.name),
        };
        let everyone =
            client
                .subscribe(subjects.users())
                .await
                .map_err(|e| ClusterError::Connect {
                    urls: config.urls.join(","),
                    reason: e.to_string(),
                })?;
        let node: Arc<str> = config.node_id.as_str().into();
        let presence = Arc::new(
            Presence::open(
                client.clone(),
                &config.name,
                node.clone(),
                hub.clone(),
                store.clone(),
            )
            .await?,
        );
        let heartbeats =
            client
                .subscribe(subjects.nodes())
                .await
                .map_err(|e| ClusterError::Connect {
                    urls: config.urls.join(","),
                    reason: e.to_string(),
                })?;
        let (publish_tx, publish_rx) = mpsc::channel(PUBLISH_QUEUE);
        let (watch_tx, watch_rx) = mpsc::unbounded_channel();
        hub.attach_cluster(Arc::new(Link::new(publish_tx, watch_tx, repair.clone())));
        let tasks = vec![
            tokio::spawn(publish(
                client.clone(),
                subjects.clone(),
                node.clone(),
                publish_rx,
            )),
            tokio::spawn(watch_rooms(
                client.clone(),
                subjects.clone(),
                node.clone(),
                Arc::downgrade(hub),
                watch_rx,
                repair.clone(),
            )),
            tokio::spawn(read_everyone(everyone, node.clone(), Arc::downgrade(hub))),
            tokio::spawn(beat(client.clone(), subjects.nodes(), node)),
            tokio::spawn(listen_for_beats(heartbeats, Arc::downgrade(&presence))),
            tokio::spawn(presence.clone().watch()),
            tokio::spawn(presence.clone().keep()),
            tokio::spawn(repair::run(
                repair,
                store,
                Arc::downgrade(hub),
                config.repair,
            )),
        ];
        info!(
            cluster = %config.name,
            node = %config.node_id,
            nats = %config.urls.join(","),
            "joined the cluster"
        );
        Ok(Self {
            client,
            tasks,
            presence,
        })
    }

    /// Who is online on which node.
    pub fn presence(&self) -> Arc<Presence> {
        self.presence.clone()
    }

    /// Sends what is queued in the NATS client before the node goes.
    pub async fn leave(self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.client.flush()).await;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The subject names of one cluster.
#[derive(Debug, Clone)]
struct Subjects {
    /// `chatroom.<cluster>`.
    prefix: String,
}

impl Subjects {
    fn room(&self, room: RoomId) -> String {
        format!("{}.room.{room}", self.prefix)
    }

    fn users(&self) -> String {
        format!("{}.users", self.prefix)
    }

    fn nodes(&self) -> String {
        format!("{}.nodes", self.prefix)
    }

    fn user(&self, user: UserId) -> String {
        format!("{}.user.{user}", self.prefix)
    }

    fn topic(&self, topic: Topic) -> String {
        match topic {
            Topic::Room(room) => self.room(room),
            Topic::User(user) => self.user(user),
        }
    }
}

/// Subjects are dot-separated tokens: keep names to a safe alphabet.
fn check_token(what: &'static str, name: &str) -> Result<(), ClusterError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ClusterError::BadName {
            what,
            name: name.to_owned(),
        })
    }
}

/// Publishes what the hub queued, in order.
async fn publish(
    client: Client,
    subjects: Subjects,
    node: Arc<str>,
    mut queue: mpsc::Receiver<Outgoing>,
) {
    while let Some(Outgoing { to, event }) = queue.recv().await {
        let mut headers = HeaderMap::new();
        headers.insert(NODE, &*node);
        let subject = match to {
            Audience::Room { room, seq } => {
                if let Some(seq) = seq {
                    headers.insert(SEQ, seq.to_string());
                }
                subjects.room(room)
            }
            Audience::AllBut(user) => {
                headers.insert(EXCEPT_USER, user.to_string());
                subjects.users()
            }
            Audience::User { user, left } => {
                if let Some(room) = left {
                    headers.insert(LEFT_ROOM, room.to_string());
                }
                subjects.user(user)
            }
            Audience::Details(user) => {
                headers.insert(DETAILS, "1");
                subjects.user(user)
            }
        };
        // Fails only when the client is closed; it reconnects by itself
        // otherwise, buffering meanwhile.
        if let Err(e) = client.publish_with_headers(subject, headers, event).await {
            warn!("publishing to the cluster: {e}");
        }
    }
}

/// Says this node is alive, every [`HEARTBEAT`]; the payload is its id.
async fn beat(client: Client, subject: String, node: Arc<str>) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tick.tick().await;
        let _ = client
            .publish(subject.clone(), node.as_bytes().to_vec().into())
            .await;
    }
}

/// Tells presence which nodes are alive (this one included: hearing itself
/// is how a node knows it is connected).
async fn listen_for_beats(mut sub: Subscriber, presence: Weak<Presence>) {
    while let Some(message) = sub.next().await {
        let Ok(node) = std::str::from_utf8(&message.payload) else {
            continue;
        };
        let Some(presence) = presence.upgrade() else {
            return;
        };
        presence.heard(node);
    }
}

/// Subscribes to a room's (or a user's) subject while this node has a
/// connection in that room (or of that user).
async fn watch_rooms(
    client: Client,
    subjects: Subjects,
    node: Arc<str>,
    hub: Weak<Hub>,
    mut orders: mpsc::UnboundedReceiver<Watch>,
    repair: Arc<Repair>,
) {
    let mut readers: HashMap<Topic, JoinHandle<()>> = HashMap::new();
    while let Some(order) = orders.recv().await {
        match order {
            Watch::Start(topic) => {
                if readers.get(&topic).is_some_and(|r| !r.is_finished()) {
                    continue;
                }
                match client.subscribe(subjects.topic(topic)).await {
                    Ok(sub) => {
                        let (node, hub) = (node.clone(), hub.clone());
                        let reader = match topic {
                            Topic::Room(room) => {
                                tokio::spawn(read_room(sub, room, node, hub, repair.clone()))
                            }
                            Topic::User(user) => tokio::spawn(read_user(sub, user, node, hub)),
                        };
                        readers.insert(topic, reader);
                    }
                    Err(e) => warn!(?topic, "subscribing in the cluster: {e}"),
                }
            }
            Watch::Stop(topic) => {
                // Dropping the subscriber (with its task) unsubscribes.
                if let Some(reader) = readers.remove(&topic) {
                    reader.abort();
                }
            }
        }
    }
    for reader in readers.into_values() {
        reader.abort();
    }
}

/// Delivers a room's events from other nodes to this node's connections; a
/// message only if repair has not delivered it already.
async fn read_room(
    mut sub: Subscriber,
    room: RoomId,
    node: Arc<str>,
    hub: Weak<Hub>,
    repair: Arc<Repair>,
) {
    while let Some(message) = sub.next().await {
        let Some(headers) = from_elsewhere(&message, &node) else {
            continue;
        };
        let seq = header(headers, SEQ).and_then(|s| s.parse().ok());
        if let Some(seq) = seq
            && !repair.claim(room, seq)
        {
            continue;
        }
        let Some(hub) = hub.upgrade() else { return };
        hub.deliver_room(room, seq, &message.payload);
    }
    debug!(room, "room subscription ended");
}

/// Delivers a user's own events from other nodes to their connections here,
/// first applying a leave (so the room's events stop here too).
async fn read_user(mut sub: Subscriber, user: UserId, node: Arc<str>, hub: Weak<Hub>) {
    while let Some(message) = sub.next().await {
        let Some(headers) = from_elsewhere(&message, &node) else {
            continue;
        };
        let left: Option<RoomId> = header(headers, LEFT_ROOM).and_then(|s| s.parse().ok());
        let Some(hub) = hub.upgrade() else { return };
        if header(headers, DETAILS).is_some() {
            match codec::decode::<UserInfo>(&message.payload, DETAILS_LIMIT) {
                Ok(info) => hub.update_user(user, info),
                Err(e) => warn!(user, "unreadable user details from the cluster: {e}"),
            }
            continue;
        }
        if let Some(room) = left {
            hub.unsubscribe_user(user, room);
        }
        hub.deliver_user(user, None, &message.payload);
    }
}

/// Delivers news for everyone (but one user) from other nodes.
async fn read_everyone(mut sub: Subscriber, node: Arc<str>, hub: Weak<Hub>) {
    while let Some(message) = sub.next().await {
        let Some(headers) = from_elsewhere(&message, &node) else {
            continue;
        };
        let Some(except) = header(headers, EXCEPT_USER).and_then(|s| s.parse().ok()) else {
            continue;
        };
        let Some(hub) = hub.upgrade() else { return };
        hub.deliver_all_but(except, &message.payload);
    }
}

/// The headers of a message another node published; `None` for our own
/// (delivered here before publishing) and for messages without headers.
fn from_elsewhere<'m>(message: &'m async_nats::Message, node: &str) -> Option<&'m HeaderMap> {
    let headers = message.headers.as_ref()?;
    (header(headers, NODE)? != node).then_some(headers)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).map(|v| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_and_names_checked() {
        let config = ClusterConfig::new(
            &[
                "nats://a:4222, nats://b:4222".into(),
                "nats://c:4222".into(),
            ],
            None,
            None,
        );
        assert_eq!(
            config.urls,
            ["nats://a:4222", "nats://b:4222", "nats://c:4222"]
        );
        assert_eq!(config.name, "chatroom");
        assert!(config.node_id.starts_with("node-"));
        assert!(check_token("node id", &config.node_id).is_ok());
        assert_eq!(config.repair, RepairTiming::default());
        for bad in ["", "a.b", "a b", "*", ">", &"x".repeat(65)] {
            assert!(check_token("cluster name", bad).is_err(), "{bad:?}");
        }
    }
}
