//! Database URLs (`databases.main.url`), read in one place: the pool connects with the options
//! parsed here, the backup tool takes its host, user, password and file from them, and logs
//! show them through [`redact_url`].
//!
//! The parsing is sqlx's own (`SqliteConnectOptions::from_str`, `MySqlConnectOptions::from_url`
//! on a `url::Url`): what the pool connects to and what the backup tool dumps cannot disagree.
//! The one field sqlx keeps to itself, the MySQL password, is read from the same parsed URL.
//!
//! - `sqlite://path`, `sqlite:path`, `sqlite:///absolute/path`, with sqlx's `?mode=` and other
//!   options; `sqlite::memory:` (or `?mode=memory`) has no file.
//! - `mysql://user:password@host:port/database?options` (or `mariadb://`): user, password and
//!   database percent-decoded, port 3306 and user `root` when absent, an IPv6 host in brackets
//!   (`[::1]`), no host meaning `127.0.0.1`.
//! - TLS, in the query as sqlx and the MySQL clients name it: `ssl-mode` (`DISABLED`,
//!   `PREFERRED` (the default), `REQUIRED`, `VERIFY_CA`, `VERIFY_IDENTITY`, any case), `ssl-ca`
//!   (a PEM file of CA certificates to trust; sqlx trusts them *in addition to* the webpki
//!   roots, Mozilla's list, which is why `VERIFY_CA` is read as `VERIFY_IDENTITY`: see
//!   [`TlsMode::VerifyCa`]), `ssl-cert` and `ssl-key` (a client certificate). The pool
//!   gets them from sqlx's own parser; [`MySqlTarget::tls`] carries the same for the backup
//!   tools.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use percent_encoding::percent_decode_str;
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;

/// Which database engine a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// SQLite, embedded: the default for development and demos.
    Sqlite,
    /// MySQL or MariaDB: the production engine.
    MySql,
}

impl Engine {
    /// The engine a URL scheme (`sqlite`, `mysql`, `mariadb`, any case) names, if we support it.
    pub fn from_scheme(scheme: &str) -> Option<Self> {
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Some(Self::Sqlite),
            "mysql" | "mariadb" => Some(Self::MySql),
            _ => None,
        }
    }
}

/// Why a database URL cannot be used. The text names the config key and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config key `databases.main.url`: {0}")]
pub struct UrlError(String);

impl UrlError {
    fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }
}

/// A parsed database URL: which engine, and that engine's connect options.
#[derive(Clone, Debug)]
pub enum DbUrl {
    /// An SQLite database.
    Sqlite(SqliteUrl),
    /// A MySQL or MariaDB database.
    MySql(MySqlUrl),
}

/// An SQLite URL: its connect options and whether it names a file at all.
#[derive(Clone, Debug)]
pub struct SqliteUrl {
    options: SqliteConnectOptions,
    in_memory: bool,
}

/// A MySQL URL: its connect options, its password and TLS files (which sqlx does not give
/// back), and the same options without the database (for creating it).
#[derive(Clone)]
pub struct MySqlUrl {
    options: MySqlConnectOptions,
    // Boxed: two option sets would make `DbUrl` twice the size of its SQLite variant.
    server: Box<MySqlConnectOptions>,
    password: Option<String>,
    tls: MySqlTls,
}

/// How a connection to MySQL is protected: `ssl-mode` and the certificate files of the URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MySqlTls {
    /// `ssl-mode`.
    pub mode: TlsMode,
    /// `ssl-ca`: the CA certificates to trust (PEM file).
    pub ca: Option<PathBuf>,
    /// `ssl-cert`: a client certificate (PEM file).
    pub cert: Option<PathBuf>,
    /// `ssl-key`: the client certificate's key (PEM file).
    pub key: Option<PathBuf>,
}

