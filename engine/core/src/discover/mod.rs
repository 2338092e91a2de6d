//! `apprun discover`: finding what already runs and bringing it under a
//! stack. Each source of what exists is a pure reader over the text it is
//! handed (`terraform`); `compose` turns what was read into a stack file
//! and the records of its state (`yaml` writes the file). Reading the
//! resources live and writing stack and state is the operation's part
//! (`ops::discover`).

pub mod compose;
pub mod terraform;
pub mod yaml;

pub use compose::{Composed, Draft, Found, compose};
