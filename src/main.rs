//! The apprun CLI.
fn main() {}
