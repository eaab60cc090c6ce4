//! `har-monitor models` as processes (docs/FORMATS.md §4, §9): the tables and JSON, the exit codes, `--model
//! NAME@ALIAS` for `info`, `predict` and `evaluate`, and the evaluation runs shown with the version they scored.
//! Every run gets its own registry through `HAR_MONITOR_REGISTRY`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::cli::run;
use common::registry::{copy_model, demo, keras, repo, sha256};

/// `har-monitor` on the registry at `root`.
fn bin(root: &Path) -> Command {
    let mut c = common::cli::bin();
    c.env("HAR_MONITOR_REGISTRY", root);
    c
}

fn ok(cmd: &mut Command) -> String {
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    out
}

fn refused(cmd: &mut Command) -> String {
    let (code, out, err) = run(cmd);
    assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
    err
}

fn labeled() -> PathBuf {
    repo("tests/fixtures/csv/labeled_thesis.csv")
}

/// A registry holding `har` v1 (the demo, `production`) and v2 (the keras fixture, `staging`).
fn two_versions(root: &Path) {
    let out = ok(bin(root).args(["models", "import"]).arg(demo()).args(["--name", "har", "--alias", "production"]));
    assert!(out.contains("as har@1") && out.contains("har@production: none → 1"), "{out}");
    let out = ok(bin(root).args(["models", "import"]).arg(keras()).args(["--name", "har", "--alias", "staging"]));
    assert!(out.contains("as har@2"), "{out}");
}

#[test]
fn import_list_and_show_with_tables_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("reg");
    let out = ok(bin(&root).args(["models", "list"]));
    assert!(out.contains("no models yet"), "{out}");
    two_versions(&root);
    // The same bytes again: the existing version.
    let out = ok(bin(&root).args(["models", "import"]).arg(demo()).args(["--name", "har"]));
    assert!(out.contains("already holds these bytes: har@1"), "{out}");

    let out = ok(bin(&root).args(["models", "list"]));
    assert!(out.contains(&format!("registry {}", root.display())), "{out}");
    let header = out.lines().nth(1).unwrap();
    assert!(header.starts_with("NAME") && header.contains("ALIASES") && header.contains("STATUS"), "{out}");
    let v1 = out.lines().find(|l| l.starts_with("har ")).unwrap();
    assert!(v1.contains("production") && v1.contains(&sha256(&demo())[..12]) && v1.ends_with("ok"), "{out}");

    let json: serde_json::Value = serde_json::from_str(&ok(bin(&root).args(["models", "list", "--json"]))).unwrap();
    let har = &json["models"][0];
    assert_eq!(har["name"], "har");
    assert_eq!(har["aliases"]["production"], 1);
    assert_eq!(har["aliases"]["staging"], 2);
    assert_eq!(har["versions"][0]["sha256"], sha256(&demo()));
    assert_eq!(har["versions"][1]["status"], "ok");
    assert_eq!(har["versions"][0]["files"].as_array().unwrap().len(), 3, "model, card, baseline");

    let out = ok(bin(&root).args(["models", "show", "har@production"]));
    let version_line = out.lines().find(|l| l.starts_with("version")).unwrap();
    assert_eq!(version_line.split_whitespace().collect::<Vec<_>>(), ["version", "1", "aliases:", "production"]);
    assert!(out.contains(&sha256(&demo())), "{out}");
    assert!(out.contains("evaluations of har@1") && out.contains("alias history of har"), "{out}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(bin(&root).args(["models", "show", "har", "--json"]))).unwrap();
    assert_eq!(json["version"], 2, "NAME alone is the highest version");
    assert_eq!(json["aliases"], serde_json::json!(["staging"]));
    assert_eq!(json["history"].as_array().unwrap().len(), 2);
}

#[test]
fn alias_rollback_and_remove_as_commands() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("reg");
    two_versions(&root);
    let out = ok(bin(&root).args(["models", "alias", "har", "2", "production"]));
    assert!(out.contains("har@production: 1 → 2"), "{out}");
    let out = ok(bin(&root).args(["models", "rollback", "har", "production"]));
    assert!(out.contains("rolled back har@production: 2 → 1"), "{out}");
    let err = refused(bin(&root).args(["models", "rollback", "har", "production"]));
    assert!(err.contains("no earlier version"), "{err}");

    let err = refused(bin(&root).args(["models", "remove", "har@1"]));
    assert!(err.contains("production") && err.contains("--force"), "{err}");
    let err = refused(bin(&root).args(["models", "remove", "har@staging"]));
    assert!(err.contains("by its number"), "{err}");
    let out = ok(bin(&root).args(["models", "remove", "har@2", "--force"]));
    assert!(out.contains("removed har@2") && out.contains("deleted alias har@staging"), "{out}");
    let out = ok(bin(&root).args(["models", "show", "har@1"]));
    assert!(out.contains("version removed"), "the history says why staging went: {out}");
}

#[test]
fn unknown_names_aliases_and_files_exit_2_naming_the_registry_and_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("reg");
    two_versions(&root);
    let err = refused(bin(&root).args(["models", "show", "nope"]));
    assert!(err.contains(&root.display().to_string()) && err.contains("models: har"), "{err}");
    let err = refused(bin(&root).args(["models", "show", "har@canary"]));
    assert!(err.contains("no alias `canary`") && err.contains("production (v1), staging (v2)"), "{err}");
    let err = refused(bin(&root).args(["info", "--model", "har@9"]));
    assert!(err.contains("no version 9") && err.contains("versions: 1, 2"), "{err}");
    let err = refused(bin(&root).args(["info", "--model"]).arg(dir.path().join("missing/m.onnx")));
    assert!(err.contains("no such file"), "{err}");
    let err = refused(bin(&root).args(["models", "alias", "har", "1", "7up"]));
    assert!(err.contains("alias `7up`"), "{err}");

    // A model that does not fit its card is refused with the engine's message.
    let bad = repo("tests/fixtures/models/torch_style_nct_10_classes.onnx");
    let err = refused(bin(&root).args(["models", "import"]).arg(bad));
    assert!(err.contains("does not fit its card"), "{err}");
}

