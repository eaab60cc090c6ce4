//! Property tests of the thesis-tables loader (`simulate --thesis-tables FILE`): on the built-in tables with any
//! number replaced by an arbitrary value, and on arbitrary bytes, it never panics; it either returns tables that
//! pass every check (and then simulate without a non-finite sample) or an error that names the file.

use std::sync::Arc;

use har_monitor::sim::{SensorSim, SimError, SimProfile, ThesisTables};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

fn builtin_json() -> serde_json::Value {
    serde_json::to_value(ThesisTables::builtin()).unwrap()
}

/// Paths to every number in the tables' JSON.
fn number_paths(v: &serde_json::Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        serde_json::Value::Number(_) => out.push(path.clone()),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                number_paths(item, path, out);
                path.pop();
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                path.push(k.clone());
                number_paths(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn set(v: &mut serde_json::Value, path: &[String], value: serde_json::Value) {
    let mut at = v;
    for key in path {
        at = match at {
            serde_json::Value::Array(items) => &mut items[key.parse::<usize>().unwrap()],
            serde_json::Value::Object(map) => map.get_mut(key).unwrap(),
            _ => unreachable!(),
        };
    }
    *at = value;
}

fn load(text: &str) -> (tempfile::TempDir, std::path::PathBuf, Result<ThesisTables, SimError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tables.json");
    std::fs::write(&path, text).unwrap();
    let result = ThesisTables::from_json_file(&path);
    (dir, path, result)
}

/// Tables that loaded simulate every behaviour without a non-finite value.
fn simulates(tables: ThesisTables) -> Result<(), TestCaseError> {
    let tables = Arc::new(tables);
    for user in [1, 2] {
        let mut sim = SensorSim::with_tables(3, user, SimProfile::Thesis, Arc::clone(&tables));
        for _ in 0..3000 {
            let s = sim.next_sample();
            prop_assert!(s.values.iter().all(|v| v.is_finite()), "sample {s:?}");
        }
    }
    Ok(())
}

fn any_value() -> impl Strategy<Value = serde_json::Value> {
    // Mostly values a table may hold (so that the simulation is exercised), the rest far out or not numbers.
    prop_oneof![
        4 => (0.01f64..1.0).prop_map(|x| serde_json::json!(x)),
        2 => (-2.0f64..5.0).prop_map(|x| serde_json::json!(x)),
        1 => any::<f64>().prop_map(|x| serde_json::Number::from_f64(x).map_or(serde_json::Value::Null, Into::into)),
        1 => (-1000.0f64..1000.0).prop_map(|x| serde_json::json!(x)),
        1 => Just(serde_json::json!("1.0")),
        1 => Just(serde_json::json!(null)),
        1 => Just(serde_json::json!([])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_changed_number_is_loaded_and_simulated_or_refused_naming_the_file(
        which in any::<prop::sample::Index>(),
        value in any_value(),
    ) {
        let mut json = builtin_json();
        let mut paths = Vec::new();
        number_paths(&json, &mut Vec::new(), &mut paths);
        let path = which.get(&paths).clone();
        set(&mut json, &path, value);
        let (_dir, file, result) = load(&json.to_string());
        match result {
            Ok(tables) => {
                prop_assert!(tables.validate().is_ok());
                simulates(tables)?;
            }
            Err(e) => {
                let message = e.to_string();
                prop_assert!(message.contains(&file.display().to_string()), "{message}");
            }
        }
    }

    #[test]
    fn arbitrary_bytes_are_refused_naming_the_file(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tables.json");
        std::fs::write(&file, &bytes).unwrap();
        match ThesisTables::from_json_file(&file) {
            Ok(tables) => simulates(tables)?,
            Err(e) => prop_assert!(e.to_string().contains(&file.display().to_string())),
        }
    }
}

#[test]
fn a_refused_value_is_named_by_its_field() {
    let mut json = builtin_json();
    json["modes"][2][1]["elevation"] = serde_json::json!(120.0);
    let (_dir, _file, result) = load(&json.to_string());
    let message = result.unwrap_err().to_string();
    assert!(message.contains("modes.hair_pulling[1].elevation"), "{message}");
    let mut json = builtin_json();
    json["motion"][0]["extra"]["freq"] = serde_json::json!([3.0, 2.0]);
    let (_dir, _file, result) = load(&json.to_string());
    let message = result.unwrap_err().to_string();
    assert!(message.contains("motion.ear_rubbing.extra.freq"), "{message}");
}
