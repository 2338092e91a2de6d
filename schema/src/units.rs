//! CPU and memory sizes in every form the App Runner API accepts, normalized
//! to the numbers the API returns (cpu units and megabytes), so `1 vCPU` and
//! `1024` compare equal.

use std::fmt;

/// CPU per instance, in cpu units (1024 = 1 vCPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cpu(pub u32);

/// Memory per instance, in megabytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Memory(pub u32);

const CPU_UNITS: [(u32, &str); 5] = [
    (256, "0.25"),
    (512, "0.5"),
    (1024, "1"),
    (2048, "2"),
    (4096, "4"),
];

const MEMORY_MB: [(u32, &str); 9] = [
    (512, "0.5"),
    (1024, "1"),
    (2048, "2"),
    (3072, "3"),
    (4096, "4"),
    (6144, "6"),
    (8192, "8"),
    (10240, "10"),
    (12288, "12"),
];

impl Cpu {
    /// The API's default: 1 vCPU.
    pub const DEFAULT: Cpu = Cpu(1024);

    /// Parses `1 vCPU`, `0.25 vCPU`, `1024` (units). Anything else is `None`.
    pub fn parse(text: &str) -> Option<Cpu> {
        let text = text.trim();
        if let Some(number) = strip_unit(text, "vCPU") {
            return CPU_UNITS
                .iter()
                .find(|(_, words)| *words == number)
                .map(|(units, _)| Cpu(*units));
        }
        let units: u32 = text.parse().ok()?;
        CPU_UNITS
            .iter()
            .any(|(known, _)| *known == units)
            .then_some(Cpu(units))
    }

    /// Reads what the App Runner API returns (`1 vCPU`, `0.25 vCPU`,
    /// `1024`): like [`Cpu::parse`], but any whole number of units or of
    /// vCPUs (1024 units each) is taken as it is, since a read reports what
    /// is there rather than what a stack may ask for.
    pub fn from_api(text: &str) -> Option<Cpu> {
        Cpu::parse(text).or_else(|| api_amount(text, "vCPU").map(Cpu))
    }

    /// The memory sizes App Runner allows with this cpu.
    pub fn allowed_memory(self) -> &'static [Memory] {
        match self.0 {
            256 => &[Memory(512), Memory(1024)],
            512 => &[Memory(1024)],
            1024 => &[Memory(2048), Memory(3072), Memory(4096)],
            2048 => &[Memory(4096), Memory(6144)],
            4096 => &[Memory(8192), Memory(10240), Memory(12288)],
            _ => &[],
        }
    }
}

impl Memory {
    /// The API's default: 2 GB.
    pub const DEFAULT: Memory = Memory(2048);

    /// Parses `2 GB`, `0.5 GB`, `2048` (MB). Anything else is `None`.
    pub fn parse(text: &str) -> Option<Memory> {
        let text = text.trim();
        if let Some(number) = strip_unit(text, "GB") {
            return MEMORY_MB
                .iter()
                .find(|(_, words)| *words == number)
                .map(|(mb, _)| Memory(*mb));
        }
        let mb: u32 = text.parse().ok()?;
        MEMORY_MB
            .iter()
            .any(|(known, _)| *known == mb)
            .then_some(Memory(mb))
    }

    /// Reads what the App Runner API returns (`2 GB`, `0.5 GB`, `2048`):
    /// like [`Memory::parse`], but any whole number of megabytes or number
    /// of gigabytes (1024 MB each) is taken as it is.
    pub fn from_api(text: &str) -> Option<Memory> {
        Memory::parse(text).or_else(|| api_amount(text, "GB").map(Memory))
    }
}

/// A whole number, or a decimal number of `unit` (1024 each), as a count
/// that fits in `u32`.
fn api_amount(text: &str, unit: &str) -> Option<u32> {
    let text = text.trim();
    if let Ok(whole) = text.parse::<u32>() {
        return Some(whole);
    }
    let number: f64 = strip_unit(text, unit)?.trim().parse().ok()?;
    let scaled = (number * 1024.0).round();
    (scaled.is_finite() && (0.0..=f64::from(u32::MAX)).contains(&scaled)).then_some(scaled as u32)
}

