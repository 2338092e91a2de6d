//! Durable state: the state document format, the local file backend with its
//! lock, and the S3 backend. Knows nothing of resource kinds beyond an opaque
//! record.
