//! Desktop notifications for direct messages and mentions that arrive while
//! the window is in the background, sent from a thread of their own so the
//! UI never waits on the desktop.
//!
//! Grouping: one notification per room, replaced in place (the same id, over
//! the same D-Bus connection) as more arrive, its summary counting them
//! ("bob (3 new)"); a busy room therefore shows one notification, never a
//! stack. When the window gets the keyboard back they are all closed.
//! Clicking one (the "default" action, where the notification service
//! supports actions) brings the window forward on that room. Only Linux and
//! the BSDs (the freedesktop.org D-Bus service) are supported for now;
//! elsewhere [`Notifier`] does nothing.

use std::collections::VecDeque;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};

use chatroom_client::chat::Waker;

use super::i18n::{I18n, Language, t};

#[cfg(all(unix, not(target_os = "macos")))]
use super::notify_xdg as xdg;

/// The most characters of a message shown in a notification.
const MAX_BODY_CHARS: usize = 300;

/// One room's news for the desktop: what the latest message said and how many
/// there were in this batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The room's name (the key notifications are grouped by).
    pub room: String,
    /// The room as shown: the peer's name for a direct conversation.
    pub title: String,
    /// A direct conversation (otherwise a mention in a public room).
    pub direct: bool,
    /// Who wrote the latest message.
    pub sender: String,
    /// The latest message's text.
    pub text: String,
    /// How many messages this alert stands for.
    pub count: usize,
    /// The language to word it in (the app's at the time).
    pub language: Language,
}

/// What the notifier thread is asked to do.
#[derive(Debug)]
pub(crate) enum Job {
    /// Show (or update) a room's notification.
    Alert(Alert),
    /// The window has the keyboard again: close every notification.
    Seen,
    /// The service closed a notification (expired, dismissed, clicked).
    #[cfg_attr(not(all(unix, not(target_os = "macos"))), allow(dead_code))]
    Closed(u32),
}

/// The summary line: who (and where, for a mention), and how many when more
/// than one message waits in that notification.
pub fn summary(i18n: &I18n, direct: bool, sender: &str, title: &str, count: usize) -> String {
    let who = if direct {
        sender.to_owned()
    } else {
        t!(i18n, "notify-in-room", user = sender, room = title)
    };
    if count > 1 {
        t!(i18n, "notify-count", who = who, count = count)
    } else {
        who
    }
}

/// The body: the message, shortened, with markup escaped when the service
/// reads markup (so text from the network cannot format or link anything).
pub fn body(text: &str, markup: bool) -> String {
    let mut short: String = text.chars().take(MAX_BODY_CHARS).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    if !markup {
        return short;
    }
    short
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The UI's side of the notifier: queues work for its thread (never blocks)
/// and collects the rooms whose notification was clicked.
pub struct Notifier {
    /// Work for the notifier thread; `None` where notifications are not
    /// supported or the thread could not start.
    jobs_tx: Option<Sender<Job>>,
    /// Rooms whose notification was clicked, oldest first.
    clicked: Arc<Mutex<VecDeque<String>>>,
}

impl Notifier {
    /// Starts the notifier thread; `waker` repaints the UI when a
    /// notification was clicked.
    pub fn start(waker: Waker) -> Self {
        let clicked = Arc::new(Mutex::new(VecDeque::new()));
        let (jobs_tx, jobs_rx) = channel();
        #[cfg(all(unix, not(target_os = "macos")))]
        let jobs_tx = {
            let thread = xdg::Thread {
                jobs_tx: jobs_tx.clone(),
                clicked: clicked.clone(),
                waker,
            };
            let spawned = std::thread::Builder::new()
                .name("notifier".into())
                .spawn(move || thread.run(jobs_rx));
            match spawned {
                Ok(_) => Some(jobs_tx),
                Err(e) => {
                    tracing::warn!("desktop notifications are off: {e}");
                    None
                }
            }
        };
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        let jobs_tx = {
            // Nothing reads them here.
            drop((jobs_tx, jobs_rx, waker));
            None
        };
        Self { jobs_tx, clicked }
    }

    /// Shows (or updates) the notification of `alert`'s room.
    pub fn alert(&self, alert: Alert) {
        self.send(Job::Alert(alert));
    }

    /// The window has the keyboard again: closes every notification.
    pub fn seen(&self) {
        self.send(Job::Seen);
    }

    /// The rooms whose notification was clicked since the last call.
    pub fn take_clicked(&self) -> Vec<String> {
        let mut clicked = self.clicked.lock().unwrap_or_else(PoisonError::into_inner);
        clicked.drain(..).collect()
    }

    fn send(&self, job: Job) {
        if let Some(tx) = &self.jobs_tx {
            // A thread that ended (it never does on purpose) just means no
            // notifications; the chat goes on.
            let _ = tx.send(job);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_who_where_and_how_many() {
        let en = I18n::new(Language::English);
        assert_eq!(summary(&en, true, "bob", "bob", 1), "bob");
        assert_eq!(summary(&en, true, "bob", "bob", 3), "bob (3 new)");
        assert_eq!(summary(&en, false, "carol", "books", 1), "carol in #books");
        assert_eq!(
            summary(&en, false, "carol", "books", 2),
            "carol in #books (2 new)"
        );
    }

    #[test]
    fn the_body_is_short_and_never_markup() {
        assert_eq!(
            body("<b>hi</b> & bye", true),
            "&lt;b&gt;hi&lt;/b&gt; &amp; bye"
        );
        assert_eq!(body("<b>hi</b>", false), "<b>hi</b>");
        let long = "字".repeat(400);
        let shown = body(&long, false);
        assert_eq!(shown.chars().count(), MAX_BODY_CHARS + 1);
        assert!(shown.ends_with('…'));
    }
}
