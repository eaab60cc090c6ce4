//! The local model registry as a library: importing (checked against the graph, stored by SHA-256, the same bytes
//! never twice), version numbers, aliases and their history, rollback, the rules for removing, damaged entries
//! reported without breaking the rest, and what `--model NAME@ALIAS` resolves to.

mod common;

use std::path::Path;

use common::registry::{copy_model, demo, keras, sha256, torch};
use har_monitor::registry::{EvaluationSummary, ImportOptions, MoveKind, Registry, RegistryError};

fn named(name: &str) -> ImportOptions {
    ImportOptions { name: Some(name.to_string()), ..Default::default() }
}

fn with_alias(name: &str, alias: &str) -> ImportOptions {
    ImportOptions { name: Some(name.to_string()), alias: Some(alias.to_string()), ..Default::default() }
}

/// A copy of the keras fixture whose card differs by its description: other bytes, same graph.
fn keras_variant(dir: &Path, n: u32) -> std::path::PathBuf {
    copy_model(&keras(), &dir.join(format!("variant{n}")), "keras_bilstm", |card| {
        card["description"] = serde_json::json!(format!("variant {n}"));
    })
}

#[test]
fn an_import_stores_the_three_files_by_sha256_and_numbers_versions_per_name() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(&dir.path().join("reg")).unwrap();
    let v1 = reg.import(&demo(), &named("har")).unwrap();
    assert_eq!((v1.name.as_str(), v1.version), ("har", 1));
    assert_eq!(v1.sha256, sha256(&demo()));
    assert_eq!(sha256(&v1.model_path), sha256(&demo()), "the stored ONNX is byte-identical");
    assert_eq!(sha256(&v1.card_path), sha256(&demo().with_file_name("demo-1dcnn-bilstm.model.json")));
    let baseline = v1.baseline_path.clone().expect("the demo's baseline is imported with it");
    assert_eq!(sha256(&baseline), sha256(&demo().with_file_name("demo-1dcnn-bilstm.baseline.json")));
    assert!(v1.model_path.starts_with(reg.root()));
    assert_eq!(v1.source.as_deref(), Some(std::fs::canonicalize(demo()).unwrap().to_str().unwrap()));

    // Another model under the same name is version 2; another name starts at 1.
    let v2 = reg.import(&keras(), &named("har")).unwrap();
    assert_eq!(v2.version, 2);
    assert!(v2.baseline_path.is_none(), "the keras fixture has no baseline");
    let other = reg.import(&keras(), &named("other")).unwrap();
    assert_eq!(other.version, 1);

    // The card's name is the default registry name.
    let by_card = reg.import(&torch(), &ImportOptions::default()).unwrap();
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(torch().with_file_name("torch_style_nct.model.json")).unwrap())
            .unwrap();
    assert_eq!(by_card.name, card["name"].as_str().unwrap());

    let names: Vec<String> = reg.list().unwrap().into_iter().map(|m| m.name).collect();
    let mut expected = vec!["har".to_string(), "other".to_string(), by_card.name.clone()];
    expected.sort();
    assert_eq!(names, expected);
}

#[test]
fn the_same_bytes_again_return_the_existing_version() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    let first = reg.import_model(&keras(), &named("m")).unwrap();
    assert!(first.created);
    // The same files from another folder (another path, same bytes).
    let copy_dir = dir.path().join("copy");
    std::fs::create_dir_all(&copy_dir).unwrap();
    let copy = copy_dir.join("renamed.onnx");
    std::fs::copy(keras(), &copy).unwrap();
    std::fs::copy(keras().with_file_name("keras_bilstm.model.json"), copy_dir.join("renamed.model.json")).unwrap();
    let again = reg.import_model(&copy, &with_alias("m", "production")).unwrap();
    assert!(!again.created, "no duplicate version");
    assert_eq!(again.version.version, 1);
    assert_eq!(again.version.aliases, vec!["production".to_string()], "the alias still applies");
    // A changed card is other bytes: a new version.
    let changed = reg.import_model(&keras_variant(dir.path(), 1), &named("m")).unwrap();
    assert!(changed.created);
    assert_eq!(changed.version.version, 2);
    let versions: Vec<u32> = reg.model("m").unwrap().versions.iter().map(|v| v.version).collect();
    assert_eq!(versions, vec![1, 2]);
}