fn strip_unit<'a>(text: &'a str, unit: &str) -> Option<&'a str> {
    let number = text.strip_suffix(unit)?;
    Some(number.trim_end())
}

impl fmt::Display for Cpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match CPU_UNITS.iter().find(|(units, _)| *units == self.0) {
            Some((_, words)) => write!(f, "{words} vCPU"),
            None => write!(f, "{} units", self.0),
        }
    }
}

impl fmt::Display for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match MEMORY_MB.iter().find(|(mb, _)| *mb == self.0) {
            Some((_, words)) => write!(f, "{words} GB"),
            None => write!(f, "{} MB", self.0),
        }
    }
}

impl serde::Serialize for Cpu {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl serde::Serialize for Memory {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl schemars::JsonSchema for Cpu {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Cpu".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "vCPU per instance",
            "oneOf": [
                { "type": "string", "pattern": "^\\s*(0\\.25|0\\.5|1|2|4) ?vCPU\\s*$|^\\s*(256|512|1024|2048|4096)\\s*$" },
                { "type": "integer", "enum": [256, 512, 1024, 2048, 4096] }
            ]
        })
    }
}

impl schemars::JsonSchema for Memory {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Memory".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Memory per instance",
            "oneOf": [
                { "type": "string", "pattern": "^\\s*(0\\.5|1|2|3|4|6|8|10|12) ?GB\\s*$|^\\s*(512|1024|2048|3072|4096|6144|8192|10240|12288)\\s*$" },
                { "type": "integer", "enum": [512, 1024, 2048, 3072, 4096, 6144, 8192, 10240, 12288] }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_form_normalizes() {
        assert_eq!(Cpu::parse("1 vCPU"), Some(Cpu(1024)));
        assert_eq!(Cpu::parse("0.25 vCPU"), Some(Cpu(256)));
        assert_eq!(Cpu::parse("4vCPU"), Some(Cpu(4096)));
        assert_eq!(Cpu::parse("2048"), Some(Cpu(2048)));
        assert_eq!(Cpu::parse("3 vCPU"), None);
        assert_eq!(Cpu::parse("1000"), None);
        assert_eq!(Memory::parse("2 GB"), Some(Memory(2048)));
        assert_eq!(Memory::parse("0.5 GB"), Some(Memory(512)));
        assert_eq!(Memory::parse("12288"), Some(Memory(12288)));
        assert_eq!(Memory::parse("5 GB"), None);
    }

    #[test]
    fn api_text_reads_as_it_is() {
        assert_eq!(Cpu::from_api("1 vCPU"), Some(Cpu(1024)));
        assert_eq!(Cpu::from_api(" 1024 "), Some(Cpu(1024)));
        assert_eq!(Cpu::from_api("0.25 vCPU"), Some(Cpu(256)));
        assert_eq!(Cpu::from_api("3 vCPU"), Some(Cpu(3072)));
        assert_eq!(Cpu::from_api("1000"), Some(Cpu(1000)));
        assert_eq!(Memory::from_api("2 GB"), Some(Memory(2048)));
        assert_eq!(Memory::from_api("5 GB"), Some(Memory(5120)));
        assert_eq!(Memory::from_api("2048"), Some(Memory(2048)));
        assert_eq!(Cpu::from_api("fast"), None);
        assert_eq!(Memory::from_api("-1 GB"), None);
        assert_eq!(Memory::from_api("NaN GB"), None);
    }

    #[test]
    fn displays_in_api_words() {
        assert_eq!(Cpu(256).to_string(), "0.25 vCPU");
        assert_eq!(Memory(3072).to_string(), "3 GB");
    }

    #[test]
    fn pairs_match_the_documented_table() {
        assert_eq!(Cpu(512).allowed_memory(), &[Memory(1024)]);
        assert!(Cpu(1024).allowed_memory().contains(&Memory(4096)));
        assert!(!Cpu(4096).allowed_memory().contains(&Memory(4096)));
    }
}
