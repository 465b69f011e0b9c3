//! Where the local emulator differs from AWS, these tests replay real AWS answers through
//! aws-smithy-mocks: a duplicate statement ID is a ResourceConflictException (moto stores it
//! twice), policies come back in the `{"AWS":"arn:...:root"}` / PrincipalOrgID form (moto keeps
//! the raw request), listings really page with NextMarker (moto ignores MaxItems), and a layer
//! that was never published answers ResourceNotFoundException.

use aws_sdk_lambda::Client;
use aws_sdk_lambda::operation::add_layer_version_permission::AddLayerVersionPermissionOutput;
use aws_sdk_lambda::operation::delete_layer_version::DeleteLayerVersionOutput;
use aws_sdk_lambda::operation::get_layer_version::GetLayerVersionOutput;
use aws_sdk_lambda::operation::get_layer_version_policy::GetLayerVersionPolicyOutput;
use aws_sdk_lambda::operation::list_layer_versions::ListLayerVersionsOutput;
use aws_sdk_lambda::types::{LayerVersionContentOutput, LayerVersionsListItem};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use cargo_layer::aws::Aws;
use cargo_layer::aws::dedupe;
use cargo_layer::aws::grant::{self, Wanted};
use cargo_layer::aws::layers::{LayerApi, Version};
use cargo_layer::aws::policy::Grantee;
use cargo_layer::commands::once;
use cargo_layer::output::progress::Progress;
use cargo_layer::schema::GrantStatus as Status;

use crate::support::block_on;

const LAYER: &str = "hello";
const ARN: &str = "arn:aws:lambda:eu-central-1:111111111111:layer:hello";
const CODE: &str = "88NlK8yq5ogouk7uW0BstGjk5o7cLMPlCUFKc+rooak=";

fn aws_with(rules: &[&Rule]) -> Aws {
    Aws {
        lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, rules),
        sts: mock_client!(aws_sdk_sts, RuleMode::MatchAny, &[]),
        region: "eu-central-1".into(),
        max_attempts: 3,
    }
}

/// An error exactly as Lambda sends it: status, `x-amzn-ErrorType`, JSON body.
fn aws_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(r#"{{"Type":"User","message":"{message}"}}"#)),
    );
    response
        .headers_mut()
        .insert("x-amzn-ErrorType", code.to_string());
    response
        .headers_mut()
        .insert("content-type", "application/json");
    response
}

/// GetLayerVersionPolicy as real AWS answers it.
fn policy_with(statements: &[&str]) -> GetLayerVersionPolicyOutput {
    GetLayerVersionPolicyOutput::builder()
        .policy(format!(
            r#"{{"Version":"2012-10-17","Id":"default","Statement":[{}]}}"#,
            statements.join(",")
        ))
        .revision_id("d5b1c1c4-0000-0000-0000-000000000000")
        .build()
}

fn account_statement(sid: &str, account: &str) -> String {
    format!(
        r#"{{"Sid":"{sid}","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"lambda:GetLayerVersion","Resource":"{ARN}:3"}}"#
    )
}

const ORG_STATEMENT: &str = r#"{"Sid":"cargo-layer-prod-org-o-abcdefghij","Effect":"Allow","Principal":"*","Action":"lambda:GetLayerVersion","Resource":"arn:aws:lambda:eu-central-1:111111111111:layer:hello:3","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abcdefghij"}}}"#;

fn wanted() -> Vec<Wanted> {
    vec![
        Wanted {
            stage: "dev".into(),
            grantee: Grantee::Account("222222222222".into()),
        },
        Wanted {
            stage: "prod".into(),
            grantee: Grantee::Organization("o-abcdefghij".into()),
        },
    ]
}