#[test]
fn a_model_that_does_not_fit_its_card_is_refused_with_the_engines_message_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    let bad = common::registry::repo("tests/fixtures/models/torch_style_nct_10_classes.onnx");
    let err = reg.import(&bad, &named("m")).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RegistryError::Model { .. }), "{err:?}");
    assert!(text.contains("does not fit its card"), "{text}");
    assert!(text.contains("10") && text.contains("11"), "both class counts: {text}");
    assert!(reg.list().unwrap().is_empty(), "nothing stored");

    // No card beside the model.
    let lonely = dir.path().join("lonely");
    std::fs::create_dir_all(&lonely).unwrap();
    std::fs::copy(keras(), lonely.join("m.onnx")).unwrap();
    let text = reg.import(&lonely.join("m.onnx"), &named("m")).unwrap_err().to_string();
    assert!(text.contains("no model card") && text.contains("m.model.json"), "{text}");

    // A baseline for other classes than the card's.
    let wrong = copy_model(&demo(), &dir.path().join("wrong"), "w", |card| {
        let classes = card["classes"].as_array_mut().unwrap();
        classes.swap(0, 1);
    });
    let text = reg.import(&wrong, &named("m")).unwrap_err().to_string();
    assert!(text.contains("baseline") && text.contains("classes"), "{text}");
    assert!(reg.list().unwrap().is_empty());
    // Nothing left in the staging folder either.
    let staging = dir.path().join(".staging");
    assert!(!staging.exists() || std::fs::read_dir(&staging).unwrap().next().is_none());
}

#[test]
fn names_and_aliases_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    for bad in ["", "a b", "../x", "-x", "x@y", &"n".repeat(65)] {
        let err = reg.import(&keras(), &named(bad)).unwrap_err();
        assert!(matches!(err, RegistryError::InvalidName { .. }), "{bad:?}: {err}");
    }
    reg.import(&keras(), &named("m")).unwrap();
    for bad in ["7", "latest", "a/b", ""] {
        let err = reg.set_alias("m", 1, bad).unwrap_err();
        assert!(matches!(err, RegistryError::InvalidName { .. }), "{bad:?}: {err}");
    }
}

