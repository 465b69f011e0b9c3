//! examples/hello-extension is a real extension: run the built binary against a local
//! stand-in for Lambda's Extensions API and check it registers, sees an INVOKE, and exits on
//! SHUTDOWN.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, body::Incoming};

use crate::support::{Reply, example_manifest, examples_target_dir, serve};

/// The Extensions API calls seen, as "METHOD path [header]".
type Seen = Arc<Mutex<Vec<String>>>;

async fn extensions_api(req: Request<Incoming>, seen: Seen) -> Reply {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let path = req.uri().path().to_string();
    let mut seen = seen.lock().unwrap();
    let response = match (req.method().as_str(), path.as_str()) {
        ("POST", "/2020-01-01/extension/register") => {
            seen.push(format!("register {}", header("Lambda-Extension-Name")));
            Response::builder()
                .header("Lambda-Extension-Identifier", "ext-123")
                .body(Full::new(Bytes::from_static(b"{}")))
        }
        ("GET", "/2020-01-01/extension/event/next") => {
            seen.push(format!("next {}", header("Lambda-Extension-Identifier")));
            let nexts = seen.iter().filter(|s| s.starts_with("next")).count();
            let event = if nexts == 1 {
                r#"{"eventType":"INVOKE","requestId":"req-1","deadlineMs":1}"#
            } else {
                r#"{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":1}"#
            };
            Response::builder().body(Full::new(Bytes::from(event)))
        }
        _ => Response::builder()
            .status(404)
            .body(Full::new(Bytes::new())),
    };
    Ok(response.unwrap())
}

/// Build the example (a no-op when it is fresh) and return its binary.
fn hello_binary() -> std::path::PathBuf {
    let target = examples_target_dir();
    let build = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(example_manifest("hello-extension"))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .unwrap();
    assert!(build.success());
    target.join("release/hello-extension")
}

#[test]
fn hello_extension_registers_handles_invoke_and_shuts_down() {
    let binary = hello_binary();

    let seen: Seen = Arc::default();
    let served = seen.clone();
    let address = serve(move |req| extensions_api(req, served.clone()));

    let output = std::process::Command::new(binary)
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        *seen.lock().unwrap(),
        ["register hello-extension", "next ext-123", "next ext-123"]
    );
    assert!(stderr.contains("registered"), "{stderr}");
    assert!(stderr.contains("invoke \"req-1\""), "{stderr}");
    assert!(stderr.contains("shutdown (\"spindown\")"), "{stderr}");
}

#[test]
fn hello_extension_explains_when_not_in_lambda() {
    let output = std::process::Command::new(hello_binary())
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("AWS_LAMBDA_RUNTIME_API is not set"));
}