/// The URL's `ssl-mode`, as MySQL's clients name the choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Never TLS.
    Disabled,
    /// TLS when the server offers it, unverified (the default).
    Preferred,
    /// TLS or no connection; the certificate is not checked.
    Required,
    /// MySQL's "a certificate signed by a trusted CA, for any host name". Never the pool's
    /// mode: the URL reader turns it into [`TlsMode::VerifyIdentity`], because sqlx trusts the
    /// public web roots besides `ssl-ca`, and a CA check without the host name would then take
    /// any publicly certified name. Kept so the URL's own words can be matched and reported.
    VerifyCa,
    /// TLS with a certificate signed by a trusted CA and naming the host connected to.
    VerifyIdentity,
}

impl From<MySqlSslMode> for TlsMode {
    fn from(mode: MySqlSslMode) -> Self {
        match mode {
            MySqlSslMode::Disabled => Self::Disabled,
            MySqlSslMode::Preferred => Self::Preferred,
            MySqlSslMode::Required => Self::Required,
            MySqlSslMode::VerifyCa => Self::VerifyCa,
            MySqlSslMode::VerifyIdentity => Self::VerifyIdentity,
        }
    }
}

impl std::fmt::Debug for MySqlUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MySqlUrl")
            .field("host", &self.options.get_host())
            .field("port", &self.options.get_port())
            .field("user", &self.options.get_username())
            .field("database", &self.options.get_database())
            .finish_non_exhaustive()
    }
}

/// The MySQL server and database a URL names, as the command-line tools take them. Every
/// text field is safe as a `--name=value` argument: none starts with `-`.
#[derive(Clone, PartialEq, Eq)]
pub struct MySqlTarget {
    /// Host name or address (an IPv6 address without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User name.
    pub user: String,
    /// Password, decoded; `None` when the URL has none.
    pub password: Option<String>,
    /// Database name, decoded.
    pub database: String,
    /// TLS settings.
    pub tls: MySqlTls,
}

impl std::fmt::Debug for MySqlTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MySqlTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("database", &self.database)
            .field("tls", &self.tls)
            .finish()
    }
}

impl DbUrl {
    /// Parse `url`; its scheme picks the engine (`sqlite:`, `mysql:` or `mariadb:`, any case).
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let (scheme, rest) = url.split_once(':').unwrap_or_default();
        match Engine::from_scheme(scheme) {
            Some(Engine::Sqlite) => parse_sqlite(rest).map(Self::Sqlite),
            Some(Engine::MySql) => parse_mysql(rest).map(Self::MySql),
            None => Err(UrlError::new("must start with sqlite: or mysql:")),
        }
    }

    /// The engine the URL names.
    pub fn engine(&self) -> Engine {
        match self {
            Self::Sqlite(_) => Engine::Sqlite,
            Self::MySql(_) => Engine::MySql,
        }
    }
}

fn decode(text: &str) -> Result<String, UrlError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| UrlError::new("percent-encoding that is not UTF-8"))
}

/// `rest` is the URL after `sqlite:`.
fn parse_sqlite(rest: &str) -> Result<SqliteUrl, UrlError> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite:{rest}"))
        .map_err(|e| UrlError::new(e.to_string()))?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let memory_mode =
        url::form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "mode" && v == "memory");
    Ok(SqliteUrl {
        options,
        in_memory: path.is_empty() || path == ":memory:" || memory_mode,
    })
}

