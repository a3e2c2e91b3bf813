//! The browser family of a `User-Agent` header ("Firefox on Linux"), for the sessions list.
//! Only the family is kept, never the header itself: enough for a person to recognise their
//! own devices, nothing to fingerprint them by. A small parser rather than a crate: the crates
//! that parse every agent carry large regular-expression sets, and the list needs a dozen
//! names. Tokens are matched in the order that the browsers' own agents need (Edge and Opera
//! claim to be Chrome, Chrome claims to be Safari, everyone claims to be Mozilla).

/// The longest header looked at (longer ones are cut, so a huge header costs no more).
const LOOKED_AT: usize = 512;

/// Browsers, most specific first: (a token of its agent, its name).
const BROWSERS: [(&str, &str); 11] = [
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
];

/// Operating systems, most specific first: (a token of the agent, its name).
const SYSTEMS: [(&str, &str); 9] = [
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
    ("BSD", "BSD"),
];

/// Programs that are not browsers: (a token at the start of the agent, its name).
const CLIENTS: [(&str, &str); 6] = [
    ("curl/", "curl"),
    ("Wget/", "Wget"),
    ("python-requests/", "Python requests"),
    ("Python-urllib/", "Python urllib"),
    ("Go-http-client/", "Go HTTP client"),
    ("PostmanRuntime/", "Postman"),
];

/// The family of `header`: "Firefox on Linux", "Chrome" (no system named), "curl", or `None`
/// for an empty or unknown agent.
pub fn family(header: &str) -> Option<String> {
    let mut end = header.len().min(LOOKED_AT);
    while !header.is_char_boundary(end) {
        end -= 1;
    }
    let agent = header[..end].trim();
    if agent.is_empty() {
        return None;
    }
    if let Some((_, name)) = CLIENTS.iter().find(|(token, _)| agent.starts_with(token)) {
        return Some((*name).to_owned());
    }
    let browser = BROWSERS
        .iter()
        .find(|(token, _)| agent.contains(token))
        .map(|(_, name)| *name);
    let system = SYSTEMS
        .iter()
        .find(|(token, _)| agent.contains(token))
        .map(|(_, name)| *name);
    match (browser, system) {
        (Some(browser), Some(system)) => Some(format!("{browser} on {system}")),
        (Some(browser), None) => Some(browser.to_owned()),
        (None, Some(system)) => Some(format!("A browser on {system}")),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::family;

    #[test]
    fn names_the_common_browsers_and_systems() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on Windows"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70", "Edge on Windows"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari on macOS"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari on iOS"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "Chrome on iOS"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36", "Chrome on Android"),
            ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "Samsung Internet on Android"),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0", "Opera on Linux"),
            ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on ChromeOS"),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", "Chrome on Linux"),
            ("curl/8.11.0", "curl"),
            ("python-requests/2.32.3", "Python requests"),
        ];
        for (agent, expected) in cases {
            assert_eq!(family(agent).as_deref(), Some(expected), "{agent}");
        }
    }

    #[test]
    fn unknown_empty_and_odd_agents() {
        assert_eq!(family(""), None);
        assert_eq!(family("   "), None);
        assert_eq!(family("SomeBot"), None);
        assert_eq!(
            family("Mozilla/5.0 (Windows NT 10.0)").as_deref(),
            Some("A browser on Windows")
        );
        // A huge header, cut inside a multi-byte character, costs no more and does not panic.
        let huge = format!("{}Firefox/1", "é".repeat(4000));
        assert_eq!(family(&huge), None);
        assert_eq!(
            family(&format!("Firefox/1 {}", "é".repeat(4000))).as_deref(),
            Some("Firefox")
        );
    }
}
