//! `har-monitor mlflow push | pull | list` and `evaluate --mlflow` against a real MLflow tracking server
//! (`HAR_MONITOR_MLFLOW_URI`; see tests/common/mlflow.rs for when these tests skip). What was pushed is read back
//! with plain REST calls; what was pulled is compared byte for byte with the files pushed or logged from Python.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::cli::{bin, run};
use common::mlflow::{self as server, artifact, artifact_list, closed_port, get, post, tree, unique};
use serde_json::{Value, json};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn demo() -> PathBuf {
    repo("models/demo/demo-1dcnn-bilstm.onnx")
}

/// The demo model's three files.
fn demo_files() -> [PathBuf; 3] {
    let dir = repo("models/demo");
    ["demo-1dcnn-bilstm.onnx", "demo-1dcnn-bilstm.model.json", "demo-1dcnn-bilstm.baseline.json"].map(|n| dir.join(n))
}

/// `har-monitor` with its local registry in `registry` and no MLFLOW_TRACKING_URI from the environment.
fn cmd(registry: &Path) -> Command {
    let mut c = bin();
    c.env("HAR_MONITOR_REGISTRY", registry).env_remove("MLFLOW_TRACKING_URI");
    c
}

fn push(uri: &str, registry: &Path, model: &Path, name: &str, extra: &[&str]) -> (i32, String, String) {
    run(cmd(registry).args(["mlflow", "push", "--tracking-uri", uri, "--name", name, "--model"]).arg(model).args(extra))
}

fn pull(uri: &str, registry: &Path, name: &str, which: &[&str]) -> (i32, String, String) {
    run(cmd(registry).args(["mlflow", "pull", "--tracking-uri", uri, "--name", name]).args(which))
}

/// The stored files of a local-registry version: (file name, bytes), sorted.
fn stored(registry: &Path, spec: &str) -> Vec<(String, Vec<u8>)> {
    let version = har_monitor::registry::Registry::open(registry).unwrap().resolve(spec).unwrap();
    let mut out: Vec<(String, Vec<u8>)> = [Some(version.model_path), Some(version.card_path), version.baseline_path]
        .into_iter()
        .flatten()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

fn originals(files: &[PathBuf]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(p).unwrap()))
        .collect();
    out.sort();
    out
}

/// `mlflow-artifacts:/1/abc/artifacts/model` → `1/abc/artifacts/model`.
fn proxy_path(uri: &str) -> String {
    uri.strip_prefix("mlflow-artifacts:").unwrap().trim_start_matches('/').to_string()
}

