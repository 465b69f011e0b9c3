//! A minimal external Lambda extension. Lambda starts every file in /opt/extensions; this one
//! registers with the Extensions API, then logs each INVOKE until SHUTDOWN.
//! API: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html

use std::error::Error;
use std::path::Path;

const API: &str = "2020-01-01";

fn main() -> Result<(), Box<dyn Error>> {
    let runtime_api = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .map_err(|_| "AWS_LAMBDA_RUNTIME_API is not set; this runs inside Lambda")?;
    // Lambda requires the registered name to be the file name under /opt/extensions.
    let argv0 = std::env::args().next().unwrap_or_default();
    let name = Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "hello-extension".into());
    let agent = ureq::Agent::new_with_defaults();

    let registered = agent
        .post(format!("http://{runtime_api}/{API}/extension/register"))
        .header("Lambda-Extension-Name", &name)
        .send(r#"{"events":["INVOKE","SHUTDOWN"]}"#)?;
    let id = registered
        .headers()
        .get("Lambda-Extension-Identifier")
        .ok_or("the register response has no Lambda-Extension-Identifier")?
        .to_str()?
        .to_owned();
    eprintln!("[{name}] registered");

    loop {
        // Blocks until Lambda has the next event for us.
        let mut response = agent
            .get(format!("http://{runtime_api}/{API}/extension/event/next"))
            .header("Lambda-Extension-Identifier", &id)
            .call()?;
        let event: serde_json::Value = serde_json::from_str(&response.body_mut().read_to_string()?)?;
        match event["eventType"].as_str() {
            Some("INVOKE") => eprintln!("[{name}] invoke {}", event["requestId"]),
            Some("SHUTDOWN") => {
                eprintln!("[{name}] shutdown ({})", event["shutdownReason"]);
                return Ok(());
            }
            other => eprintln!("[{name}] ignoring event {other:?}"),
        }
    }
}
