//! The notifier thread on Linux and the BSDs: freedesktop.org notifications
//! over the D-Bus session bus (notify-rust's pure-Rust zbus backend), one per
//! room, replaced in place; and a listener for clicks on them.
//!
//! notify-rust cannot be handed a connection: both it and the listener use
//! the session bus that `DBUS_SESSION_BUS_ADDRESS` names (the tests start a
//! private one). Each room's notification handle is kept, which keeps the
//! connection it was sent over open (some services drop a notification's
//! actions when its sender goes away) and lets updates go over it too.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chatroom_client::chat::Waker;
use notify_rust::{Hint, Notification, NotificationHandle};
use tracing::{debug, warn};
use zbus::MatchRule;
use zbus::message::Type;

use super::i18n::{I18n, t};
use super::notify::{Alert, Job, body, summary};

/// The notification service's interface.
const INTERFACE: &str = "org.freedesktop.Notifications";
/// How long the first notification waits for the click listener to subscribe.
const LISTENER_READY: Duration = Duration::from_secs(2);

/// One room's notification on the desktop.
struct Shown {
    /// Its handle: the id and the connection it was sent over.
    handle: NotificationHandle,
    /// How many messages it stands for.
    count: usize,
}

/// What the service can do, asked once.
#[derive(Debug, Clone, Copy)]
struct Capabilities {
    /// It reads markup in the body (so the body is escaped).
    markup: bool,
    /// It offers actions (so a click can be reported).
    actions: bool,
}

/// The notifier thread's state.
pub(crate) struct Thread {
    /// Its own queue, for the listener to report closed notifications.
    pub(crate) jobs_tx: Sender<Job>,
    /// Rooms whose notification was clicked, for the UI.
    pub(crate) clicked: Arc<Mutex<VecDeque<String>>>,
    /// Repaints the UI after a click.
    pub(crate) waker: Waker,
}

impl Thread {
    /// Serves jobs until the app drops its end of the queue.
    pub(crate) fn run(self, jobs_rx: Receiver<Job>) {
        // Which room each notification id belongs to, shared with the listener.
        let rooms: Arc<Mutex<HashMap<u32, String>>> = Arc::default();
        let mut shown: HashMap<String, Shown> = HashMap::new();
        let mut capabilities = None;
        let mut failing = false;
        while let Ok(first) = jobs_rx.recv() {
            // Whatever queued meanwhile is handled together: alerts for one
            // room become one update.
            let mut alerts: Vec<Alert> = Vec::new();
            for job in std::iter::once(first).chain(jobs_rx.try_iter()) {
                match job {
                    Job::Alert(alert) => match alerts.iter_mut().find(|a| a.room == alert.room) {
                        Some(queued) => {
                            let count = queued.count + alert.count;
                            *queued = Alert { count, ..alert };
                        }
                        None => alerts.push(alert),
                    },
                    Job::Seen => {
                        alerts.clear();
                        for (_, old) in shown.drain() {
                            old.handle.close();
                        }
                        lock(&rooms).clear();
                    }
                    Job::Closed(id) => {
                        shown.retain(|_, s| s.handle.id() != id);
                        lock(&rooms).remove(&id);
                    }
                }
            }
            if alerts.is_empty() {
                continue;
            }
            let caps = *capabilities.get_or_insert_with(|| self.start(rooms.clone()));
            for alert in alerts {
                let result = show(&mut shown, &rooms, caps, alert);
                match result {
                    Ok(()) => failing = false,
                    // Said once per run of failures, not per message.
                    Err(e) if !failing => {
                        failing = true;
                        warn!("desktop notification not shown: {e}");
                    }
                    Err(e) => debug!("desktop notification not shown: {e}"),
                }
            }
        }
    }

    /// Asks the service what it can do and, if it offers actions, starts the
    /// click listener and waits (briefly) until it is subscribed, so a click
    /// on the first notification is not missed.
    fn start(&self, rooms: Arc<Mutex<HashMap<u32, String>>>) -> Capabilities {
        let list = match notify_rust::get_capabilities() {
            Ok(list) => list,
            Err(e) => {
                warn!("no desktop notification service: {e}");
                Vec::new()
            }
        };
        let caps = Capabilities {
            markup: list.iter().any(|c| c == "body-markup"),
            actions: list.iter().any(|c| c == "actions"),
        };
        if caps.actions {
            let (ready_tx, ready_rx) = channel();
            let listener = Listener {
                jobs_tx: self.jobs_tx.clone(),
                clicked: self.clicked.clone(),
                waker: self.waker.clone(),
                rooms,
            };
            let spawned = std::thread::Builder::new()
                .name("notification clicks".into())
                .spawn(move || {
                    if let Err(e) = listener.run(&ready_tx) {
                        warn!("clicks on notifications are not followed: {e}");
                    }
                });
            if spawned.is_ok() {
                // An error (the listener failed) or a timeout both mean: go on
                // without waiting for it.
                let _ = ready_rx.recv_timeout(LISTENER_READY);
            }
        }
        caps
    }
}

