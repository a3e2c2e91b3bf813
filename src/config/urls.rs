//! The URLs the configuration holds beside the database's: the site's public base URL and
//! the mail server's.

use secrecy::SecretString;
use serde::Deserialize;

/// The site's absolute base URL: `http` or `https`, a host, an optional path, no user name,
/// query or fragment; kept without a trailing slash so `join("/article/x")` reads naturally.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PublicUrl {
    base: std::sync::Arc<str>,
    host: std::sync::Arc<str>,
}

impl PublicUrl {
    /// Parse and normalise `value`, or say what is wrong with it.
    pub fn parse(value: &str) -> Result<Self, String> {
        let url = url::Url::parse(value.trim())
            .map_err(|e| format!("`{value}` is not an absolute URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("`{value}` must start with http:// or https://"));
        }
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err(format!("`{value}` has no host"));
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("`{value}` must not carry a user name or password"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("`{value}` must not have a query or fragment"));
        }
        Ok(Self {
            host: host.trim_matches(['[', ']']).into(),
            base: url.as_str().trim_end_matches('/').into(),
        })
    }

    /// `http://<address>:<port>` for a server listening there (an unspecified address such as
    /// `0.0.0.0` reads as the loopback one).
    pub fn from_address(address: std::net::IpAddr, port: u16) -> Self {
        let ip = match address {
            std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
            ip => ip,
        };
        let authority = std::net::SocketAddr::new(ip, port);
        Self::parse(&format!("http://{authority}")).unwrap_or_else(|_| Self {
            base: "http://127.0.0.1:8000".into(),
            host: "127.0.0.1".into(),
        })
    }

    /// The absolute URL of `path`, a path of this site (from a route's `uri!`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The host name (or address), for `tag:` URIs.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The base itself, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.base
    }
}

impl TryFrom<String> for PublicUrl {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

/// How to reach the mail server, read from `smtp_url`.
#[derive(Clone)]
pub struct SmtpUrl {
    /// Plain, STARTTLS, or TLS from the start.
    pub security: SmtpSecurity,
    /// Host name or address.
    pub host: String,
    /// Port (25, 587 and 465 by default for the three kinds).
    pub port: u16,
    /// User name and password, when the server wants them.
    pub credentials: Option<(String, SecretString)>,
}

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://`: no TLS (a relay on this machine or a private network).
    Plain,
    /// `smtp+starttls://`: upgraded with STARTTLS, which is required.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Tls,
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("security", &self.security)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .finish_non_exhaustive()
    }
}

impl SmtpUrl {
    /// Parse `smtp_url`, or say what is wrong with it (never echoing a password).
    pub fn parse(value: &str) -> Result<Self, String> {
        let url = url::Url::parse(value.trim())
            .map_err(|e| format!("is not a URL ({e}); expected smtp://host:port"))?;
        let (security, default_port) = match url.scheme() {
            "smtp" => (SmtpSecurity::Plain, 25),
            "smtp+starttls" => (SmtpSecurity::StartTls, 587),
            "smtps" => (SmtpSecurity::Tls, 465),
            other => {
                return Err(format!(
                    "scheme `{other}` is not one of smtp://, smtp+starttls://, smtps://"
                ))
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("has no host")?
            .trim_matches(['[', ']'])
            .to_owned();
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err("must be scheme://[user:password@]host[:port] and nothing more".into());
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(std::borrow::Cow::into_owned)
                .map_err(|_| "has a user name or password that is not UTF-8".to_owned())
        };
        let credentials = if url.username().is_empty() {
            None
        } else {
            let user = decode(url.username())?;
            let password = decode(url.password().unwrap_or_default())?;
            Some((user, SecretString::from(password)))
        };
        Ok(Self {
            security,
            host,
            port: url.port().unwrap_or(default_port),
            credentials,
        })
    }
}
