//! The message input: multi-line; Enter sends, Shift+Enter adds a line. Above
//! it, while the server asks to slow down, a line says when queued messages go.

use egui::{Color32, Key, KeyboardShortcut, Modifiers, TextEdit};

use super::ChatApp;

/// Draws the composer under the message list.
pub fn composer_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    let enabled = app.model.current().is_some();
    ui.add_space(4.0);
    if let Some(slow) = &app.model.slow_down {
        ui.colored_label(Color32::from_rgb(0xd0, 0x90, 0x20), slow);
    }
    ui.horizontal(|ui| {
        let send_width = 64.0;
        let output = TextEdit::multiline(&mut app.composer)
            .id_salt("composer")
            .hint_text("Write a message (Enter sends, Shift+Enter adds a line)")
            .desired_rows(2)
            .desired_width(ui.available_width() - send_width)
            // Only Shift+Enter makes a new line; plain Enter is left for sending.
            .return_key(KeyboardShortcut::new(Modifiers::SHIFT, Key::Enter))
            .interactive(enabled)
            .show(ui);
        // Screen readers (and the tests) find the input by this name.
        let response = output.response.response.accessible_name("Message");
        let enter =
            response.has_focus() && ui.input(|i| i.key_pressed(Key::Enter) && !i.modifiers.shift);
        let clicked = ui.add_enabled(enabled, egui::Button::new("Send")).clicked();
        if enabled && (enter || clicked) {
            app.send_message();
            response.request_focus();
        }
    });
    ui.add_space(4.0);
}
