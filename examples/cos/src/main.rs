//! COS: `cargo run -p example-cos` under a host (`scf-runtime-server`) with a COS trigger,
//! or with `SCF_RUNTIME_API`/`SCF_RUNTIME_API_PORT` pointing at a runtime API.
//!
//! Lists the objects an upload notification names. A notification with no records is
//! answered with an `EmptyNotification` error (the error's type name becomes the
//! platform's `errorType`).

use scf::events::cos::CosEvent;
use serde::Serialize;

/// One uploaded object.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Upload {
    /// The bucket's name.
    pub bucket: String,
    /// The object key inside the bucket.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A notification that names no object.
#[derive(Debug)]
pub struct EmptyNotification;

impl std::fmt::Display for EmptyNotification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the COS notification has no records")
    }
}

impl std::error::Error for EmptyNotification {}

/// Lists the uploaded objects.
#[scf::function]
pub async fn handler(
    event: CosEvent,
    ctx: &scf::Context,
) -> Result<Vec<Upload>, EmptyNotification> {
    if event.records.is_empty() {
        return Err(EmptyNotification);
    }
    let uploads: Vec<Upload> = event
        .records
        .iter()
        .map(|record| Upload {
            bucket: record.cos.cos_bucket.name.clone(),
            key: record.cos.cos_object.object_key().to_owned(),
            size: record.cos.cos_object.size,
        })
        .collect();
    scf::tracing::info!(
        request_id = ctx.request_id(),
        count = uploads.len(),
        "uploads"
    );
    Ok(uploads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lists_the_bundled_put_notification() {
        let raw = scf::events::fixtures::get("cos-put").expect("the cos-put fixture is bundled");
        let event: CosEvent = serde_json::from_str(raw).unwrap();
        let uploads = handler(event, &scf::Context::default()).await.unwrap();
        assert_eq!(
            uploads,
            [Upload {
                bucket: "testpic".into(),
                key: "testfile".into(),
                size: 1029
            }]
        );
    }

    #[tokio::test]
    async fn an_empty_notification_is_an_error() {
        let event: CosEvent = serde_json::from_str(r#"{"Records": []}"#).unwrap();
        let err = handler(event, &scf::Context::default()).await.unwrap_err();
        assert_eq!(err.to_string(), "the COS notification has no records");
    }
}
