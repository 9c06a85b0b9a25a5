### The desktop app's words in English, the fallback for every language.
### Ids are used in the code with t!(i18n, "id"); docs/gui.md, "Languages",
### says how to add a language. Room names, user names and numbers come in as
### arguments ($room, $user, $count…).

app-name = Chatroom
# The window title with unread messages in rooms not shown.
window-title-unread = ({ $count }) { app-name }

## Language picker (top bar and login screen)

language-label = Language
language-system = System ({ $language })
language-hover = The language of the app. "System" follows the computer's language.

## Login and registration (login.rs, form.rs)

login-tab-login = Log in
login-tab-register = Register
login-server = Server address
login-username = Username
login-email = E-mail
login-passphrase = Passphrase
login-passphrase-again = Passphrase again
login-passphrase-help = Your passphrase never leaves this computer: the app computes a one-time password from it for each login.
login-certificate = Certificate (optional)
login-ca-file = CA file
login-ca-hint = path to the server's ca.pem
login-ca-help = Without a CA file, the first connection shows the server's fingerprint for you to confirm.
login-create-account = Create the account
login-connect = Connect and log in
login-verify-heading = Confirm your e-mail address
login-verify-help = The server mailed you a 6-digit code; it is valid for 15 minutes.
login-verify-code = Verification code
login-verify-confirm = Confirm the code
login-verify-resend = Send a new code
login-verify-sent = A new code is on its way; check your mail.
login-verify-shape = The code is the 6 digits from the mail.
login-host-help = No server yet? Run one here; others on your network can join it.
login-host = Host a server on this computer
login-host-failed = Could not start a server here: { $reason }
login-ca-unreadable = Cannot read the CA file { $path }.
login-pin-unusable = The fingerprint remembered for this server is unusable: { $reason }
login-skipped =
    { $count ->
        [one] 1 one-time password was used since your last login from this computer. If you did not log in elsewhere, someone may be trying to impersonate the server or you.
       *[other] { $count } one-time passwords were used since your last login from this computer. If you did not log in elsewhere, someone may be trying to impersonate the server or you.
    }

form-enter-server = Enter the server's address, like chat.example.org:4433.
form-enter-username = Enter a username.
form-enter-email = Enter an e-mail address, like you@example.org.
form-enter-passphrase = Enter your passphrase.
form-enter-passphrase-again = Enter the passphrase again.
form-add-port = Add the port, like chat.example.org:4433.
form-username-rule = 2 to 32 letters, digits, '_', '-' or '.', starting with a letter or digit.
form-email-shape = That does not look like an e-mail address (you@example.org).
form-passphrases-differ = The two passphrases differ.
form-passphrase-short = { $count } characters: at least { $min } needed.
form-passphrase-long = { $count } characters: at most { $max } allowed.
form-passphrase-acceptable = { $count } characters: acceptable; a few words are stronger.
form-passphrase-strong = { $count } characters: strong.

## Hosting a server (login.rs, rooms panel)

host-port = Hosting a server on port { $port }
host-join-at-port = Others join at this computer's address, port { $port }.
host-join-at = Others join at:
host-fingerprint = and check this CA SHA-256 fingerprint:

## Certificate trust (trust.rs)

trust-fetching = Fetching the certificate of { $server }…
trust-first = First connection to { $server }
trust-fingerprint-is = Its CA SHA-256 fingerprint is:
trust-check = Check that it matches what the server printed at start ("CA SHA-256 fingerprint: …") or what its operator gave you. The app will remember it and refuse a different certificate later.
trust-accept = Trust and connect
trust-cancel = Cancel
trust-changed = Warning: the server's certificate changed; it may not be the server you trusted.
trust-not-connected = The app did not connect to { $server }.
trust-trusted = Trusted fingerprint:
trust-new = Fingerprint the server shows now:
trust-new-unknown = The new fingerprint could not be read.
trust-forget-help = If the operator confirms the new fingerprint, forget the old one and connect again.
trust-forget = Forget the trusted certificate

## The chat screen's top bar and notices (chat_ui.rs, alerts.rs)

top-who = { $user } on { $server }
top-log-out = Log out
top-change-picture = Change picture
top-online-hover = Show or hide who is online
top-passwords-left =
    { $count ->
        [one] 1 one-time password left
       *[other] { $count } one-time passwords left
    }
top-passwords-hover = Each login uses one one-time password. When fewer than 10 are left, the app sets up a new series by itself at the next login.
notice-dismiss = Dismiss
notifications = Notifications
notifications-hover = Desktop notifications for direct messages and mentions while the window is in the background. Mute a single room from its menu in the room list.

