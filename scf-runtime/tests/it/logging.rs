//! The default log line format names the request of every line logged in an invocation.

use std::io::Write;
use std::sync::{Arc, Mutex};

use scf_runtime::testing::{EventOptions, MockApi};
use scf_runtime::tracing::{ScfFormat, ScfJsonFormat};
use scf_runtime::{Context, Error, Runtime, service_fn};
use serde_json::Value;
use tracing_subscriber::Registry;
use tracing_subscriber::fmt::FormatEvent;
use tracing_subscriber::fmt::format::DefaultFields;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs one invocation with request id `request_id` under a subscriber using `format`, the
/// handler calling `inside`, then calls `outside`; returns everything written.
async fn logged<F>(format: F, request_id: &str, inside: fn(), outside: fn()) -> String
where
    F: FormatEvent<Registry, DefaultFields> + Send + Sync + 'static,
{
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .event_format(format)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mock = MockApi::start().await;
    mock.push_event_with("{}", EventOptions::default().request_id(request_id));
    let service = service_fn(move |event: Value, _: Context| async move {
        inside();
        Ok::<_, Error>(event)
    });
    Runtime::new(service)
        .config(mock.config())
        .max_invocations(1)
        .run()
        .await
        .unwrap();
    outside();
    String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
}

#[tokio::test]
async fn lines_carry_time_request_id_and_level() {
    let text = logged(
        ScfFormat,
        "req-42",
        || {
            tracing::info!(user = "ann", "created the user");
            tracing::warn!("quota almost used");
        },
        || tracing::info!("outside any invocation"),
    )
    .await;
    let lines: Vec<&str> = text.lines().collect();
    let created = lines
        .iter()
        .find(|l| l.contains("created the user"))
        .unwrap_or_else(|| panic!("no handler line in {text}"));
    let fields: Vec<&str> = created.split('\t').collect();
    assert_eq!(fields.len(), 4, "{created}");
    assert!(
        fields[0].ends_with('Z') && fields[0].len() == 24,
        "{created}"
    );
    assert_eq!(fields[1], "req-42");
    assert_eq!(fields[2], "INFO");
    assert!(fields[3].contains("user=\"ann\""), "{created}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("req-42\tWARN\tquota almost used")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\t-\tINFO\toutside any invocation")),
        "{text}"
    );
}

#[tokio::test]
async fn json_lines_carry_the_same_and_typed_fields() {
    let text = logged(
        ScfJsonFormat,
        "req-7",
        || {
            tracing::info!(
                user = "ann",
                id = 42,
                admin = true,
                ratio = 0.5,
                "created \"the\" user"
            )
        },
        || tracing::warn!(target: "outside", "no invocation"),
    )
    .await;
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let created = lines
        .iter()
        .find(|l| l["message"] == "created \"the\" user")
        .unwrap_or_else(|| panic!("no handler line in {text}"));
    assert_eq!(created["requestId"], "req-7");
    assert_eq!(created["level"], "INFO");
    // The target is the module that logged.
    assert_eq!(created["target"], module_path!());
    assert_eq!(
        created["fields"],
        serde_json::json!({"user": "ann", "id": 42, "admin": true, "ratio": 0.5})
    );
    let timestamp = created["timestamp"].as_str().unwrap();
    assert!(
        timestamp.ends_with('Z') && timestamp.len() == 24,
        "{timestamp}"
    );
    // Keys in a fixed order, timestamp first.
    let first = text.lines().find(|l| l.contains("req-7")).unwrap();
    assert!(first.starts_with("{\"timestamp\":"), "{first}");
    let outside = lines
        .iter()
        .find(|l| l["message"] == "no invocation")
        .unwrap_or_else(|| panic!("no outside line in {text}"));
    assert_eq!(outside["requestId"], Value::Null);
    assert_eq!(outside["level"], "WARN");
    assert!(outside.get("fields").is_none(), "{outside}");
}
