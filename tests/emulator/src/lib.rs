//! App Runner control-plane emulator (placeholder; the emulator issue fills it).
