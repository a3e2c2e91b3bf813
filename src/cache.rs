//! A bounded memo for pure functions that make text (markdown to HTML, a template fragment's
//! inputs to its HTML, a page's context to the page). Keys are the full inputs, compared byte
//! for byte, never a hash of them: a changed input is another key, so an entry can never be
//! stale or collide. The memo itself is a `quick_cache` cache weighed in bytes; this module
//! adds the key builder ([`Key`], [`KeyPart`]), the entry size limit and a `const` constructor.
//! It imports nothing of the application, so any layer may use it.

use std::sync::{Arc, OnceLock};

use quick_cache::sync::Cache;
use quick_cache::Weighter;

/// Recently and often used results, bounded by their total size in bytes (keys plus values).
pub struct TextCache<V: ?Sized + Weigh = str> {
    /// Made on first use, so that [`TextCache::new`] can be `const` (a `static` memo).
    entries: OnceLock<Entries<V>>,
    /// Bytes the entries may hold.
    budget: usize,
    /// Entries larger than this are not kept (one would crowd out the rest).
    entry_max: usize,
}

/// The inputs of a memoized function, written out as one key: every value with its length or
/// a tag, so that different inputs never run together into the same bytes.
#[derive(Debug, Default, Clone)]
pub struct Key(Vec<u8>);

impl Key {
    /// An empty key.
    #[must_use]
    pub fn new() -> Self {
        Self(Vec::with_capacity(256))
    }

    /// Add `part` to the inputs.
    #[must_use]
    pub fn with<T: KeyPart + ?Sized>(mut self, part: &T) -> Self {
        part.write_to(&mut self);
        self
    }

    /// Add `value` (a page's whole context, often kilobytes: room for all of it is made first).
    #[must_use]
    pub fn with_json(mut self, value: &serde_json::Value) -> Self {
        self.0.reserve(json_len(value));
        self.with(value)
    }

    /// Add every part of `other`, in order.
    #[must_use]
    pub fn then(mut self, other: &Key) -> Self {
        self.0.extend_from_slice(&other.0);
        self
    }

    /// The key's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn len_of(&mut self, len: usize) {
        self.0
            .extend_from_slice(&u64::try_from(len).unwrap_or(u64::MAX).to_le_bytes());
    }
}

/// A value that can be part of a [`Key`]. A type's encoding must be unambiguous on its own
/// (fixed size, or led by its length or a tag), so that a sequence of parts is too.
pub trait KeyPart {
    /// Append `self` to `key`.
    fn write_to(&self, key: &mut Key);
}

impl KeyPart for str {
    fn write_to(&self, key: &mut Key) {
        key.len_of(self.len());
        key.0.extend_from_slice(self.as_bytes());
    }
}

impl KeyPart for String {
    fn write_to(&self, key: &mut Key) {
        self.as_str().write_to(key);
    }
}

impl KeyPart for i64 {
    fn write_to(&self, key: &mut Key) {
        key.0.extend_from_slice(&self.to_le_bytes());
    }
}

impl KeyPart for bool {
    fn write_to(&self, key: &mut Key) {
        key.0.push(u8::from(*self));
    }
}

impl KeyPart for chrono::DateTime<chrono::Utc> {
    fn write_to(&self, key: &mut Key) {
        self.timestamp().write_to(key);
        key.0
            .extend_from_slice(&self.timestamp_subsec_nanos().to_le_bytes());
    }
}

impl<T: KeyPart> KeyPart for Option<T> {
    fn write_to(&self, key: &mut Key) {
        match self {
            None => key.0.push(0),
            Some(value) => {
                key.0.push(1);
                value.write_to(key);
            }
        }
    }
}

impl<T: KeyPart> KeyPart for [T] {
    fn write_to(&self, key: &mut Key) {
        key.len_of(self.len());
        for item in self {
            item.write_to(key);
        }
    }
}

impl<T: KeyPart> KeyPart for Vec<T> {
    fn write_to(&self, key: &mut Key) {
        self.as_slice().write_to(key);
    }
}

impl<T: KeyPart + ?Sized> KeyPart for &T {
    fn write_to(&self, key: &mut Key) {
        (**self).write_to(key);
    }
}

