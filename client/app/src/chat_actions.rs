//! What the chat screen's buttons and keys do (send, join, create, leave,
//! open a direct conversation, load older messages), and where a failure is shown:
//! next to the field or action it concerns rather than in one global line.
//!
//! The worker reports failures as [`UiEvent::Notice`]s that say what failed
//! and why (the server's code), worded here in the user's language. The app
//! remembers which request it is waiting for ([`Awaiting`]); the worker
//! answers commands in order, so a failure that arrives while one is awaited
//! and is about the same kind of request belongs to it.

use chatroom_common::protocol::RoomKind;
use chatroom_common::validate;

use super::ChatApp;
use super::files::outgoing::NotReady;
use super::i18n::{t, wording};
use super::rooms::{RoomProblem, room_slug};
use chatroom_client::chat::{About, Cause, Command, Notice, UiEvent};
use chatroom_client::session::new_key;
use chatroom_common::protocol::ErrorCode;

/// The request whose answer decides where its failure is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Awaiting {
    /// Joining the named public room from the room field.
    Join(String),
    /// Creating the named public room.
    Create(String),
    /// A picture change from "Your picture".
    Picture,
}

impl ChatApp {
    /// Chat-screen side of the worker's events (before the model sees them).
    pub(super) fn chat_event(&mut self, event: &UiEvent) {
        match event {
            UiEvent::Joined { room, .. } => {
                let awaited = matches!(
                    &self.awaiting,
                    Some(Awaiting::Join(name) | Awaiting::Create(name)) if *name == room.name
                );
                if awaited {
                    self.awaiting = None;
                    self.room_problem = None;
                }
            }
            UiEvent::AvatarChanged(_) => {
                if self.awaiting == Some(Awaiting::Picture) {
                    self.awaiting = None;
                }
                self.profile.error = None;
            }
            _ => {}
        }
    }

    /// Shows a worker notice next to what it concerns, or as a dismissable
    /// note over the chat when it concerns nothing on screen.
    pub(super) fn route_notice(&mut self, notice: Notice) {
        let offline = notice.cause == Cause::Offline;
        if offline || notice.about == Some(About::OlderMessages) {
            // Whatever page was asked for will not come; the button works again.
            for view in self.model.rooms.values_mut() {
                view.loading_older = false;
            }
        }
        let text = wording::notice(&self.i18n, &notice);
        let about = notice.about.as_ref();
        match self.awaiting.clone() {
            Some(Awaiting::Join(name) | Awaiting::Create(name))
                if offline || matches!(about, Some(About::Join(_) | About::Create(_))) =>
            {
                self.awaiting = None;
                let missing = notice.cause == Cause::Refused(ErrorCode::NoSuchRoom);
                self.room_problem = Some(RoomProblem {
                    text: if missing {
                        t!(self.i18n, "room-missing", room = name.as_str())
                    } else {
                        text
                    },
                    create: missing.then_some(name),
                });
            }
            Some(Awaiting::Picture)
                if offline
                    || matches!(
                        about,
                        Some(About::UploadPicture | About::ReadPicture(_) | About::ChoosePicture)
                    ) =>
            {
                self.awaiting = None;
                self.profile.error = Some(text);
            }
            _ if self.profile.open && about == Some(&About::PicturePool) => {
                self.profile.error = Some(text);
            }
            _ => {
                self.model.notice = Some(text);
                self.model.notice_offline = offline;
            }
        }
    }