#[test]
fn grants_in_the_aws_policy_form_are_recognised_and_not_added_again() {
    let dev = account_statement("cargo-layer-dev-222222222222", "222222222222");
    let get = mock!(Client::get_layer_version_policy)
        .then_output(move || policy_with(&[&dev, ORG_STATEMENT]));
    let add = mock!(Client::add_layer_version_permission)
        .then_output(|| AddLayerVersionPermissionOutput::builder().build());
    let aws = aws_with(&[&get, &add]);
    let layer = LayerApi {
        aws,
        name: LAYER.into(),
    };
    let results = block_on(grant::apply(
        &layer,
        3,
        &wanted(),
        false,
        &Progress::silent(),
    ))
    .unwrap();
    assert!(
        results.iter().all(|r| r.status == Status::Present),
        "{results:?}"
    );
    assert_eq!(add.num_calls(), 0, "nothing is added twice");
}

#[test]
fn a_duplicate_statement_id_conflict_reads_the_policy_again_and_counts_as_present() {
    // A concurrent run added the statement between our read and our write.
    let dev = account_statement("cargo-layer-dev-222222222222", "222222222222");
    let get = mock!(Client::get_layer_version_policy)
        .sequence()
        .http_response(|| {
            aws_error(
                404,
                "ResourceNotFoundException",
                "No policy is associated with the given resource.",
            )
        })
        .output(move || policy_with(&[&dev, ORG_STATEMENT]))
        .repeatedly()
        .build();
    let add = mock!(Client::add_layer_version_permission).then_http_response(|| {
        aws_error(
            409,
            "ResourceConflictException",
            "The statement id (cargo-layer-dev-222222222222) provided already exists. Please provide a new statement id, or remove the existing statement.",
        )
    });
    let aws = aws_with(&[&get, &add]);
    let layer = LayerApi {
        aws,
        name: LAYER.into(),
    };
    let results = block_on(grant::apply(
        &layer,
        3,
        &wanted(),
        false,
        &Progress::silent(),
    ))
    .unwrap();
    assert_eq!(results[0].status, Status::Present, "{results:?}");
    assert_eq!(results[1].status, Status::Present, "{results:?}");
    // Grants go out together, so each conflict is settled by a re-read of its own.
    assert_eq!(add.num_calls(), 2);
    assert_eq!(get.num_calls(), 3);
}

#[test]
fn a_full_policy_fails_that_grant_with_the_organization_advice() {
    let get = mock!(Client::get_layer_version_policy).then_http_response(|| {
        aws_error(
            404,
            "ResourceNotFoundException",
            "No policy is associated with the given resource.",
        )
    });
    let add = mock!(Client::add_layer_version_permission).then_http_response(|| {
        aws_error(
            400,
            "PolicyLengthExceededException",
            "The final policy size (20711) is bigger than the limit (20480).",
        )
    });
    let aws = aws_with(&[&get, &add]);
    let layer = LayerApi {
        aws,
        name: LAYER.into(),
    };
    let results = block_on(grant::apply(
        &layer,
        3,
        &wanted()[..1],
        false,
        &Progress::silent(),
    ))
    .unwrap();
    assert_eq!(results[0].status, Status::Failed);
    let error = results[0].error.as_deref().unwrap();
    assert!(error.contains("PolicyLengthExceededException"), "{error}");
    assert!(error.contains("organization"), "{error}");
}

/// The content and metadata the replayed layer publishes: no runtimes, architectures or license.
fn identity() -> dedupe::Identity {
    dedupe::Identity::new(CODE, &[], &[], None)
}

/// The artifact of an unsigned layer whose zip is `CODE`.
fn artifact() -> once::Artifact<'static> {
    once::Artifact {
        identity: identity(),
        sha256: "",
        signer: None,
    }
}

fn item(version: i64, description: &str) -> LayerVersionsListItem {
    LayerVersionsListItem::builder()
        .version(version)
        .layer_version_arn(format!("{ARN}:{version}"))
        .description(description)
        .created_date("2026-11-21T05:00:00.000+0000")
        .build()
}

fn version_output(version: i64, code: &str) -> GetLayerVersionOutput {
    GetLayerVersionOutput::builder()
        .version(version)
        .layer_arn(ARN)
        .layer_version_arn(format!("{ARN}:{version}"))
        .content(
            LayerVersionContentOutput::builder()
                .code_sha256(code)
                .code_size(1234)
                .build(),
        )
        .build()
}

