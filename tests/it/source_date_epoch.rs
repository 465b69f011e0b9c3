//! `SOURCE_DATE_EPOCH` is read from the process environment, which is global: this binary holds
//! exactly one test so nothing else can observe the variable while it is set.

use cargo_layer::pack::archive;
use zip::DateTime;

#[test]
fn source_date_epoch_is_honoured() {
    // SAFETY (edition 2024 `set_var`): the only test in this binary, so no other thread reads the
    // environment concurrently.
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
    assert!(err.message.contains("\"yesterday\""), "{err}");

    unsafe { std::env::remove_var("SOURCE_DATE_EPOCH") };
    assert_eq!(archive::timestamp().unwrap(), DateTime::default());
}
