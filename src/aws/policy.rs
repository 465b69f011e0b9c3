//! Reading a layer version's resource policy and naming cargo-layer's own statements.
//!
//! Real AWS stores `"Principal":{"AWS":"arn:aws:iam::111111111111:root"}`, or `"Principal":"*"`
//! with `"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-..."}}` for an organization.
//! The local emulator stores the raw request (`"Principal":"111111111111"`,
//! `"OrganizationId":"o-..."`); reading both costs nothing.

use serde_json::Value;

use crate::project::limits;

/// A grant as cargo-layer makes it: one principal (12-digit account or `*`), maybe an org.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Statement {
    pub sid: String,
    pub principal: String,
    pub organization: Option<String>,
}

/// A version's policy: its statements and the revision they belong to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub revision_id: Option<String>,
    pub statements: Vec<Statement>,
}

impl Policy {
    pub fn parse(json: &str, revision_id: Option<String>) -> Result<Policy, String> {
        let doc: Value =
            serde_json::from_str(json).map_err(|e| format!("the layer policy is not JSON: {e}"))?;
        let statements = match &doc["Statement"] {
            Value::Array(items) => items.iter().map(statement).collect(),
            Value::Object(_) => vec![statement(&doc["Statement"])],
            _ => Vec::new(),
        };
        Ok(Policy {
            revision_id,
            statements,
        })
    }

    pub fn get(&self, sid: &str) -> Option<&Statement> {
        self.statements.iter().find(|s| s.sid == sid)
    }
}

fn statement(value: &Value) -> Statement {
    let condition_org = value["Condition"]
        .as_object()
        .into_iter()
        .flat_map(|ops| ops.values())
        .find_map(|keys| keys.get("aws:PrincipalOrgID"))
        .and_then(first_string);
    Statement {
        sid: value["Sid"].as_str().unwrap_or_default().to_string(),
        principal: principal(&value["Principal"]),
        organization: condition_org.or_else(|| first_string(&value["OrganizationId"])),
    }
}

fn first_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items.first().and_then(first_string),
        _ => None,
    }
}

/// `{"AWS":"arn:aws:iam::111111111111:root"}`, `"111111111111"`, `"*"` -> account or `*`.
fn principal(value: &Value) -> String {
    let raw = match value {
        Value::Object(map) => map.get("AWS").and_then(first_string).unwrap_or_default(),
        other => first_string(other).unwrap_or_default(),
    };
    account_of(&raw).unwrap_or(raw)
}

fn account_of(principal: &str) -> Option<String> {
    let rest = principal.strip_prefix("arn:")?;
    let (_, rest) = rest.split_once(":iam::")?;
    let account = rest.strip_suffix(":root")?;
    limits::is_account(account).then(|| account.to_string())
}

pub const SID_PREFIX: &str = "cargo-layer-";

/// What a stage grants to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    Account(String),
    Organization(String),
    Public,
}

/// The statement ID cargo-layer uses for a stage's grant: deterministic, so re-runs find it.
pub fn statement_id(stage: &str, target: &Grantee) -> String {
    match target {
        Grantee::Account(account) => format!("{SID_PREFIX}{stage}-{account}"),
        Grantee::Organization(org) => format!("{SID_PREFIX}{stage}-org-{org}"),
        Grantee::Public => format!("{SID_PREFIX}{stage}-public"),
    }
}

