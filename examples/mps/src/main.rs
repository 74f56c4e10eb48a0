//! MPS: turns a media-processing task event into a report a publishing step can act on: the
//! task's state, the files it produced, and the sub-tasks that failed.
//!
//! Shows the MPS event: `EventType` says which of `WorkflowTaskEvent` / `EditMediaTaskEvent` is
//! set; statuses are enums that keep unknown values (`MpsTaskStatus::Other`); most objects may be
//! `null`; each sub-task's `Input` / `Output` stays JSON, read here with JSON pointers. An event
//! whose task object is missing is answered with a typed error (`errorType` = `MissingTask`).
//!
//! Try it: `cargo run -p scf-runtime-server -- serve` hosts it as `mps`, then
//! `cargo run -p scf-runtime-server -- invoke mps --event mps:workflow` (or `mps:edit-media`), or
//! `curl --data-binary @scf-events/fixtures/mps-workflow.json http://127.0.0.1:9000/functions/mps/invocations`.

use scf::events::mps::{
    MpsEvent, MpsEventType, MpsMediaProcessResult, MpsResultStatus, MpsTaskStatus,
};
use serde::Serialize;
use serde_json::Value;

/// Where the task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting or processing: nothing to publish yet.
    Processing,
    /// Finished, every sub-task succeeded.
    Succeeded,
    /// Finished with at least one failure.
    Failed,
}

/// A file the task produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Output {
    /// The sub-task, e.g. `Transcode`.
    pub kind: String,
    /// The output path (or URL).
    pub path: String,
    /// Its size in bytes, when MPS reports it.
    pub size: Option<u64>,
}

/// A sub-task that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The sub-task, e.g. `SampleSnapshot`.
    pub kind: String,
    /// MPS's error code.
    pub code: i64,
    /// MPS's message.
    pub message: String,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskReport {
    /// The task id.
    pub task_id: String,
    /// `WorkflowTask` or `EditMediaTask`.
    pub event_type: String,
    /// The input, as `cos://bucket/object` when it is a COS object.
    pub input: Option<String>,
    /// Where the task stands.
    pub state: State,
    /// The files produced so far.
    pub outputs: Vec<Output>,
    /// The failed sub-tasks.
    pub failures: Vec<Failure>,
}

/// The event names a task type but carries no task object.
#[derive(Debug)]
pub struct MissingTask(String);

impl std::fmt::Display for MissingTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the MPS event of type {:?} carries no task", self.0)
    }
}

impl std::error::Error for MissingTask {}

/// Reports on the task the event is about.
#[scf::function]
pub async fn handler(event: MpsEvent, ctx: scf::Context) -> Result<TaskReport, MissingTask> {
    let missing = || MissingTask(event.event_type.to_string());
    let report = match &event.event_type {
        MpsEventType::WorkflowTask => {
            let task = event.workflow_task_event.as_ref().ok_or_else(missing)?;
            let mut outputs = Vec::new();
            let mut failures = Vec::new();
            for result in &task.media_process_result_set {
                sub_task(result, &mut outputs, &mut failures);
            }
            TaskReport {
                task_id: task.task_id.clone(),
                event_type: event.event_type.to_string(),
                input: task
                    .input_info
                    .as_ref()
                    .and_then(|input| input.cos_input_info.as_ref())
                    .map(|cos| format!("cos://{}{}", cos.bucket, with_slash(&cos.object))),
                state: state(&task.status, task.err_code, &failures),
                outputs,
                failures,
            }
        }
        MpsEventType::EditMediaTask => {
            let task = event.edit_media_task_event.as_ref().ok_or_else(missing)?;
            let mut failures = Vec::new();
            if task.err_code != 0 {
                failures.push(Failure {
                    kind: "EditMedia".to_owned(),
                    code: task.err_code,
                    message: task.message.clone(),
                });
            }
            TaskReport {
                task_id: task.task_id.clone(),
                event_type: event.event_type.to_string(),
                input: cos_path(&task.input, "/FileInfoSet/0/Input/CosInputInfo"),
                state: state(&task.status, task.err_code, &failures),
                outputs: output_path(&task.output)
                    .map(|path| Output {
                        kind: "EditMedia".to_owned(),
                        path,
                        size: task.output.pointer("/Size").and_then(Value::as_u64),
                    })
                    .into_iter()
                    .collect(),
                failures,
            }
        }
        _ => return Err(missing()),
    };
    scf::tracing::info!(
        request_id = ctx.request_id(),
        task = %report.task_id,
        state = ?report.state,
        "task report"
    );
    Ok(report)
}