    /// Sends the draft of the room shown, with the files attached there, to
    /// that room only.
    pub fn send_message(&mut self) {
        let Some(room) = self.model.selected.clone() else {
            return;
        };
        let text = self
            .drafts
            .get(&room)
            .map(|draft| draft.trim_end().to_owned())
            .unwrap_or_default();
        let text = if text.trim().is_empty() {
            String::new()
        } else {
            text
        };
        let attached = self.files.has_attached(&room);
        if text.is_empty() && !attached {
            return;
        }
        let files = match self.files.ready(&room) {
            Ok(files) => files,
            Err(not_ready) => {
                // Kept as they are; sent once every file is up (or removed).
                let why = match not_ready {
                    NotReady::Uploading => t!(self.i18n, "attach-wait"),
                    NotReady::Failed => t!(self.i18n, "attach-fix-failed"),
                };
                self.composer_error = Some((room, why));
                return;
            }
        };
        if let Err(e) = validate::message(&text, files.len()) {
            // Kept in the box to be shortened or fixed; said right above it.
            let reason = wording::validation(&self.i18n, &e);
            self.composer_error = Some((room, t!(self.i18n, "composer-not-sent", reason = reason)));
            return;
        }
        if let Some(draft) = self.drafts.get_mut(&room) {
            draft.clear();
        }
        self.files.sent(&room);
        self.composer_error = None;
        let key = new_key();
        let names = files.iter().map(|f| f.name.clone()).collect();
        self.model.add_pending(&room, key, text.clone(), names);
        if files.is_empty() {
            self.chat.send(Command::Send { room, text, key });
        } else {
            self.chat.send(Command::SendWithFiles {
                room,
                text,
                key,
                files,
            });
        }
    }

    /// Joins (or, with `create`, creates) the public room typed in the field,
    /// under the name it becomes ("Design Team" → "design-team").
    pub fn join_typed_room(&mut self, create: bool) {
        let name = match validate::room_name(&room_slug(&self.room_field)) {
            Ok(name) => name,
            // Only the room name's rule can fail here; it is said as the
            // field says it while typing.
            Err(_) => {
                self.room_problem = Some(RoomProblem {
                    text: t!(self.i18n, "room-name-rule"),
                    create: None,
                });
                return;
            }
        };
        self.room_field.clear();
        self.join_room(&name, create);
    }

    /// Joins (or creates) a public room and shows it.
    pub fn join_room(&mut self, name: &str, create: bool) {
        self.room_problem = None;
        if self.model.rooms.contains_key(name) {
            self.model.select(name);
            return;
        }
        self.model.open_next = Some(name.to_owned());
        self.awaiting = Some(if create {
            Awaiting::Create(name.to_owned())
        } else {
            Awaiting::Join(name.to_owned())
        });
        self.chat.send(if create {
            Command::CreateRoom {
                name: name.to_owned(),
            }
        } else {
            Command::Join {
                room: name.to_owned(),
            }
        });
    }

    /// Leaves a public room; it goes from the list when the server agrees.
    pub fn leave_room(&mut self, room: &str) {
        self.chat.send(Command::Leave {
            room: room.to_owned(),
        });
    }

    /// Opens the direct conversation with `user` and shows it.
    pub fn open_direct(&mut self, user: &str) {
        let Some(me) = &self.model.me else { return };
        let room = validate::direct_room_name(&me.username, user);
        if self.model.rooms.contains_key(&room) {
            self.model.select(&room);
            return;
        }
        self.model.open_next = Some(room);
        self.chat.send(Command::OpenDirect {
            user: user.to_owned(),
        });
    }

    /// Asks for the page before the oldest message held in the room shown.
    pub fn load_older(&mut self) {
        let Some(view) = self.model.current_mut() else {
            return;
        };
        let Some(first) = view.store.first_seq() else {
            return;
        };
        if first <= 1 || view.loading_older {
            return;
        }
        view.loading_older = true;
        let room = view.info.name.clone();
        self.chat.send(Command::LoadOlder {
            room,
            before: first,
        });
    }

    /// Asks for the room list again (to offer rooms to join).
    pub fn refresh_rooms(&mut self) {
        self.chat.send(Command::RefreshRooms);
    }

    /// Public rooms the server listed that are not joined yet.
    pub fn joinable_rooms(&self) -> Vec<String> {
        self.model
            .available
            .iter()
            .filter(|r| r.kind == RoomKind::Public && !self.model.rooms.contains_key(&r.name))
            .map(|r| r.name.clone())
            .collect()
    }
}
