//! The dashboard (`/ui`) in headless Chromium, as a person sees it: two functions with their
//! invocation counts, a failed invocation with its code and log line, a dead-lettered async event
//! whose Replay button runs it again, counts that move without a reload, and the Invoke form
//! running a bundled event.
//!
//! The screenshot lands in the test's output folder; `SCF_UPDATE_DASHBOARD_PNG=1` also copies it
//! to `docs/dashboard.png` (the README's picture).

use crate::support::browser::Browser;
use crate::support::host;

use std::time::{Duration, Instant};

use host::{get, python_bootstrap, python_path_env, send, start};
use http::Request;
use http_body_util::Full;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

fn config() -> Option<String> {
    let bootstrap = python_bootstrap()?;
    let path = python_path_env();
    let mut text = String::from(
        "[server]\nlisten = \"127.0.0.1:0\"\nasync_retry_num = 0\nasync_retry_interval_s = 0.2\n",
    );
    for name in ["orders", "billing"] {
        text.push_str(&format!(
            "\n[functions.{name}]\nbootstrap = \"{}\"\nenv = {{ PATH = \"{path}\" }}\n",
            bootstrap.display()
        ));
    }
    text.push_str(
        "\n[[functions.orders.triggers]]\ntype = \"timer\"\nname = \"nightly\"\ncron = \"0 0 2 * * * *\"\n",
    );
    Some(text)
}

/// Whether the first element matching `css` has exactly `text`, as a script.
fn text_is(css: &str, text: &str) -> String {
    format!(
        "const e = document.querySelector({}); return e !== null && e.textContent === {};",
        json!(css),
        json!(text)
    )
}