/// Which grant of `stage` this statement ID is, if cargo-layer made it for that stage.
/// The tail is parsed strictly so stage `dev` never claims stage `dev-eu`'s statements.
pub fn owned_by(sid: &str, stage: &str) -> Option<Grantee> {
    let tail = sid
        .strip_prefix(SID_PREFIX)?
        .strip_prefix(stage)?
        .strip_prefix('-')?;
    if limits::is_account(tail) {
        return Some(Grantee::Account(tail.to_string()));
    }
    if tail == "public" {
        return Some(Grantee::Public);
    }
    let org = tail.strip_prefix("org-")?;
    limits::is_organization(org).then(|| Grantee::Organization(org.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // As AddLayerVersionPermission and GetLayerVersionPolicy return it in real AWS.
    const AWS_POLICY: &str = r#"{"Version":"2012-10-17","Id":"default","Statement":[
        {"Sid":"cargo-layer-dev-222222222222","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"lambda:GetLayerVersion","Resource":"arn:aws:lambda:eu-central-1:111111111111:layer:hello:3"},
        {"Sid":"cargo-layer-prod-org-o-abcdefghij","Effect":"Allow","Principal":"*","Action":"lambda:GetLayerVersion","Resource":"arn:aws:lambda:eu-central-1:111111111111:layer:hello:3","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abcdefghij"}}},
        {"Sid":"share-with-dev","Effect":"Allow","Principal":{"AWS":"arn:aws-us-gov:iam::333333333333:root"},"Action":"lambda:GetLayerVersion","Resource":"arn:aws:lambda:eu-central-1:111111111111:layer:hello:3"},
        {"Sid":"everyone","Effect":"Allow","Principal":"*","Action":"lambda:GetLayerVersion","Resource":"arn:aws:lambda:eu-central-1:111111111111:layer:hello:3"}]}"#;

    #[test]
    fn reads_the_aws_form() {
        let policy = Policy::parse(AWS_POLICY, Some("rev-1".into())).unwrap();
        let got: Vec<_> = policy
            .statements
            .iter()
            .map(|s| {
                (
                    s.sid.as_str(),
                    s.principal.as_str(),
                    s.organization.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("cargo-layer-dev-222222222222", "222222222222", None),
                (
                    "cargo-layer-prod-org-o-abcdefghij",
                    "*",
                    Some("o-abcdefghij")
                ),
                ("share-with-dev", "333333333333", None),
                ("everyone", "*", None),
            ]
        );
        assert_eq!(policy.revision_id.as_deref(), Some("rev-1"));
    }

    #[test]
    fn reads_the_emulator_form() {
        let raw = r#"{"Version":"2012-10-17","Id":"default","Statement":[
            {"Action":"lambda:GetLayerVersion","Principal":"222222222222","StatementId":"x","Sid":"cargo-layer-dev-222222222222","Effect":"Allow"},
            {"Action":"lambda:GetLayerVersion","Principal":"*","OrganizationId":"o-abcdefghij","Sid":"cargo-layer-prod-org-o-abcdefghij","Effect":"Allow"}]}"#;
        let policy = Policy::parse(raw, None).unwrap();
        assert_eq!(
            policy
                .get("cargo-layer-dev-222222222222")
                .unwrap()
                .principal,
            "222222222222"
        );
        let org = policy.get("cargo-layer-prod-org-o-abcdefghij").unwrap();
        assert_eq!(
            (org.principal.as_str(), org.organization.as_deref()),
            ("*", Some("o-abcdefghij"))
        );
    }

    #[test]
    fn statement_ids_round_trip_and_stay_in_their_stage() {
        let targets = [
            Grantee::Account("222222222222".into()),
            Grantee::Organization("o-abcdefghij".into()),
            Grantee::Public,
        ];
        for target in targets {
            let sid = statement_id("dev", &target);
            assert!(sid.len() <= 100);
            assert_eq!(owned_by(&sid, "dev"), Some(target.clone()));
            assert_eq!(owned_by(&statement_id("dev-eu", &target), "dev"), None);
            assert_eq!(owned_by(&sid, "dev-eu"), None);
        }
        assert_eq!(owned_by("share-with-dev", "dev"), None);
        assert_eq!(owned_by("cargo-layer-dev-org-222222222222", "dev"), None);
        assert_eq!(
            owned_by("cargo-layer-dev-org-222222222222", "dev-org"),
            Some(Grantee::Account("222222222222".into()))
        );
    }

    #[test]
    fn longest_statement_id_fits() {
        let stage = "s".repeat(limits::MAX_STAGE_NAME);
        let org = format!("o-{}", "a".repeat(32));
        assert!(statement_id(&stage, &Grantee::Organization(org)).len() <= 100);
    }
}