/// `rest` is the URL after `mysql:` or `mariadb:`.
fn parse_mysql(rest: &str) -> Result<MySqlUrl, UrlError> {
    let parsed = url::Url::parse(&format!("mysql:{rest}"))
        .map_err(|e| UrlError::new(format!("not a URL ({e})")))?;
    let mut options =
        MySqlConnectOptions::from_url(&parsed).map_err(|e| UrlError::new(e.to_string()))?;
    // sqlx keeps an IPv6 host's brackets, which no resolver takes; an absent host is local.
    match parsed.host() {
        Some(url::Host::Ipv6(address)) => options = options.host(&address.to_string()),
        Some(url::Host::Domain("")) | None => options = options.host("127.0.0.1"),
        Some(_) => {}
    }
    // VERIFY_CA is VERIFY_IDENTITY here: sqlx's VERIFY_CA verifier skips the host name while
    // trusting the public web roots as well as `ssl-ca` (sqlx adds the file to Mozilla's list),
    // so any publicly certified name would pass; with the host name checked, only a certificate
    // for this very host does. (That sqlx checks it anyway today is a bug of its own, #3793.)
    if matches!(options.get_ssl_mode(), MySqlSslMode::VerifyCa) {
        options = options.ssl_mode(MySqlSslMode::VerifyIdentity);
    }
    let password = parsed.password().map(decode).transpose()?;
    // The same keys sqlx reads, the last one winning as there.
    let (mut ca, mut cert, mut key) = (None, None, None);
    for (name, value) in parsed.query_pairs() {
        let slot = match &*name {
            "sslca" | "ssl-ca" => &mut ca,
            "sslcert" | "ssl-cert" => &mut cert,
            "sslkey" | "ssl-key" => &mut key,
            _ => continue,
        };
        *slot = Some(value.into_owned());
    }
    let tls = MySqlTls {
        mode: options.get_ssl_mode().into(),
        ca: ca.map(PathBuf::from),
        cert: cert.map(PathBuf::from),
        key: key.map(PathBuf::from),
    };
    let mut server_url = parsed.clone();
    server_url.set_path("");
    let mut server =
        MySqlConnectOptions::from_url(&server_url).map_err(|e| UrlError::new(e.to_string()))?;
    server = server
        .host(options.get_host())
        .ssl_mode(options.get_ssl_mode());
    Ok(MySqlUrl {
        options,
        server: Box::new(server),
        password,
        tls,
    })
}

impl SqliteUrl {
    /// The connect options the URL spells.
    pub fn options(&self) -> SqliteConnectOptions {
        self.options.clone()
    }

    /// The database file, or `None` for an in-memory database.
    pub fn file(&self) -> Option<&Path> {
        (!self.in_memory).then(|| self.options.get_filename())
    }
}

impl MySqlUrl {
    /// The connect options the URL spells.
    pub fn options(&self) -> MySqlConnectOptions {
        self.options.clone()
    }

    /// The connect options without the database: a session on the server, for creating the
    /// database (same host, user, password and TLS settings).
    pub fn server_options(&self) -> MySqlConnectOptions {
        (*self.server).clone()
    }

    /// The URL's TLS settings.
    pub fn tls(&self) -> &MySqlTls {
        &self.tls
    }

    /// The database name (empty when the URL has none).
    pub fn database(&self) -> &str {
        self.options.get_database().unwrap_or_default()
    }

    /// The user name.
    pub fn user(&self) -> &str {
        self.options.get_username()
    }

    /// The server and database for the command-line tools. Refused: no database name, a
    /// host, user or database starting with `-` (it would read as an option), or a PEM text
    /// in place of a certificate file (sqlx takes one; the tools need a file).
    pub fn target(&self) -> Result<MySqlTarget, UrlError> {
        let database = self.options.get_database().unwrap_or_default();
        if database.is_empty() {
            return Err(UrlError::new("no database name"));
        }
        let (host, user) = (self.options.get_host(), self.options.get_username());
        if database.starts_with('-') || host.starts_with('-') || user.starts_with('-') {
            return Err(UrlError::new("unusable host, user or database name"));
        }
        let tls = &self.tls;
        if [&tls.ca, &tls.cert, &tls.key]
            .into_iter()
            .flatten()
            .any(|file| {
                file.to_string_lossy()
                    .trim_start()
                    .starts_with("-----BEGIN")
            })
        {
            return Err(UrlError::new(
                "ssl-ca, ssl-cert and ssl-key must name PEM files for the backup tools",
            ));
        }
        Ok(MySqlTarget {
            host: host.to_owned(),
            port: self.options.get_port(),
            user: user.to_owned(),
            password: self.password.clone(),
            database: database.to_owned(),
            tls: self.tls.clone(),
        })
    }
}

