//! The language picker: "System (English)", "English", "简体中文". Each
//! language is listed by its own name, so it can be found whatever is shown
//! now; the choice is saved with the settings and takes effect at once.

use super::ChatApp;
use super::i18n::{Language, t};

impl ChatApp {
    /// The language picked, or `None` when the app follows the system.
    pub fn language_choice(&self) -> Option<Language> {
        self.settings
            .language
            .as_deref()
            .and_then(Language::from_tag)
    }

    /// Picks a language (`None`: follow the system) and shows it from the next frame.
    pub fn set_language(&mut self, choice: Option<Language>) {
        self.settings.language = choice.map(|l| l.tag().to_owned());
        self.i18n
            .set_language(choice.unwrap_or(self.options.system_language));
    }
}

/// Draws the picker: a labelled drop-down.
pub fn language_picker_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    let chosen = app.language_choice();
    let system = t!(
        app.i18n,
        "language-system",
        language = app.options.system_language.autonym()
    );
    let name = |choice: Option<Language>| match choice {
        None => system.clone(),
        Some(language) => language.autonym().to_owned(),
    };
    let mut picked = chosen;
    let label = t!(app.i18n, "language-label");
    // The label reads before the box in either direction: in the top bar,
    // laid out right to left, it is added after it.
    let right_to_left = ui.layout().prefer_right_to_left();
    ui.horizontal(|ui| {
        if !right_to_left {
            ui.label(&label);
        }
        egui::ComboBox::from_id_salt("language")
            .selected_text(name(chosen))
            .show_ui(ui, |ui| {
                for choice in std::iter::once(None).chain(Language::ALL.map(Some)) {
                    ui.selectable_value(&mut picked, choice, name(choice));
                }
            })
            .response
            .accessible_name(&label)
            .on_hover_text(t!(app.i18n, "language-hover"));
        if right_to_left {
            ui.label(&label);
        }
    });
    if picked != chosen {
        app.set_language(picked);
    }
}