#[test]
fn aliases_move_with_a_history_and_rollback_walks_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(&dir.path().join("reg")).unwrap();
    for n in 1..=3 {
        reg.import(&keras_variant(dir.path(), n), &named("m")).unwrap();
    }
    let first = reg.set_alias("m", 1, "production").unwrap();
    assert_eq!((first.from, first.to, first.action), (None, Some(1), MoveKind::Set));
    reg.set_alias("m", 2, "production").unwrap();
    let third = reg.set_alias("m", 3, "production").unwrap();
    assert_eq!((third.from, third.to), (Some(2), Some(3)));
    reg.set_alias("m", 1, "staging").unwrap();
    assert_eq!(reg.resolve("m@production").unwrap().version, 3);
    assert_eq!(reg.resolve("m@staging").unwrap().version, 1);
    assert_eq!(reg.resolve("m@3").unwrap().aliases, vec!["production".to_string()]);

    // Setting it where it already is moves nothing.
    let same = reg.set_alias("m", 3, "production").unwrap();
    assert!(same.unchanged());
    assert_eq!(reg.history("m").unwrap().len(), 4);

    let back = reg.rollback("m", "production").unwrap();
    assert_eq!((back.from, back.to, back.action), (Some(3), Some(2), MoveKind::Rollback));
    assert_eq!(reg.resolve("m@production").unwrap().version, 2);
    assert_eq!(reg.rollback("m", "production").unwrap().to, Some(1));
    let err = reg.rollback("m", "production").unwrap_err();
    assert!(matches!(err, RegistryError::NoEarlierVersion { .. }), "{err}");
    assert_eq!(reg.resolve("m@production").unwrap().version, 1, "a refused rollback moves nothing");
    assert_eq!(reg.resolve("m@staging").unwrap().version, 1, "other aliases untouched");

    let history = reg.history("m").unwrap();
    let moves: Vec<(String, Option<u32>, Option<u32>, MoveKind)> =
        history.iter().map(|m| (m.alias.clone(), m.from, m.to, m.action)).collect();
    assert_eq!(
        moves,
        vec![
            ("production".into(), None, Some(1), MoveKind::Set),
            ("production".into(), Some(1), Some(2), MoveKind::Set),
            ("production".into(), Some(2), Some(3), MoveKind::Set),
            ("staging".into(), None, Some(1), MoveKind::Set),
            ("production".into(), Some(3), Some(2), MoveKind::Rollback),
            ("production".into(), Some(2), Some(1), MoveKind::Rollback),
        ]
    );
    for m in &history {
        assert!(!m.by.is_empty());
        assert!(chrono::DateTime::parse_from_rfc3339(&m.at).is_ok(), "{}", m.at);
    }
    // The history is in aliases.json, readable by other tools.
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("reg/models/m/aliases.json")).unwrap()).unwrap();
    assert_eq!(file["aliases"]["production"], 1);
    assert_eq!(file["history"].as_array().unwrap().len(), 6);
    assert_eq!(file["last_version"], 3);
}

#[test]
fn a_rollback_skips_versions_removed_since() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    for n in 1..=3 {
        reg.import(&keras_variant(dir.path(), n), &named("m")).unwrap();
        reg.set_alias("m", n, "production").unwrap();
    }
    reg.remove("m", 2, false).unwrap();
    let back = reg.rollback("m", "production").unwrap();
    assert_eq!((back.from, back.to), (Some(3), Some(1)));
    assert_eq!(reg.resolve("m@production").unwrap().version, 1);
}

#[test]
fn a_version_an_alias_points_at_is_removed_only_with_force_which_deletes_the_alias() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    reg.import(&keras_variant(dir.path(), 1), &with_alias("m", "production")).unwrap();
    reg.import(&keras_variant(dir.path(), 2), &with_alias("m", "staging")).unwrap();
    reg.set_alias("m", 2, "canary").unwrap();

    let err = reg.remove("m", 2, false).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RegistryError::AliasInUse { .. }));
    assert!(text.contains("canary") && text.contains("staging") && text.contains("--force"), "{text}");
    assert!(reg.resolve("m@2").is_ok(), "refused: still there");

    let removed = reg.remove("m", 2, true).unwrap();
    let gone: Vec<&str> = removed.alias_moves.iter().map(|m| m.alias.as_str()).collect();
    assert_eq!(gone, vec!["canary", "staging"]);
    assert!(removed.alias_moves.iter().all(|m| m.action == MoveKind::Removed && m.to.is_none()));
    assert!(!dir.path().join("models/m/2").exists());
    let err = reg.resolve("m@staging").unwrap_err();
    assert!(matches!(err, RegistryError::UnknownAlias { .. }), "{err}");
    assert!(err.to_string().contains("production (v1)"), "lists the aliases left: {err}");
    let err = reg.resolve("m@2").unwrap_err();
    assert!(err.to_string().contains("versions: 1"), "{err}");

    // A number is never given again: the next import is 3.
    assert_eq!(reg.import(&keras_variant(dir.path(), 3), &named("m")).unwrap().version, 3);
    // Removing the highest version does not give its number back either.
    reg.remove("m", 3, false).unwrap();
    assert_eq!(reg.import(&keras_variant(dir.path(), 4), &named("m")).unwrap().version, 4);
    assert!(reg.remove("m", 9, false).unwrap_err().to_string().contains("no version 9"));
}

