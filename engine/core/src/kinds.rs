//! What the API allows per kind: which fields force a replacement, which
//! values are sensitive, and how a replacement is ordered (APPRUNNER.md,
//! "Planner guidance").

use apprun_schema::Kind;

/// The planning rules of one resource kind.
#[derive(Debug, Clone, Copy)]
pub struct KindRules {
    /// Top-level attributes that the API cannot change in place.
    pub force_new: &'static [&'static str],
    /// Every attribute forces a replacement (immutable resources).
    pub immutable: bool,
    /// Whether old and new can exist side by side under the same name
    /// (auto scaling revisions can; everything else needs a new name).
    pub coexist_same_name: bool,
    /// Attribute paths whose values are always sensitive (a path covers
    /// every value under it).
    pub sensitive: &'static [&'static str],
}

/// The rules for a kind.
pub fn rules(kind: Kind) -> KindRules {
    match kind {
        Kind::Repository => KindRules {
            force_new: &["name"],
            immutable: false,
            coexist_same_name: false,
            sensitive: &[],
        },
        Kind::Role => KindRules {
            force_new: &["name"],
            immutable: false,
            coexist_same_name: false,
            sensitive: &[],
        },
        Kind::VpcConnector => KindRules {
            force_new: &[],
            immutable: true,
            coexist_same_name: false,
            sensitive: &[],
        },
        // Revisions are immutable; only `default` (which configuration the
        // account uses by default) changes in place.
        Kind::AutoScaling => KindRules {
            force_new: &["name", "min_size", "max_size", "max_concurrency"],
            immutable: false,
            coexist_same_name: true,
            sensitive: &[],
        },
        Kind::Observability => KindRules {
            force_new: &[],
            immutable: true,
            coexist_same_name: true,
            sensitive: &[],
        },
        // A new connection needs a new handshake in the console.
        Kind::Connection => KindRules {
            force_new: &[],
            immutable: true,
            coexist_same_name: false,
            sensitive: &[],
        },
        // Associate and disassociate are the only calls.
        Kind::Domain => KindRules {
            force_new: &[],
            immutable: true,
            coexist_same_name: false,
            sensitive: &[],
        },
        Kind::VpcIngress => KindRules {
            force_new: &["name", "service"],
            immutable: false,
            coexist_same_name: false,
            sensitive: &[],
        },
        Kind::Service => KindRules {
            force_new: &["name", "kms_key", "source_type"],
            immutable: false,
            coexist_same_name: false,
            // `env` values are shown unless built from a sensitive
            // variable: those paths come with each desired resource.
            sensitive: &["start_command", "code.build_command", "code.start_command"],
        },
    }
}

impl KindRules {
    /// Whether a change of the top-level attribute `field` forces a
    /// replacement. Tags never do: they change through Tag/UntagResource.
    pub fn forces_replacement(&self, field: &str) -> bool {
        field != "tags" && (self.immutable || self.force_new.contains(&field))
    }

    /// Whether the value at `path` (dotted) is sensitive.
    pub fn is_sensitive(&self, path: &str) -> bool {
        self.sensitive.iter().any(|s| {
            path == *s
                || path
                    .strip_prefix(s)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_rules_match_the_api() {
        let r = rules(Kind::Service);
        assert!(r.forces_replacement("name") && r.forces_replacement("source_type"));
        assert!(!r.forces_replacement("cpu") && !r.forces_replacement("tags"));
        assert!(r.is_sensitive("code.build_command") && r.is_sensitive("start_command"));
        assert!(
            !r.is_sensitive("env.LOG_LEVEL"),
            "env values are shown by default"
        );
        assert!(!r.is_sensitive("environment") && !r.is_sensitive("secrets.X"));
        let asc = rules(Kind::AutoScaling);
        assert!(asc.forces_replacement("max_size") && !asc.forces_replacement("tags"));
        assert!(
            !asc.forces_replacement("default"),
            "the default flag changes in place"
        );
        let ingress = rules(Kind::VpcIngress);
        assert!(ingress.forces_replacement("service") && !ingress.forces_replacement("endpoint"));
        assert!(rules(Kind::Domain).forces_replacement("route53_zone"));
    }
}
