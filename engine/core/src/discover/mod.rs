//! `apprun discover`: finding what already runs and bringing it under a
//! stack. Each source of what exists is a pure reader over the text it is
//! handed; reading the resources live and writing stack and state is the
//! operation's part.

pub mod terraform;
