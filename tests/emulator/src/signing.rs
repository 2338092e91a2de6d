//! The region a request was signed for: the third part of its SigV4
//! credential scope (`Credential=AKID/20260101/eu-west-1/apprunner/aws4_request`
//! in the `Authorization` header, or the `X-Amz-Credential` query parameter
//! of a presigned request). Every ARN and URL a request makes carries that
//! region, as App Runner's do; an unsigned request gets the emulator's
//! configured region.
//!
//! The signature itself is not checked (any credentials are accepted), but
//! a credential scope that is malformed or names another service is refused
//! the way AWS refuses it, so a client that signs wrongly finds out here.

use http::HeaderMap;

use crate::error::ApiError;

/// The service name App Runner's credential scopes carry.
const SERVICE: &str = "apprunner";

/// The region `headers` (or the presigned `query`) were signed for;
/// `None` when the request is unsigned.
pub(crate) fn signed_region(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Option<String>, ApiError> {
    if let Some(value) = headers.get(http::header::AUTHORIZATION) {
        let text = value.to_str().map_err(|_| {
            ApiError::IncompleteSignature("The Authorization header is not ASCII text".to_owned())
        })?;
        return scope_region(credential_from_header(text)?).map(Some);
    }
    match query.and_then(credential_from_query) {
        Some(credential) => scope_region(&credential).map(Some),
        None => Ok(None),
    }
}

/// `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` -> the
/// credential.
fn credential_from_header(text: &str) -> Result<&str, ApiError> {
    let Some(params) = text.strip_prefix("AWS4-HMAC-SHA256") else {
        let scheme: String = text
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .chars()
            .take(40)
            .collect();
        return Err(ApiError::IncompleteSignature(format!(
            "Unsupported Authorization type `{scheme}`: App Runner requests are signed with AWS4-HMAC-SHA256"
        )));
    };
    params
        .split(',')
        .find_map(|p| p.trim().strip_prefix("Credential="))
        .ok_or_else(|| {
            ApiError::IncompleteSignature(
                "Authorization header requires 'Credential' parameter".to_owned(),
            )
        })
}

/// `…&X-Amz-Credential=AKID%2F20260101%2F…&…` -> the decoded credential.
fn credential_from_query(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("X-Amz-Credential="))
        .map(percent_decode)
}

/// `AKID/DATE/REGION/SERVICE/aws4_request` -> REGION, checked.
fn scope_region(credential: &str) -> Result<String, ApiError> {
    let parts: Vec<&str> = credential.trim().split('/').collect();
    let [_key, date, region, service, terminator] = parts.as_slice() else {
        return Err(ApiError::IncompleteSignature(
            "The credential must be KEY/DATE/REGION/SERVICE/aws4_request".to_owned(),
        ));
    };
    if *terminator != "aws4_request" || date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(ApiError::IncompleteSignature(
            "The credential must be KEY/DATE/REGION/SERVICE/aws4_request".to_owned(),
        ));
    }
    let region_ok = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(ApiError::InvalidSignature(
            "Credential should be scoped to a valid region.".to_owned(),
        ));
    }
    if *service != SERVICE {
        return Err(ApiError::InvalidSignature(format!(
            "Credential should be scoped to correct service: '{SERVICE}'."
        )));
    }
    Ok((*region).to_owned())
}

/// Decodes `%XX` escapes (and `+` as a space); a broken escape stays as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn signed(authorization: &str) -> Result<Option<String>, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, authorization.parse().unwrap());
        signed_region(&headers, None)
    }

    #[test]
    fn the_region_comes_from_the_credential_scope() {
        let header = "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/apprunner/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(signed(header).unwrap().as_deref(), Some("eu-west-1"));
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fap-south-2%2Fapprunner%2Faws4_request";
        assert_eq!(
            signed_region(&HeaderMap::new(), Some(query))
                .unwrap()
                .as_deref(),
            Some("ap-south-2")
        );
    }

    #[test]
    fn an_unsigned_request_has_no_region() {
        assert_eq!(signed_region(&HeaderMap::new(), None).unwrap(), None);
        assert_eq!(signed_region(&HeaderMap::new(), Some("a=b")).unwrap(), None);
    }

    #[test]
    fn malformed_or_foreign_scopes_are_refused() {
        for (header, error) in [
            ("Basic dXNlcjpwYXNz", "IncompleteSignatureException"),
            (
                "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc",
                "IncompleteSignatureException",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=AKID/eu-west-1/apprunner/aws4_request",
                "IncompleteSignatureException",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=AKID/20260101/EU_WEST/apprunner/aws4_request",
                "InvalidSignatureException",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/s3/aws4_request",
                "InvalidSignatureException",
            ),
        ] {
            let err = signed(header).unwrap_err();
            assert_eq!(err.type_name(), error, "{header}");
        }
    }
}