#[test]
fn a_damaged_entry_is_reported_for_that_entry_and_the_rest_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    for n in 1..=4 {
        reg.import(&keras_variant(dir.path(), n), &named("m")).unwrap();
    }
    reg.set_alias("m", 4, "production").unwrap();
    reg.import(&torch(), &named("other")).unwrap();
    let v = |n: u32| dir.path().join(format!("models/m/{n}"));
    // 1: the ONNX file changed after the import. 2: its card deleted. 3: the manifest is not JSON.
    let onnx = v(1).join("keras_bilstm.onnx");
    let mut bytes = std::fs::read(&onnx).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&onnx, bytes).unwrap();
    std::fs::remove_file(v(2).join("keras_bilstm.model.json")).unwrap();
    std::fs::write(v(3).join("manifest.json"), "{ not json").unwrap();

    let list = reg.list().unwrap();
    let m = list.iter().find(|m| m.name == "m").unwrap();
    let problems: Vec<(u32, Option<String>)> =
        m.versions.iter().map(|e| (e.version, e.entry.as_ref().err().map(|e| e.to_string()))).collect();
    assert_eq!(problems.len(), 4);
    assert!(
        problems[0].1.as_deref().is_some_and(|p| p.contains("SHA-256") && p.contains("keras_bilstm.onnx")),
        "{problems:?}"
    );
    assert!(
        problems[1].1.as_deref().is_some_and(|p| p.contains("missing") && p.contains("model.json")),
        "{problems:?}"
    );
    assert!(problems[2].1.as_deref().is_some_and(|p| p.contains("manifest")), "{problems:?}");
    assert!(problems[3].1.is_none(), "version 4 is sound: {problems:?}");
    assert!(list.iter().find(|m| m.name == "other").unwrap().versions[0].entry.is_ok());

    for spec in ["m@1", "m@2", "m@3"] {
        let err = reg.resolve(spec).unwrap_err();
        assert!(err.is_corrupt(), "{spec}: {err}");
    }
    assert_eq!(reg.resolve("m@production").unwrap().version, 4);
    assert_eq!(reg.resolve("m").unwrap().version, 4);
    assert!(reg.resolve("other").is_ok());
    // An alias cannot be pointed at a damaged version; a damaged version can be removed.
    assert!(reg.set_alias("m", 1, "staging").unwrap_err().is_corrupt());
    reg.remove("m", 3, false).unwrap();

    // A damaged aliases file: the aliases are unusable (said so), the versions still resolve by number.
    std::fs::write(dir.path().join("models/m/aliases.json"), "[1, 2").unwrap();
    let m = reg.model("m").unwrap();
    assert!(m.problem.as_deref().is_some_and(|p| p.contains("aliases.json")), "{:?}", m.problem);
    assert!(reg.resolve("m@production").unwrap_err().is_corrupt());
    assert_eq!(reg.resolve("m@4").unwrap().version, 4);
    assert!(reg.set_alias("m", 4, "staging").unwrap_err().is_corrupt(), "no history is overwritten");
    assert!(reg.resolve("other").is_ok());
}

