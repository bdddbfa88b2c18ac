//! The loader and the device filter parser never panic: arbitrary text, and real exports
//! with values swapped for random JSON of any type, either load or fail with an
//! `InputError` that names the file.

use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;
use sessionsim::policy::{
    LocationContext, Platform, PolicySet, RiskLevel, SignInContext, Target, UserIdentity,
};
use sessionsim::world::app::{App, Client, DeviceTrust};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-zA-Z0-9 <>{}\\-]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("All"),
            Just("None"),
            Just("enabled"),
            Just("everyTime"),
            Just("hours"),
            Just("exclude"),
            Just("device.trustType -eq \"AzureAD\""),
            Just("GuestsOrExternalUsers"),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z]{1,8}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Every path to a value inside `v`, as a list of steps.
fn paths(v: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                prefix.push(Step::Key(k.clone()));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                prefix.push(Step::Index(i));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn replace(v: &mut Value, path: &[Step], new: Value) {
    let mut cur = v;
    for step in path {
        let next = match (step, cur) {
            (Step::Key(k), Value::Object(m)) => m.get_mut(k),
            (Step::Index(i), Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    *cur = new;
}

fn baseline() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/policies/beta-export.json");
    let text = std::fs::read_to_string(path).expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn contexts() -> Vec<SignInContext> {
    let mut out = Vec::new();
    for target in [
        Target::App(App::Exchange),
        Target::App(App::AzurePortal),
        Target::UserAction("urn:user:registersecurityinfo".into()),
        Target::AuthContext("c1".into()),
    ] {
        for device in DeviceTrust::ALL {
            out.push(SignInContext {
                user: UserIdentity {
                    id: "u".into(),
                    groups: vec!["g".into()],
                    roles: vec![],
                    guest: (device == DeviceTrust::Registered)
                        .then_some(sessionsim::policy::GuestType::B2bCollaborationGuest),
                },
                target: target.clone(),
                client: Client::Browser,
                platform: Platform::Windows,
                location: LocationContext::default(),
                device,
                compliant: device != DeviceTrust::Unmanaged,
                user_risk: RiskLevel::High,
                sign_in_risk: RiskLevel::None,
                auth_flow: None,
                device_attributes: Vec::new(),
            });
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, rng_seed: proptest::test_runner::RngSeed::Fixed(6182162), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        if let Err(e) = PolicySet::from_json(Path::new("fuzz.json"), &text) {
            prop_assert!(e.file.ends_with("fuzz.json"));
        }
    }

    #[test]
    fn mutated_exports_load_or_fail_cleanly(pick in any::<prop::sample::Index>(), new in any_json()) {
        let mut doc = baseline();
        let mut all = Vec::new();
        paths(&doc, &mut Vec::new(), &mut all);
        let path = pick.get(&all).clone();
        replace(&mut doc, &path, new);
        match PolicySet::from_json(Path::new("mutated.json"), &doc.to_string()) {
            Ok((set, _)) => {
                for c in contexts() {
                    let _ = set.evaluate(&c);
                    let _ = set.explain(&c);
                }
            }
            Err(e) => prop_assert!(e.file.ends_with("mutated.json")),
        }
    }

    #[test]
    fn arbitrary_device_filter_rules_never_panic(rule in "[ a-zA-Z.\\-\\u{2013}()\\[\\],\"'`]{0,60}") {
        let doc = serde_json::json!({
            "displayName": "F", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                           "devices": {"deviceFilter": {"mode": "include", "rule": rule}}}
        });
        match PolicySet::from_json(Path::new("rule.json"), &doc.to_string()) {
            Ok((set, _)) => {
                for c in contexts() {
                    let _ = set.evaluate(&c);
                }
            }
            Err(e) => prop_assert!(e.field.is_some()),
        }
    }
}
