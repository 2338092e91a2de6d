//! "Did you mean" suggestions.

/// The candidate closest to `word`, if one is close enough to be a likely
/// typo (Jaro-Winkler similarity of at least 0.8, or same letters ignoring
/// case, `-` and `_`).
pub fn closest<'a, S>(word: &str, candidates: impl IntoIterator<Item = &'a S>) -> Option<&'a S>
where
    S: AsRef<str> + ?Sized + 'a,
{
    let normalize = |s: &str| s.to_ascii_lowercase().replace(['-', '_'], "");
    let wanted = normalize(word);
    let mut best: Option<(&'a S, f64)> = None;
    for candidate in candidates {
        let text = candidate.as_ref();
        let score = if normalize(text) == wanted {
            1.0
        } else {
            strsim::jaro_winkler(word, text)
        };
        if score >= 0.8 && best.is_none_or(|(_, best_score)| score > best_score) {
            best = Some((candidate, score));
        }
    }
    best.map(|(candidate, _)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["image", "port", "memory", "health_check"];
        assert_eq!(closest("imge", keys.iter()), Some(&"image"));
        assert_eq!(closest("healthcheck", keys.iter()), Some(&"health_check"));
        assert_eq!(closest("zzz", keys.iter()), None);
    }
}
