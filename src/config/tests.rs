//! The configuration's checks at ignite.

use super::*;
use rocket::figment::providers::Serialized;

fn base() -> Figment {
    Figment::new().merge(Serialized::defaults(
        serde_json::json!({ "jwt_secret": DEV_JWT_SECRET }),
    ))
}

#[test]
fn defaults_are_valid_in_debug() {
    let config = AppConfig::from_figment(&base().select("debug")).unwrap();
    assert_eq!(config.access_token_minutes, 15);
    assert_eq!(config.login_max_per_account, 10);
    assert_eq!(config.register_per_hour, 20);
    assert_eq!(config.password_queue_max, 64);
}

#[test]
fn negative_registration_limit_names_the_key() {
    let err = AppConfig::from_figment(&base().merge(("register_per_hour", -1))).unwrap_err();
    assert!(err.contains("`register_per_hour`"), "{err}");
    let off = AppConfig::from_figment(&base().merge(("register_per_hour", 0))).unwrap();
    assert_eq!(off.register_per_hour, 0, "0 turns it off");
}

#[test]
fn release_refuses_the_development_secret() {
    let err = AppConfig::from_figment(&base().select("release")).unwrap_err();
    assert!(err.contains("jwt_secret"), "{err}");
}

#[test]
fn short_secret_is_refused_naming_the_key() {
    let figment = base().merge(("jwt_secret", "short"));
    let err = AppConfig::from_figment(&figment).unwrap_err();
    assert!(err.contains("`jwt_secret`"), "{err}");
}

#[test]
fn wrong_type_names_the_key() {
    let figment = base().merge(("access_token_minutes", "soon"));
    let err = AppConfig::from_figment(&figment).unwrap_err();
    assert!(err.contains("access_token_minutes"), "{err}");
}

#[test]
fn public_url_is_checked_and_normalised() {
    for (given, base, host) in [
        (
            "https://conduit.example/",
            "https://conduit.example",
            "conduit.example",
        ),
        (
            "http://Example.COM:8080/blog/",
            "http://example.com:8080/blog",
            "example.com",
        ),
        ("https://[::1]:8443", "https://[::1]:8443", "::1"),
    ] {
        let url = PublicUrl::parse(given).unwrap();
        assert_eq!((url.as_str(), url.host()), (base, host), "{given}");
        assert_eq!(url.join("/feed.atom"), format!("{base}/feed.atom"));
    }
    for bad in [
        "",
        "conduit.example",
        "/relative",
        "ftp://conduit.example",
        "javascript:alert(1)",
        "https://conduit.example/?a=1",
        "https://conduit.example/#top",
        "https://user:pw@conduit.example",
        "file:///etc/passwd",
    ] {
        assert!(PublicUrl::parse(bad).is_err(), "{bad:?} was accepted");
    }
    let err = AppConfig::from_figment(&base().merge(("public_url", "ftp://x"))).unwrap_err();
    assert!(err.contains("public_url"), "{err}");
}

#[test]
fn public_url_defaults_to_where_the_server_listens() {
    let config = AppConfig::from_figment(&base()).unwrap();
    assert_eq!(config.public_url.as_str(), "http://127.0.0.1:8000");
    let moved = base().merge(("address", "0.0.0.0")).merge(("port", 9090));
    let config = AppConfig::from_figment(&moved).unwrap();
    assert_eq!(config.public_url.as_str(), "http://127.0.0.1:9090");
    let set = moved.merge(("public_url", "https://conduit.example/"));
    let config = AppConfig::from_figment(&set).unwrap();
    assert_eq!(config.public_url.join("/x"), "https://conduit.example/x");
}

#[test]
fn a_two_factor_notice_past_the_daily_cap_is_refused_naming_the_key() {
    let figment = base()
        .merge(("totp_max_failures_per_day", 5))
        .merge(("totp_failure_notice_after", 6));
    let err = AppConfig::from_figment(&figment).unwrap_err();
    assert!(err.contains("`totp_failure_notice_after`"), "{err}");
    assert!(err.contains("totp_max_failures_per_day (5)"), "{err}");
    let at_the_cap = base()
        .merge(("totp_max_failures_per_day", 5))
        .merge(("totp_failure_notice_after", 5));
    assert!(
        AppConfig::from_figment(&at_the_cap).is_ok(),
        "equal is allowed"
    );
}

#[test]
fn sitemap_size_is_bounded_by_the_protocol() {
    for bad in [0, -1, SITEMAP_MAX_URLS + 1] {
        let err = AppConfig::from_figment(&base().merge(("sitemap_max_urls", bad))).unwrap_err();
        assert!(err.contains("`sitemap_max_urls`"), "{err}");
    }
}

#[test]
fn smtp_urls_are_read_and_bad_ones_name_the_key() {
    let url = SmtpUrl::parse("smtp://127.0.0.1:2525").unwrap();
    assert_eq!(
        (url.security, url.host.as_str(), url.port),
        (SmtpSecurity::Plain, "127.0.0.1", 2525)
    );
    assert!(url.credentials.is_none());
    let url = SmtpUrl::parse("smtp+starttls://mailer%40x:p%40ss%3Aw@mail.example").unwrap();
    assert_eq!((url.security, url.port), (SmtpSecurity::StartTls, 587));
    let (user, password) = url.credentials.clone().unwrap();
    assert_eq!(
        (user.as_str(), password.expose_secret()),
        ("mailer@x", "p@ss:w")
    );
    assert!(!format!("{url:?}").contains("p@ss"), "{url:?}");
    let url = SmtpUrl::parse("smtps://mail.example").unwrap();
    assert_eq!((url.security, url.port), (SmtpSecurity::Tls, 465));
    for bad in [
        "",
        "mail.example",
        "http://mail.example",
        "smtp://",
        "smtp://h/x",
        "smtp://h?tls=1",
    ] {
        assert!(SmtpUrl::parse(bad).is_err(), "{bad:?} was accepted");
    }
    let err =
        AppConfig::from_figment(&base().merge(("smtp_url", "imap://secret:pw@x"))).unwrap_err();
    assert!(err.contains("`smtp_url`") && !err.contains("pw"), "{err}");
    let err = AppConfig::from_figment(&base().merge(("mail_from", "nobody"))).unwrap_err();
    assert!(err.contains("`mail_from`"), "{err}");
    let off = AppConfig::from_figment(&base().merge(("smtp_url", ""))).unwrap();
    assert!(off.smtp_url().is_none());
}

#[test]
fn bad_log_filter_names_the_key() {
    let figment = base().merge(("log_filter", "loud"));
    let err = AppConfig::from_figment(&figment).unwrap_err();
    assert!(err.contains("`log_filter`"), "{err}");
}
