//! A real freedesktop.org notification service for tests: it owns
//! `org.freedesktop.Notifications` on a private session bus, records every
//! `Notify` and `CloseNotification` call, and can "click" a notification by
//! emitting `ActionInvoked`, as a desktop does.
//!
//! The app finds the bus through `DBUS_SESSION_BUS_ADDRESS`, which a test
//! cannot set for itself (the workspace forbids `unsafe`, and `set_var` is
//! unsafe), so [`on_private_bus`] runs the test again as a child process under
//! `dbus-run-session`, which starts the bus and sets the variable for it.

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex};

use zbus::zvariant::OwnedValue;

/// Set in the child process that runs a test's body on the private bus.
const CHILD: &str = "CHATROOM_TEST_ON_PRIVATE_BUS";
/// Where the service lives on the bus (fixed by the specification).
const PATH: &str = "/org/freedesktop/Notifications";
/// Its name and interface.
const NAME: &str = "org.freedesktop.Notifications";

/// Runs the test `name` (its path in this test binary, e.g.
/// `notify::a_test`) in a child process on a private session bus. Returns
/// true in that child, where the caller goes on with the test's body, and
/// false in the parent once the child passed (or, outside CI, when
/// `dbus-run-session` is not installed and the test is skipped).
pub fn on_private_bus(name: &str) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = Command::new("dbus-run-session")
        .arg("--")
        .arg(exe)
        .args([name, "--exact", "--nocapture"])
        .env(CHILD, "1")
        .output();
    match output {
        Ok(output) => {
            let stdout = String::from_utf8_lossy(&output.stdout);
            print!("{stdout}");
            eprint!("{}", String::from_utf8_lossy(&output.stderr));
            assert!(output.status.success(), "{name} failed on the private bus");
            // A misspelt name would run nothing and still succeed.
            assert!(
                stdout.contains("test result: ok. 1 passed"),
                "{name} did not run on the private bus"
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // CI installs scripts/apt-packages.txt (dbus-daemon): it must run there.
            assert!(
                std::env::var_os("CI").is_none(),
                "dbus-run-session is missing (Debian: dbus-daemon)"
            );
            eprintln!("dbus-run-session is not installed (Debian: dbus-daemon); skipping");
        }
        Err(e) => panic!("dbus-run-session did not start: {e}"),
    }
    false
}

/// One `Notify` call as the service received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notified {
    /// The id the service answered with.
    pub id: u32,
    /// The notification it replaces, 0 for a new one.
    pub replaces: u32,
    /// The application's name.
    pub app: String,
    /// The summary line.
    pub summary: String,
    /// The body.
    pub body: String,
    /// Action keys and labels, alternating.
    pub actions: Vec<String>,
}

/// What the service was told.
#[derive(Debug, Default)]
struct Record {
    /// Every `Notify` call, in order.
    notified: Vec<Notified>,
    /// Every `CloseNotification` call's id, in order.
    closed: Vec<u32>,
    /// The last id handed out.
    last_id: u32,
}

/// The D-Bus object.
struct Service {
    /// Shared with the test.
    record: Arc<Mutex<Record>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Service {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        _hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut record = self.record.lock().unwrap();
        // Replacing keeps the id, as the specification asks.
        let id = if replaces_id != 0 {
            replaces_id
        } else {
            record.last_id += 1;
            record.last_id
        };
        record.notified.push(Notified {
            id,
            replaces: replaces_id,
            app: app_name,
            summary,
            body,
            actions,
        });
        id
    }

    fn close_notification(&self, id: u32) {
        self.record.lock().unwrap().closed.push(id);
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "test-notifications".into(),
            "chatroom".into(),
            "1".into(),
            "1.2".into(),
        )
    }
}

/// The running service and its connection.
pub struct NotificationService {
    /// Its bus connection (the service lives as long as it does).
    connection: zbus::blocking::Connection,
    /// What it was told.
    record: Arc<Mutex<Record>>,
}

impl NotificationService {
    /// Starts the service on the session bus.
    pub fn start() -> Self {
        let record = Arc::new(Mutex::new(Record::default()));
        let service = Service {
            record: record.clone(),
        };
        let connection = zbus::blocking::connection::Builder::session()
            .unwrap()
            .name(NAME)
            .unwrap()
            .serve_at(PATH, service)
            .unwrap()
            .build()
            .expect("the notification service is on the bus");
        Self { connection, record }
    }

    /// Every `Notify` call so far.
    pub fn notified(&self) -> Vec<Notified> {
        self.record.lock().unwrap().notified.clone()
    }

    /// Every `CloseNotification` call's id so far.
    pub fn closed(&self) -> Vec<u32> {
        self.record.lock().unwrap().closed.clone()
    }

    /// Clicks notification `id`, as a desktop does: `ActionInvoked(id, "default")`.
    pub fn click(&self, id: u32) {
        self.connection
            .emit_signal(None::<()>, PATH, NAME, "ActionInvoked", &(id, "default"))
            .unwrap();
    }
}