/// A URL with its password replaced, for messages and logs. A URL that does not parse is
/// shown up to its scheme only when it might hold a password.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() && parsed.set_password(Some("***")).is_ok() {
                parsed.to_string()
            } else {
                url.to_owned()
            }
        }
        Err(_) if url.contains('@') => {
            let scheme = url.split(':').next().unwrap_or_default();
            format!("{scheme}://*** (not a valid URL)")
        }
        Err(_) => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn target(url: &str) -> Result<MySqlTarget, UrlError> {
        match DbUrl::parse(url)? {
            DbUrl::MySql(mysql) => mysql.target(),
            DbUrl::Sqlite(_) => panic!("{url} is not a MySQL URL"),
        }
    }

    fn sqlite_file(url: &str) -> Option<PathBuf> {
        match DbUrl::parse(url) {
            Ok(DbUrl::Sqlite(sqlite)) => sqlite.file().map(Path::to_path_buf),
            _ => None,
        }
    }

    fn fields(t: &MySqlTarget) -> (&str, u16, &str, Option<&str>, &str) {
        (
            t.host.as_str(),
            t.port,
            t.user.as_str(),
            t.password.as_deref(),
            t.database.as_str(),
        )
    }

    #[test]
    fn the_scheme_picks_the_engine() {
        assert_eq!(
            DbUrl::parse("sqlite://conduit.db").unwrap().engine(),
            Engine::Sqlite
        );
        assert_eq!(
            DbUrl::parse("mysql://u:p@h/db").unwrap().engine(),
            Engine::MySql
        );
        assert_eq!(
            DbUrl::parse("MariaDB://u:p@h/db").unwrap().engine(),
            Engine::MySql
        );
        assert_eq!(
            DbUrl::parse("postgres://h/db").unwrap_err().to_string(),
            "config key `databases.main.url`: must start with sqlite: or mysql:"
        );
        assert!(DbUrl::parse("conduit.db").is_err());
    }

    #[test]
    fn mysql_urls_are_split_with_user_password_and_database_decoded() {
        let t =
            target("mysql://app:p%40ss%3Aw%2Fd@db.example:3307/conduit?ssl-mode=required").unwrap();
        assert_eq!(
            fields(&t),
            ("db.example", 3307, "app", Some("p@ss:w/d"), "conduit")
        );
        let t = target("mysql://o%27neil:x@h/my%20db").unwrap();
        assert_eq!(fields(&t), ("h", 3306, "o'neil", Some("x"), "my db"));
    }

    #[test]
    fn mysql_defaults_port_3306_user_root_and_a_local_host() {
        let t = target("mysql://db.example/conduit").unwrap();
        assert_eq!(fields(&t), ("db.example", 3306, "root", None, "conduit"));
        let t = target("mariadb:///conduit").unwrap();
        assert_eq!(fields(&t), ("127.0.0.1", 3306, "root", None, "conduit"));
        let t = target("mysql://app@db/conduit").unwrap();
        assert_eq!((t.user.as_str(), t.password.as_deref()), ("app", None));
    }

    #[test]
    fn ipv6_hosts_lose_their_brackets() {
        let t = target("mysql://app:pw@[::1]:3307/conduit").unwrap();
        assert_eq!(fields(&t), ("::1", 3307, "app", Some("pw"), "conduit"));
        let DbUrl::MySql(mysql) = DbUrl::parse("mysql://app:pw@[fe80::2]/c").unwrap() else {
            panic!("mysql")
        };
        assert_eq!(
            mysql.options().get_host(),
            "fe80::2",
            "the pool connects to the same host"
        );
    }

    #[test]
    fn mysql_without_a_database_or_with_a_leading_dash_is_refused() {
        let why = |url| target(url).unwrap_err().to_string();
        assert_eq!(
            why("mysql://app:pw@db"),
            "config key `databases.main.url`: no database name"
        );
        assert_eq!(
            why("mysql://app:pw@db/"),
            "config key `databases.main.url`: no database name"
        );
        for url in [
            "mysql://app@db/-x",
            "mysql://-app@db/c",
            "mysql://app@-db/c",
            "mysql://app@db/%2Dx",
        ] {
            assert_eq!(
                why(url),
                "config key `databases.main.url`: unusable host, user or database name",
                "{url}"
            );
        }
        assert!(DbUrl::parse("mysql://app@db:notaport/c").is_err());
    }

    #[test]
    fn sqlite_urls_name_a_file_unless_in_memory() {
        let file = |url| sqlite_file(url);
        assert_eq!(
            file("sqlite://conduit.db"),
            Some(PathBuf::from("conduit.db"))
        );
        assert_eq!(file("sqlite:conduit.db"), Some(PathBuf::from("conduit.db")));
        assert_eq!(
            file("sqlite:///var/x.db?mode=rwc"),
            Some(PathBuf::from("/var/x.db"))
        );
        assert_eq!(
            file("sqlite://my%20data.db"),
            Some(PathBuf::from("my data.db"))
        );
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("sqlite://:memory:"), None);
        assert_eq!(file("sqlite://x.db?mode=memory"), None);
        assert_eq!(file("sqlite://"), None);
        assert_eq!(file("mysql://h/db"), None);
    }

    #[test]
    fn tls_settings_come_from_the_query_for_the_pool_and_the_tools() {
        let url = "mysql://app:pw@db.example/c?ssl-mode=verify_identity&ssl-ca=%2Fetc%2Fca.pem&sslcert=c.pem&ssl-key=k.pem";
        let DbUrl::MySql(mysql) = DbUrl::parse(url).unwrap() else {
            panic!("mysql")
        };
        assert_eq!(
            TlsMode::from(mysql.options().get_ssl_mode()),
            TlsMode::VerifyIdentity,
            "the pool verifies"
        );
        let expected = MySqlTls {
            mode: TlsMode::VerifyIdentity,
            ca: Some("/etc/ca.pem".into()),
            cert: Some("c.pem".into()),
            key: Some("k.pem".into()),
        };
        assert_eq!(mysql.tls(), &expected);
        assert_eq!(mysql.target().unwrap().tls, expected, "the tools too");
        let server = mysql.server_options();
        assert_eq!(server.get_database(), None, "no database, for creating it");
        assert_eq!(
            TlsMode::from(server.get_ssl_mode()),
            TlsMode::VerifyIdentity
        );
        assert_eq!(
            (server.get_host(), server.get_username()),
            ("db.example", "app")
        );

        let plain = target("mysql://app:pw@h/c").unwrap().tls;
        assert_eq!(plain.mode, TlsMode::Preferred, "sqlx's default");
        assert_eq!(plain.ca, None);
        for (mode, expected) in [
            ("DISABLED", TlsMode::Disabled),
            ("Required", TlsMode::Required),
            ("verify_ca", TlsMode::VerifyIdentity),
        ] {
            let url = format!("mysql://h/c?ssl-mode={mode}");
            assert_eq!(target(&url).unwrap().tls.mode, expected, "{mode}");
        }
        let why = DbUrl::parse("mysql://h/c?ssl-mode=sometimes")
            .unwrap_err()
            .to_string();
        assert!(why.contains("sometimes"), "{why}");
        let inline = "mysql://h/c?ssl-ca=-----BEGIN%20CERTIFICATE-----x-----END%20CERTIFICATE-----";
        assert!(DbUrl::parse(inline).is_ok(), "sqlx takes a PEM text");
        let why = target(inline).unwrap_err().to_string();
        assert!(why.contains("must name PEM files"), "{why}");
    }

    #[test]
    fn redact_url_hides_the_password_only() {
        assert_eq!(
            redact_url(
                "mysql://app:s3cret@localhost:3306/c?ssl-mode=VERIFY_IDENTITY&ssl-ca=%2Fca.pem"
            ),
            "mysql://app:***@localhost:3306/c?ssl-mode=VERIFY_IDENTITY&ssl-ca=%2Fca.pem"
        );
        assert_eq!(
            redact_url("mysql://app:s3cret@127.0.0.1:3306/c"),
            "mysql://app:***@127.0.0.1:3306/c"
        );
        assert_eq!(
            redact_url("mysql://app:p%40ss@[::1]/c?x=1"),
            "mysql://app:***@[::1]/c?x=1"
        );
        assert_eq!(redact_url("mysql://app@h/c"), "mysql://app@h/c");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
        assert!(!redact_url("mysql://app:s3cret@h:99999/c").contains("s3cret"));
    }
}