#[test]
fn dedupe_follows_next_marker_across_pages() {
    let first = mock!(Client::list_layer_versions)
        .match_requests(|r| r.marker().is_none())
        .then_output(|| {
            ListLayerVersionsOutput::builder()
                .set_layer_versions(Some(
                    (51..=100)
                        .rev()
                        .map(|v| item(v, "other content [cargo-layer sha256:X]"))
                        .collect(),
                ))
                .next_marker("page-2")
                .build()
        });
    let second = mock!(Client::list_layer_versions)
        .match_requests(|r| r.marker() == Some("page-2"))
        .then_output(|| {
            ListLayerVersionsOutput::builder()
                .set_layer_versions(Some(vec![item(
                    50,
                    &dedupe::description(Some("hello"), CODE, "0a1b2c3d"),
                )]))
                .build()
        });
    let get = mock!(Client::get_layer_version)
        .match_requests(|r| r.version_number() == Some(50))
        .then_output(|| version_output(50, CODE));
    let aws = aws_with(&[&first, &second, &get]);
    let layer = LayerApi {
        aws,
        name: LAYER.into(),
    };
    let found = block_on(once::find(&layer, &artifact())).unwrap();
    assert_eq!(found.version.unwrap().number, 50);
    assert_eq!(found.search.versions_listed, 51);
    assert_eq!(
        (first.num_calls(), second.num_calls(), get.num_calls()),
        (1, 1, 1)
    );
}

#[test]
fn the_fallback_scan_of_unmarked_versions_is_bounded_and_reported() {
    let list = mock!(Client::list_layer_versions).then_output(|| {
        ListLayerVersionsOutput::builder()
            .set_layer_versions(Some(
                (1..=15)
                    .rev()
                    .map(|v| item(v, "made by another tool"))
                    .collect(),
            ))
            .build()
    });
    let get = mock!(Client::get_layer_version).then_compute_output(|req| {
        version_output(req.version_number().unwrap(), "c29tZXRoaW5nIGVsc2U=")
    });
    let aws = aws_with(&[&list, &get]);
    let layer = LayerApi {
        aws,
        name: LAYER.into(),
    };
    let found = block_on(once::find(&layer, &artifact())).unwrap();
    assert!(found.version.is_none());
    assert_eq!(get.num_calls(), once::FALLBACK_SCAN);
    assert_eq!(found.search.unmarked_checked, once::FALLBACK_SCAN);
    assert_eq!(found.search.unmarked_unchecked, 15 - once::FALLBACK_SCAN);
}

#[test]
fn a_layer_that_was_never_published_has_no_versions() {
    let list = mock!(Client::list_layer_versions).then_http_response(|| {
        aws_error(
            404,
            "ResourceNotFoundException",
            "Layer not found: arn:aws:lambda:eu-central-1:111111111111:layer:hello",
        )
    });
    let aws = aws_with(&[&list]);
    let layer = LayerApi {
        aws,
        name: LAYER.into(),
    };
    let found = block_on(once::find(&layer, &artifact())).unwrap();
    assert!(found.version.is_none());
    assert_eq!(found.search.versions_listed, 0);
}

#[test]
fn access_denied_names_the_action_and_points_at_the_iam_policy() {
    let list = mock!(Client::list_layer_versions).then_http_response(|| {
        aws_error(
            403,
            "AccessDeniedException",
            "User: arn:aws:sts::111111111111:assumed-role/ci/gh is not authorized to perform: lambda:ListLayerVersions on resource: arn:aws:lambda:eu-central-1:111111111111:layer:hello",
        )
    });
    let aws = aws_with(&[&list]);
    let layer = LayerApi {
        aws,
        name: LAYER.into(),
    };
    let err = block_on(once::find(&layer, &artifact())).err().unwrap();
    assert_eq!(err.exit_code(), 7);
    assert!(
        err.to_string().contains("allow `lambda:ListLayerVersions`"),
        "{err}"
    );
    assert!(err.to_string().contains("cargo layer iam-policy"), "{err}");
}