/// Shows `alert` as its room's notification, replacing the one shown.
fn show(
    shown: &mut HashMap<String, Shown>,
    rooms: &Mutex<HashMap<u32, String>>,
    caps: Capabilities,
    alert: Alert,
) -> notify_rust::error::Result<()> {
    let i18n = I18n::new(alert.language);
    if let Some(old) = shown.get_mut(&alert.room) {
        old.count += alert.count;
        let old_id = old.handle.id();
        old.handle
            .summary(&summary(
                &i18n,
                alert.direct,
                &alert.sender,
                &alert.title,
                old.count,
            ))
            .body(&body(&alert.text, caps.markup));
        old.handle.update()?;
        // A service may answer with a new id (when the old one was gone).
        let mut rooms = lock(rooms);
        rooms.remove(&old_id);
        rooms.insert(old.handle.id(), alert.room);
        return Ok(());
    }
    let mut note = Notification::new();
    note.appname(&t!(i18n, "app-name"))
        .summary(&summary(
            &i18n,
            alert.direct,
            &alert.sender,
            &alert.title,
            alert.count,
        ))
        .body(&body(&alert.text, caps.markup))
        .icon("chatroom")
        .hint(Hint::Category("im.received".into()))
        .hint(Hint::DesktopEntry("chatroom".into()));
    if caps.actions {
        // "default" is what clicking the notification itself invokes.
        note.action("default", &t!(i18n, "notify-open"));
    }
    let handle = note.show()?;
    lock(rooms).insert(handle.id(), alert.room.clone());
    shown.insert(
        alert.room,
        Shown {
            handle,
            count: alert.count,
        },
    );
    Ok(())
}

/// Locks a map, taking it over from a thread that panicked holding it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Follows the service's `ActionInvoked` and `NotificationClosed` signals.
struct Listener {
    /// Tells the notifier thread which notifications closed.
    jobs_tx: Sender<Job>,
    /// Rooms whose notification was clicked, for the UI.
    clicked: Arc<Mutex<VecDeque<String>>>,
    /// Repaints the UI after a click.
    waker: Waker,
    /// Which room each notification id belongs to.
    rooms: Arc<Mutex<HashMap<u32, String>>>,
}

impl Listener {
    /// Subscribes, says so on `ready_tx`, then follows the signals for as
    /// long as the bus connection lasts.
    fn run(self, ready_tx: &Sender<()>) -> zbus::Result<()> {
        let connection = zbus::blocking::Connection::session()?;
        let bus = zbus::blocking::fdo::DBusProxy::new(&connection)?;
        for member in ["ActionInvoked", "NotificationClosed"] {
            let rule = MatchRule::builder()
                .msg_type(Type::Signal)
                .interface(INTERFACE)?
                .member(member)?
                .build();
            bus.add_match_rule(rule)?;
        }
        // Created before "ready": messages from now on are kept for it.
        let signals = zbus::blocking::MessageIterator::from(&connection);
        let _ = ready_tx.send(());
        for message in signals {
            let Ok(message) = message else {
                continue;
            };
            let header = message.header();
            if header.message_type() != Type::Signal
                || header.interface().is_none_or(|i| i.as_str() != INTERFACE)
            {
                continue;
            }
            match header.member().map(|m| m.as_str()) {
                Some("ActionInvoked") => {
                    let Ok((id, action)) = message.body().deserialize::<(u32, String)>() else {
                        continue;
                    };
                    let room = lock(&self.rooms).get(&id).cloned();
                    if let Some(room) = room.filter(|_| action == "default") {
                        lock(&self.clicked).push_back(room);
                        (self.waker)();
                    }
                }
                Some("NotificationClosed") => {
                    if let Ok((id, _reason)) = message.body().deserialize::<(u32, u32)>() {
                        let _ = self.jobs_tx.send(Job::Closed(id));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
