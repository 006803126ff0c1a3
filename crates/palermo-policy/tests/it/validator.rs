//! Cedar's validator on the shipped schema and policies, and the refusals
//! of bad policy files and worlds.

use cedar_policy::{PolicySet, Schema, ValidationMode, Validator};
use palermo_policy::{
    DEFAULT_POLICIES, Error, LoadOptions, Policies, PolicyStore, SCHEMA_TEXT, WorldInfo,
};

#[test]
fn shipped_policies_pass_the_cedar_validator_without_warnings() {
    let (schema, warnings) = Schema::from_cedarschema_str(SCHEMA_TEXT).unwrap();
    assert_eq!(warnings.count(), 0);
    let set: PolicySet = DEFAULT_POLICIES.parse().unwrap();
    let result = Validator::new(schema).validate(&set, ValidationMode::Strict);
    let errors: Vec<String> = result
        .validation_errors()
        .map(ToString::to_string)
        .collect();
    let warnings: Vec<String> = result
        .validation_warnings()
        .map(ToString::to_string)
        .collect();
    assert!(
        errors.is_empty() && warnings.is_empty(),
        "{errors:?} {warnings:?}"
    );
}

#[test]
fn bad_policy_files_are_refused_and_the_previous_set_stays() {
    let strict = LoadOptions { allow_empty: false };
    let mut store = PolicyStore::new(Policies::embedded());
    let cases = [
        (
            "syntax.cedar",
            "@id(\"x\") permit(principal, action resource);",
        ),
        (
            "unknown-attr.cedar",
            "@id(\"x\") permit(principal, action, resource) when { resource.colour == \"red\" };",
        ),
        (
            "schema.cedar",
            "@id(\"x\") permit(principal, action, resource) when { resource.tlp_rank == \"RED\" };",
        ),
        ("empty.cedar", "   \n"),
    ];
    for (name, text) in cases {
        let err = store.load(name, text, strict).unwrap_err();
        assert!(err.to_string().starts_with(name), "{err}");
        assert_eq!(store.version(), 1);
        assert_eq!(store.active().source_name(), "default");
    }
    assert!(matches!(
        store.load("e.cedar", "", strict),
        Err(Error::Empty { .. })
    ));
}

#[test]
fn worlds_with_unknown_markings_are_refused() {
    let check = |markings: &str, expect: &str| {
        let text = format!(
            r#"{{"nodes": [{{"id": "nl", "jurisdiction": "NL", "agency": "A"}}],
                "records": [{{"id": "r1", "schema": "Person", "node": "nl", "markings": {markings}}}]}}"#
        );
        let err = WorldInfo::from_json(&text)
            .and_then(palermo_policy::World::new)
            .unwrap_err()
            .to_string();
        assert!(err.contains(expect), "{err:?} lacks {expect:?}");
    };
    check(
        r#"{"tlp": "TLP:AMBER", "onward_sharing": false, "colour": "x"}"#,
        "markings.colour",
    );
    check(
        r#"{"tlp": "TLP:PURPLE", "onward_sharing": false}"#,
        "markings.tlp",
    );
    check(
        r#"{"tlp": "TLP:AMBER", "onward_sharing": false, "handling": "H9"}"#,
        "H9",
    );
    let bad_schema = r#"{"nodes": [{"id": "nl", "jurisdiction": "NL", "agency": "A"}],
        "records": [{"id": "r1", "schema": "Spaceship", "node": "nl", "markings": {"tlp": "TLP:AMBER", "onward_sharing": false}}]}"#;
    let err = palermo_policy::World::new(WorldInfo::from_json(bad_schema).unwrap()).unwrap_err();
    assert!(err.to_string().contains("schema"), "{err}");
}
