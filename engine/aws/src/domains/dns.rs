//! The Route 53 side of a custom domain: UPSERT the records a domain
//! needs in the stack's hosted zone, and DELETE exactly those again (a
//! record already gone, or changed by someone since, is left alone).

use apprun_engine::attributes::DnsRecord;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use crate::config::Ctx;
use crate::error::{ApiFailure, Class, SdkResultExt};
use crate::retry;

/// The TTL of the records apprun writes.
const TTL: i64 = 300;

/// A DNS name compared as Route 53 answers it: lower case, no final dot.
fn norm(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The failure for a change the SDK refused to build.
fn build_err(e: aws_sdk_route53::error::BuildError) -> ApiFailure {
    ApiFailure::new(
        "ChangeResourceRecordSets",
        Class::Invalid,
        format!("incomplete request: {e}"),
    )
}

/// One change of `action` for CNAME `record`.
fn change(action: ChangeAction, record: &DnsRecord) -> Result<Change, ApiFailure> {
    let set = ResourceRecordSet::builder()
        .name(&record.name)
        .r#type(RrType::Cname)
        .ttl(TTL)
        .resource_records(
            ResourceRecord::builder()
                .value(&record.value)
                .build()
                .map_err(build_err)?,
        )
        .build()
        .map_err(build_err)?;
    Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .map_err(build_err)
}

/// Sends one change batch to `zone`.
async fn send(
    ctx: &Ctx,
    zone: &str,
    changes: Vec<Change>,
    comment: &str,
) -> Result<(), ApiFailure> {
    let batch = ChangeBatch::builder()
        .comment(comment)
        .set_changes(Some(changes))
        .build()
        .map_err(build_err)?;
    let batch = &batch;
    retry::read(&ctx.settings, || async move {
        ctx.clients
            .route53
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(batch.clone())
            .send()
            .await
            .classify("ChangeResourceRecordSets")
    })
    .await
    .map(|_| ())
}

/// Creates or replaces the CNAME `records` in hosted zone `zone` (one
/// batch: all or none).
pub(super) async fn upsert(ctx: &Ctx, zone: &str, records: &[DnsRecord]) -> Result<(), ApiFailure> {
    let changes = records
        .iter()
        .map(|r| change(ChangeAction::Upsert, r))
        .collect::<Result<Vec<_>, _>>()?;
    send(ctx, zone, changes, "apprun: custom domain records").await
}

/// Whether CNAME `record` is in `zone` with its value (and so can be
/// deleted exactly as written).
async fn present(ctx: &Ctx, zone: &str, record: &DnsRecord) -> Result<bool, ApiFailure> {
    let out = retry::read(&ctx.settings, || async move {
        ctx.clients
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .start_record_name(&record.name)
            .start_record_type(RrType::Cname)
            .max_items(1)
            .send()
            .await
            .classify("ListResourceRecordSets")
    })
    .await?;
    let want = norm(&record.value);
    Ok(out.resource_record_sets().first().is_some_and(|set| {
        norm(set.name()) == norm(&record.name)
            && set.r#type() == &RrType::Cname
            && set
                .resource_records()
                .iter()
                .any(|r| norm(r.value()) == want)
            && set.ttl() == Some(TTL)
    }))
}

/// Deletes the CNAME `records` apprun wrote in `zone`; a record already
/// gone or changed since is left alone. Returns how many were deleted.
pub(super) async fn delete(
    ctx: &Ctx,
    zone: &str,
    records: &[DnsRecord],
) -> Result<usize, ApiFailure> {
    let mut deleted = 0;
    for record in records {
        if !present(ctx, zone, record).await? {
            continue;
        }
        let one = vec![change(ChangeAction::Delete, record)?];
        match send(ctx, zone, one, "apprun: custom domain removed").await {
            Ok(()) => deleted += 1,
            // Gone meanwhile (InvalidChangeBatch: not found).
            Err(f) if f.class == Class::Invalid && f.message.contains("not found") => {}
            Err(f) => return Err(f),
        }
    }
    Ok(deleted)
}