/// What `value` adds to a key (exactly, for strings and containers; numbers at most).
fn json_len(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::Null => 1,
        Value::Bool(_) => 2,
        Value::Number(_) => 9,
        Value::String(s) => 9 + s.len(),
        Value::Array(items) => 9 + items.iter().map(json_len).sum::<usize>(),
        Value::Object(members) => {
            9 + members
                .iter()
                .map(|(name, v)| 8 + name.len() + json_len(v))
                .sum::<usize>()
        }
    }
}

/// JSON (a page's whole context): each value led by a tag for its kind, containers by their
/// length, an object's members in order (the order they render in).
impl KeyPart for serde_json::Value {
    fn write_to(&self, key: &mut Key) {
        use serde_json::Value;
        match self {
            Value::Null => key.0.push(0),
            Value::Bool(b) => {
                key.0.push(1);
                b.write_to(key);
            }
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    key.0.push(2);
                    i.write_to(key);
                } else if let Some(u) = n.as_u64() {
                    key.0.push(3);
                    key.0.extend_from_slice(&u.to_le_bytes());
                } else {
                    key.0.push(4);
                    key.0
                        .extend_from_slice(&n.as_f64().unwrap_or(f64::NAN).to_bits().to_le_bytes());
                }
            }
            Value::String(s) => {
                key.0.push(5);
                s.write_to(key);
            }
            Value::Array(items) => {
                key.0.push(6);
                items.write_to(key);
            }
            Value::Object(members) => {
                key.0.push(7);
                key.len_of(members.len());
                for (name, value) in members {
                    name.write_to(key);
                    value.write_to(key);
                }
            }
        }
    }
}

impl<A: KeyPart, B: KeyPart> KeyPart for (A, B) {
    fn write_to(&self, key: &mut Key) {
        self.0.write_to(key);
        self.1.write_to(key);
    }
}

/// key -> value, weighed by [`Bytes`]. `quick_cache`'s default hasher (foldhash) is seeded
/// per process, so callers cannot aim keys at one bucket.
type Entries<V> = Cache<Box<[u8]>, Arc<V>, Bytes>;

/// A cached value's size in bytes, as counted against the budget.
pub trait Weigh {
    /// Bytes.
    fn weight(&self) -> usize;
}

impl Weigh for str {
    fn weight(&self) -> usize {
        self.len()
    }
}

/// An entry's weight: its key's bytes plus its value's.
#[derive(Debug, Clone, Copy)]
pub struct Bytes;

