//! This user's picture: the server's pool to pick from, picking one, and
//! uploading an image file. The upload reads the file and sends it (up to the
//! upload limit) in a task beside the loop, so chat goes on meanwhile.

use std::path::PathBuf;

use chatroom_common::protocol::{AvatarHash, ErrorCode, MAX_UPLOAD_BYTES};

use super::UiEvent;
use super::notice::{About, Cause, Notice};
use super::tasks::{Done, Failure};
use super::worker::Worker;

impl Worker {
    /// Lists the pictures the server offers.
    pub(super) fn avatar_pool(&mut self) {
        let Some(session) = self.session() else {
            return self.offline_notice();
        };
        self.spawn(async move {
            let result = session.avatar_pool().await;
            Done::AvatarPool(result.map_err(Failure::of(About::PicturePool)))
        });
    }

    /// Uses a pool picture as this user's avatar.
    pub(super) fn choose_avatar(&mut self, hash: AvatarHash) {
        let Some(session) = self.session() else {
            return self.offline_notice();
        };
        self.spawn(async move {
            let result = session.choose_avatar(hash).await;
            Done::AvatarChanged(result.map_err(Failure::of(About::ChoosePicture)))
        });
    }

    /// Reads an image file (refusing a large one before reading it all) and uploads it.
    pub(super) fn upload_avatar(&mut self, path: PathBuf) {
        let Some(session) = self.session() else {
            return self.offline_notice();
        };
        self.spawn(async move {
            // A file over the limit is refused here as the server would
            // refuse it, with the same code, so it reads the same.
            let read = match tokio::fs::metadata(&path).await {
                Ok(meta) if meta.len() > MAX_UPLOAD_BYTES as u64 => Err((
                    Cause::Refused(ErrorCode::TooLarge),
                    format!(
                        "it is {} KiB; pictures up to {} KiB are accepted",
                        meta.len() / 1024,
                        MAX_UPLOAD_BYTES / 1024
                    ),
                )),
                Ok(_) => tokio::fs::read(&path)
                    .await
                    .map_err(|e| (Cause::Other, e.to_string())),
                Err(e) => Err((Cause::Other, e.to_string())),
            };
            match read {
                Ok(bytes) => {
                    let result = session.upload_avatar(bytes).await;
                    Done::AvatarChanged(result.map_err(Failure::of(About::UploadPicture)))
                }
                Err((cause, detail)) => Done::Notice(Notice {
                    about: Some(About::ReadPicture(path)),
                    cause,
                    detail,
                }),
            }
        });
    }

    /// This user's picture is now `avatar`: our own messages and the UI use it.
    pub(super) fn avatar_changed(&mut self, avatar: AvatarHash) {
        if let Some(me) = self.me.as_mut() {
            me.avatar = Some(avatar);
        }
        self.inbox.push(UiEvent::AvatarChanged(avatar));
    }
}