#[test]
fn specs_resolve_and_unknown_names_and_aliases_are_listed_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("reg");
    let reg = Registry::open(&root).unwrap();
    let err = reg.resolve("har").unwrap_err().to_string();
    assert!(err.contains(root.to_str().unwrap()) && err.contains("no models yet"), "{err}");
    reg.import(&keras_variant(dir.path(), 1), &with_alias("har", "production")).unwrap();
    reg.import(&keras_variant(dir.path(), 2), &with_alias("har", "staging")).unwrap();
    reg.import(&torch(), &named("tiny")).unwrap();

    assert_eq!(reg.resolve("har").unwrap().version, 2, "NAME is the highest version");
    assert_eq!(reg.resolve("har@latest").unwrap().version, 2);
    assert_eq!(reg.resolve("har@1").unwrap().version, 1);
    assert_eq!(reg.resolve("har@production").unwrap().version, 1);

    let err = reg.resolve("nope@production").unwrap_err().to_string();
    assert!(err.contains("no model named `nope`") && err.contains("har, tiny"), "{err}");
    let err = reg.resolve("har@canary").unwrap_err().to_string();
    assert!(err.contains("no alias `canary`") && err.contains("production (v1), staging (v2)"), "{err}");
    let err = reg.resolve("har@7").unwrap_err().to_string();
    assert!(err.contains("no version 7") && err.contains("versions: 1, 2"), "{err}");
    assert!(matches!(reg.resolve("har@").unwrap_err(), RegistryError::InvalidSpec { .. }));

    // --model VALUE: an existing path wins, else the registry, else an error saying both were tried.
    let got = reg.resolve_arg("har@production").unwrap();
    assert_eq!(got.version.as_ref().unwrap().version, 1);
    assert!(got.path.ends_with("models/har/1/keras_bilstm.onnx"));
    let path = keras();
    let got = reg.resolve_arg(path.to_str().unwrap()).unwrap();
    assert!(got.version.is_none());
    assert_eq!(got.path, path);
    let err = reg.resolve_arg("missing.onnx").unwrap_err().to_string();
    assert!(err.contains("no such file") && err.contains("registry"), "{err}");
    // A file named like a spec wins over the registry.
    let cwd_file = dir.path().join("har@production");
    std::fs::write(&cwd_file, "x").unwrap();
    assert!(reg.resolve_arg(cwd_file.to_str().unwrap()).unwrap().version.is_none());
}

#[test]
fn evaluations_are_kept_with_the_version_they_scored() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    let v1 = reg.import(&keras_variant(dir.path(), 1), &named("m")).unwrap();
    let v2 = reg.import(&keras_variant(dir.path(), 2), &named("m")).unwrap();
    let summary = |acc: f64| EvaluationSummary {
        accuracy: acc,
        macro_f1: acc - 0.1,
        cohen_kappa: Some(acc - 0.2),
        windows: 359,
        data: "data/demo/labeled_unseen_users.csv".into(),
        seconds: 1.5,
    };
    let report = dir.path().join("report");
    std::fs::create_dir_all(&report).unwrap();
    reg.record_evaluation(&v1, &report, &summary(0.9)).unwrap();
    reg.record_evaluation(&v1, &report, &summary(0.8)).unwrap();
    reg.record_evaluation(&v2, &report, &summary(0.7)).unwrap();
    let runs = reg.evaluations(&v1).unwrap();
    assert_eq!(runs.iter().map(|r| r.summary.accuracy).collect::<Vec<_>>(), vec![0.9, 0.8]);
    assert_eq!(runs[0].report_dir, std::fs::canonicalize(&report).unwrap().to_str().unwrap());
    assert_eq!(reg.evaluations(&v2).unwrap().len(), 1);
    // Recording leaves the version's files as they were.
    assert!(reg.resolve("m@1").is_ok());
}

#[test]
fn concurrent_imports_get_distinct_versions_and_lose_no_alias_move() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("reg");
    let models: Vec<_> = (1..=4).map(|n| keras_variant(dir.path(), n)).collect();
    let threads: Vec<_> = models
        .into_iter()
        .enumerate()
        .map(|(i, model)| {
            let root = root.clone();
            std::thread::spawn(move || {
                let reg = Registry::open(&root).unwrap();
                reg.import(&model, &with_alias("m", &format!("a{i}"))).unwrap().version
            })
        })
        .collect();
    let mut versions: Vec<u32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    versions.sort_unstable();
    assert_eq!(versions, vec![1, 2, 3, 4]);
    let reg = Registry::open(&root).unwrap();
    let m = reg.model("m").unwrap();
    assert_eq!(m.aliases.len(), 4, "{:?}", m.aliases);
    assert!(m.versions.iter().all(|v| v.entry.is_ok()));
}