impl<V: ?Sized + Weigh> Weighter<Box<[u8]>, Arc<V>> for Bytes {
    fn weight(&self, key: &Box<[u8]>, value: &Arc<V>) -> u64 {
        // Never zero: `quick_cache` never evicts an entry that weighs nothing.
        u64::try_from(key.len() + value.weight())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

impl<V: ?Sized + Weigh> TextCache<V> {
    /// An empty cache holding up to `budget` bytes, none of its entries over `entry_max`.
    #[must_use]
    pub const fn new(budget: usize, entry_max: usize) -> Self {
        Self {
            entries: OnceLock::new(),
            budget,
            entry_max,
        }
    }

    fn entries(&self) -> &Entries<V> {
        self.entries.get_or_init(|| {
            // The cache is split into shards, each with its share of the budget; enough
            // shards to spread the locks, few enough that each holds eight of the largest
            // entries.
            let shards = (self.budget / self.entry_max.max(1) / 8).clamp(1, 16);
            let options = quick_cache::OptionsBuilder::new()
                .estimated_items_capacity((self.budget / 1024).max(64))
                .weight_capacity(u64::try_from(self.budget).unwrap_or(u64::MAX))
                .shards(shards)
                .build()
                .unwrap_or_else(|e| unreachable!("every option is set: {e}"));
            Cache::with_options(
                options,
                Bytes,
                quick_cache::DefaultHashBuilder::default(),
                quick_cache::sync::DefaultLifecycle::default(),
            )
        })
    }

    /// The value kept for `key`, if any.
    pub fn get(&self, key: &[u8]) -> Option<Arc<V>> {
        self.entries().get(key)
    }

    /// The value for `key`: the kept one, or `make(key)`, kept for next time. `make` runs
    /// without a lock held, so two threads may both make a missing value.
    /// A key longer than an entry may be is not looked up at all.
    pub fn get_or_make<T, E>(
        &self,
        key: &[u8],
        make: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<V>, E>
    where
        Arc<V>: From<T>,
    {
        if key.len() > self.entry_max {
            return make().map(Into::into);
        }
        if let Some(value) = self.get(key) {
            return Ok(value);
        }
        let value: Arc<V> = make()?.into();
        self.put(key, &value);
        Ok(value)
    }

    /// Keep `value` for `key` (unless it is over `entry_max`), evicting entries to make room.
    pub fn put(&self, key: &[u8], value: &Arc<V>) {
        if key.len() + value.weight() > self.entry_max {
            return;
        }
        self.entries().insert(key.into(), Arc::clone(value));
    }

    /// Forget every entry (their inputs' meaning changed, e.g. templates were reloaded).
    pub fn clear(&self) {
        if let Some(entries) = self.entries.get() {
            entries.clear();
        }
    }

    /// Bytes held now, and the sum of the entries' sizes (the same, unless the books are off).
    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        let entries = self.entries();
        let sum = entries.iter().map(|(k, v)| k.len() + v.weight()).sum();
        (usize::try_from(entries.weight()).unwrap_or(usize::MAX), sum)
    }
}

#[cfg(test)]
mod tests {
    use super::{Key, TextCache};
    use std::sync::Arc;

    #[test]
    fn stays_within_its_budget_and_keeps_recent_entries() {
        let cache = TextCache::new(1024 * 1024, 128 * 1024);
        let value: Arc<str> = "x".repeat(60 * 1024).into();
        let key = |i: usize| format!("{i:04}{}", "m".repeat(4 * 1024));
        for i in 0..200 {
            cache.put(key(i).as_bytes(), &value);
            // Entry 0 is used all along, so it is never the least recently used.
            assert!(
                cache.get(key(0).as_bytes()).is_some(),
                "entry 0 evicted at {i}"
            );
            let (bytes, sum) = cache.held();
            assert_eq!(bytes, sum);
            assert!(bytes <= 1024 * 1024, "{bytes} bytes after {i}");
        }
        assert!(
            cache.get(key(1).as_bytes()).is_none(),
            "old entries were evicted"
        );
        assert!(cache.get(key(199).as_bytes()).is_some());
    }

    #[test]
    fn keys_are_whole_inputs_and_oversized_entries_are_not_kept() {
        let cache: TextCache = TextCache::new(1024, 100);
        let made = cache
            .get_or_make(b"a", || Ok::<_, ()>("A".to_owned()))
            .unwrap();
        assert_eq!(&*made, "A");
        // Served from the cache: `make` would fail.
        assert_eq!(
            &*cache.get_or_make(b"a", || Err::<String, _>(())).unwrap(),
            "A"
        );
        assert!(cache.get(b"a ").is_none() && cache.get(b"").is_none());
        let big = cache
            .get_or_make(b"b", || Ok::<_, ()>("B".repeat(200)))
            .unwrap();
        assert_eq!(big.len(), 200, "still returned");
        assert!(cache.get(b"b").is_none(), "but not kept");
        assert_eq!(
            cache.get_or_make(b"c", || Err::<String, _>("failed")),
            Err("failed")
        );
        assert!(cache.get(b"c").is_none());
        cache.clear();
        assert!(cache.get(b"a").is_none());
        assert_eq!(cache.held(), (0, 0));
    }

    #[test]
    fn keys_keep_inputs_apart() {
        let key = |a: &str, b: &str| Key::new().with(a).with(b);
        assert_ne!(key("ab", "c").as_bytes(), key("a", "bc").as_bytes());
        assert_eq!(key("ab", "c").as_bytes(), key("ab", "c").as_bytes());
        let opt = |o: Option<&str>| Key::new().with(&o).with("x");
        assert_ne!(opt(None).as_bytes(), opt(Some("")).as_bytes());
        let list = |l: &[&str]| Key::new().with(l).with("x");
        assert_ne!(list(&["a", "b"]).as_bytes(), list(&["ab"]).as_bytes());
        assert_ne!(list(&[]).as_bytes(), list(&[""]).as_bytes());
        assert_ne!(
            Key::new().with(&1_i64).as_bytes(),
            Key::new().with(&256_i64).as_bytes()
        );
        assert_ne!(
            Key::new().with(&true).as_bytes(),
            Key::new().with(&false).as_bytes()
        );
    }
}