## Rooms panel (rooms.rs)

rooms-heading = Rooms
rooms-direct-heading = Direct messages
rooms-direct-empty = Click a name under Online to start one.
# A room in the list for screen readers: "# books (2 unread, 1 mention)".
room-with-marks = { $room } ({ $marks })
room-marks-separator = {", "}
room-unread = { $count } unread
room-mentions =
    { $count ->
        [one] 1 mention
       *[other] { $count } mentions
    }
room-muted = muted
room-muted-hover = Muted: no desktop notifications, not counted in the title
room-mute = Mute { $room }
room-unmute = Unmute { $room }
room-leave-named = Leave #{ $room }
room-join-heading = Join or create a room
room-name-hint = room name
room-name-rule = A room name has letters, digits, '_' or '-' (at most 32).
room-becomes = Becomes #{ $room }
room-join = Join
room-create = Create
room-create-named = Create #{ $room }
room-missing = There is no room #{ $room } yet.
room-others = Other rooms
room-join-named = Join # { $room }

## Online list (users.rs)

online-count = Online ({ $count })
online-you = { $user } (you)
online-direct-hover = Send a direct message

## Messages (messages.rs, list.rs, banner.rs)

messages-join-first = Join a room to start chatting.
messages-leave = Leave
messages-leave-hover = Leave #{ $room }: its messages stop coming
jump-newest = Newest ⬇
jump-new =
    { $count ->
        [one] 1 new message ⬇
       *[other] { $count } new messages ⬇
    }
list-new-divider = New messages
list-mentions-you = Mentions you
list-mention-hover = This message mentions you
list-sent = sent
list-loading = Loading…
list-load-older = Load older messages
list-sending = sending…
list-not-sent = not sent: { $reason }
banner-connecting = Connecting…
banner-reconnecting-now = Reconnecting now…
banner-reconnecting-in = Reconnecting in { $seconds } s
banner-lost = Connection lost. { $when } (attempt { $attempt }).
banner-why = Why: { $reason }. Messages you write meanwhile are sent after the reconnect.
banner-retry-now = Retry now

## Composer (composer.rs, mention_picker.rs)

composer-label = Message
composer-join-first = Join a room to write
composer-hint = Write a message (Enter sends, Shift+Enter adds a line)
composer-send = Send
composer-bytes = { $len } / { $limit } bytes
composer-bytes-over = { $len } / { $limit } bytes: { $over } too many
composer-slow-down = Slow down: the server takes a few messages a second. Yours go out by themselves in { $seconds } s.
composer-not-sent = Not sent: { $reason }.
mention-help = Mention (↑↓, Enter)
mention-named = Mention { $user }

## Jump to a room (switcher.rs)

switcher-title = Jump to a room
switcher-field = Room name
switcher-hint = type part of a name
switcher-none = No room matches.
switcher-help = ⬆ ⬇ choose · Enter opens · Esc closes

## Your picture (profile.rs)

profile-title = Your picture
profile-you-now = This is you now. Everyone sees the picture you pick.
profile-pick = Pick one
profile-asking = Asking the server for its pictures…
profile-upload-heading = Or upload your own
profile-upload-help = PNG, JPEG, GIF or WebP up to 2 MiB; the server crops it to a square. You can also drop the file on this window.
profile-drop-here = Drop the image to upload it
profile-file = Image file
profile-upload = Upload
profile-picture = Picture { $number }
profile-type-path = Type the path of an image file first.

## The file chooser (file_pick.rs)

file-choose = Choose…
file-unavailable = No file chooser available on this desktop; type the path.
file-title-image = Choose your picture
file-title-ca = Choose the server's CA file
file-filter-images = Images
file-filter-certificates = Certificates
file-hover-image = Pick the image with your desktop's file chooser
file-hover-ca = Pick the CA file with your desktop's file chooser

## Pictures and files

