//! `SOURCE_DATE_EPOCH` is read from the process environment, which every test thread shares: the
//! test runs again in a child process of this binary that holds only this test, and sets the
//! variable there, so nothing else can observe it while it is set.

use std::process::Command;

use cargo_layer::pack::archive;
use zip::DateTime;

/// Set in the child process that runs the test body.
const ALONE: &str = "CARGO_LAYER_TEST_ALONE";

#[test]
fn source_date_epoch_is_honoured() {
    if std::env::var_os(ALONE).is_none() {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "source_date_epoch::source_date_epoch_is_honoured",
                "--test-threads=1",
            ])
            .env(ALONE, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("test result: ok. 1 passed"), "{stdout}");
        return;
    }
    // SAFETY (edition 2024 `set_var`): this process runs only this test, so no other thread
    // reads the environment concurrently.
    unsafe { std::env::remove_var("SOURCE_DATE_EPOCH") };
    assert_eq!(archive::timestamp().unwrap(), DateTime::default());

    unsafe { std::env::set_var("SOURCE_DATE_EPOCH", "1700000000") };
    assert_eq!(
        archive::timestamp().unwrap().to_string(),
        "2023-11-14 22:13:20"
    );

    unsafe { std::env::set_var("SOURCE_DATE_EPOCH", " 1700000000\n") };
    assert_eq!(
        archive::timestamp().unwrap(),
        archive::datetime_from_epoch(1_700_000_000),
        "surrounding whitespace is ignored"
    );

    unsafe { std::env::set_var("SOURCE_DATE_EPOCH", "0") };
    assert_eq!(
        archive::timestamp().unwrap(),
        DateTime::default(),
        "clamped to 1980"
    );

    unsafe { std::env::set_var("SOURCE_DATE_EPOCH", "yesterday") };
    let err = archive::timestamp().unwrap_err();
    assert_eq!(
        err.exit_code(),
        3,
        "a bad SOURCE_DATE_EPOCH is a config error"
    );
    assert!(err.to_string().contains("\"yesterday\""), "{err}");

    unsafe { std::env::remove_var("SOURCE_DATE_EPOCH") };
    assert_eq!(archive::timestamp().unwrap(), DateTime::default());
}
