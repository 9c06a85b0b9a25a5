//! Turns a `mysql://` store URL into pool options and our own timeouts (the
//! parameters are documented on the parent module).

use std::time::Duration;

use mysql_async::{Opts, OptsBuilder, PoolConstraints, PoolOpts};

use crate::store::{StoreError, redact_url};

/// Connections the pool opens at most, unless `pool_max` says otherwise.
const DEFAULT_POOL_MAX: usize = 10;
/// Idle connections the pool keeps at most, unless `pool_min` says otherwise.
const DEFAULT_POOL_MIN: usize = 10;
/// Default of `connect_timeout_ms`.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default of `query_timeout_ms`.
const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Run on every new connection.
const SESSION_SETUP: &str = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,\
                             NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO', \
                             time_zone = '+00:00'";

/// Everything [`super::MysqlStore`] needs to know about its database.
pub(super) struct Config {
    /// Options for `mysql_async`'s pool.
    pub opts: Opts,
    /// Bound on getting a connection, whether pooled or newly dialled.
    pub connect_timeout: Duration,
    /// Bound on one whole operation, retries included.
    pub query_timeout: Duration,
    /// `HOST:PORT, database DB` for error messages (no credentials).
    pub target: String,
}

/// Parses a store URL; errors never contain the password.
pub(super) fn parse(url: &str) -> Result<Config, StoreError> {
    let redacted = redact_url(url);
    let invalid = |why: String| StoreError::Other(format!("invalid MySQL URL {redacted}: {why}"));
    let mut parsed = url::Url::parse(url).map_err(|e| invalid(e.to_string()))?;

    let mut connect_timeout = DEFAULT_CONNECT_TIMEOUT;
    let mut query_timeout = DEFAULT_QUERY_TIMEOUT;
    let mut pool_min = None;
    let mut pool_max = None;
    let mut reset_connection = false;
    let mut passed_on = Vec::new();
    for (key, value) in parsed.query_pairs() {
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| invalid(format!("`{key}` must be a whole number, not `{value}`")))
        };
        match &*key {
            "connect_timeout_ms" => connect_timeout = Duration::from_millis(number()?),
            "query_timeout_ms" => query_timeout = Duration::from_millis(number()?),
            "pool_min" => {
                pool_min = Some(usize::try_from(number()?).map_err(|e| invalid(e.to_string()))?)
            }
            "pool_max" => {
                pool_max = Some(usize::try_from(number()?).map_err(|e| invalid(e.to_string()))?)
            }
            "reset_connection" => {
                reset_connection = value.parse().map_err(|_| {
                    invalid(format!(
                        "`reset_connection` must be true or false, not `{value}`"
                    ))
                })?;
            }
            _ => passed_on.push((key.into_owned(), value.into_owned())),
        }
    }
    // mysql_async rejects parameters it does not know, so ours are taken out.
    if passed_on.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(&passed_on);
    }

    let opts = Opts::from_url(parsed.as_str()).map_err(|e| invalid(e.to_string()))?;
    let Some(database) = opts.db_name().map(str::to_owned) else {
        return Err(invalid(
            "it names no database (mysql://USER:PASS@HOST:PORT/DATABASE)".into(),
        ));
    };
    let target = format!(
        "{}:{}, database `{database}`",
        opts.ip_or_hostname(),
        opts.tcp_port()
    );

    let max = pool_max.unwrap_or(DEFAULT_POOL_MAX);
    let min = pool_min.unwrap_or(DEFAULT_POOL_MIN.min(max));
    let constraints = PoolConstraints::new(min, max)
        .filter(|_| max > 0)
        .ok_or_else(|| {
            invalid(format!(
                "need 0 <= pool_min ({min}) <= pool_max ({max}) and pool_max > 0"
            ))
        })?;
    let pool_opts: PoolOpts = opts
        .pool_opts()
        .clone()
        .with_constraints(constraints)
        .with_reset_connection(reset_connection);
    let opts = OptsBuilder::from_opts(opts)
        .pool_opts(pool_opts)
        // UPDATE reports rows matched, not rows changed: an UPDATE that writes the
        // values already there still proves the row exists.
        .client_found_rows(true)
        // Strict mode turns a too-long value into an error rather than a silent
        // truncation, whatever the server's default; times are UTC.
        .init(vec![SESSION_SETUP])
        .into();
    Ok(Config {
        opts,
        connect_timeout,
        query_timeout,
        target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_parameters_are_taken_out_and_native_ones_kept() {
        let config = parse(
            "mysql://chat:s3cret@db.example:3307/chat?pool_max=4&connect_timeout_ms=250&query_timeout_ms=900&conn_ttl=60",
        );
        let Ok(config) = config else {
            panic!("should parse")
        };
        assert_eq!(config.connect_timeout, Duration::from_millis(250));
        assert_eq!(config.query_timeout, Duration::from_millis(900));
        assert_eq!(config.opts.pool_opts().constraints().max(), 4);
        assert_eq!(config.opts.pool_opts().constraints().min(), 4);
        assert_eq!(config.opts.conn_ttl(), Some(Duration::from_secs(60)));
        assert_eq!(config.target, "db.example:3307, database `chat`");
        assert!(config.opts.client_found_rows());
    }

    #[test]
    fn errors_never_show_the_password() {
        for url in [
            "mysql://chat:s3cret@db.example:3307/chat?pool_max=x",
            "mysql://chat:s3cret@db.example:3307/",
            "mysql://chat:s3cret@db.example:3307/chat?bogus=1",
            "mysql://chat:s3cret@db.example:3307/chat?pool_min=5&pool_max=2",
        ] {
            match parse(url) {
                Ok(_) => panic!("{url} should be refused"),
                Err(e) => {
                    let message = e.to_string();
                    assert!(!message.contains("s3cret"), "{message}");
                    assert!(message.contains("***"), "{message}");
                }
            }
        }
    }
}