attach-button = Attach files
attach-hover = Attach pictures or files (you can also drop them on the window, or paste a picture)
attach-unavailable = No file chooser available on this desktop; drop the files on the window instead.
attach-drop-here = Drop the files to attach them to your message
attach-uploading = Uploading { $name }
attach-cancel = Cancel uploading { $name }
attach-cancel-hover = Stop uploading and take the file off the message
attach-remove = Remove { $name }
attach-remove-hover = Take the file off the message
attach-retry = Retry
attach-retry-named = Retry uploading { $name }
attach-wait = Not sent yet: wait until the files have uploaded.
attach-fix-failed = Not sent: retry or remove the files that did not upload.
attach-too-many = A message carries at most { $count } files.
attach-paste-failed = The pasted picture could not be attached: { $reason }
file-title-attach = Attach files
file-title-save = Save the file
file-picture = Picture: { $name }
file-picture-hover = { $width } × { $height }, { $size }. Click for full size.
file-save = Save
file-save-named = Save { $name }
file-save-hover = Download the file and save it on this computer
file-saving = Saving { $name }
file-save-cancel = Stop saving { $name }
file-saved = Saved as { $file }
file-save-failed = Not saved: { $reason }
viewer-loading = Loading { $name }
viewer-failed = The picture cannot be shown: { $reason }
viewer-close = Close
viewer-close-named = Close the picture

## Desktop notifications (notify.rs)

notify-in-room = { $user } in #{ $room }
notify-count = { $who } ({ $count } new)
notify-open = Open

## What failed (notices from the network side)

notice-offline = Not connected right now; try again in a moment.
notice = { $about }: { $reason }
about-room-list = Could not list rooms
about-rejoin = Could not rejoin the rooms
about-join = Could not join { $room }
about-create = Could not create { $room }
about-leave = Could not leave { $room }
about-direct = Could not message { $user }
about-missed = Could not fetch missed messages
about-older = Could not load older messages
about-picture-pool = Could not list the pictures
about-choose-picture = Could not change your picture
about-upload-picture = That picture was not accepted
about-read-picture = Could not use { $path }
about-new-code = Could not send a new code
about-upload = Could not upload { $name }
about-read-file = Could not read { $path }
about-download = Could not download the file
about-save-file = Could not save { $path }

## Login problems (the worker's LoginProblem)

problem-unreachable = Cannot reach the server at { $server }. Check the address and that the server is running.
problem-bad-address = That server address does not work: { $detail }.
problem-certificate-changed = The server's certificate changed; it may not be the server you trusted. The app did not connect.
problem-untrusted = The server's certificate is not trusted ({ $detail }).
problem-wrong-passphrase = Wrong username or passphrase.
problem-email-not-verified = Confirm your e-mail address first: enter the 6-digit code from the mail the server sent.
problem-locked-out = Too many failed attempts. Try again later.
problem-locked-out-for = Too many failed attempts. Try again in { $seconds } seconds.
problem-wrong-code = That code is wrong or has expired; check the latest mail or ask for a new code.

## The server's error codes (common/src/protocol.rs, ErrorCode)

# A code whose server message says more (which field, what about the image).
error-with-detail = { $error } ({ $detail }).
error-upgrade-required = This app is too old or too new for the server; update one of them.
error-bad-request = The server could not read the request.
error-too-large = That is too large for the server.
error-hello-required = The connection was not set up properly; try again.
error-not-logged-in = You are not logged in; log in again.
error-auth-failed = Wrong username or passphrase.
error-locked-out = Too many failed attempts. Try again later.
error-email-not-verified = Confirm your e-mail address first: enter the 6-digit code from the mail the server sent.
error-username-taken = That username is taken; pick another.
error-invalid-input = The server did not accept what was entered.
error-no-such-room = There is no such room.
error-no-such-user = There is no such user.
error-not-member = You are not a member of that room.
error-room-exists = A room by that name exists already.
error-rate-limited = Too many requests; wait a moment.
error-no-such-avatar = The server has no such picture.
error-invalid-image = That is not an image the server accepts.
error-storage-unavailable = The server cannot reach its database; try again later.
error-internal = Something went wrong on the server; it logged the problem.
error-no-such-file = That file is not there, or not yours to see.
error-quota-exceeded = You have uploaded as much as the server allows for today.

## Names and text that do not pass the checks (common/src/validate.rs)

validation-username = a username is 2 to 32 letters, digits, '_', '-' or '.', starting with a letter or digit
validation-email = that does not look like an e-mail address
validation-room-name = a room name is 1 to 32 letters, digits, '_' or '-'
validation-empty-text = the message is empty
validation-text-too-long = the message is { $len } bytes; the limit is { $limit }
validation-avatar-hash = an avatar hash is 64 hexadecimal digits
validation-control-characters = the message contains control characters
validation-file-hash = a file hash is 64 hexadecimal digits
validation-file-name = a file name is 1 to 255 bytes without control characters
validation-too-many-attachments = a message carries at most 10 files; this one has { $count }
