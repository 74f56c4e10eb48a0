//! A small stand-in for SCF's Cloud API on 127.0.0.1:0, for the client tests: it records every
//! action it receives, checks TC3 signatures when given a key pair, and answers like SCF for the
//! actions `cargo scf deploy`, `logs`, `info` and `remove` send (a created or updated function
//! is `Creating` / `Updating` for one `GetFunction`, then `Active`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::{Value, json};

use scf_runtime_server::http::cloud::tc3::Verifier;

/// One request as received.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) action: String,
    pub(crate) params: Value,
    pub(crate) signed: bool,
}

#[derive(Debug, Default)]
struct Function {
    config: Value,
    /// `GetFunction` calls left before `Active`.
    busy: u32,
    busy_status: &'static str,
    versions: Vec<String>,
    triggers: Vec<Value>,
    aliases: BTreeMap<String, Value>,
    async_config: Option<Value>,
}

#[derive(Debug, Default)]
struct Fake {
    received: Vec<Received>,
    functions: BTreeMap<String, Function>,
    logs: Vec<Value>,
}

type Shared = (Arc<Mutex<Fake>>, Option<Arc<Verifier>>);

/// The running fake; stops when dropped.
pub(crate) struct FakeCloud {
    pub(crate) url: String,
    state: Arc<Mutex<Fake>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeCloud {
    /// Starts the fake; with `secret`, every request must be signed with that pair.
    pub(crate) fn start(secret: Option<(&str, &str)>) -> FakeCloud {
        let state = Arc::new(Mutex::new(Fake::default()));
        let verifier = secret.map(|(id, key)| Arc::new(Verifier::new(id, key)));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared: Shared = (state.clone(), verifier);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new()
                    .route("/", post(answer))
                    .with_state(shared);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        FakeCloud {
            url,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The actions received so far, in order.
    pub(crate) fn actions(&self) -> Vec<String> {
        self.received().into_iter().map(|r| r.action).collect()
    }

    /// Every request received so far.
    pub(crate) fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Forgets the requests received so far.
    pub(crate) fn clear(&self) {
        self.state.lock().unwrap().received.clear();
    }

    /// The stored configuration of `name` (as `GetFunction` answers it).
    pub(crate) fn function(&self, name: &str) -> Option<Value> {
        let fake = self.state.lock().unwrap();
        fake.functions.get(name).map(|f| f.config.clone())
    }

    /// Adds a `GetFunctionLogs` entry.
    pub(crate) fn add_log(&self, entry: Value) {
        self.state.lock().unwrap().logs.push(entry);
    }
}

impl Drop for FakeCloud {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn error(code: &str, message: &str) -> Value {
    json!({"Error": {"Code": code, "Message": message}})
}

async fn answer(
    State((state, verifier)): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::Json<Value> {
    let action = headers
        .get("x-tc-action")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let signed = headers.contains_key("authorization");
    let mut response = match &verifier {
        Some(v) => {
            let now = chrono::Utc::now().timestamp();
            match v.verify("POST", "", &headers, &body, now) {
                Ok(()) => None,
                Err(e) => Some(error(e.code, &e.message)),
            }
        }
        None => None,
    };
    let mut fake = state.lock().unwrap();
    fake.received.push(Received {
        action: action.clone(),
        params: params.clone(),
        signed,
    });
    if response.is_none() {
        response = Some(act(&mut fake, &action, &params));
    }
    let mut response = response.unwrap_or_default();
    response["RequestId"] = json!(format!("fake-{}", fake.received.len()));
    axum::Json(json!({ "Response": response }))
}

fn act(fake: &mut Fake, action: &str, p: &Value) -> Value {
    let name = p["FunctionName"].as_str().unwrap_or_default().to_owned();
    if action == "CreateFunction" {
        let mut config = p.clone();
        config.as_object_mut().unwrap().remove("Code");
        fake.functions.insert(
            name,
            Function {
                config,
                busy: 1,
                busy_status: "Creating",
                ..Function::default()
            },
        );
        return json!({});
    }
    if action == "GetFunctionLogs" {
        let failed_only = p["Filter"]["RetCode"] == "not0";
        let data: Vec<Value> = fake
            .logs
            .iter()
            .filter(|l| !failed_only || l["RetCode"] != 0)
            .cloned()
            .collect();
        return json!({"Data": data, "TotalCount": data.len()});
    }
    if action == "DeleteFunction" {
        return match fake.functions.remove(&name) {
            Some(_) => json!({}),
            None => error(
                "ResourceNotFound.Function",
                &format!("function {name} does not exist"),
            ),
        };
    }
    let Some(f) = fake.functions.get_mut(&name) else {
        return error(
            "ResourceNotFound.Function",
            &format!("function {name} does not exist"),
        );
    };
    let busy = |f: &mut Function, status: &'static str| {
        f.busy = 1;
        f.busy_status = status;
    };
    match action {
        "GetFunction" => {
            let mut answer = f.config.clone();
            if f.busy > 0 {
                f.busy -= 1;
                answer["Status"] = json!(f.busy_status);
            } else {
                answer["Status"] = json!("Active");
            }
            answer
        }
        "UpdateFunctionCode" => {
            busy(f, "Updating");
            json!({})
        }
        "UpdateFunctionConfiguration" => {
            for (k, v) in p.as_object().unwrap() {
                f.config[k] = v.clone();
            }
            busy(f, "Updating");
            json!({})
        }
        "ListTriggers" => json!({"Triggers": f.triggers, "TotalCount": f.triggers.len()}),
        "CreateTrigger" => {
            f.triggers.push(json!({
                "Type": p["Type"], "TriggerName": p["TriggerName"],
                "TriggerDesc": json!({"cron": p["TriggerDesc"]}).to_string(),
                "CustomArgument": p["CustomArgument"], "Enable": 1,
            }));
            json!({})
        }
        "DeleteTrigger" => {
            f.triggers.retain(|t| t["TriggerName"] != p["TriggerName"]);
            json!({})
        }
        "GetFunctionEventInvokeConfig" => match &f.async_config {
            Some(c) => json!({"AsyncTriggerConfig": c}),
            None => {
                json!({"AsyncTriggerConfig": {"RetryConfig": [{"RetryNum": 2}], "MsgTTL": 21600}})
            }
        },
        "UpdateFunctionEventInvokeConfig" => {
            f.async_config = Some(p["AsyncTriggerConfig"].clone());
            json!({})
        }
        "PublishVersion" => {
            let version = (f.versions.len() + 1).to_string();
            f.versions.push(version.clone());
            busy(f, "Publishing");
            json!({"FunctionVersion": version})
        }
        "ListVersionByFunction" => {
            let mut versions = vec![json!({"Version": "$LATEST"})];
            versions.extend(f.versions.iter().map(|v| json!({"Version": v})));
            json!({"Versions": versions, "TotalCount": versions.len()})
        }
        "GetAlias" => match f.aliases.get(p["Name"].as_str().unwrap_or_default()) {
            Some(alias) => alias.clone(),
            None => error("ResourceNotFound.Alias", "no such alias"),
        },
        "CreateAlias" | "UpdateAlias" => {
            let alias = json!({"Name": p["Name"], "FunctionVersion": p["FunctionVersion"], "RoutingConfig": p["RoutingConfig"]});
            f.aliases
                .insert(p["Name"].as_str().unwrap_or_default().to_owned(), alias);
            json!({})
        }
        "ListAliases" => {
            let aliases: Vec<&Value> = f.aliases.values().collect();
            json!({"Aliases": aliases, "TotalCount": aliases.len()})
        }
        other => error("InvalidAction", &format!("the fake does not do {other}")),
    }
}