#[test]
fn the_pickers_rollback_moves_the_live_session_only_when_it_runs_that_alias() {
    use har_monitor::session::registry::RegistryState;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("reg");
    let reg = Registry::open(&root).unwrap();
    for n in 1..=3 {
        reg.import(&keras_variant(dir.path(), n), &with_alias("m", "production")).unwrap();
    }
    reg.set_alias("m", 3, "staging").unwrap();
    let path = |n: u32| reg.resolve(&format!("m@{n}")).unwrap().model_path;

    let mut picker = RegistryState::open(Some(&root), None);
    let m = &picker.models[0];
    assert_eq!(m.versions.iter().map(|v| v.version).collect::<Vec<_>>(), vec![3, 2, 1], "highest first");
    let production = m.aliases.iter().find(|a| a.alias == "production").unwrap();
    assert_eq!((production.version, production.rollback_to), (3, Some(2)));
    let staging = m.aliases.iter().find(|a| a.alias == "staging").unwrap();
    assert_eq!(staging.rollback_to, None, "staging has only ever pointed at 3");

    // Choosing an alias: the session follows it through a rollback.
    let switch = picker.choose("m@production").unwrap();
    assert_eq!(switch.path, path(3));
    let outcome = picker.rollback("m", "production", Some(&path(3))).unwrap();
    assert_eq!(outcome.switch.map(|s| s.path), Some(path(2)));
    assert_eq!(picker.models[0].aliases.iter().find(|a| a.alias == "production").unwrap().version, 2, "refreshed");

    // Running another version (chosen by number): a rollback of production leaves the session alone.
    picker.choose("m@3").unwrap();
    let outcome = picker.rollback("m", "production", Some(&path(3))).unwrap();
    assert!(outcome.switch.is_none(), "{}", outcome.message);
    assert_eq!(reg.resolve("m@production").unwrap().version, 1);

    // Running the version the alias points at (a file opened directly): the session follows the alias.
    picker.forget_choice();
    reg.set_alias("m", 3, "production").unwrap();
    picker.refresh();
    let outcome = picker.rollback("m", "production", Some(&path(3))).unwrap();
    assert_eq!(outcome.switch.map(|s| s.path), Some(path(1)), "3 → back to 1 (2 was rolled past)");
    assert_eq!(picker.chosen.as_deref(), Some("m@production"));
    assert_eq!(picker.live_label(Some(&path(1))).as_deref(), Some("m@production (v1)"));

    // A refused rollback is an error message, nothing moves.
    let err = picker.rollback("m", "staging", Some(&path(3))).unwrap_err();
    assert!(err.contains("no earlier version"), "{err}");
    // A damaged version is listed with its problem.
    std::fs::remove_file(root.join("models/m/2/keras_bilstm.onnx")).unwrap();
    picker.refresh();
    let v2 = picker.models[0].versions.iter().find(|v| v.version == 2).unwrap();
    assert!(v2.problem.as_deref().is_some_and(|p| p.contains("missing")), "{v2:?}");
    assert!(picker.choose("m@2").is_err());
}

#[test]
fn what_a_crash_leaves_in_the_staging_folder_is_never_listed_and_is_cleared_by_the_next_change() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    // An import killed before its rename: a complete-looking folder in .staging, and a model folder with none.
    let stale = dir.path().join(".staging/import-m-1-999");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::copy(keras(), stale.join("keras_bilstm.onnx")).unwrap();
    assert!(reg.list().unwrap().is_empty());
    let v = reg.import(&keras(), &named("m")).unwrap();
    assert_eq!(v.version, 1);
    assert!(!stale.exists(), "cleared under the lock");
    // Nothing but the finished files in the version folder.
    let mut files: Vec<String> =
        std::fs::read_dir(&v.dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    assert_eq!(files, vec!["keras_bilstm.model.json", "keras_bilstm.onnx", "manifest.json"]);
}