#[test]
fn model_name_at_alias_works_for_info_predict_and_evaluate_and_the_run_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("reg");
    two_versions(&root);
    let out = ok(bin(&root).args(["info", "--model", "har@production"]));
    let line = out.lines().find(|l| l.starts_with("registry")).unwrap();
    assert!(line.contains("har@1") && line.contains("aliases: production"), "{out}");
    assert!(out.contains(&format!("{}", root.join("models/har/1/demo-1dcnn-bilstm.onnx").display())), "{out}");

    // predict through the registry gives the same file as through the path.
    let via_registry = dir.path().join("a.csv");
    let via_path = dir.path().join("b.csv");
    ok(bin(&root).args(["predict", "--model", "har@staging", "--data"]).arg(labeled()).arg("--out").arg(&via_registry));
    ok(bin(&root).args(["predict", "--model"]).arg(keras()).arg("--data").arg(labeled()).arg("--out").arg(&via_path));
    assert_eq!(std::fs::read(&via_registry).unwrap(), std::fs::read(&via_path).unwrap());

    let report = dir.path().join("report");
    let out = ok(bin(&root)
        .args(["evaluate", "--model", "har@production", "--data"])
        .arg(labeled())
        .arg("--out")
        .arg(&report));
    assert!(out.contains("recorded with har@1"), "{out}");
    let report_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap()).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&ok(bin(&root).args(["models", "show", "har@1", "--json"]))).unwrap();
    let run = &json["evaluations"][0];
    assert_eq!(run["accuracy"], report_json["accuracy"]);
    assert_eq!(run["macro_f1"], report_json["macro"]["f1"]);
    assert_eq!(run["cohen_kappa"], report_json["cohen_kappa"]);
    assert_eq!(run["windows"], report_json["windows"]["used"]);
    assert_eq!(run["report_dir"], std::fs::canonicalize(&report).unwrap().display().to_string());
    let text = ok(bin(&root).args(["models", "show", "har@production"]));
    let accuracy = format!("{:.4}", report_json["accuracy"].as_f64().unwrap());
    assert!(text.contains(&accuracy) && text.contains("labeled_thesis.csv"), "{text}");
    // Version 2 was not evaluated.
    let text = ok(bin(&root).args(["models", "show", "har@2"]));
    assert!(text.contains("none yet"), "{text}");

    // A registry version's baseline is never written into the store.
    let err = refused(bin(&root).args(["baseline", "--model", "har@1", "--data"]).arg(labeled()));
    assert!(err.contains("never change") && err.contains("--out"), "{err}");
    // Nor through the stored file's path.
    let stored = root.join("models/har/1/demo-1dcnn-bilstm.onnx");
    let err = refused(bin(&root).args(["baseline", "--model"]).arg(&stored).arg("--data").arg(labeled()));
    assert!(err.contains("never change"), "{err}");
    ok(bin(&root).args(["info", "--model", "har@1"]));
}

#[test]
fn a_damaged_version_is_reported_and_the_others_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("reg");
    two_versions(&root);
    let card = root.join("models/har/2/keras_bilstm.model.json");
    let text = std::fs::read_to_string(&card).unwrap().replace("\"window\": 200", "\"window\": 100");
    std::fs::write(&card, text).unwrap();

    let out = ok(bin(&root).args(["models", "list"]));
    let v2 = out.lines().find(|l| l.trim_start().starts_with("2 ")).unwrap();
    assert!(v2.contains("DAMAGED") && v2.contains("SHA-256") && v2.contains("keras_bilstm.model.json"), "{out}");
    let err = refused(bin(&root).args(["models", "show", "har@staging"]));
    assert!(err.contains("SHA-256"), "{err}");
    let err = refused(bin(&root).args(["info", "--model", "har@2"]));
    assert!(err.contains("damaged"), "{err}");
    ok(bin(&root).args(["info", "--model", "har@production"]));

    // Another model imported next to it is unaffected.
    let other = copy_model(&keras(), &dir.path().join("o"), "o", |_| {});
    ok(bin(&root).args(["models", "import"]).arg(other).args(["--name", "other"]));
    ok(bin(&root).args(["info", "--model", "other"]));
}

#[test]
fn concurrent_import_processes_get_distinct_versions() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("reg");
    let children: Vec<_> = (0..3)
        .map(|i| {
            let model = copy_model(&keras(), &dir.path().join(format!("v{i}")), "k", |card| {
                card["description"] = serde_json::json!(format!("variant {i}"));
            });
            bin(&root)
                .args(["models", "import"])
                .arg(model)
                .args(["--name", "har", "--alias", &format!("a{i}")])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let json: serde_json::Value = serde_json::from_str(&ok(bin(&root).args(["models", "list", "--json"]))).unwrap();
    let versions: Vec<u64> =
        json["models"][0]["versions"].as_array().unwrap().iter().map(|v| v["version"].as_u64().unwrap()).collect();
    assert_eq!(versions, vec![1, 2, 3]);
    assert_eq!(json["models"][0]["aliases"].as_object().unwrap().len(), 3, "no alias move lost");
}