fn sub_task(
    result: &MpsMediaProcessResult,
    outputs: &mut Vec<Output>,
    failures: &mut Vec<Failure>,
) {
    let Some(task) = result.task() else {
        return;
    };
    match task.status {
        MpsResultStatus::Success => outputs.extend(output_path(&task.output).map(|path| Output {
            kind: result.kind.clone(),
            path,
            size: task.output.pointer("/Size").and_then(Value::as_u64),
        })),
        MpsResultStatus::Fail => failures.push(Failure {
            kind: result.kind.clone(),
            code: task.err_code,
            message: task.message.clone(),
        }),
        _ => {}
    }
}

fn state(status: &MpsTaskStatus, err_code: i64, failures: &[Failure]) -> State {
    match status {
        MpsTaskStatus::Finish if err_code == 0 && failures.is_empty() => State::Succeeded,
        MpsTaskStatus::Finish => State::Failed,
        _ => State::Processing,
    }
}

/// An output's `Path`, or its `FileUrl`.
fn output_path(output: &Value) -> Option<String> {
    ["/Path", "/FileUrl"]
        .iter()
        .find_map(|p| output.pointer(p).and_then(Value::as_str))
        .map(str::to_owned)
}

/// `cos://bucket/object` from a `CosInputInfo` object found at `pointer`.
fn cos_path(input: &Value, pointer: &str) -> Option<String> {
    let cos = input.pointer(pointer)?;
    let bucket = cos.get("Bucket")?.as_str()?;
    let object = cos.get("Object")?.as_str()?;
    Some(format!("cos://{bucket}{}", with_slash(object)))
}

fn with_slash(object: &str) -> String {
    if object.starts_with('/') {
        object.to_owned()
    } else {
        format!("/{object}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> MpsEvent {
        let raw = scf::events::fixtures::get(name).expect("the fixture is bundled");
        serde_json::from_str(raw).unwrap()
    }

    async fn report(event: MpsEvent) -> Result<TaskReport, MissingTask> {
        handler(event, scf::Context::default()).await
    }

    #[tokio::test]
    async fn a_finished_workflow_lists_its_transcode() {
        let report = report(fixture("mps-workflow")).await.unwrap();
        assert_eq!(report.state, State::Succeeded);
        assert_eq!(report.event_type, "WorkflowTask");
        assert_eq!(
            report.input.as_deref(),
            Some("cos://mps-input-1250000000/input/demo.mp4")
        );
        assert_eq!(
            report.outputs,
            [Output {
                kind: "Transcode".into(),
                path: "/output/demo_transcode_10.mp4".into(),
                size: Some(7_460_874),
            }]
        );
        assert!(report.failures.is_empty());
    }

    #[tokio::test]
    async fn an_edit_still_processing_has_nothing_to_publish() {
        let report = report(fixture("mps-edit-media")).await.unwrap();
        assert_eq!(report.state, State::Processing);
        assert_eq!(
            report.input.as_deref(),
            Some("cos://mps-input-1250000000/input/a.mp4")
        );
        assert!(report.outputs.is_empty() && report.failures.is_empty());
    }

    #[tokio::test]
    async fn a_failed_sub_task_fails_the_report() {
        let mut event = serde_json::to_value(fixture("mps-workflow")).unwrap();
        event["WorkflowTaskEvent"]["MediaProcessResultSet"]
            .as_array_mut()
            .unwrap()
            .push(json!({
                "Type": "SampleSnapshot",
                "TranscodeTask": null,
                "SampleSnapshotTask": {"Status": "FAIL", "ErrCode": 30010,
                                       "Message": "source file error", "Input": {}, "Output": null}
            }));
        let report = report(serde_json::from_value(event).unwrap())
            .await
            .unwrap();
        assert_eq!(report.state, State::Failed);
        assert_eq!(report.outputs.len(), 1);
        assert_eq!(
            report.failures,
            [Failure {
                kind: "SampleSnapshot".into(),
                code: 30010,
                message: "source file error".into(),
            }]
        );
    }

    #[tokio::test]
    async fn a_finished_edit_reports_its_file() {
        let event: MpsEvent = serde_json::from_value(json!({
            "EventType": "EditMediaTask",
            "EditMediaTaskEvent": {"TaskId": "t-2", "Status": "FINISH", "ErrCode": 0,
                                   "Message": "", "Input": null,
                                   "Output": {"FileUrl": "https://example.com/out.mp4"}}
        }))
        .unwrap();
        let report = report(event).await.unwrap();
        assert_eq!(report.state, State::Succeeded);
        assert_eq!(report.input, None);
        assert_eq!(report.outputs[0].path, "https://example.com/out.mp4");
    }

    #[tokio::test]
    async fn a_missing_task_object_is_a_typed_error() {
        let event: MpsEvent = serde_json::from_str(r#"{"EventType":"WorkflowTask"}"#).unwrap();
        let err = report(event).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"the MPS event of type "WorkflowTask" carries no task"#
        );
        let unknown: MpsEvent = serde_json::from_str(r#"{"EventType":"LiveTask"}"#).unwrap();
        assert!(report(unknown).await.is_err());
    }
}
