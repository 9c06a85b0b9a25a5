//! Integration tests for chatroom-server, one binary (see STYLE.md).

mod avatars_crawl;
mod avatars_import;
mod avatars_pool;
mod binary;
mod config_file;
mod store_conformance;
mod store_mysql;
mod store_sqlite;
