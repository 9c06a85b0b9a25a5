//! `chatroom`: the desktop app. Parses flags, sets up logging and the window,
//! and hands over to `chatroom_app::ChatApp`.
//!
//! `chatroom --demo` starts a throw-away local server with a short
//! conversation and logs in to it (for screenshots and first looks).
#![cfg_attr(all(windows, not(debug_assertions)), windows_subsystem = "windows")]

use std::sync::Arc;

use anyhow::Context as _;
use chatroom_app::{AppOptions, ChatApp, demo, i18n};
use clap::Parser;

/// The window icon, drawn by scripts/make-icon.py.
const ICON: &[u8] = include_bytes!("../../../assets/chatroom.png");

/// Chatroom desktop app.
#[derive(Parser)]
#[command(name = "chatroom", version, about)]
struct Cli {
    /// Start a local demo server with a few users and a conversation, and log in to it.
    #[arg(long)]
    demo: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,winit=warn,eframe=warn,egui_glow=warn".into()),
        )
        .init();

    let demo = if cli.demo {
        Some(demo::start().context("starting the demo")?)
    } else {
        None
    };
    let system_language = i18n::locale::system_language();
    tracing::info!("the system's language: {}", system_language.tag());
    let options = AppOptions {
        auto_login: demo.as_ref().map(|d| d.auto_login.clone()),
        system_language,
        ..AppOptions::default()
    };
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Chatroom")
        .with_app_id("chatroom")
        .with_inner_size([1100.0, 720.0])
        .with_min_inner_size([640.0, 420.0]);
    match eframe::icon_data::from_png_bytes(ICON) {
        Ok(icon) => viewport = viewport.with_icon(Arc::new(icon)),
        Err(e) => tracing::warn!("window icon: {e}"),
    }
    let mut native = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    if let Some(demo) = &demo {
        // The demo's server and pins are throw-away: keep them out of the
        // user's real settings.
        native.persistence_path = Some(demo.settings_path());
        native.persist_window = false;
    }
    eframe::run_native(
        "Chatroom",
        native,
        Box::new(move |cc| {
            // Draw boxes for glyphs no font has (never panic); the app also
            // replaces such characters itself before showing network text.
            cc.egui_ctx
                .set_missing_glyph_policy(egui::MissingGlyphPolicy::Tofu);
            Ok(Box::new(ChatApp::new(cc, options)?))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the window failed: {e}"))?;
    drop(demo);
    Ok(())
}