#[test]
fn push_sets_the_alias_and_pull_gets_the_same_bytes() {
    let Some(uri) = server::server("push_sets_the_alias_and_pull_gets_the_same_bytes") else { return };
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry");
    let name = unique("har-push");
    let experiment = unique("har-push-exp");

    let (code, out, err) =
        push(&uri, &registry, &demo(), &name, &["--alias", "production", "--experiment", &experiment]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("`{name}` version 1 (alias `production`)")), "{out}");

    // Read back without our client: the alias, the version's source and run, the run's artifacts and tags.
    let by_alias = get(&uri, "registered-models/alias", &[("name", &name), ("alias", "production")]);
    let version = &by_alias["model_version"];
    assert_eq!(version["version"], "1");
    let run_id = version["run_id"].as_str().unwrap();
    let source = version["source"].as_str().unwrap();
    assert!(
        source.starts_with("mlflow-artifacts:/") && source.ends_with(&format!("{run_id}/artifacts/model")),
        "{source}"
    );
    let listed: Vec<String> = artifact_list(&uri, &proxy_path(source)).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        listed,
        ["demo-1dcnn-bilstm.baseline.json", "demo-1dcnn-bilstm.model.json", "demo-1dcnn-bilstm.onnx"],
        "the model's three files under model/"
    );
    for file in demo_files() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(artifact(&uri, &format!("{}/{name}", proxy_path(source))), std::fs::read(&file).unwrap(), "{name}");
    }
    let run_json = get(&uri, "runs/get", &[("run_id", run_id)]);
    assert_eq!(run_json["run"]["info"]["status"], "FINISHED");
    let tags: Vec<(String, String)> = run_json["run"]["data"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["key"].as_str().unwrap().into(), t["value"].as_str().unwrap().into()))
        .collect();
    for (k, v) in [("project", "MasterArbeit_MLops"), ("task", "activity-recognition"), ("model_type", "1D-CNN-BiLSTM")]
    {
        assert!(tags.contains(&(k.to_string(), v.to_string())), "tag {k}={v} in {tags:?}");
    }
    let exp = get(&uri, "experiments/get-by-name", &[("experiment_name", &experiment)]);
    assert_eq!(run_json["run"]["info"]["experiment_id"], exp["experiment"]["experiment_id"]);

    // A second version (another model) takes the alias; version 1 keeps its files.
    let other = common::cli::fixture_model();
    let (code, out, err) = push(&uri, &registry, &other, &name, &["--alias", "production"]);
    assert_eq!(code, 0, "{out}{err}");
    let by_alias = get(&uri, "registered-models/alias", &[("name", &name), ("alias", "production")]);
    assert_eq!(by_alias["model_version"]["version"], "2");

    // Pull by alias (version 2) and by number (version 1): the local registry gets exactly the pushed bytes.
    let (code, out, err) = pull(&uri, &registry, &name, &["--alias", "production"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("pulled `{name}` version 2")) && out.contains(&format!("imported as {name}@1")),
        "{out}"
    );
    let keras_files = [other.clone(), other.with_file_name("keras_bilstm.model.json")];
    assert_eq!(stored(&registry, &format!("{name}@1")), originals(&keras_files));
    let (code, out, err) = pull(&uri, &registry, &name, &["--version", "1", "--local-alias", "production"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(stored(&registry, &format!("{name}@production")), originals(&demo_files()));
    let local = har_monitor::registry::Registry::open(&registry).unwrap().resolve(&format!("{name}@2")).unwrap();
    assert_eq!(local.source.as_deref(), Some(format!("mlflow {uri} {name} v1").as_str()));

    // Pulling the same version again adds nothing.
    let before = tree(&registry);
    let (code, out, err) = pull(&uri, &registry, &name, &["--version", "1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("already in the local registry"), "{out}");
    assert_eq!(tree(&registry).len(), before.len());

    // `list` shows both versions and where the alias points.
    let (code, out, err) = run(cmd(&registry).args(["mlflow", "list", "--tracking-uri", &uri]));
    assert_eq!(code, 0, "{err}");
    let block: String = out.lines().skip_while(|l| *l != name).take(3).collect::<Vec<_>>().join("\n");
    assert!(block.contains("v2") && block.contains("@production") && block.contains("v1"), "{block}\n---\n{out}");

    // --model takes a local-registry version too: push `NAME@production` (the pulled demo) under a new name.
    let again = unique("har-from-registry");
    let spec = format!("{name}@production");
    let (code, out, err) = push(&uri, &registry, Path::new(&spec), &again, &[]);
    assert_eq!(code, 0, "{out}{err}");
    let v = get(&uri, "model-versions/get", &[("name", &again), ("version", "1")]);
    let source = proxy_path(v["model_version"]["source"].as_str().unwrap());
    let onnx = artifact(&uri, &format!("{source}/demo-1dcnn-bilstm.onnx"));
    assert_eq!(onnx, std::fs::read(demo()).unwrap(), "the registry version's bytes");

    // MLFLOW_TRACKING_URI is the default of --tracking-uri.
    let (code, out, err) = run(cmd(&registry).env("MLFLOW_TRACKING_URI", &uri).args(["mlflow", "list"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&name), "{out}");
}

/// Logs the demo model from Python (`scripts/mlflow_log_python_version.py`) and returns the version's JSON line.
fn log_from_python(python: &Path, uri: &str, name: &str, how: &str, model: &Path, extra: &[&str]) -> Value {
    let output = Command::new(python)
        .arg(repo("scripts/mlflow_log_python_version.py"))
        .args(["--tracking-uri", uri, "--name", name, "--how", how, "--model"])
        .arg(model)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "python: {stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn pull_reads_versions_logged_by_pythons_mlflow() {
    let test = "pull_reads_versions_logged_by_pythons_mlflow";
    let Some(uri) = server::server(test) else { return };
    let Some(python) = server::python(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry");
    let name = unique("har-python");

    // MLflow 3's pyfunc.log_model: a logged model, source `models:/m-…`, the files under artifacts/.
    let logged = log_from_python(&python, &uri, &name, "pyfunc", &demo(), &["--alias", "champion"]);
    assert!(logged["source"].as_str().unwrap().starts_with("models:/"), "{logged}");
    // Run artifacts registered from a `runs:/` URI (the server's download URI stays `runs:/…`).
    let logged2 = log_from_python(&python, &uri, &name, "artifacts", &demo(), &["--no-baseline"]);
    assert!(logged2["source"].as_str().unwrap().starts_with("runs:/"), "{logged2}");

    let (code, out, err) = pull(&uri, &registry, &name, &["--alias", "champion"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("download URI mlflow-artifacts:/"), "{out}");
    assert_eq!(stored(&registry, &format!("{name}@1")), originals(&demo_files()));

    let (code, out, err) = pull(&uri, &registry, &name, &["--version", "2", "--local-name", &format!("{name}-runs")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("download URI runs:/"), "{out}");
    assert_eq!(stored(&registry, &format!("{name}-runs@1")), originals(&demo_files()[..2]));
}

#[test]
fn evaluate_logs_the_run_under_the_thesis_names() {
    let Some(uri) = server::server("evaluate_logs_the_run_under_the_thesis_names") else { return };
    let dir = tempfile::tempdir().unwrap();
    // The demo's labeled file, first 8,000 rows (two users' worth of windows is not needed for the check).
    let full = std::fs::read_to_string(repo("data/demo/labeled_unseen_users.csv")).unwrap();
    let data = dir.path().join("labeled.csv");
    std::fs::write(&data, full.lines().take(8001).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    let out_dir = dir.path().join("report");
    let experiment = unique("har-eval");
    let (code, out, err) = run(cmd(&dir.path().join("registry"))
        .args(["evaluate", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&out_dir)
        .args(["--mlflow", &uri, "--experiment", &experiment]));
    assert_eq!(code, 0, "{out}{err}");
    let line = out.lines().find(|l| l.starts_with("logged to MLflow: run ")).unwrap_or_else(|| panic!("{out}"));
    let run_id = line.split_whitespace().nth(4).unwrap();

    let report: Value = serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap()).unwrap();
    let run_json = get(&uri, "runs/get", &[("run_id", run_id)]);
    let info = &run_json["run"]["info"];
    assert_eq!(info["status"], "FINISHED");
    let exp = get(&uri, "experiments/get-by-name", &[("experiment_name", &experiment)]);
    assert_eq!(info["experiment_id"], exp["experiment"]["experiment_id"]);
    let metrics: std::collections::HashMap<String, f64> = run_json["run"]["data"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["key"].as_str().unwrap().to_string(), m["value"].as_f64().unwrap()))
        .collect();
    let expect = |key: &str, value: &Value| {
        let v = value.as_f64().unwrap_or_else(|| panic!("report value for {key}"));
        assert_eq!(metrics.get(key).copied(), Some(v), "metric {key}");
    };
    expect("accuracy", &report["accuracy"]);
    expect("f1_macro", &report["macro"]["f1"]);
    expect("precision_macro", &report["macro"]["precision"]);
    expect("recall_macro", &report["macro"]["recall"]);
    expect("f1_weighted", &report["weighted"]["f1"]);
    expect("kappa", &report["cohen_kappa"]);
    for key in ["ece", "ece_equal_mass", "mce", "brier", "log_loss"] {
        expect(key, &report["calibration"][key]);
    }
    for (i, class) in report["per_class"].as_array().unwrap().iter().enumerate() {
        let c = class["class"].as_str().unwrap();
        expect(&format!("f1_{c}"), &class["f1"]);
        expect(&format!("precision_{c}"), &class["precision"]);
        expect(&format!("recall_{c}"), &class["recall"]);
        expect(&format!("f1_class_{i}"), &class["f1"]);
    }
    let tags: Vec<(String, String)> = run_json["run"]["data"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["key"].as_str().unwrap().into(), t["value"].as_str().unwrap().into()))
        .collect();
    for k in ["project", "model_type", "task"] {
        assert!(tags.iter().any(|(key, v)| key == k && !v.is_empty()), "tag {k} in {tags:?}");
    }
    let params: Vec<String> = run_json["run"]["data"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap().into())
        .collect();
    for p in ["model_name", "data_file", "window_size", "n_windows", "windowing"] {
        assert!(params.contains(&p.to_string()), "param {p} in {params:?}");
    }

    // The artifacts: the report's own files, byte for byte, and scikit-learn's classification_report shape.
    let root = proxy_path(info["artifact_uri"].as_str().unwrap());
    let names: Vec<String> = artifact_list(&uri, &format!("{root}/evaluation")).into_iter().map(|(n, _)| n).collect();
    for f in ["confusion_matrix.png", "confusion_matrix.csv", "classification_report.json", "reliability.png"] {
        assert!(names.contains(&f.to_string()), "evaluation/{f} in {names:?}");
    }
    for f in ["confusion_matrix.png", "confusion_matrix.csv", "reliability.png"] {
        assert_eq!(artifact(&uri, &format!("{root}/evaluation/{f}")), std::fs::read(out_dir.join(f)).unwrap(), "{f}");
    }
    let cr: Value =
        serde_json::from_slice(&artifact(&uri, &format!("{root}/evaluation/classification_report.json"))).unwrap();
    assert_eq!(cr["accuracy"], report["accuracy"]);
    assert_eq!(cr["macro avg"]["f1-score"], report["macro"]["f1"]);
    let first = &report["per_class"][0];
    assert_eq!(cr[first["class"].as_str().unwrap()]["support"], first["support"]);
}

/// Registers a version of a new model whose run artifacts under `model/` are `files` (name, bytes), with plain
/// REST calls. Returns the model's name.
fn register_files(uri: &str, files: &[(&str, Vec<u8>)]) -> String {
    let name = unique("har-broken");
    let exp = unique("har-broken-exp");
    let exp_id = post(uri, "experiments/create", &json!({"name": exp}))["experiment_id"].as_str().unwrap().to_string();
    let run_json = post(uri, "runs/create", &json!({"experiment_id": exp_id, "run_name": "broken"}));
    let run_id = run_json["run"]["info"]["run_id"].as_str().unwrap().to_string();
    let root = proxy_path(run_json["run"]["info"]["artifact_uri"].as_str().unwrap());
    for (file, bytes) in files {
        let r = server::agent()
            .put(format!("{uri}/api/2.0/mlflow-artifacts/artifacts/{root}/model/{file}"))
            .send(bytes.as_slice())
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    post(uri, "registered-models/create", &json!({"name": name}));
    let source = format!("mlflow-artifacts:/{root}/model");
    post(uri, "model-versions/create", &json!({"name": name, "source": source, "run_id": run_id}));
    name
}

/// A failed pull: exit 2, the message contains every one of `needles`, the registry is as it was, and the
/// temporary download folder is gone (the pull runs with its own TMPDIR).
fn pull_fails(uri: &str, registry: &Path, name: &str, which: &[&str], needles: &[&str]) {
    let before = tree(registry);
    let tmp = registry.with_file_name("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let (code, out, err) = run(cmd(registry)
        .env("TMPDIR", &tmp)
        .args(["mlflow", "pull", "--tracking-uri", uri, "--name", name])
        .args(which));
    assert_eq!(code, 2, "{name} {which:?}: {out}{err}");
    for n in needles {
        assert!(err.contains(n), "{name} {which:?}: `{n}` in: {err}");
    }
    assert_eq!(tree(registry), before, "{name} {which:?}: the local registry is unchanged");
    // (ONNX Runtime may leave its own `.ses` file in TMPDIR; the download folders are `har-mlflow-…`.)
    let left: Vec<_> = tree(&tmp).into_iter().filter(|(p, _)| p.to_string_lossy().contains("har-mlflow")).collect();
    assert!(
        left.is_empty(),
        "{name} {which:?}: no temporary download left: {:?}",
        left.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
}

#[test]
fn failures_are_clear_exit_2_and_leave_the_local_registry_alone() {
    let Some(uri) = server::server("failures_are_clear_exit_2_and_leave_the_local_registry_alone") else { return };
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry");
    // A registry with something in it, so "unchanged" means something.
    let name = unique("har-ok");
    let (code, out, err) = push(&uri, &registry, &demo(), &name, &["--alias", "production"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = pull(&uri, &registry, &name, &["--alias", "production"]);
    assert_eq!(code, 0, "{out}{err}");

    // The server is down (a closed port): every command says where it tried.
    let down = format!("http://127.0.0.1:{}", closed_port());
    pull_fails(&down, &registry, &name, &["--version", "1"], &["cannot reach the MLflow server at", &down]);
    let (code, _, err) = push(&down, &registry, &demo(), &name, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("cannot reach the MLflow server at {down}")), "{err}");
    let (code, _, err) = run(cmd(&registry).args(["mlflow", "list", "--tracking-uri", &down]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot reach"), "{err}");
    // evaluate --mlflow says so before it evaluates (no report written).
    let out_dir = dir.path().join("report");
    let (code, _, err) = run(cmd(&registry)
        .args(["evaluate", "--data"])
        .arg(repo("data/demo/labeled_unseen_users.csv"))
        .arg("--out")
        .arg(&out_dir)
        .args(["--mlflow", &down]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot reach") && !out_dir.join("report.json").exists(), "{err}");
    // Not a tracking server URL at all.
    pull_fails("file:///tmp/mlruns", &registry, &name, &["--version", "1"], &["tracking URI `file:///tmp/mlruns`"]);

    // An unknown model (404), an unknown version, a missing alias.
    let nope = unique("har-nope");
    pull_fails(&uri, &registry, &nope, &["--version", "1"], &["there is no registered model", &nope, &uri]);
    pull_fails(&uri, &registry, &name, &["--version", "7"], &["has no version 7", "versions: 1"]);
    pull_fails(
        &uri,
        &registry,
        &name,
        &["--alias", "staging"],
        &["has no alias `staging`", "its aliases: production (v1)"],
    );

    // A version whose artifacts are not there, one without a card, one whose ONNX does not load.
    let card = std::fs::read(repo("models/demo/demo-1dcnn-bilstm.model.json")).unwrap();
    let onnx = std::fs::read(demo()).unwrap();
    let empty = register_files(&uri, &[]);
    pull_fails(&uri, &registry, &empty, &["--version", "1"], &["has no ONNX model", "its files: none"]);
    let no_card = register_files(&uri, &[("demo-1dcnn-bilstm.onnx", onnx)]);
    pull_fails(&uri, &registry, &no_card, &["--version", "1"], &["has no model card", "demo-1dcnn-bilstm.onnx"]);
    let garbage = register_files(
        &uri,
        &[("demo-1dcnn-bilstm.onnx", b"not an onnx graph".to_vec()), ("demo-1dcnn-bilstm.model.json", card)],
    );
    pull_fails(&uri, &registry, &garbage, &["--version", "1"], &["its ONNX model does not load", &garbage]);
}

#[test]
fn a_missing_artifact_is_named() {
    let Some(uri) = server::server("a_missing_artifact_is_named") else { return };
    let client = har_monitor::mlflow::Client::new(&uri).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = har_monitor::mlflow::client::ArtifactRoot("0/no-such-run/artifacts/model/x.onnx".into());
    let err = client.download_artifact(&path, &dir.path().join("x.onnx")).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, har_monitor::mlflow::MlflowError::ArtifactMissing { .. }), "{text}");
    assert!(
        text.contains("0/no-such-run/artifacts/model/x.onnx") && text.contains(&uri) && text.contains("404"),
        "{text}"
    );
}

#[test]
fn no_tracking_uri_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(cmd(dir.path()).args(["mlflow", "list"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("MLFLOW_TRACKING_URI"), "{err}");
    let (code, _, err) =
        run(cmd(dir.path()).args(["mlflow", "pull", "--tracking-uri", "http://127.0.0.1:1", "--name", "x"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--alias") && err.contains("--version"), "{err}");
}

#[test]
fn aliases_are_set_read_moved_and_deleted() {
    let Some(uri) = server::server("aliases_are_set_read_moved_and_deleted") else { return };
    let client = har_monitor::mlflow::Client::new(&uri).unwrap();
    let name = unique("har-alias");
    let request = har_monitor::mlflow::PushRequest {
        model: demo(),
        name: Some(name.clone()),
        alias: Some("staging".into()),
        experiment: unique("har-alias-exp"),
        description: None,
    };
    har_monitor::mlflow::transfer::push(&client, &request, &Default::default()).unwrap();
    har_monitor::mlflow::transfer::push(&client, &request, &Default::default()).unwrap();
    // `staging` moved to version 2 with the second push; `production` is set on version 1 by the client.
    client.set_alias(&name, "production", "1").unwrap();
    let aliases = |uri: &str| {
        let mut a: Vec<(String, String)> =
            get(uri, "registered-models/get", &[("name", &name)])["registered_model"]["aliases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| (a["alias"].as_str().unwrap().into(), a["version"].as_str().unwrap().into()))
                .collect();
        a.sort();
        a
    };
    assert_eq!(aliases(&uri), [("production".to_string(), "1".to_string()), ("staging".into(), "2".into())]);
    assert_eq!(client.get_version_by_alias(&name, "staging").unwrap().version, "2");
    client.delete_alias(&name, "staging").unwrap();
    assert_eq!(aliases(&uri), [("production".to_string(), "1".to_string())]);
    let err = client.get_version_by_alias(&name, "staging").unwrap_err();
    assert!(matches!(err, har_monitor::mlflow::MlflowError::AliasMissing { .. }), "{err}");
    let versions: Vec<String> = client.search_model_versions(&name).unwrap().into_iter().map(|v| v.version).collect();
    assert_eq!(versions, ["2", "1"], "newest first");
    let listed = client.search_registered_models().unwrap();
    assert!(listed.iter().any(|m| m.name == name), "search lists it");
}