/// A listing of versions that all carry this content's marker, newest first, each from the run
/// given with it.
fn marked_page(versions: &[(i64, &str)]) -> ListLayerVersionsOutput {
    ListLayerVersionsOutput::builder()
        .set_layer_versions(Some(
            versions
                .iter()
                .map(|(v, run)| item(*v, &dedupe::description(None, CODE, run)))
                .collect(),
        ))
        .build()
}

const RUN: &str = "0a1b2c3d";

/// A layer whose listing is `page` (every version marked with this content), whose versions all
/// hold this content, and whose deletes succeed; the rules count the calls.
struct Settling {
    layer: LayerApi,
    get: Rule,
    delete: Rule,
}

impl Settling {
    fn new(page: &'static [(i64, &'static str)]) -> Settling {
        let list = mock!(Client::list_layer_versions).then_output(move || marked_page(page));
        let get = mock!(Client::get_layer_version)
            .then_compute_output(|req| version_output(req.version_number().unwrap(), CODE));
        let delete = mock!(Client::delete_layer_version)
            .then_output(|| DeleteLayerVersionOutput::builder().build());
        let layer = LayerApi {
            aws: aws_with(&[&list, &get, &delete]),
            name: LAYER.into(),
        };
        Settling { layer, get, delete }
    }

    /// `settle` for `candidate` as `run` sees it: the survivor and the notes.
    fn settle(&self, candidate: Version, own: bool, run: &str) -> (i64, Vec<String>) {
        let mut notes = Vec::new();
        let survivor = block_on(once::settle(
            &self.layer,
            candidate,
            own,
            &artifact(),
            run,
            &mut notes,
        ))
        .unwrap();
        (survivor.number, notes)
    }
}

/// A version this run published and got the answer for.
fn published_by_this_run(number: i64) -> Version {
    Version {
        number,
        code_sha256: Some(CODE.into()),
        description: dedupe::description(None, CODE, RUN),
        ..Version::default()
    }
}

#[test]
fn settle_deletes_only_this_runs_own_newer_twin() {
    // 5 and 7 come from other runs; 6 is this run's, published after 5.
    let s = Settling::new(&[(7, "77777777"), (6, RUN), (5, "55555555")]);
    let (survivor, notes) = s.settle(published_by_this_run(6), true, RUN);
    assert_eq!(survivor, 5);
    assert_eq!(s.delete.num_calls(), 1, "only version 6");
    assert!(
        notes.iter().any(|n| n.contains("version 6 duplicated")),
        "{notes:?}"
    );
    assert!(!notes.iter().any(|n| n.contains('7')), "{notes:?}");
}

#[test]
fn settle_after_a_lost_response_deletes_the_lost_version_only_when_it_is_this_runs() {
    // The response of this run's publish was lost: version 6 carries its run id. The retry found
    // version 5, another run's, so 6 is this run's own duplicate.
    let s = Settling::new(&[(6, RUN), (5, "55555555")]);
    let found = block_on(s.layer.get(5)).unwrap().unwrap();
    let (survivor, _) = s.settle(found.clone(), false, RUN);
    assert_eq!(survivor, 5);
    assert_eq!(s.delete.num_calls(), 1);

    // Another run's newer twin is never this run's to delete.
    let (survivor, notes) = s.settle(found, false, "ffffffff");
    assert_eq!(survivor, 5);
    assert_eq!(s.delete.num_calls(), 1, "nothing more was deleted");
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn the_first_publisher_keeps_its_version() {
    let s = Settling::new(&[(6, "66666666"), (5, RUN)]);
    let (survivor, _) = s.settle(published_by_this_run(5), true, RUN);
    assert_eq!(survivor, 5);
    assert_eq!(s.get.num_calls(), 0, "nothing older to confirm");
    assert_eq!(s.delete.num_calls(), 0);
}
