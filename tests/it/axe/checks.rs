//! What axe-core does not check, checked in the same browser on every page the scan visits
//! (issue 21): the skip link is the first stop of the keyboard and shows when focused, every
//! element the keyboard reaches shows a focus ring, one `h1` first and no skipped heading
//! level, every invalid field points at its message and an alert announces the errors, every
//! table has a caption or a label, sort links say their direction, a navigation with links to
//! the page itself marks one `aria-current="page"`. With reduced motion asked for, nothing
//! moves.

use fantoccini::Client;
use serde_json::Value;

/// The checks, as a script returning a list of problems (empty when the page is sound).
const SCRIPT: &str = r#"
const problems = [];
const show = e => e.outerHTML.replace(/\s+/g, ' ').slice(0, 140);
const shown = e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
const reachable = [...document.body.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]')]
  .filter(e => !e.disabled && !(e.getAttribute('tabindex') || '').startsWith('-'))
  .filter(e => !e.closest('details:not([open])') || e.matches('details > summary'));

// The skip link: the keyboard's first stop, to the one main region, visible once focused.
const first = reachable[0];
if (!first || !first.classList.contains('skip-link') || first.getAttribute('href') !== '#main') {
  problems.push('the first focusable element is not the skip link: ' + (first ? show(first) : 'none'));
}
if (document.querySelectorAll('main#main').length !== 1) problems.push('not exactly one main#main');

// Every element the keyboard reaches shows a focus ring (outline of 2 px or more).
for (const e of reachable.filter(shown)) {
  e.focus();
  if (document.activeElement !== e) { problems.push('cannot take focus: ' + show(e)); continue; }
  const s = getComputedStyle(e);
  if (s.outlineStyle === 'none' || parseFloat(s.outlineWidth) < 2) {
    problems.push('no visible focus (outline ' + s.outlineStyle + ' ' + s.outlineWidth + '): ' + show(e));
  }
  if (e === first) {
    const r = e.getBoundingClientRect();
    if (r.width < 1 || r.height < 1 || r.top < 0 || r.left < 0 || r.right > innerWidth || r.bottom > innerHeight) {
      problems.push('the focused skip link is not on screen: ' + JSON.stringify(r));
    }
  }
}
if (document.activeElement) document.activeElement.blur();

// The heading outline: one h1, first, and no level skipped on the way down.
const hs = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
  .map(h => [Number(h.tagName[1]), h.textContent.trim().replace(/\s+/g, ' ').slice(0, 40)]);
if (hs.length === 0 || hs[0][0] !== 1 || hs.filter(h => h[0] === 1).length !== 1) {
  problems.push('not one h1 first: ' + JSON.stringify(hs));
}
for (let i = 1; i < hs.length; i++) {
  if (hs[i][0] > hs[i - 1][0] + 1) problems.push('heading ' + JSON.stringify(hs[i]) + ' after ' + JSON.stringify(hs[i - 1]) + ' skips a level');
}

// Form errors: tied to their fields and announced.
const invalid = [...document.querySelectorAll('[aria-invalid=true]')];
for (const e of invalid) {
  const ids = (e.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
  const told = ids.length > 0 && ids.every(id => {
    const m = document.getElementById(id);
    return m && m.textContent.trim().length > 0;
  });
  if (!told) problems.push('an invalid field without its message: ' + show(e));
}
for (const m of document.querySelectorAll('.field-error')) {
  if (!m.id || !document.querySelector('[aria-describedby~="' + m.id + '"]')) {
    problems.push('an error message no field points at: ' + show(m));
  }
}
if ((invalid.length > 0 || document.querySelector('.field-error')) && !document.querySelector('[role=alert]')) {
  problems.push('field errors with no alert announcing them');
}
for (const s of document.querySelectorAll('.error-summary')) {
  if (s.getAttribute('role') !== 'alert') problems.push('an error summary that is not announced: ' + show(s));
}

// Tables are named; sort links say their direction.
for (const t of document.querySelectorAll('table')) {
  const caption = t.querySelector(':scope > caption');
  const named = (caption && caption.textContent.trim()) || t.getAttribute('aria-label') || t.getAttribute('aria-labelledby');
  if (!named) problems.push('a table without a caption or label: ' + show(t));
}
for (const a of document.querySelectorAll('th a[href*="sort="]')) {
  const said = [...a.querySelectorAll('.visually-hidden')].map(s => s.textContent).join(' ');
  if (!/sort (ascending|descending)/.test(said)) problems.push('a sort link that does not say its direction: ' + show(a));
}

// A navigation with links to this very page marks one of them as the current page (the
// logo's link home may stay unmarked beside a marked "Home").
const here = location.pathname + location.search;
for (const nav of document.querySelectorAll('nav')) {
  const links = [...nav.querySelectorAll('a[href]')].filter(a => a.getAttribute('href') === here);
  if (links.length > 0 && !links.some(a => a.getAttribute('aria-current') === 'page')) {
    problems.push('no link to the current page marked aria-current: ' + show(links[0]));
  }
}

// Reduced motion: no transition or animation runs.
if (matchMedia('(prefers-reduced-motion: reduce)').matches) {
  for (const e of document.querySelectorAll('*')) {
    const s = getComputedStyle(e);
    const moving = s.transitionDuration.split(',').some(d => parseFloat(d) > 0)
      || (s.animationName !== 'none' && s.animationDuration.split(',').some(d => parseFloat(d) > 0));
    if (moving) { problems.push('moves despite reduced motion: ' + show(e)); break; }
  }
}
return problems;
"#;

/// The problems the checks find on the page the browser shows.
pub(super) async fn run(c: &Client) -> Vec<String> {
    let found = c
        .execute(SCRIPT, vec![])
        .await
        .expect("the page checks run");
    found
        .as_array()
        .expect("a list of problems")
        .iter()
        .map(|p| p.as_str().unwrap_or("?").to_owned())
        .collect()
}

/// Whether the page has an element with a transition that lasts (so the reduced motion run's
/// check, that nothing moves, has something to find when the preference is ignored).
pub(super) async fn something_moves(c: &Client) -> bool {
    c.execute(
        "return [...document.querySelectorAll('*')].some(e => \
           getComputedStyle(e).transitionDuration.split(',').some(d => parseFloat(d) > 0));",
        vec![],
    )
    .await
    .expect("transitions")
        == Value::Bool(true)
}

/// The relative luminance (0 black to 1 white) of the page's background (`body`'s, or the
/// root's when the body has none).
pub(super) async fn background_luminance(c: &Client) -> f64 {
    let rgb = c
        .execute(
            "const bg = e => getComputedStyle(e).backgroundColor; \
             let c = bg(document.body); \
             if (c === 'transparent' || c === 'rgba(0, 0, 0, 0)') c = bg(document.documentElement); \
             return c.match(/[\\d.]+/g).map(Number).slice(0, 3);",
            vec![],
        )
        .await
        .expect("background");
    let channel = |i: usize| {
        let v = rgb[i].as_f64().expect("a channel") / 255.0;
        if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2)
}