/// The text of the first element matching `css`, as a script expression (`null` when absent).
fn text_of(css: &str) -> String {
    format!(
        "const e = document.querySelector({}); return e ? e.textContent : null;",
        json!(css)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_sees_functions_errors_dead_letters_and_live_counts() {
    let Some(config) = config() else { return };
    let server = start("dashboard", &config);
    server.wait_for_line(&["dashboard: http://", "/ui"]).await;

    // Two good orders, one that fails with a log line, and a payment that dead-letters.
    for n in 1..=2 {
        let r = server
            .invoke("orders", json!({ "order": n }).to_string())
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let r = server
        .invoke(
            "orders",
            r#"{"print": ["computing totals for order 7"], "error": "totals do not add up"}"#,
        )
        .await;
    assert_eq!(r.status, 430, "{:?}", r.body);
    let failed_id = r.request_id();
    let request = Request::post("/functions/billing/invocations")
        .header("host", "localhost")
        .header("x-scf-invocation-type", "Event")
        .body(Full::new(
            r#"{"print": ["charging card"], "error": "card declined"}"#.into(),
        ))
        .unwrap();
    let accepted = send(server.addr, request).await;
    assert_eq!(accepted.status, 202);
    let dead_id = accepted.request_id();
    let addr = server.addr;
    let event =
        |id: String| async move { send(addr, get(&format!("/async/events/{id}"))).await.json() };
    let deadline = Instant::now() + WAIT;
    while event(dead_id.clone()).await["status"] != "FAILED" {
        assert!(Instant::now() < deadline, "the payment never dead-lettered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let browser = match Browser::start().await {
        Ok(browser) => browser,
        Err(reason) => {
            eprintln!("SKIPPED: {reason}");
            return;
        }
    };
    browser
        .goto(&format!("http://{}/ui#fn=orders", server.addr))
        .await;

    // Both functions, with their invocation counts.
    let orders = r#"#functions tr[data-function="orders"] td.invocations"#;
    let billing = r#"#functions tr[data-function="billing"] td.invocations"#;
    browser
        .wait_for("orders with 3 invocations", WAIT, &text_is(orders, "3"))
        .await;
    assert_eq!(browser.js(&text_of(billing)).await, "1");
    assert_eq!(
        browser
            .js(&text_of(
                r#"#functions tr[data-function="orders"] td.errors"#
            ))
            .await,
        "1"
    );
    assert_eq!(
        browser
            .js(&text_of(
                r#"#functions tr[data-function="orders"] td.triggers"#
            ))
            .await,
        "timer"
    );

    // The failed order: its code and message in the list, its log line once clicked.
    let failed_row = format!(r#"#recent tr.invocation[data-request-id="{failed_id}"]"#);
    browser
        .wait_for(
            "the failed invocation",
            WAIT,
            &text_of(&format!("{failed_row} td.status")),
        )
        .await;
    assert_eq!(
        browser
            .js(&text_of(&format!("{failed_row} td.status")))
            .await,
        "430"
    );
    assert_eq!(
        browser
            .js(&text_of(&format!("{failed_row} td.error-message")))
            .await,
        "totals do not add up"
    );
    browser.click(&failed_row).await;
    let log = browser
        .wait_for(
            "the failed invocation's log",
            WAIT,
            &text_of(&format!(
                r#"tr.log-row[data-log-for="{failed_id}"] pre.log"#
            )),
        )
        .await;
    assert!(
        log.as_str()
            .unwrap()
            .contains("computing totals for order 7"),
        "{log}"
    );

    // The dead letter, with its error; Replay runs it again.
    let dead_row = format!(r#"#events tr.event[data-request-id="{dead_id}"]"#);
    browser
        .wait_for(
            "the dead-lettered payment",
            WAIT,
            &text_of(&format!("{dead_row} button.replay")),
        )
        .await;
    assert_eq!(
        browser.js(&text_of(&format!("{dead_row} td.status"))).await,
        "DEAD-LETTERED"
    );
    assert_eq!(
        browser
            .js(&text_of(&format!("{dead_row} td.error-message")))
            .await,
        "430 card declined"
    );
    assert_eq!(
        browser
            .js(&text_of(
                r#"#event-counts tr[data-function="billing"] td.dead-lettered"#
            ))
            .await,
        "1"
    );
    let snapshot = browser.screenshot().await;
    let loaded_at = browser.js("return window.scfDashboard.loadedAt;").await;
    browser.click(&format!("{dead_row} button.replay")).await;
    browser
        .wait_for(
            "billing run again after Replay",
            WAIT,
            &text_is(billing, "2"),
        )
        .await;
    let replayed: Value = event(dead_id.clone()).await;
    assert_ne!(replayed["status"], "FINISHED", "{replayed}");

    // One more order from outside the page: the count moves without a reload.
    let before = browser
        .js("return window.scfDashboard.snapshots;")
        .await
        .as_u64()
        .unwrap();
    let r = server.invoke("orders", r#"{"order": 8}"#).await;
    assert_eq!(r.status, 200);
    browser
        .wait_for("orders with 4 invocations", WAIT, &text_is(orders, "4"))
        .await;
    assert_eq!(
        browser.js("return window.scfDashboard.loadedAt;").await,
        loaded_at,
        "the page was reloaded"
    );
    let after = browser
        .js("return window.scfDashboard.snapshots;")
        .await
        .as_u64()
        .unwrap();
    assert!(after > before, "no snapshot arrived ({before} -> {after})");

    // The Invoke form: a bundled timer event (orders has a timer), run, its answer shown.
    browser
        .js(
            "const s = document.querySelector('#fixture'); s.value = 'timer-doc'; \
             s.dispatchEvent(new Event('change')); return null;",
        )
        .await;
    browser
        .wait_for(
            "the timer fixture in the form",
            WAIT,
            "return document.querySelector('#payload').value.includes('\"Type\": \"Timer\"');",
        )
        .await;
    browser.click("#invoke-button").await;
    let result = browser
        .wait_for(
            "the invocation's answer",
            WAIT,
            "const t = document.querySelector('#invoke-result').textContent; \
             return t.includes('── log ──') ? t : null;",
        )
        .await;
    let result = result.as_str().unwrap();
    assert!(result.starts_with("HTTP 200"), "{result}");
    assert!(result.contains("TriggerName"), "{result}");
    browser
        .wait_for("orders with 5 invocations", WAIT, &text_is(orders, "5"))
        .await;

    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    std::fs::write(&out, &snapshot).unwrap();
    assert!(snapshot.starts_with(b"\x89PNG"), "not a PNG");
    println!("screenshot: {}", out.display());
    if std::env::var_os("SCF_UPDATE_DASHBOARD_PNG").is_some() {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join("dashboard.png"), &snapshot).unwrap();
        println!("copied to {}", docs.join("dashboard.png").display());
    }
}
